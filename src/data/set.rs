//! The data sets a study trains on, by name (SPEC §7): `mnist`, the subset shipped in the
//! binary, or `mnist:DIR`, the four IDX files in a directory.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::Mnist;
use crate::error::{Error, Result};

/// A labelled data set with a training and a test part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DataSet {
    /// `mnist`: the shipped subset ([`Mnist::shipped`]).
    Mnist,
    /// `mnist:DIR`: the IDX files in DIR ([`Mnist::from_dir`]).
    MnistDir(PathBuf),
}

impl DataSet {
    /// Read the data set's images and labels.
    pub fn load(&self) -> Result<Mnist> {
        match self {
            DataSet::Mnist => Mnist::shipped(),
            DataSet::MnistDir(dir) => Mnist::from_dir(dir),
        }
    }

    /// The directory a `mnist:DIR` set is read from with every symbolic link resolved
    /// (`None` for the shipped set or a directory that cannot be resolved): sets that
    /// resolve to one directory are read once.
    fn resolved_dir(&self) -> Option<PathBuf> {
        match self {
            DataSet::Mnist => None,
            DataSet::MnistDir(dir) => std::fs::canonicalize(dir).ok(),
        }
    }
}

/// The memory the data sets `sets` will take once read, in bytes, from their files'
/// headers: a directory reached by several names (symbolic links) counts once. Checks
/// what can be checked without reading the images (each directory and its files, every
/// header, that no split is empty), so these errors come before any work; an error names
/// the data set.
pub fn planned_bytes(sets: &[DataSet]) -> Result<u64> {
    let mut seen = Vec::new();
    let mut bytes = 0;
    for set in sets {
        let (key, size) = match set {
            DataSet::Mnist => (None, Mnist::shipped_bytes()),
            DataSet::MnistDir(dir) => (
                set.resolved_dir(),
                Mnist::bytes_in_dir(dir).map_err(|e| named(set, e))?,
            ),
        };
        if !seen.contains(&key) {
            seen.push(key);
            bytes += size;
        }
    }
    Ok(bytes)
}

/// Read the data sets `sets`, one [`Mnist`] per set in order. A set held twice (one
/// directory under several names, or copies with the same contents: the same
/// [`crate::data::DataDigest`]) is held in memory once and shared. An error names the
/// data set.
pub fn load_shared(sets: &[DataSet]) -> Result<Vec<Arc<Mnist>>> {
    let mut by_dir: Vec<(Option<PathBuf>, Arc<Mnist>)> = Vec::new();
    let mut loaded: Vec<Arc<Mnist>> = Vec::with_capacity(sets.len());
    for set in sets {
        let dir = set.resolved_dir();
        if let Some((_, same)) = by_dir.iter().find(|(d, _)| *d == dir && dir.is_some()) {
            loaded.push(Arc::clone(same));
            continue;
        }
        let data = set.load().map_err(|e| named(set, e))?;
        let shared = match loaded.iter().find(|other| other.digest == data.digest) {
            Some(same) => Arc::clone(same),
            None => Arc::new(data),
        };
        by_dir.push((dir, Arc::clone(&shared)));
        loaded.push(shared);
    }
    Ok(loaded)
}

/// An error about a data set, prefixed with its name (`--data 'mnist:DIR': …`).
fn named(set: &DataSet, error: Error) -> Error {
    let message = error.to_string();
    let prefix = format!("--data '{set}': ");
    if message.starts_with(&prefix) {
        error
    } else {
        Error::input(format!("{prefix}{message}"))
    }
}

impl fmt::Display for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSet::Mnist => f.pad("mnist"),
            DataSet::MnistDir(dir) => f.pad(&format!("mnist:{}", dir.display())),
        }
    }
}

impl FromStr for DataSet {
    type Err = Error;

    /// `mnist` or `mnist:DIR`. DIR must be valid UTF-8 (it is written into CSV rows) and may
    /// hold no comma, quote or line break (each row is one line of plain fields).
    fn from_str(text: &str) -> Result<Self> {
        match text.split_once(':') {
            None if text == "mnist" => Ok(DataSet::Mnist),
            Some(("mnist", "")) => Err(Error::input("'mnist:' names no directory")),
            Some(("mnist", dir)) => {
                if dir.contains([',', '"', '\n', '\r']) {
                    return Err(Error::input(format!(
                        "the directory of '{text}' may not contain a comma, quote or line break"
                    )));
                }
                Ok(DataSet::MnistDir(PathBuf::from(dir)))
            }
            _ => Err(Error::input(format!(
                "unknown data set '{text}' (expected mnist or mnist:DIR)"
            ))),
        }
    }
}

impl From<DataSet> for String {
    fn from(data: DataSet) -> String {
        data.to_string()
    }
}

impl TryFrom<String> for DataSet {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_input_errors() {
        for text in ["mnist", "mnist:/data/mnist", "mnist:rel/dir"] {
            assert_eq!(text.parse::<DataSet>().unwrap().to_string(), text);
        }
        assert_eq!(
            "mnist:x".parse::<DataSet>().unwrap(),
            DataSet::MnistDir(PathBuf::from("x"))
        );
        for (bad, message) in [
            ("random", "unknown data set 'random'"),
            ("cifar:x", "unknown data set"),
            ("mnist:", "names no directory"),
            ("mnist:a\"b", "may not contain"),
        ] {
            let error = bad.parse::<DataSet>().unwrap_err();
            assert_eq!(error.exit_code(), 2);
            assert!(error.to_string().contains(message), "{error}");
        }
    }

    #[test]
    fn the_shipped_set_loads() {
        let mnist = DataSet::Mnist.load().unwrap();
        assert_eq!((mnist.train.len(), mnist.test.len()), (7996, 2004));
    }
}
