//! The studies: the computation behind `quality` (SPEC §3), separate from the command
//! line (`crate::config`), the orchestration (`crate::runner`) and the bytes (`crate::io`).
//!
//! * [`shard`]: the cells of a grid in their canonical order, `--shard` slices, merging.
//! * [`quality`]: one cell: a random MLP, its samples, every method's per-seed errors.
//! * [`summary`]: the summary statistics over seeds, from run rows (pure).

pub mod check;
pub mod quality;
pub mod shard;
pub mod summary;

use crate::nn::{Activation, Loss, Reduction};
use crate::rng::stream_id;

/// One cell of the quality grid: a grid point and a seed, i.e. one random network and
/// its samples. The batch size, input and output widths are the same for every cell of
/// a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    /// The seed index, 0..seeds.
    pub seed: usize,
}

impl Cell {
    /// The stable key of the cell's random streams (SPEC §5), from its content only, so
    /// adding another width, activation or seed never changes this cell's numbers.
    pub fn stream_key(&self, batch_size: usize) -> u64 {
        stream_id(&format!(
            "{}/{}/{}/{}/{}/{}/{}",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            batch_size,
            self.seed
        ))
    }

    /// A short human-readable name, for error messages.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} depth {} width {} seed {}",
            self.activation, self.loss, self.reduction, self.depth, self.width, self.seed
        )
    }
}
