//! Pendulum-v1 (`gymnasium/envs/classic_control/pendulum.py`, `PendulumEnv` with its
//! default `g = 10`): swing a pendulum up and hold it with a torque `u ∈ [−2, 2]`. The
//! state is the angle θ (0 upright, unbounded, not wrapped) and the angular velocity θ̇;
//! the observation is `[cos θ, sin θ, θ̇]`. It never terminates; the time limit is 200
//! steps. Everything is computed in f64, as Gymnasium does for a float64 action.

use std::f64::consts::{PI, TAU};

use rand_chacha::ChaCha8Rng;

use super::{pow2, scalar_input, uniform, Action, ActionSpace, System, Task};
use crate::error::Result;

/// Largest |θ̇| (`max_speed`).
const MAX_SPEED: f64 = 8.0;
/// Largest |u| (`max_torque`).
const MAX_TORQUE: f64 = 2.0;
/// Time step (`dt`).
const DT: f64 = 0.05;
/// Gravity (`g`, the constructor's default).
const G: f64 = 10.0;
/// Mass (`m`).
const M: f64 = 1.0;
/// Length (`l`).
const L: f64 = 1.0;

/// The pendulum's state `(θ, θ̇)`.
#[derive(Default)]
pub(super) struct Pendulum {
    theta: f64,
    theta_dot: f64,
}

/// Gymnasium's `angle_normalize(x) = ((x + π) mod 2π) − π`, into [−π, π). NumPy's float
/// `%` takes the sign of the divisor, as `rem_euclid` does for 2π (their only difference,
/// −0 against +0 for an exact multiple, vanishes in the square this is used in).
fn angle_normalize(x: f64) -> f64 {
    (x + PI).rem_euclid(TAU) - PI
}

impl System for Pendulum {
    const TASK: Task = Task::Pendulum;
    const STATE_DIM: usize = 2;
    const OBSERVATION_DIM: usize = 3;
    const MAX_EPISODE_STEPS: usize = 200;
    type Input = f64;

    /// `Box(−2, 2, shape=(1,))`.
    fn action_space() -> ActionSpace {
        ActionSpace::Continuous {
            low: vec![-MAX_TORQUE],
            high: vec![MAX_TORQUE],
        }
    }

    /// The torque `u`, one finite value (clipped in [`transition`](Self::transition)).
    fn input(action: Action) -> Result<f64> {
        scalar_input(Self::TASK, action)
    }

    /// `θ ~ U[−π, π)`, `θ̇ ~ U[−1, 1)`, drawn in that order.
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        self.theta = uniform(rng, -PI, PI);
        self.theta_dot = uniform(rng, -1.0, 1.0);
    }

    fn set_state(&mut self, state: &[f64]) {
        self.theta = state[0];
        self.theta_dot = state[1];
    }

    /// `[θ, θ̇]`.
    fn state(&self) -> Vec<f64> {
        vec![self.theta, self.theta_dot]
    }

    /// `[cos θ, sin θ, θ̇]`.
    fn observation(&self) -> Vec<f64> {
        vec![self.theta.cos(), self.theta.sin(), self.theta_dot]
    }

    /// With `u ← clip(u, −2, 2)`:
    /// * reward `−(angle_normalize(θ)² + 0.1·θ̇² + 0.001·u²)`, from the state before the step;
    /// * `θ̇' = clip(θ̇ + (3g/(2l)·sin θ + 3/(m·l²)·u)·dt, −8, 8)`;
    /// * `θ' = θ + θ̇'·dt` (semi-implicit Euler).
    fn transition(&mut self, u: f64) -> Result<(f64, bool)> {
        let (th, thdot) = (self.theta, self.theta_dot);
        let u = u.clamp(-MAX_TORQUE, MAX_TORQUE);
        let costs = pow2(angle_normalize(th)) + 0.1 * pow2(thdot) + 0.001 * pow2(u);
        let newthdot = thdot + (3.0 * G / (2.0 * L) * th.sin() + 3.0 / (M * pow2(L)) * u) * DT;
        let newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.theta = newth;
        self.theta_dot = newthdot;
        Ok((-costs, false))
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{replay, Tolerances};
    use super::*;
    use crate::rng::stream_rng;

    #[test]
    fn matches_gymnasium_step_by_step() {
        replay(Task::Pendulum, Tolerances::FLOAT64);
    }

    #[test]
    fn reset_draws_lie_in_gymnasiums_ranges() {
        let mut env = Task::Pendulum.make();
        let mut rng = stream_rng(11, 0, 0);
        for _ in 0..1000 {
            let observation = env.reset(&mut rng);
            let state = env.state();
            assert!((-PI..PI).contains(&state[0]), "{state:?}");
            assert!((-1.0..1.0).contains(&state[1]), "{state:?}");
            assert_eq!(observation, [state[0].cos(), state[0].sin(), state[1]]);
        }
    }

    #[test]
    fn torque_is_clipped_to_two_in_dynamics_and_reward() {
        let mut clipped = Task::Pendulum.make();
        let mut at_limit = Task::Pendulum.make();
        clipped.set_state(&[0.3, -0.2]).unwrap();
        at_limit.set_state(&[0.3, -0.2]).unwrap();
        assert_eq!(
            clipped.step(Action::Continuous(&[5.0])).unwrap(),
            at_limit.step(Action::Continuous(&[2.0])).unwrap()
        );
    }

    #[test]
    fn angle_normalize_maps_into_minus_pi_to_pi() {
        for x in [-7.0, -PI, -1.0, 0.0, 1.0, PI, 7.0, 100.0] {
            let y = angle_normalize(x);
            assert!((-PI..PI).contains(&y), "{x} → {y}");
            let turns = (x - y) / TAU;
            assert!((turns - turns.round()).abs() < 1e-12, "{x} → {y}");
        }
    }
}
