//! Helpers shared by the command-line tests of the studies.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `hesscale-cli ARGS --out-dir OUT`, wait until the appended table `table` in OUT
/// holds its header and one row, kill the process there (SIGKILL, as a crash or a
/// preempted job would end it) and return how many lines the table then holds.
pub fn kill_once_a_row_is_written(args: &[&str], out: &Path, table: &str) -> usize {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("hesscale-cli"))
        .args(args)
        .arg("--out-dir")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = out.join(table);
    let lines = || fs::read(&path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    let start = Instant::now();
    while lines() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines()
}
