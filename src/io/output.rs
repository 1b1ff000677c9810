//! Where results go and how files are read back.
//!
//! Writes: a regular file (or a new path) is replaced atomically (a temporary file in the
//! same folder, renamed into place when complete), so a reader never sees half of it; a
//! symbolic link is followed and its target replaced the same way; a device or a FIFO is
//! written to directly (it cannot be replaced). Temporary names are short whatever the
//! file's name (`.hesscale-tmp-PID-HASH`), so a legal long name never fails for them.
//!
//! Reads are bounded: a file larger than the limit for its kind is refused before it is
//! read whole, so `/dev/zero` or a runaway file cannot exhaust memory.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The most bytes read from a problem file.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;
/// The most bytes read from a preset.
pub const MAX_PRESET_BYTES: u64 = 1 << 20;
/// The most bytes read from a metadata record.
pub const MAX_META_BYTES: u64 = 64 << 20;
/// The most bytes read from a results table or ledger.
pub const MAX_RESULT_BYTES: u64 = 16 << 30;

/// A destination for one result: `-` is standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically (or written through if it is a device or a FIFO).
    File(PathBuf),
}

impl Output {
    /// `-` means standard output, anything else a file path.
    pub fn from_arg(arg: &str) -> Output {
        if arg == "-" {
            Output::Stdout
        } else {
            Output::File(PathBuf::from(arg))
        }
    }

    /// Check, before any work, that the result can be written: a device or FIFO must
    /// open for writing; otherwise the target's folder must take a new file (tried with
    /// an empty probe file that is removed at once) and the target must not be a folder.
    pub fn check_writable(&self) -> Result<()> {
        let Output::File(path) = self else {
            return Ok(());
        };
        let target = resolve(path)?;
        let cannot =
            |e: std::io::Error| Error::input(format!("cannot write '{}': {e}", path.display()));
        match fs::metadata(&target) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::input(format!(
                    "cannot write '{}': it is a directory",
                    path.display()
                )))
            }
            Ok(meta) if !meta.is_file() => return Ok(()),
            _ => {}
        }
        let (folder, _) = folder_and_name(&target)?;
        let probe = folder.join(temporary_name(&target));
        fs::write(&probe, b"")
            .and_then(|()| fs::remove_file(&probe))
            .map_err(cannot)
    }

    /// Write `bytes` in full, or nothing at all.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            // A reader that stops early (`| head`) is not a failure of the tool.
            Output::Stdout => match std::io::stdout().lock().write_all(bytes) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::runtime(
                    format!("cannot write to standard output: {e}"),
                )),
                _ => Ok(()),
            },
            Output::File(path) => write_atomically(path, bytes),
        }
    }
}

/// The folder a file path lives in (`.` for a bare name) and the file's name.
fn folder_and_name(path: &Path) -> Result<(PathBuf, String)> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::input(format!("'{}' is not a file path", path.display())))?;
    Ok((folder, file_name.to_string_lossy().into_owned()))
}

/// `path` with every symbolic link of its last component followed (relative targets are
/// taken from the link's folder); a path that does not exist is itself.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|e| {
                    Error::input(format!("cannot follow '{}': {e}", current.display()))
                })?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::input(format!(
        "cannot follow '{}': too many symbolic links",
        path.display()
    )))
}

/// A short temporary name for `path` in its folder: `.hesscale-tmp-PID-HASH`, the hash of
/// the file's name (FNV-1a), so that it never exceeds the system's name limit, and a
/// killed run's leftovers can be told from anyone else's files
/// ([`crate::io::lock::TEMPORARY_PREFIX`]).
fn temporary_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{}{}-{:016x}",
        crate::io::lock::TEMPORARY_PREFIX,
        std::process::id(),
        crate::rng::stream_id(&name)
    )
}

