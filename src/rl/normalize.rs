//! Observation and reward normalisation as Gymnasium's `NormalizeObservation` and
//! `NormalizeReward` wrappers (ε = 1e-8), each followed by a clip to [−10, 10] as in
//! CleanRL's PPO, whose settings the agents follow.

/// The clip applied to normalised observations and rewards.
pub const CLIP: f64 = 10.0;
/// The ε of the wrappers, added to the variance.
const EPSILON: f64 = 1e-8;

/// A running mean and variance (Gymnasium's `RunningMeanStd`, count starting at 1e-4, mean 0
/// and variance 1), updated one sample at a time by the parallel-variance rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningMeanStd {
    mean: Vec<f64>,
    var: Vec<f64>,
    count: f64,
}

impl RunningMeanStd {
    /// The statistics of `dim` components before any sample.
    pub fn new(dim: usize) -> Self {
        RunningMeanStd {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Add one sample: with `δ = x − mean` and counts `c` and `c + 1`,
    /// `mean ← mean + δ/(c+1)`, `var ← (c·var + δ²·c/(c+1)) / (c+1)`.
    pub fn update(&mut self, x: &[f64]) {
        let total = self.count + 1.0;
        for ((mean, var), &x) in self.mean.iter_mut().zip(&mut self.var).zip(x) {
            let delta = x - *mean;
            *mean += delta / total;
            *var = (*var * self.count + delta * delta * self.count / total) / total;
        }
        self.count = total;
    }

    /// The running mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The running variance.
    pub fn var(&self) -> &[f64] {
        &self.var
    }
}

/// `NormalizeObservation`: update the statistics with the observation, then return
/// `clip((x − mean)/√(var + ε))`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationNormalizer {
    stats: RunningMeanStd,
}

impl ObservationNormalizer {
    /// A normaliser for observations of `dim` components.
    pub fn new(dim: usize) -> Self {
        ObservationNormalizer {
            stats: RunningMeanStd::new(dim),
        }
    }

    /// Update with `observation` and return it normalised.
    pub fn normalize(&mut self, observation: &[f64]) -> Vec<f64> {
        self.stats.update(observation);
        observation
            .iter()
            .zip(self.stats.mean())
            .zip(self.stats.var())
            .map(|((&x, &mean), &var)| ((x - mean) / (var + EPSILON).sqrt()).clamp(-CLIP, CLIP))
            .collect()
    }
}

/// `NormalizeReward`: the discounted return `R ← γ R (1 − terminated) + r` of the running
/// episode feeds a running variance, and each reward is returned as
/// `clip(r / √(var + ε))`.
#[derive(Clone, Debug, PartialEq)]
pub struct RewardNormalizer {
    gamma: f64,
    discounted: f64,
    stats: RunningMeanStd,
}

impl RewardNormalizer {
    /// A normaliser for the discount `gamma`.
    pub fn new(gamma: f64) -> Self {
        RewardNormalizer {
            gamma,
            discounted: 0.0,
            stats: RunningMeanStd::new(1),
        }
    }

    /// Update with the reward of a step (and whether it ended the episode by termination)
    /// and return it scaled.
    pub fn normalize(&mut self, reward: f64, terminated: bool) -> f64 {
        let continuing = if terminated { 0.0 } else { 1.0 };
        self.discounted = self.discounted * self.gamma * continuing + reward;
        self.stats.update(&[self.discounted]);
        (reward / (self.stats.var()[0] + EPSILON).sqrt()).clamp(-CLIP, CLIP)
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;

    use super::*;

    /// The running statistics equal the batch mean and population variance of the samples
    /// seen, up to the 1e-4 pseudo-count of the prior (mean 0, variance 1).
    #[test]
    fn running_statistics_match_the_batch_ones() {
        let samples = [1.0, 4.0, -2.0, 7.5, 0.25];
        let mut stats = RunningMeanStd::new(1);
        for x in samples {
            stats.update(&[x]);
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let var = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        assert_abs_diff_eq!(stats.mean()[0], mean, epsilon = 1e-3);
        assert_abs_diff_eq!(stats.var()[0], var, epsilon = 1e-3);
    }

    /// The first observation is normalised against itself (mean ≈ x), so it is ≈ 0.
    /// Rewards are divided by the running standard deviation of the discounted return
    /// `R ← γ R (1 − terminated) + r`: a terminating step drops the return before it (and,
    /// as in Gymnasium, the next episode starts from that step's R).
    #[test]
    fn normalisers_follow_the_gymnasium_wrappers() {
        let mut observations = ObservationNormalizer::new(2);
        let first = observations.normalize(&[3.0, -1.0]);
        assert!(first.iter().all(|x| x.abs() < 1e-2));
        let mut rewards = RewardNormalizer::new(0.5);
        let mut stats = RunningMeanStd::new(1);
        for (reward, terminated, discounted) in [
            (2.0, false, 2.0),
            (0.5, true, 0.5),
            (1.0, false, 1.25),
            (3.0, false, 3.625),
        ] {
            stats.update(&[discounted]);
            let want = (reward / (stats.var()[0] + EPSILON).sqrt()).clamp(-CLIP, CLIP);
            assert_eq!(rewards.normalize(reward, terminated), want);
        }
    }
}
