//! An exclusive lock on an output directory for the whole of a run, so that two runs never
//! write into one directory. The lock is the operating system's advisory file lock on
//! `<dir>/.lock` (`flock`): it is released when the process ends in any way, kill -9
//! included, so a lock left by a killed run is simply taken over. The file holds a line
//! naming the holder (process id, start time, command line) for the message a second run
//! gets.
//!
//! While it holds the lock, a run owns the directory: any temporary file a killed run
//! left there (`.NAME.tmp-PID`) is removed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::format::utc_now;

/// The lock file inside a locked directory.
pub const LOCK_FILE: &str = ".lock";

/// A held lock; dropping it releases the lock (and removes a lock file beside the
/// directory it guards, see [`DirLock::acquire_file`]).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
    remove: bool,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl DirLock {
    /// Take the lock of `dir` (which must exist), or fail with an input error naming the
    /// run that holds it; then remove the temporaries a killed run left there. `flag`
    /// names the option in messages (`--out-dir`).
    pub fn acquire(dir: &Path, flag: &str) -> Result<DirLock> {
        let mut lock = DirLock::acquire_file(&dir.join(LOCK_FILE), dir, flag)?;
        lock.remove = false;
        remove_stale_temporaries(dir);
        Ok(lock)
    }

    /// Take the lock `path` that guards `dir` (a directory that may not exist yet, like a
    /// merge's out-dir, is guarded by a file beside it, removed again when the lock is
    /// released).
    pub fn acquire_file(path: &Path, dir: &Path, flag: &str) -> Result<DirLock> {
        let path = path.to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                Error::input(format!("{flag} '{}': cannot lock it: {e}", dir.display()))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::input(format!(
                    "{flag} '{}' is in use by another run ({}); wait for it to finish or \
                     choose another {flag}",
                    dir.display(),
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        holder
                    }
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::input(format!(
                    "{flag} '{}': cannot lock it: {e}",
                    dir.display()
                )))
            }
        }
        let command: Vec<String> = std::env::args().collect();
        let holder = format!(
            "pid {}, started {}: {}\n",
            std::process::id(),
            utc_now(),
            command.join(" ")
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()))
            .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", path.display())))?;
        Ok(DirLock {
            _file: file,
            path,
            remove: true,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Remove the temporary files (`.tmp-PID-HASH`, or `.NAME.tmp-PID` from earlier versions)
/// another process left in `dir`: with the lock held, no other run writes there, so they
/// are leftovers of a killed run.
fn remove_stale_temporaries(dir: &Path) {
    let own = format!(".tmp-{}-", std::process::id());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") && !name.starts_with(&own) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether the process `pid` is alive (Linux: `/proc/PID` exists; elsewhere assumed
/// alive, so nothing of a possibly live process is removed).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_taken_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), "--out-dir").unwrap();
        let error = DirLock::acquire(dir.path(), "--out-dir").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(message.contains("is in use by another run"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        drop(first);
        DirLock::acquire(dir.path(), "--out-dir").unwrap();
    }

    #[test]
    fn temporaries_of_other_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".quality_runs.csv.tmp-999999"), "x").unwrap();
        std::fs::write(dir.path().join(".tmp-999999-00000000000000ff"), "x").unwrap();
        std::fs::write(dir.path().join("keep.csv"), "x").unwrap();
        let _lock = DirLock::acquire(dir.path(), "--out-dir").unwrap();
        assert!(!dir.path().join(".quality_runs.csv.tmp-999999").exists());
        assert!(!dir.path().join(".tmp-999999-00000000000000ff").exists());
        assert!(dir.path().join("keep.csv").exists());
    }
}
