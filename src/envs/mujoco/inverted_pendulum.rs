//! InvertedPendulum-v5 (`inverted_pendulum_v5.py`, `inverted_pendulum.xml`): balance a pole
//! on a cart. Frame skip 2 (`dt` 0.04), reward 1 per step until the pole tilts more than
//! 0.2 rad, 1000 steps.

use rand_chacha::ChaCha8Rng;

use super::{
    gymnasium_model, noisy_reset, positions_and_velocities, Rules, Simulation, VelocityNoise,
};
use crate::envs::Task;

/// InvertedPendulum-v5 with its default arguments.
pub(super) struct InvertedPendulum;

/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 0.01;

impl Rules for InvertedPendulum {
    const TASK: Task = Task::InvertedPendulum;
    const XML: &'static str = gymnasium_model!("inverted_pendulum.xml");
    const FRAME_SKIP: usize = 2;
    const NQ: usize = 2;
    const NV: usize = 2;
    const NU: usize = 1;
    const CTRL_RANGE: [f64; 2] = [-3.0, 3.0];
    const OBSERVATION_DIM: usize = 4;
    const MAX_EPISODE_STEPS: usize = 1000;

    /// `qpos = init + U(−0.01, 0.01)`, then `qvel = init + U(−0.01, 0.01)`.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        noisy_reset(
            init_qpos,
            init_qvel,
            rng,
            RESET_NOISE_SCALE,
            VelocityNoise::Uniform,
        )
    }

    /// `qpos ++ qvel`: cart position, pole angle, and their velocities.
    fn observation(sim: &Simulation) -> Vec<f64> {
        positions_and_velocities(sim, 0, false)
    }

    /// Terminated when an observation component is not finite or `|angle| > 0.2`; reward
    /// `int(not terminated)`.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        sim.advance(action);
        let observation = Self::observation(sim);
        let terminated = !observation.iter().all(|x| x.is_finite()) || observation[1].abs() > 0.2;
        (if terminated { 0.0 } else { 1.0 }, terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: a random-action episode that falls and one
    /// balanced to the time limit.
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::InvertedPendulum);
        assert!(
            steps > 40 && terminated > 5,
            "{steps} steps, {terminated} terminated"
        );
    }
}
