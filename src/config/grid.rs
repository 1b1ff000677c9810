//! A study's grid, declared once as its axes: each axis names the configuration keys that
//! give it its values and says how many values it has. The number of cells, the cells'
//! points in canonical order and the keys a resumed run or a merge may grow all follow
//! from that one list.

/// One axis of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The configuration keys that give the axis its values (two where they combine, as
    /// `scalings` and `deltas` do into the scaling variants).
    pub keys: &'static [&'static str],
    /// How many values it has.
    pub len: usize,
}

impl Axis {
    /// The axis given by `keys`, with `len` values.
    pub const fn new(keys: &'static [&'static str], len: usize) -> Axis {
        Axis { keys, len }
    }
}

/// The number of cells of a grid: the product of its axes' lengths (saturating).
pub fn count(axes: &[Axis]) -> usize {
    axes.iter()
        .fold(1usize, |product, axis| product.saturating_mul(axis.len))
}

/// Every cell of a grid as the index of its value on each axis, in canonical order: each
/// axis in the order of its values, the first axis varying slowest and the last fastest.
pub fn points(axes: &[Axis]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let mut next = (count(axes) > 0).then(|| vec![0; axes.len()]);
    std::iter::from_fn(move || {
        let point = next.take()?;
        let mut following = point.clone();
        for (index, axis) in following.iter_mut().zip(axes).rev() {
            *index += 1;
            if *index < axis.len {
                next = Some(following);
                break;
            }
            *index = 0;
        }
        Some(point)
    })
}

/// The configuration keys of a grid's axes, in order: what a resumed run or a merge may
/// extend (lists grow, counts rise); every other key must match.
pub fn keys(axes: &[Axis]) -> Vec<&'static str> {
    axes.iter()
        .flat_map(|axis| axis.keys.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_run_the_last_axis_fastest() {
        let axes = [Axis::new(&["a"], 2), Axis::new(&["b", "c"], 3)];
        let points: Vec<Vec<usize>> = points(&axes).collect();
        assert_eq!(
            points,
            [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]].map(Vec::from)
        );
        assert_eq!(count(&axes), points.len());
        assert_eq!(keys(&axes), ["a", "b", "c"]);
    }

    #[test]
    fn an_empty_axis_leaves_no_cells_and_counts_saturate() {
        let empty = [Axis::new(&["a"], 2), Axis::new(&["b"], 0)];
        assert_eq!(points(&empty).count(), 0);
        assert_eq!(count(&empty), 0);
        assert_eq!(points(&[]).count(), 1, "no axes: one cell");
        let huge = [Axis::new(&["a"], usize::MAX), Axis::new(&["b"], 2)];
        assert_eq!(count(&huge), usize::MAX);
    }
}
