//! The checked configuration of `hesscale-cli merge`: the directories, the study they
//! hold (from the metadata file they share) and where the merged files go. Whether the
//! directories fit together is checked by the merge, which has to read them.

use std::path::PathBuf;

use crate::cli::MergeArgs;
use crate::error::{Error, Result};

/// The studies whose out-dirs `merge` combines, by the name of their metadata file.
pub const MERGEABLE: [&str; 3] = ["quality", "optimize", "rl"];

/// A checked `merge` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSpec {
    /// The study the directories hold.
    pub study: String,
    /// The out-dirs, as given.
    pub dirs: Vec<PathBuf>,
    /// Where the merged files go.
    pub out_dir: PathBuf,
    /// Merge what there is where the inputs leave cells of their combined grid uncomputed.
    pub partial: bool,
}

impl TryFrom<MergeArgs> for MergeSpec {
    type Error = Error;

    /// Every directory must exist, be named once, differ from `--out-dir`, and hold the
    /// metadata of one mergeable study (the first directory's).
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
        let first = &args.dirs[0];
        let study = MERGEABLE
            .iter()
            .find(|name| first.join(format!("{name}.meta.json")).exists())
            .ok_or_else(|| {
                Error::input(format!(
                    "merge: '{}' is not a {} out-dir (no {} found)",
                    first.display(),
                    MERGEABLE.join(" or "),
                    MERGEABLE
                        .iter()
                        .map(|name| format!("{name}.meta.json"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
            })?;
        Ok(MergeSpec {
            study: study.to_string(),
            dirs: args.dirs,
            out_dir: args.out_dir,
            partial: args.partial,
        })
    }
}
