//! The cells of a grid in their canonical order, `--shard I/N` slices of them, and the
//! bookkeeping of `merge`: which shards a set of directories covers, and putting their
//! cells back into the canonical order.

use std::collections::BTreeMap;

use crate::config::quality::{QualityGrid, Shard};
use crate::study::Cell;

/// Every cell of the grid in canonical order: activation, loss, reduction, depth, width,
/// seed, each axis in the order given, the seed varying fastest.
pub fn grid_cells(grid: &QualityGrid) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(grid.n_cells());
    for &activation in &grid.activations {
        for &loss in &grid.losses {
            for &reduction in &grid.reductions {
                for &depth in &grid.depths {
                    for &width in &grid.widths {
                        for seed in 0..grid.seeds {
                            cells.push(Cell {
                                activation,
                                loss,
                                reduction,
                                depth,
                                width,
                                seed,
                            });
                        }
                    }
                }
            }
        }
    }
    cells
}

/// The cells of one shard, in canonical order: every N-th cell starting at I − 1, which
/// gives the shards sizes that differ by at most one cell and a mix of cheap and
/// expensive grid points each.
pub fn shard_cells(grid: &QualityGrid, shard: Shard) -> Vec<Cell> {
    grid_cells(grid)
        .into_iter()
        .enumerate()
        .filter(|(position, _)| shard.contains(*position))
        .map(|(_, cell)| cell)
        .collect()
}

/// Check that a set of shard indices (one per directory, in the given order) is exactly
/// 1..=N, each once. The error says which are repeated (and where) or missing.
pub fn check_shard_set(shards: &[(String, Shard)]) -> Result<(), String> {
    let Some((_, first)) = shards.first() else {
        return Err("no shard directories given".to_string());
    };
    let count = first.count;
    if let Some((dir, shard)) = shards.iter().find(|(_, shard)| shard.count != count) {
        return Err(format!(
            "'{dir}' is shard {shard} but '{}' is shard {first}: the runs split the grid into \
             different numbers of shards",
            shards[0].0
        ));
    }
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    for (dir, shard) in shards {
        if let Some(other) = seen.insert(shard.index, dir) {
            return Err(format!(
                "overlapping shards: '{other}' and '{dir}' are both shard {shard}"
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|index| !seen.contains_key(index))
        .map(|index| format!("{index}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s): {}", missing.join(", ")));
    }
    Ok(())
}

/// Put the per-cell items of N shards back into canonical order: `by_shard[i]` holds
/// shard i+1's items in its own (canonical) order; cell p of the grid is item p / N of
/// shard p mod N.
pub fn interleave<T>(by_shard: Vec<Vec<T>>) -> Vec<T> {
    let total = by_shard.iter().map(Vec::len).sum();
    let count = by_shard.len();
    let mut iterators: Vec<_> = by_shard.into_iter().map(Vec::into_iter).collect();
    (0..total)
        .map_while(|position| iterators[position % count].next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_interleave_back_to_the_grid() {
        let items: Vec<usize> = (0..10).collect();
        let count = 3;
        let by_shard: Vec<Vec<usize>> = (1..=count)
            .map(|index| {
                let shard = Shard { index, count };
                items
                    .iter()
                    .copied()
                    .filter(|&p| shard.contains(p))
                    .collect()
            })
            .collect();
        assert_eq!(by_shard[0], vec![0, 3, 6, 9]);
        assert_eq!(interleave(by_shard), items);
    }

    #[test]
    fn a_shard_set_must_be_complete_and_disjoint() {
        let s = |dir: &str, index, count| (dir.to_string(), Shard { index, count });
        assert!(check_shard_set(&[s("b", 2, 2), s("a", 1, 2)]).is_ok());
        let missing = check_shard_set(&[s("a", 1, 3), s("c", 3, 3)]).unwrap_err();
        assert_eq!(missing, "missing shard(s): 2/3");
        let overlap = check_shard_set(&[s("a", 1, 2), s("b", 1, 2)]).unwrap_err();
        assert!(
            overlap.contains("'a' and 'b' are both shard 1/2"),
            "{overlap}"
        );
        let counts = check_shard_set(&[s("a", 1, 2), s("b", 2, 3)]).unwrap_err();
        assert!(counts.contains("different numbers of shards"), "{counts}");
    }
}
