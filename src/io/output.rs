//! Where results go: a file, written atomically (a temporary file in the same folder,
//! renamed into place when complete), or standard output.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A destination for one result: `-` is standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically.
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

    /// Check, before any work, that the result can be written: a file's folder must exist
    /// and take a new file (tried with an empty probe file that is removed at once).
    pub fn check_writable(&self) -> Result<()> {
        let Output::File(path) = self else {
            return Ok(());
        };
        let (folder, file_name) = folder_and_name(path)?;
        let probe = folder.join(format!(".{file_name}.probe-{}", std::process::id()));
        fs::write(&probe, b"")
            .and_then(|()| fs::remove_file(&probe))
            .map_err(|e| Error::input(format!("cannot write '{}': {e}", path.display())))
    }

    /// Write `bytes` in full, or nothing at all.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Output::Stdout => std::io::stdout()
                .lock()
                .write_all(bytes)
                .map_err(|e| Error::runtime(format!("cannot write to standard output: {e}"))),
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

/// Write `bytes` to `path` through a temporary file in the same folder that is renamed
/// over `path` once complete, so `path` holds either its old contents or all the new ones.
/// A failure here is a runtime error: paths the user gives are checked before the work
/// ([`Output::check_writable`]), so what fails now is the disk or the system.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let (folder, file_name) = folder_and_name(path)?;
    let temporary = folder.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, path))
        .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", path.display())));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
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
    }

    #[test]
    fn a_write_that_fails_during_the_run_is_a_runtime_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomically(&dir.path().join("gone").join("out.json"), b"x").unwrap_err();
        assert_eq!(error.exit_code(), 1);
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
