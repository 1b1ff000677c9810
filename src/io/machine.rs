//! What a run records about the machine it ran on: the CPU model, the logical cores, the
//! operating system and architecture, and the CPU time the process has used.

use serde::{Deserialize, Serialize};

/// The machine, as recorded in every metadata file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// From `/proc/cpuinfo` where there is one.
    pub cpu_model: Option<String>,
    pub logical_cores: Option<usize>,
    pub os: String,
    pub arch: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_string())
            });
        Machine {
            cpu_model,
            logical_cores: std::thread::available_parallelism().map(|n| n.get()).ok(),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
        }
    }
}

/// The CPU seconds (user + system) this process has used so far, all threads included
/// (Linux: fields 14 and 15 of `/proc/self/stat`, in ticks of 1/100 s, the kernel's fixed
/// `USER_HZ`; `None` elsewhere).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // After the name come field 3 (state) onwards: utime is field 14, stime field 15.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_and_grows() {
        if cfg!(target_os = "linux") {
            let before = cpu_seconds().expect("/proc/self/stat on Linux");
            let mut x = 0u64;
            for i in 0..30_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(cpu_seconds().unwrap() >= before);
        }
        assert!(!Machine::this().os.is_empty());
    }
}
