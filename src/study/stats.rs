//! The statistics the studies' summaries share: the mean and its standard error over
//! seeds, the median of timed rounds, the groups of consecutive rows that summarise into
//! one, and the best step size of each family of rows. Pure functions of their inputs, so
//! a run, a resumed run and a merge of shards summarise alike.

/// The arithmetic mean (NaN for no values, never asked for by a summary).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The standard error of the mean: the sample standard deviation (divisor n − 1) over
/// √n. `None` for fewer than two values.
pub fn standard_error(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let m = mean(values);
    let variance = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64;
    Some((variance / n as f64).sqrt())
}

/// The median of `values` (the mean of the two middle ones for an even count).
/// `values` must not be empty.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "the median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// `items` split into runs of consecutive items with equal `key`, in order (rows in
/// canonical order: the seeds of a grid point, the step sizes of a family, follow each
/// other).
pub fn consecutive<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&[T]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || key(&items[i]) != key(&items[start]) {
            if i > start {
                groups.push(&items[start..i]);
            }
            start = i;
        }
    }
    groups
}

/// The best step size of each family of summary rows (consecutive rows with equal
/// `family`): the index of the row with the highest `score`, the smaller step size
/// (`lr`) on a tie, one per family in order.
pub fn best_step_sizes<T, K: PartialEq>(
    rows: &[T],
    family: impl Fn(&T) -> K,
    score: impl Fn(&T) -> f64,
    lr: impl Fn(&T) -> f64,
) -> Vec<usize> {
    let mut start = 0;
    consecutive(rows, family)
        .into_iter()
        .map(|members| {
            let best = (0..members.len())
                .reduce(|best, i| {
                    let (a, b) = (&members[best], &members[i]);
                    let better = score(b) > score(a) || (score(b) == score(a) && lr(b) < lr(a));
                    if better {
                        i
                    } else {
                        best
                    }
                })
                .expect("a family has rows");
            start += members.len();
            start - members.len() + best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn mean_and_standard_error_by_hand() {
        // values 1, 2, 3, 6: mean 3, sample variance (4 + 1 + 0 + 9) / 3 = 14/3,
        // se = sqrt(14/3 / 4) = sqrt(7/6).
        let values = [1.0, 2.0, 3.0, 6.0];
        assert_eq!(mean(&values), 3.0);
        assert_relative_eq!(standard_error(&values).unwrap(), (7.0f64 / 6.0).sqrt());
        assert_eq!(standard_error(&[5.0]), None);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn consecutive_equal_keys_group_in_order() {
        let groups = consecutive(&[1, 1, 2, 1, 3, 3], |&x| x);
        assert_eq!(groups, [&[1, 1][..], &[2], &[1], &[3, 3]]);
        assert!(consecutive(&[] as &[u8], |&x| x).is_empty());
    }

    #[test]
    fn the_best_step_size_is_the_highest_score_and_the_smaller_on_a_tie() {
        // (family, lr, score)
        let rows = [
            ("a", 1.0, 0.5),
            ("a", 0.1, 0.5),
            ("a", 0.01, 0.2),
            ("b", 0.1, 0.1),
            ("b", 1.0, 0.9),
        ];
        let best = best_step_sizes(&rows, |r| r.0, |r| r.2, |r| r.1);
        assert_eq!(best, [1, 4]);
    }
}
