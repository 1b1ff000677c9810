//! The checked configuration of `hesscale-cli merge`: the shard directories and where the
//! merged files go. Whether the shards fit together is checked by the merger, which has
//! to read them.

use std::path::PathBuf;

use crate::cli::MergeArgs;
use crate::error::{Error, Result};

/// A checked `merge` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSpec {
    /// The shard out-dirs, as given.
    pub dirs: Vec<PathBuf>,
    /// Where the merged files go.
    pub out_dir: PathBuf,
}

impl TryFrom<MergeArgs> for MergeSpec {
    type Error = Error;

    /// Every shard directory must exist, be named once, and differ from `--out-dir`.
    fn try_from(args: MergeArgs) -> Result<Self> {
        for (i, dir) in args.dirs.iter().enumerate() {
            if !dir.is_dir() {
                return Err(Error::input(format!(
                    "merge: '{}' is not a directory",
                    dir.display()
                )));
            }
            if args.dirs[..i].contains(dir) {
                return Err(Error::input(format!(
                    "merge: '{}' is given twice",
                    dir.display()
                )));
            }
            if *dir == args.out_dir {
                return Err(Error::input(format!(
                    "merge: --out-dir '{}' is also one of the shard directories",
                    dir.display()
                )));
            }
        }
        Ok(MergeSpec {
            dirs: args.dirs,
            out_dir: args.out_dir,
        })
    }
}
