//! The data sets of SPEC §7 besides `random`: MNIST read from the four standard IDX files
//! in a directory (`mnist:DIR`) or the subset shipped in the binary (`mnist`). [`idx`]
//! reads and checks single IDX files, raw or gzip; [`mnist`] pairs them into training and
//! test splits and turns pixels into network inputs `x = byte / 255`; [`set`] names the data
//! sets a study trains on (`mnist`, `mnist:DIR`).

pub mod idx;
pub mod mnist;
pub mod set;

pub use idx::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE, MAX_IDX_BYTES};
pub use mnist::{DataDigest, Mnist, Split, SHIPPED_SHA256};
pub use set::{load_shared, planned_bytes, DataSet};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a study's inputs and targets come from (SPEC §7): drawn at random, or a data set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DataSource {
    /// `random`: inputs ~ N(0, I), labels uniform or targets ~ N(0, I), drawn per batch.
    Random,
    /// A data set with a training and a test part.
    Set(DataSet),
}

impl DataSource {
    /// The data set, if this is one.
    pub fn data_set(&self) -> Option<&DataSet> {
        match self {
            DataSource::Random => None,
            DataSource::Set(set) => Some(set),
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::Random => f.pad("random"),
            DataSource::Set(set) => set.fmt(f),
        }
    }
}

impl FromStr for DataSource {
    type Err = Error;

    /// `random`, `mnist` or `mnist:DIR` ([`DataSet`]).
    fn from_str(text: &str) -> Result<DataSource> {
        if text == "random" {
            Ok(DataSource::Random)
        } else if text == "mnist" || text.starts_with("mnist:") {
            text.parse().map(DataSource::Set)
        } else {
            Err(Error::input(format!(
                "unknown data '{text}' (expected random, mnist or mnist:DIR)"
            )))
        }
    }
}

impl From<DataSource> for String {
    fn from(data: DataSource) -> String {
        data.to_string()
    }
}

impl TryFrom<String> for DataSource {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn data_sources_round_trip_by_name() {
        for name in ["random", "mnist", "mnist:/data/mnist"] {
            assert_eq!(name.parse::<DataSource>().unwrap().to_string(), name);
        }
        for bad in ["mnist:", "cifar", "random:x", "", "mnist:a,b"] {
            assert_eq!(
                bad.parse::<DataSource>().unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
        let json = serde_json::to_string(&DataSource::Set(DataSet::Mnist)).unwrap();
        assert_eq!(json, "\"mnist\"");
        assert_eq!(
            serde_json::from_str::<DataSource>(&json).unwrap(),
            DataSource::Set(DataSet::Mnist)
        );
    }
}
