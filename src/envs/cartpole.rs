//! CartPole-v1 (`gymnasium/envs/classic_control/cartpole.py`, `CartPoleEnv` with its
//! defaults: the `"euler"` integrator and `sutton_barto_reward = False`): keep a pole
//! upright on a cart by pushing the cart left (action 0) or right (action 1) with a force
//! of 10 N. The state and the observation are `[x, ẋ, θ, θ̇]` (θ = 0 upright); the time
//! limit is 500 steps. Gymnasium's state is float64 and so is everything here.

use std::f64::consts::PI;

use rand_chacha::ChaCha8Rng;

use super::{discrete_input, uniform, Action, ActionSpace, System, Task};
use crate::error::Result;

/// Gravity (`gravity`).
const GRAVITY: f64 = 9.8;
/// Mass of the cart (`masscart`).
const MASSCART: f64 = 1.0;
/// Mass of the pole (`masspole`).
const MASSPOLE: f64 = 0.1;
/// `total_mass = masspole + masscart`.
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
/// Half the pole's length (`length`).
const LENGTH: f64 = 0.5;
/// `polemass_length = masspole · length`.
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
/// The force of a push (`force_mag`).
const FORCE_MAG: f64 = 10.0;
/// Time step (`tau`).
const TAU: f64 = 0.02;
/// `theta_threshold_radians = 12·2π/360` (12°).
const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * PI / 360.0;
/// `x_threshold`.
const X_THRESHOLD: f64 = 2.4;

/// The cart-pole's state `[x, ẋ, θ, θ̇]` and Gymnasium's `steps_beyond_terminated`.
#[derive(Default)]
pub(super) struct CartPole {
    state: [f64; 4],
    steps_beyond_terminated: Option<usize>,
}

impl System for CartPole {
    const TASK: Task = Task::CartPole;
    const STATE_DIM: usize = 4;
    const OBSERVATION_DIM: usize = 4;
    const MAX_EPISODE_STEPS: usize = 500;
    type Input = usize;

    /// `Discrete(2)`: 0 pushes left, 1 pushes right.
    fn action_space() -> ActionSpace {
        ActionSpace::Discrete(2)
    }

    fn input(action: Action) -> Result<usize> {
        discrete_input(Self::TASK, 2, action)
    }

    /// Each of `x, ẋ, θ, θ̇ ~ U[−0.05, 0.05)`, drawn in that order.
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        self.state = std::array::from_fn(|_| uniform(rng, -0.05, 0.05));
        self.steps_beyond_terminated = None;
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
        self.steps_beyond_terminated = None;
    }

    /// `[x, ẋ, θ, θ̇]`.
    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    /// `[x, ẋ, θ, θ̇]`.
    fn observation(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    /// With `F = ±10` (+ for action 1), `m_p l = 0.05`, `M = 1.1`, `l = 0.5`:
    /// * `temp = (F + m_p l·θ̇²·sin θ)/M`;
    /// * `θ̈ = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ/M))`;
    /// * `ẍ = temp − m_p l·θ̈·cos θ/M`;
    /// * Euler: `x += τẋ`, `ẋ += τẍ`, `θ += τθ̇`, `θ̇ += τθ̈` (all from the old state);
    /// * terminated when `|x| > 2.4` or `|θ| > 12°` (also for a NaN, which only a state
    ///   set far out of range can produce and which Gymnasium's comparisons let through);
    /// * reward 1 until the step that terminates (included), 0 on steps after it (where
    ///   Gymnasium also warns).
    fn transition(&mut self, action: usize) -> Result<(f64, bool)> {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        let x = x + TAU * x_dot;
        let x_dot = x_dot + TAU * xacc;
        let theta = theta + TAU * theta_dot;
        let theta_dot = theta_dot + TAU * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD_RADIANS..=THETA_THRESHOLD_RADIANS).contains(&theta);
        let reward = if !terminated {
            1.0
        } else if let Some(steps) = self.steps_beyond_terminated {
            self.steps_beyond_terminated = Some(steps + 1);
            0.0
        } else {
            self.steps_beyond_terminated = Some(0);
            1.0
        };
        Ok((reward, terminated))
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{replay, Tolerances};
    use super::*;
    use crate::rng::stream_rng;

    #[test]
    fn matches_gymnasium_step_by_step() {
        replay(Task::CartPole, Tolerances::FLOAT64);
    }

    #[test]
    fn reset_draws_lie_in_gymnasiums_ranges() {
        let mut env = Task::CartPole.make();
        let mut rng = stream_rng(13, 0, 0);
        for _ in 0..1000 {
            let observation = env.reset(&mut rng);
            assert!(observation.iter().all(|v| (-0.05..0.05).contains(v)));
            assert_eq!(observation, env.state());
        }
    }

    #[test]
    fn steps_after_termination_keep_going_with_reward_zero() {
        let mut env = Task::CartPole.make();
        env.set_state(&[0.0, 0.0, 0.2, 0.5]).unwrap();
        let first = env.step(Action::Discrete(0)).unwrap();
        assert!(first.terminated);
        assert_eq!(first.reward, 1.0);
        for _ in 0..3 {
            let before = env.state();
            let step = env.step(Action::Discrete(0)).unwrap();
            assert!(step.terminated);
            assert_eq!(step.reward, 0.0);
            assert_ne!(env.state(), before);
        }
        env.set_state(&[0.0, 0.0, 0.2, 0.5]).unwrap();
        assert_eq!(env.step(Action::Discrete(0)).unwrap(), first);
    }
}
