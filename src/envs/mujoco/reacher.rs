//! Reacher-v5 (`reacher_v5.py`, `reacher.xml`): a two-joint arm that moves its fingertip to
//! a random target. Frame skip 2 (`dt` 0.02), no termination, 50 steps. The target's
//! position is the last two components of `qpos`, so the state holds it.

use rand_chacha::ChaCha8Rng;

use super::{gymnasium_model, plus, sum_of_squares, uniform_noise, Rules, Simulation};
use crate::envs::Task;

/// Reacher-v5 with its default arguments.
pub(super) struct Reacher;

/// `reward_dist_weight`.
const REWARD_DIST_WEIGHT: f64 = 1.0;
/// `reward_control_weight`.
const REWARD_CONTROL_WEIGHT: f64 = 1.0;

/// `get_body_com("fingertip") − get_body_com("target")`: the two bodies' frame positions.
fn fingertip_to_target(sim: &Simulation) -> [f64; 3] {
    let fingertip = sim.body_xpos(sim.body("fingertip"));
    let target = sim.body_xpos(sim.body("target"));
    std::array::from_fn(|i| fingertip[i] - target[i])
}

/// `np.linalg.norm` of a 3-vector: `sqrt(x·x)` with the dot product of NumPy's BLAS
/// (OpenBLAS's `ddot`, which for three components accumulates `dot += x_i·x_i` in order,
/// each as one fused multiply-add).
fn norm(x: [f64; 3]) -> f64 {
    x.iter().fold(0.0, |dot: f64, &v| v.mul_add(v, dot)).sqrt()
}

impl Rules for Reacher {
    const TASK: Task = Task::Reacher;
    const XML: &'static str = gymnasium_model!("reacher.xml");
    const FRAME_SKIP: usize = 2;
    const NQ: usize = 4;
    const NV: usize = 4;
    const NU: usize = 2;
    const CTRL_RANGE: [f64; 2] = [-1.0, 1.0];
    const OBSERVATION_DIM: usize = 10;
    const MAX_EPISODE_STEPS: usize = 50;

    /// `qpos = U(−0.1, 0.1) + init`; then goals `U(−0.2, 0.2)²` drawn until one has norm
    /// below 0.2, which becomes `qpos[-2:]`; then `qvel = init + U(−0.005, 0.005)` with
    /// `qvel[-2:] = 0`.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let mut qpos = plus(init_qpos, uniform_noise(rng, -0.1, 0.1, Self::NQ));
        let goal = loop {
            let goal = uniform_noise(rng, -0.2, 0.2, 2);
            if (goal[0] * goal[0] + goal[1] * goal[1]).sqrt() < 0.2 {
                break goal;
            }
        };
        qpos[2..].copy_from_slice(&goal);
        let mut qvel = plus(init_qvel, uniform_noise(rng, -0.005, 0.005, Self::NV));
        qvel[2..].fill(0.0);
        (qpos, qvel)
    }

    /// `[cos(qpos[:2]), sin(qpos[:2]), qpos[2:], qvel[:2], (fingertip − target)[:2]]`.
    fn observation(sim: &Simulation) -> Vec<f64> {
        let (qpos, qvel) = (sim.qpos(), sim.qvel());
        let vector = fingertip_to_target(sim);
        let mut observation = Vec::with_capacity(Self::OBSERVATION_DIM);
        observation.extend(qpos[..2].iter().map(|q| q.cos()));
        observation.extend(qpos[..2].iter().map(|q| q.sin()));
        observation.extend_from_slice(&qpos[2..]);
        observation.extend_from_slice(&qvel[..2]);
        observation.extend_from_slice(&vector[..2]);
        observation
    }

    /// Reward `−‖fingertip − target‖·1 + (−Σ action²)·1`; never terminates.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool) {
        sim.advance(action);
        let reward_dist = -norm(fingertip_to_target(sim)) * REWARD_DIST_WEIGHT;
        let reward_ctrl = -sum_of_squares(action) * REWARD_CONTROL_WEIGHT;
        (reward_dist + reward_ctrl, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::replay;
    use super::*;

    /// Every state, observation, reward and flag of the recorded transitions (from states
    /// off random-action episodes, actions up to 1.2 times the box) and episodes is
    /// Gymnasium's to the last bit. The episodes: two random-action episodes to the time limit
    /// of 50; never terminated.
    #[test]
    fn matches_gymnasium_to_the_last_bit() {
        let (steps, terminated) = replay(Task::Reacher);
        assert!(
            steps > 40 && terminated == 0,
            "{steps} steps, {terminated} terminated"
        );
    }
}
