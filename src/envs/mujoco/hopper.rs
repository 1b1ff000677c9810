//! Hopper-v5 (`hopper_v5.py`, `hopper.xml`): a planar one-legged hopper rewarded for its
//! forward speed and for staying healthy. Frame skip 4 (`dt` 0.008), terminates when
//! unhealthy, 1000 steps.

use rand_chacha::ChaCha8Rng;

use super::{
    gymnasium_model, healthy_locomotion_step, noisy_reset, positions_and_velocities, Rules,
    Simulation, VelocityNoise,
};
use crate::envs::Task;

/// Hopper-v5 with its default arguments.
pub(super) struct Hopper;

/// `ctrl_cost_weight` (`forward_reward_weight` and `healthy_reward` are 1).
const CTRL_COST_WEIGHT: f64 = 1e-3;
/// `healthy_state_range`, exclusive.
const HEALTHY_STATE_RANGE: (f64, f64) = (-100.0, 100.0);
/// `healthy_z_range`, exclusive.
const HEALTHY_Z_RANGE: (f64, f64) = (0.7, f64::INFINITY);
/// `healthy_angle_range`, exclusive.
const HEALTHY_ANGLE_RANGE: (f64, f64) = (-0.2, 0.2);
/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 5e-3;

/// `min < x < max`.
fn inside(x: f64, (min, max): (f64, f64)) -> bool {
    min < x && x < max
}

/// `is_healthy`: every component of `state_vector()[2:]` (qpos[2:] and qvel) in
/// (−100, 100), the height `qpos[1]` above 0.7 and the angle `qpos[2]` in (−0.2, 0.2).
fn is_healthy(sim: &Simulation) -> bool {
    let (qpos, qvel) = (sim.qpos(), sim.qvel());
    let healthy_state = qpos[2..]
        .iter()
        .chain(qvel)
        .all(|&x| inside(x, HEALTHY_STATE_RANGE));
    healthy_state && inside(qpos[1], HEALTHY_Z_RANGE) && inside(qpos[2], HEALTHY_ANGLE_RANGE)
}

impl Rules for Hopper {
    const TASK: Task = Task::Hopper;
    const XML: &'static str = gymnasium_model!("hopper.xml");
    const FRAME_SKIP: usize = 4;
    const NQ: usize = 6;
    const NV: usize = 6;
    const NU: usize = 3;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 11;
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
        let (steps, terminated) = replay(Task::Hopper);
        assert!(
            steps > 40 && terminated > 5,
            "{steps} steps, {terminated} terminated"
        );
    }
}
