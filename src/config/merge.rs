//! The checked configuration of `hesscale-cli merge`: the directories and where the merged
//! files go. Which study they hold and whether they fit together is checked by the merge,
//! which has to read them.

use std::path::PathBuf;

use crate::cli::MergeArgs;
use crate::error::{Error, Result};

/// A checked `merge` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSpec {
    /// The out-dirs, as given.
    pub dirs: Vec<PathBuf>,
    /// Where the merged files go.
    pub out_dir: PathBuf,
    /// Merge what there is where the inputs leave cells of their combined grid uncomputed.
    pub partial: bool,
}

impl TryFrom<MergeArgs> for MergeSpec {
    type Error = Error;

    /// Every directory must exist, be named once and differ from `--out-dir` (which study
    /// they hold is the merge's to find, from the studies it knows).
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
                    "merge: --out-dir '{}' is also one of the directories to merge",
                    dir.display()
                )));
            }
        }
        Ok(MergeSpec {
            dirs: args.dirs,
            out_dir: args.out_dir,
            partial: args.partial,
        })
    }
}
