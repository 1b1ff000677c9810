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

/// Write `bytes` to `path` through a temporary file in the same folder that is renamed
/// over `path` once complete, so `path` holds either its old contents or all the new ones.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::input(format!("'{}' is not a file path", path.display())))?;
    let temporary = folder.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let unwritable =
        |e: std::io::Error| Error::input(format!("cannot write '{}': {e}", path.display()));
    let written = fs::File::create(&temporary)
        .map_err(unwritable)
        .and_then(|mut file| {
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", path.display())))
        })
        .and_then(|()| fs::rename(&temporary, path).map_err(unwritable));
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
    fn a_missing_folder_is_an_input_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.json");
        let error = write_atomically(&path, b"x").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("out.json"), "{error}");
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
