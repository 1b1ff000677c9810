//! Walker2d-v5 (`walker2d_v5.py`, `walker2d_v5.xml`, whose feet have equal friction): a
//! planar two-legged walker rewarded for its forward speed and for staying healthy. Frame
//! skip 4 (`dt` 0.008), terminates when unhealthy, 1000 steps.

use rand_chacha::ChaCha8Rng;

use super::{
    gymnasium_model, healthy_locomotion_step, noisy_reset, positions_and_velocities, Rules,
    Simulation, VelocityNoise,
};
use crate::envs::Task;

/// Walker2d-v5 with its default arguments.
pub(super) struct Walker2d;

/// `ctrl_cost_weight` (`forward_reward_weight` and `healthy_reward` are 1).
const CTRL_COST_WEIGHT: f64 = 1e-3;
/// `healthy_z_range`, exclusive.
const HEALTHY_Z_RANGE: (f64, f64) = (0.8, 2.0);
/// `healthy_angle_range`, exclusive.
const HEALTHY_ANGLE_RANGE: (f64, f64) = (-1.0, 1.0);
/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 5e-3;

/// `is_healthy`: the height `qpos[1]` in (0.8, 2) and the angle `qpos[2]` in (−1, 1).
fn is_healthy(sim: &Simulation) -> bool {
    let (z, angle) = (sim.qpos()[1], sim.qpos()[2]);
    let healthy_z = HEALTHY_Z_RANGE.0 < z && z < HEALTHY_Z_RANGE.1;
    let healthy_angle = HEALTHY_ANGLE_RANGE.0 < angle && angle < HEALTHY_ANGLE_RANGE.1;
    healthy_z && healthy_angle
}

impl Rules for Walker2d {
    const TASK: Task = Task::Walker2d;
    const XML: &'static str = gymnasium_model!("walker2d_v5.xml");
    const FRAME_SKIP: usize = 4;
    const NQ: usize = 9;
    const NV: usize = 9;
    const NU: usize = 6;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 17;
    const MAX_EPISODE_STEPS: usize = 1000;

    /// `qpos = init + U(−0.005, 0.005)`, then `qvel = init + U(−0.005, 0.005)`.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        noisy_reset(
            init_qpos,
            init_qvel,
            rng,
            RESET_NOISE_SCALE,
            VelocityNoise::Uniform,
        )
    }

    /// `qpos[1:] ++ clip(qvel, −10, 10)`.
    fn observation(sim: &Simulation) -> Vec<f64> {
        positions_and_velocities(sim, 1, true)
    }

    /// Reward `(1.0·x_velocity + healthy·1.0) − 0.001·Σ action²`; terminated when unhealthy.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        healthy_locomotion_step(sim, action, CTRL_COST_WEIGHT, is_healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: two episodes that fall (random and zero
    /// actions) and step past termination.
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::Walker2d);
        assert!(
            steps > 40 && terminated > 5,
            "{steps} steps, {terminated} terminated"
        );
    }
}
