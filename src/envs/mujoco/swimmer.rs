//! Swimmer-v5 (`swimmer_v5.py`, `swimmer.xml`): a three-link swimmer in a viscous fluid,
//! rewarded for its forward speed. Frame skip 4 (`dt` 0.04), no termination, 1000 steps.

use rand_chacha::ChaCha8Rng;

use super::{
    advance_measuring_x, gymnasium_model, noisy_reset, positions_and_velocities, sum_of_squares,
    Rules, Simulation, VelocityNoise,
};
use crate::envs::Task;

/// Swimmer-v5 with its default arguments.
pub(super) struct Swimmer;

/// `forward_reward_weight`.
const FORWARD_REWARD_WEIGHT: f64 = 1.0;
/// `ctrl_cost_weight`.
const CTRL_COST_WEIGHT: f64 = 1e-4;
/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 0.1;

impl Rules for Swimmer {
    const TASK: Task = Task::Swimmer;
    const XML: &'static str = gymnasium_model!("swimmer.xml");
    const FRAME_SKIP: usize = 4;
    const NQ: usize = 5;
    const NV: usize = 5;
    const NU: usize = 2;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 8;
    const MAX_EPISODE_STEPS: usize = 1000;

    /// `qpos = init + U(−0.1, 0.1)`, then `qvel = init + U(−0.1, 0.1)`.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        noisy_reset(
            init_qpos,
            init_qvel,
            rng,
            RESET_NOISE_SCALE,
            VelocityNoise::Uniform,
        )
    }

    /// `qpos[2:] ++ qvel` (the x and y positions excluded).
    fn observation(sim: &Simulation) -> Vec<f64> {
        positions_and_velocities(sim, 2, false)
    }

    /// `x_velocity = (x_after − x_before)/dt` of `qpos[0]`; reward
    /// `1.0·x_velocity − 1e-4·Σ action²`; never terminates.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        let x_velocity = advance_measuring_x(sim, action);
        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let ctrl_cost = CTRL_COST_WEIGHT * sum_of_squares(action);
        (forward_reward - ctrl_cost, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: a random-action episode to the time limit;
    /// never terminated.
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::Swimmer);
        assert!(
            steps > 40 && terminated == 0,
            "{steps} steps, {terminated} terminated"
        );
    }
}
