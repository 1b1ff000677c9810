//! An exclusive lock on an output directory for the whole of a run, so that two runs never
//! write into one directory. The lock is the operating system's advisory file lock on
//! `<dir>/.lock` (`flock`): it is released when the process ends in any way, kill -9
//! included, so a lock left by a killed run is simply taken over. The file holds a line
//! naming the holder (process id, start time, command line) for the message a second run
//! gets.
//!
//! A lock file is only ever a regular file the tool made: it is opened without following a
//! symbolic link (`O_NOFOLLOW`), and a lock path that is a link, a FIFO, a device or a
//! directory is refused with one line rather than written through.
//!
//! While it holds the lock, a run owns the directory: any temporary file a killed run
//! left there is removed — only names of the form the tool writes
//! ([`crate::io::output`]: `.hesscale-tmp-PID-HASH`), never another file.
//!
//! A directory that does not exist yet (a merge's out-dir) is guarded by a lock file
//! beside it, `.hesscale-merge-HASH.lock` (HASH from the directory's name, so the name
//! fits whatever name the directory has); it is removed when the lock is released, and
//! such files left by killed merges (no process holds their lock) are removed by the next
//! merge into the same folder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::console::one_line;
use crate::io::format::utc_now;

/// The lock file inside a locked directory.
pub const LOCK_FILE: &str = ".lock";

/// The prefix of every temporary file the tool writes (`.hesscale-tmp-PID-HASH`).
pub const TEMPORARY_PREFIX: &str = ".hesscale-tmp-";

/// The prefix of the lock files and staging directories a merge puts beside its out-dir.
pub const MERGE_PREFIX: &str = ".hesscale-merge-";

