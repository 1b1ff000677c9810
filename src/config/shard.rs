//! `--shard I/N`: one of N disjoint slices of a study's cells.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

/// One of N disjoint slices of the cells (`--shard I/N`, 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// I, from 1 to `count`.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether the cell at `position` of the canonical order belongs to this shard
    /// (round-robin: position mod N = I − 1, which gives shards whose sizes differ by at
    /// most one cell and a mix of cheap and expensive grid points each).
    pub fn contains(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with 1 ≤ I ≤ N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not of the form I/N (e.g. 2/8)"))?;
        let number = |part: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("'{text}' is not of the form I/N with whole numbers (e.g. 2/8)")
            })
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 {
            return Err(format!(
                "'{text}': the number of shards N must be at least 1"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "'{text}': the shard index I must be between 1 and N = {count} (shards are 1-based)"
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_slice_round_robin() {
        assert_eq!("2/8".parse(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "x/y", "3", "1/0", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shard = Shard { index: 2, count: 3 };
        let positions: Vec<usize> = (0..8).filter(|&p| shard.contains(p)).collect();
        assert_eq!(positions, vec![1, 4, 7]);
    }
}
