//! Ant-v5 (`ant_v5.py`, `ant.xml`): a four-legged walker on a plane rewarded for its speed
//! along x and for staying healthy, penalised for control and contact forces. Frame skip 5
//! (`dt` 0.05), terminates when unhealthy, 1000 steps. It observes the contact forces
//! `cfrc_ext` (clipped to [−1, 1]) of every body but the world, which is why every MuJoCo
//! step ends with `mj_rnePostConstraint`.

use rand_chacha::ChaCha8Rng;

use super::{
    gymnasium_model, noisy_reset, numpy_sum, sum_of_squares, Rules, Simulation, VelocityNoise,
};
use crate::envs::Task;

/// Ant-v5 with its default arguments.
pub(super) struct Ant;

/// `forward_reward_weight`.
const FORWARD_REWARD_WEIGHT: f64 = 1.0;
/// `ctrl_cost_weight`.
const CTRL_COST_WEIGHT: f64 = 0.5;
/// `contact_cost_weight`.
const CONTACT_COST_WEIGHT: f64 = 5e-4;
/// `healthy_reward`.
const HEALTHY_REWARD: f64 = 1.0;
/// `main_body`: the torso, whose frame's x-y motion is rewarded.
const MAIN_BODY: usize = 1;
/// `healthy_z_range`, inclusive.
const HEALTHY_Z_RANGE: (f64, f64) = (0.2, 1.0);
/// `contact_force_range`: the clip of every contact force component.
const CONTACT_FORCE_RANGE: (f64, f64) = (-1.0, 1.0);
/// `reset_noise_scale`.
const RESET_NOISE_SCALE: f64 = 0.1;

/// The clipped contact force component `i` of the flattened `cfrc_ext` (`[nbody·6]`).
fn contact_force(sim: &Simulation, i: usize) -> f64 {
    sim.cfrc_ext()[i / 6][i % 6].clamp(CONTACT_FORCE_RANGE.0, CONTACT_FORCE_RANGE.1)
}

/// `is_healthy`: `qpos ++ qvel` finite and the torso's height `qpos[2]` in [0.2, 1].
fn is_healthy(sim: &Simulation) -> bool {
    let finite = sim.qpos().iter().chain(sim.qvel()).all(|x| x.is_finite());
    let z = sim.qpos()[2];
    finite && HEALTHY_Z_RANGE.0 <= z && z <= HEALTHY_Z_RANGE.1
}

impl Rules for Ant {
    const TASK: Task = Task::Ant;
    const XML: &'static str = gymnasium_model!("ant.xml");
    const FRAME_SKIP: usize = 5;
    const NQ: usize = 15;
    const NV: usize = 14;
    const NU: usize = 8;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 105;
    const MAX_EPISODE_STEPS: usize = 1000;

    /// `qpos = init + U(−0.1, 0.1)` (the torso's quaternion too, unnormalised, as in
    /// Gymnasium), then `qvel = init + 0.1·N(0, 1)`.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        noisy_reset(
            init_qpos,
            init_qvel,
            rng,
            RESET_NOISE_SCALE,
            VelocityNoise::Normal,
        )
    }

    /// `qpos[2:] ++ qvel ++ clip(cfrc_ext[1:], −1, 1)` (13 + 14 + 13·6 = 105).
    fn observation(sim: &Simulation) -> Vec<f64> {
        let forces = (6..6 * sim.cfrc_ext().len()).map(|i| contact_force(sim, i));
        sim.qpos()[2..]
            .iter()
            .chain(sim.qvel())
            .copied()
            .chain(forces)
            .collect()
    }

    /// With the torso frame's `x_velocity = (x_after − x_before)/dt`: reward
    /// `(x_velocity·1 + healthy·1.0) − (0.5·Σ action² + 5e-4·Σ clip(cfrc_ext)²)`, the
    /// contact sum over every body including the world; terminated when unhealthy.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        let x_before = sim.body_xpos(MAIN_BODY)[0];
        sim.advance(action);
        let x_velocity = (sim.body_xpos(MAIN_BODY)[0] - x_before) / sim.dt();
        let healthy = is_healthy(sim);
        let forward_reward = x_velocity * FORWARD_REWARD_WEIGHT;
        let healthy_reward = if healthy { HEALTHY_REWARD } else { 0.0 };
        let rewards = forward_reward + healthy_reward;
        let ctrl_cost = CTRL_COST_WEIGHT * sum_of_squares(action);
        let contact_cost = CONTACT_COST_WEIGHT
            * numpy_sum(6 * sim.cfrc_ext().len(), |i| {
                let force = contact_force(sim, i);
                force * force
            });
        let costs = ctrl_cost + contact_cost;
        (rewards - costs, !healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: a random-action episode that ends unhealthy
    /// (contact forces observed).
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::Ant);
        assert!(
            steps > 40 && terminated > 1,
            "{steps} steps, {terminated} terminated"
        );
    }
}