/// A held lock; dropping it releases the lock (and removes a lock file beside the
/// directory it guards, see [`DirLock::acquire_beside`]).
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
    remove: bool,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if self.remove && same_file(&self.path, &self.file) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` (not followed) is the file open as `file`.
fn same_file(path: &Path, file: &File) -> bool {
    match (std::fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// The hidden name a merge gives things beside its out-dir `name`: `.hesscale-merge-`
/// and 16 hex digits of the name's SHA-256, then `suffix`; short whatever the name.
pub fn beside_name(name: &std::ffi::OsStr, suffix: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{MERGE_PREFIX}{hash}{suffix}")
}

/// Open (creating it) the lock file `path` as a regular file, never through a link.
fn open_lock_file(path: &Path, dir: &Path, flag: &str) -> Result<File> {
    let refuse = |what: &str| {
        Error::input(format!(
            "{flag} '{}': its lock file '{}' is {what}, not a lock file this tool made; \
             remove it",
            dir.display(),
            path.display()
        ))
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                refuse("a symbolic link")
            } else {
                Error::input(format!("{flag} '{}': cannot lock it: {e}", dir.display()))
            }
        })?;
    let kind = file
        .metadata()
        .map_err(|e| Error::input(format!("{flag} '{}': cannot lock it: {e}", dir.display())))?
        .file_type();
    if kind.is_file() {
        Ok(file)
    } else if kind.is_dir() {
        Err(refuse("a directory"))
    } else {
        Err(refuse("a FIFO, socket or device"))
    }
}

/// The line a lock file holds: process id, start time and command line (one line).
fn holder_line() -> String {
    let command: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    format!(
        "pid {}, started {}: {}\n",
        std::process::id(),
        utc_now(),
        one_line(&command.join(" "))
    )
}

impl DirLock {
    /// Take the lock of `dir` (which must exist), or fail with an input error naming the
    /// run that holds it; then remove the temporaries a killed run left there. `flag`
    /// names the option in messages (`--out-dir`).
    pub fn acquire(dir: &Path, flag: &str) -> Result<DirLock> {
        let lock = DirLock::acquire_file(&dir.join(LOCK_FILE), dir, flag, false)?;
        remove_stale_temporaries(dir);
        Ok(lock)
    }

    /// Take the lock of a directory `dir` that may not exist yet (a merge's out-dir): a
    /// lock file beside it ([`beside_name`]), removed again when the lock is released.
    /// Lock files of killed merges in the same folder are removed first.
    pub fn acquire_beside(dir: &Path, flag: &str) -> Result<DirLock> {
        let (parent, name) = parent_and_name(dir, flag)?;
        remove_stale_merge_locks(&parent);
        DirLock::acquire_file(&parent.join(beside_name(&name, ".lock")), dir, flag, true)
    }

    /// Take the lock `path` that guards `dir`; `remove`: remove the file on release.
    fn acquire_file(path: &Path, dir: &Path, flag: &str, remove: bool) -> Result<DirLock> {
        loop {
            let mut file = open_lock_file(path, dir, flag)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = one_line(holder.trim());
                    return Err(Error::input(format!(
                        "{flag} '{}' is in use by another run ({}); wait for it to finish or \
                         choose another {flag}",
                        dir.display(),
                        if holder.is_empty() {
                            "holder unknown".to_string()
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
            // A lock file removed (as stale) between our open and our lock is no longer
            // the lock: take the one now at the path.
            if !same_file(path, &file) {
                continue;
            }
            file.set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)))
                .and_then(|_| file.write_all(holder_line().as_bytes()))
                .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", path.display())))?;
            return Ok(DirLock {
                file,
                path: path.to_path_buf(),
                remove,
            });
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The folder `dir` lives in (`.` for a bare name) and its name; an error for a path
/// that names no directory (`/`, `..`).
pub fn parent_and_name(dir: &Path, flag: &str) -> Result<(PathBuf, std::ffi::OsString)> {
    let name = dir
        .file_name()
        .ok_or_else(|| Error::input(format!("{flag} '{}' must name a directory", dir.display())))?
        .to_os_string();
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Whether `name` is a temporary file name the tool writes, `PREFIX` then a process id, a
/// dash and 16 hex digits, for a process other than this one.
fn is_stale_temporary(name: &[u8], prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix.as_bytes()) else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let (pid, hash) = (&rest[..dash], &rest[dash + 1..]);
    !pid.is_empty()
        && pid.iter().all(u8::is_ascii_digit)
        && hash.len() == 16
        && hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && pid != std::process::id().to_string().as_bytes()
}

/// Remove the temporary files another process left in `dir` (`.hesscale-tmp-PID-HASH`,
/// or `.tmp-PID-HASH` from earlier versions): with the lock held, no other run writes
/// there, so they are leftovers of a killed run. Nothing else is touched.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.as_bytes();
        let ours = is_stale_temporary(name, TEMPORARY_PREFIX) || is_stale_temporary(name, ".tmp-");
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Remove the lock files of merges in `parent` that no process holds (merges killed with
/// kill -9): each is locked first, so a live merge's lock is never touched.
fn remove_stale_merge_locks(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.as_bytes();
        let is_lock = name.starts_with(MERGE_PREFIX.as_bytes()) && name.ends_with(b".lock");
        if !is_lock || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        if file.try_lock().is_ok() && same_file(&path, &file) {
            let _ = std::fs::remove_file(&path);
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
    fn only_the_temporaries_the_tool_names_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = [
            ".hesscale-tmp-999999-00000000000000ff",
            ".tmp-999999-00000000deadbeef",
        ];
        let kept = [
            "keep.csv",
            ".notes.tmp-keep",
            ".my.tmp-settings",
            ".quality_runs.csv.tmp-999999",
            ".tmp-999999-notahexnumber00",
            ".hesscale-tmp-12x-00000000000000ff",
        ];
        for name in stale.iter().chain(&kept) {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let _lock = DirLock::acquire(dir.path(), "--out-dir").unwrap();
        for name in stale {
            assert!(!dir.path().join(name).exists(), "{name} was left");
        }
        for name in kept {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
    }

    #[test]
    fn a_lock_path_that_is_a_link_or_a_fifo_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious");
        std::fs::write(&precious, "keep me").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&precious, out.join(LOCK_FILE)).unwrap();
        let error = DirLock::acquire(&out, "--out-dir").unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    }

    #[test]
    fn a_lock_beside_a_directory_has_a_short_name_and_stale_ones_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m".repeat(255));
        let stale = dir.path().join(beside_name("gone".as_ref(), ".lock"));
        std::fs::write(&stale, "pid 999999").unwrap();
        let lock = DirLock::acquire_beside(&out, "--out-dir").unwrap();
        assert!(!stale.exists(), "the stale lock is removed");
        assert!(lock.path().file_name().unwrap().len() < 40);
        assert!(DirLock::acquire_beside(&out, "--out-dir").is_err());
        drop(lock);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
