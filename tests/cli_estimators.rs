//! The estimators beyond the papers' set (cp, gnb, xdiag; SPEC §2.4) on the command line:
//! named by `list`, left out of `all` (so the papers' runs and the CI baselines do not
//! change), run next to `all` by `quality --methods`, and their bad sample counts refused
//! with one `Error:` line and exit code 2.

use std::fs;

use assert_cmd::Command;

fn cli() -> Command {
    Command::cargo_bin("hesscale-cli").unwrap()
}

const EXTRA: [&str; 5] = ["cp:1", "cp:50", "gnb:1", "xdiag:10", "xdiag:50"];

#[test]
fn quality_runs_them_next_to_all_which_leaves_them_out() {
    let all = hesscale::methods::Method::all();
    for family in ["cp", "gnb", "xdiag"] {
        assert!(
            all.iter().all(|m| m.family() != family),
            "{family} is in all"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q");
    let methods = format!("all,{}", EXTRA.join(","));
    cli()
        .args([
            "quality",
            "--seeds",
            "2",
            "--samples",
            "5",
            "--widths",
            "8",
            "--quiet",
        ])
        .args(["--methods", &methods, "--out-dir", out.to_str().unwrap()])
        .assert()
        .success();
    let summary = fs::read_to_string(out.join("quality_summary.csv")).unwrap();
    for name in EXTRA {
        let rows: Vec<&str> = summary
            .lines()
            .filter(|l| l.split(',').nth(11) == Some(name))
            .collect();
        assert_eq!(rows.len(), 5, "{name}: one row per layer (4) and all");
        let all_row = rows.iter().find(|r| r.contains(",all,")).unwrap();
        let normalized: f64 = all_row.split(',').nth(17).unwrap().parse().unwrap();
        assert!(
            normalized.is_finite() && normalized > 0.0,
            "{name}: {all_row}"
        );
    }
}

#[test]
fn bad_sample_counts_are_one_line_errors() {
    for (bad, needle) in [
        ("cp:0", "between 1 and"),
        ("gnb:x", "whole number"),
        ("xdiag:3", "even number"),
        ("xdiag:0", "even number"),
        ("xdiag:1", "even number"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("q");
        let assert = cli()
            .args([
                "quality",
                "--seeds",
                "1",
                "--samples",
                "2",
                "--methods",
                bad,
            ])
            .args(["--out-dir", out.to_str().unwrap()])
            .assert()
            .code(2);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.starts_with("Error: "), "{bad}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{bad}: {stderr}");
        assert!(stderr.contains(needle), "{bad}: {stderr}");
        assert!(!out.exists(), "{bad} left an out-dir");
    }
}