/// Write `bytes` to `path` so that it holds either its old contents or all the new ones:
/// a regular file (or a new path) is replaced through a temporary file in the same folder,
/// a symbolic link's target likewise, and a device or FIFO is written to directly. A
/// failure here is a runtime error: paths the user gives are checked before the work
/// ([`Output::check_writable`]), so what fails now is the disk or the system.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed =
        |e: std::io::Error| Error::runtime(format!("cannot write '{}': {e}", path.display()));
    let target = resolve(path)?;
    if let Ok(meta) = fs::metadata(&target) {
        if !meta.is_file() && !meta.is_dir() {
            return OpenOptions::new()
                .write(true)
                .open(&target)
                .and_then(|mut file| file.write_all(bytes))
                .map_err(failed);
        }
    }
    let (folder, _) = folder_and_name(&target)?;
    let temporary = folder.join(temporary_name(&target));
    let written = File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, &target))
        .map_err(failed);
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// Open `path` for reading if it is a regular file (following symbolic links); a FIFO,
/// socket, device or directory is refused at once, before anything could block on it.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            if kind.is_dir() {
                "it is a directory, not a file"
            } else {
                "it is not a regular file (a FIFO, socket or device)"
            },
        ))
    }
}

/// Read a whole regular file ([`open_regular`]) of at most `limit` bytes; a larger one is
/// an input error naming the limit, found before more than `limit` bytes are read.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let shown = path.display();
    let file =
        open_regular(path).map_err(|e| Error::input(format!("cannot read '{shown}': {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::input(format!("cannot read '{shown}': {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::input(format!(
            "'{shown}' is larger than the limit of {} MiB for such a file",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// A file that rows are appended to: one `write_all` + flush per call, so the file
/// always ends on a complete block unless the process dies mid-write.
pub struct Appender {
    path: PathBuf,
    file: File,
}

impl Appender {
    /// Open `path` for appending (it must exist and be a regular file).
    pub fn open(path: &Path) -> Result<Appender> {
        let file = open_regular_for_writing(path, OpenOptions::new().append(true))
            .map_err(|e| Error::runtime(format!("cannot open '{}': {e}", path.display())))?;
        Ok(Appender {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append `text` in one write and flush it.
    pub fn append(&mut self, text: &str) -> Result<()> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", self.path.display())))
    }

    /// Flush the file to disk.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", self.path.display())))
    }
}

/// Open `path` with `options` if it is a regular file; anything else is refused before
/// it could block (a FIFO) or be written through (a device).
fn open_regular_for_writing(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let file = options.custom_flags(libc::O_NONBLOCK).open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ))
    }
}

/// Cut a regular file back to its first `length` bytes.
pub fn truncate(path: &Path, length: u64) -> Result<()> {
    open_regular_for_writing(path, OpenOptions::new().write(true))
        .and_then(|file| file.set_len(length))
        .map_err(|e| Error::runtime(format!("cannot truncate '{}': {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_symbolic_link_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("target.json", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_device_is_written_through_not_replaced() {
        let path = Path::new("/dev/null");
        if path.exists() {
            Output::File(path.to_path_buf()).check_writable().unwrap();
            write_atomically(path, b"x").unwrap();
            assert!(!fs::metadata(path).unwrap().is_file(), "still a device");
        }
    }

    #[test]
    fn a_long_legal_name_gets_a_short_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x".repeat(250));
        Output::File(path.clone()).check_writable().unwrap();
        write_atomically(&path, b"ok").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ok");
    }

    #[test]
    fn a_missing_folder_is_found_before_work_as_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let output = Output::File(dir.path().join("missing").join("out.json"));
        let error = output.check_writable().unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("out.json"), "{error}");
        assert!(Output::File(dir.path().join("out.json"))
            .check_writable()
            .is_ok());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the probe is removed"
        );
        let error = Output::File(dir.path().to_path_buf())
            .check_writable()
            .unwrap_err();
        assert!(error.to_string().contains("is a directory"), "{error}");
    }

    #[test]
    fn a_write_that_fails_during_the_run_is_a_runtime_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomically(&dir.path().join("gone").join("out.json"), b"x").unwrap_err();
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_bounded(&path, 4096).unwrap().len(), 2048);
        let error = read_bounded(&path, 1024).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        if Path::new("/dev/zero").exists() {
            let error = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(error.to_string().contains("not a regular file"), "{error}");
        }
    }

    #[test]
    fn dash_means_standard_output() {
        assert_eq!(Output::from_arg("-"), Output::Stdout);
        assert_eq!(
            Output::from_arg("a.json"),
            Output::File(PathBuf::from("a.json"))
        );
    }
}
