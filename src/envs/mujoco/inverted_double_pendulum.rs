//! InvertedDoublePendulum-v5 (`inverted_double_pendulum_v5.py`,
//! `inverted_double_pendulum.xml`): balance two poles on a cart. Frame skip 5 (`dt` 0.05),
//! terminates when the tip falls to a height of 1 or below, 1000 steps.

use rand_chacha::ChaCha8Rng;

use super::{gymnasium_model, noisy_reset, Rules, Simulation, VelocityNoise};
use crate::envs::{pow2, Task};

/// InvertedDoublePendulum-v5 with its default arguments.
pub(super) struct InvertedDoublePendulum;

/// `healthy_reward`.
const HEALTHY_REWARD: f64 = 10.0;
/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 0.1;
/// The site whose position is the tip, `site_xpos[0]`.
const TIP: usize = 0;

impl Rules for InvertedDoublePendulum {
    const TASK: Task = Task::InvertedDoublePendulum;
    const XML: &'static str = gymnasium_model!("inverted_double_pendulum.xml");
    const FRAME_SKIP: usize = 5;
    const NQ: usize = 3;
    const NV: usize = 3;
    const NU: usize = 1;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 9;
    const MAX_EPISODE_STEPS: usize = 1000;

    /// `qpos = init + U(−0.1, 0.1)`, then `qvel = init + N(0, 1)·0.1` (the same product as
    /// `0.1·N(0, 1)`).
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        noisy_reset(
            init_qpos,
            init_qvel,
            rng,
            RESET_NOISE_SCALE,
            VelocityNoise::Normal,
        )
    }

    /// `[qpos[0], sin(qpos[1:]), cos(qpos[1:]), clip(qvel, −10, 10),
    /// clip(qfrc_constraint, −10, 10)[:1]]`.
    fn observation(sim: &Simulation) -> Vec<f64> {
        let qpos = sim.qpos();
        let mut observation = Vec::with_capacity(Self::OBSERVATION_DIM);
        observation.push(qpos[0]);
        observation.extend(qpos[1..].iter().map(|q| q.sin()));
        observation.extend(qpos[1..].iter().map(|q| q.cos()));
        observation.extend(sim.qvel().iter().map(|v| v.clamp(-10.0, 10.0)));
        observation.push(sim.qfrc_constraint()[0].clamp(-10.0, 10.0));
        observation
    }

    /// With the tip at `(x, _, y)` and `v1, v2 = qvel[1:3]`: terminated when `y ≤ 1`;
    /// reward `10·int(not terminated) − (0.01·x**2 + (y − 2)**2) − (0.001·v1**2 +
    /// 0.005·v2**2)`.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        sim.advance(action);
        let [x, _, y] = sim.site_xpos(TIP);
        let terminated = y <= 1.0;
        let (v1, v2) = (sim.qvel()[1], sim.qvel()[2]);
        let dist_penalty = 0.01 * pow2(x) + pow2(y - 2.0);
        let vel_penalty = 0.001 * pow2(v1) + 0.005 * pow2(v2);
        let alive_bonus = if terminated { 0.0 } else { HEALTHY_REWARD };
        (alive_bonus - dist_penalty - vel_penalty, terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: a random-action episode that falls.
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::InvertedDoublePendulum);
        assert!(
            steps > 40 && terminated > 5,
            "{steps} steps, {terminated} terminated"
        );
    }
}
