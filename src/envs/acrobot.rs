//! Acrobot-v1 (`gymnasium/envs/classic_control/acrobot.py`, `AcrobotEnv` with its class
//! defaults: `book_or_nips = "book"`, `torque_noise_max = 0`, `dt = 0.2`): two links
//! hanging from a fixed joint, with a torque of −1, 0 or +1 (actions 0, 1, 2) on the joint
//! between them. The state is `[θ1, θ2, θ̇1, θ̇2]` (θ1 = 0 hangs down, θ2 is relative to link
//! 1); the observation is `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]`. An episode ends when
//! the tip rises one link length above the fixed joint, or after 500 steps.
//!
//! Gymnasium rounds its reset draw to float32 and we do the same; after that its state is
//! float64 and so is everything here. At high energy the motion is chaotic (from
//! `[0.1, 0, 0, 30]`, a 1e-15 relative change of θ̇2 grows to 1e-6 in 500 steps), so every
//! operation rounds as NumPy's does, `**2` included (`super::pow2`).

use std::f64::consts::PI;

use rand_chacha::ChaCha8Rng;

use super::{discrete_input, pow2, uniform, Action, ActionSpace, System, Task};
use crate::error::{Error, Result};

/// Integration step (`dt`).
const DT: f64 = 0.2;
/// Length of link 1 (`LINK_LENGTH_1`); link 2's length only matters for drawing.
const LINK_LENGTH_1: f64 = 1.0;
/// Mass of link 1 (`LINK_MASS_1`).
const LINK_MASS_1: f64 = 1.0;
/// Mass of link 2 (`LINK_MASS_2`).
const LINK_MASS_2: f64 = 1.0;
/// Position of the centre of mass of link 1 (`LINK_COM_POS_1`).
const LINK_COM_POS_1: f64 = 0.5;
/// Position of the centre of mass of link 2 (`LINK_COM_POS_2`).
const LINK_COM_POS_2: f64 = 0.5;
/// Moment of inertia of either link (`LINK_MOI`).
const LINK_MOI: f64 = 1.0;
/// Bound on |θ̇1| (`MAX_VEL_1 = 4π`).
const MAX_VEL_1: f64 = 4.0 * PI;
/// Bound on |θ̇2| (`MAX_VEL_2 = 9π`).
const MAX_VEL_2: f64 = 9.0 * PI;
/// The torque of each action (`AVAIL_TORQUE`).
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
/// Gravity (`g` in `_dsdt`).
const G: f64 = 9.8;
/// The largest |angle| [`wrap`] accepts after integration. Gymnasium's `wrap` subtracts 2π
/// once per loop, which takes ~|θ|/2π iterations (forever for ±∞); only a state set far
/// outside the velocity bounds integrates that far, so beyond this a step is refused.
const WRAP_LIMIT: f64 = 1.0e6;

/// The acrobot's state `[θ1, θ2, θ̇1, θ̇2]`.
#[derive(Default)]
pub(super) struct Acrobot {
    state: [f64; 4],
}

/// Gymnasium's `_dsdt` with the "book" equations, for `s = [θ1, θ2, θ̇1, θ̇2, a]` (the
/// torque `a` rides along as a fifth component with derivative 0):
/// * `d1 = m1·lc1² + m2·(l1² + lc2² + 2·l1·lc2·cos θ2) + I1 + I2`;
/// * `d2 = m2·(lc2² + l1·lc2·cos θ2) + I2`;
/// * `φ2 = m2·lc2·g·cos(θ1 + θ2 − π/2)`;
/// * `φ1 = −m2·l1·lc2·θ̇2²·sin θ2 − 2·m2·l1·lc2·θ̇2·θ̇1·sin θ2 + (m1·lc1 + m2·l1)·g·cos(θ1 − π/2) + φ2`;
/// * `θ̈2 = (a + d2/d1·φ1 − m2·l1·lc2·θ̇1²·sin θ2 − φ2) / (m2·lc2² + I2 − d2²/d1)`;
/// * `θ̈1 = −(d2·θ̈2 + φ1)/d1`;
///
/// returning `[θ̇1, θ̇2, θ̈1, θ̈2, 0]`. Squares are Python's `**2` ([`pow2`]).
fn dsdt(s: [f64; 5]) -> [f64; 5] {
    let m1 = LINK_MASS_1;
    let m2 = LINK_MASS_2;
    let l1 = LINK_LENGTH_1;
    let lc1 = LINK_COM_POS_1;
    let lc2 = LINK_COM_POS_2;
    let i1 = LINK_MOI;
    let i2 = LINK_MOI;
    let g = G;
    let [theta1, theta2, dtheta1, dtheta2, a] = s;
    let d1 = m1 * pow2(lc1) + m2 * (pow2(l1) + pow2(lc2) + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (pow2(lc2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * pow2(dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * pow2(dtheta1) * theta2.sin() - phi2)
        / (m2 * pow2(lc2) + i2 - pow2(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// `y + h·k`, component by component.
fn add_scaled(y: [f64; 5], h: f64, k: [f64; 5]) -> [f64; 5] {
    std::array::from_fn(|i| y[i] + h * k[i])
}

/// Gymnasium's `rk4(derivs, y0, [0, dt])`: one classical Runge–Kutta step of length `dt`,
/// with `k1 = f(y)`, `k2 = f(y + dt/2·k1)`, `k3 = f(y + dt/2·k2)`, `k4 = f(y + dt·k3)` and
/// `y' = y + dt/6·(k1 + 2k2 + 2k3 + k4)`, summed left to right; returns `y'[..4]`.
fn rk4(y0: [f64; 5]) -> [f64; 4] {
    let dt = DT;
    let dt2 = dt / 2.0;
    let k1 = dsdt(y0);
    let k2 = dsdt(add_scaled(y0, dt2, k1));
    let k3 = dsdt(add_scaled(y0, dt2, k2));
    let k4 = dsdt(add_scaled(y0, dt, k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Gymnasium's `wrap(x, −π, π)`: subtract 2π while `x > π`, then add 2π while `x < −π`.
fn wrap(mut x: f64) -> f64 {
    let (m, big_m) = (-PI, PI);
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// Gymnasium's `bound(x, m, M) = min(max(x, m), M)`.
fn bound(x: f64, m: f64, big_m: f64) -> f64 {
    x.clamp(m, big_m)
}

impl System for Acrobot {
    const TASK: Task = Task::Acrobot;
    const STATE_DIM: usize = 4;
    const OBSERVATION_DIM: usize = 6;
    const MAX_EPISODE_STEPS: usize = 500;
    type Input = usize;

    /// `Discrete(3)`: torques −1, 0, +1.
    fn action_space() -> ActionSpace {
        ActionSpace::Discrete(AVAIL_TORQUE.len())
    }

    fn input(action: Action) -> Result<usize> {
        discrete_input(Self::TASK, AVAIL_TORQUE.len(), action)
    }

    /// Each of `θ1, θ2, θ̇1, θ̇2 ~ U[−0.1, 0.1)`, drawn in that order and rounded to float32
    /// (so a draw can round up to 0.1f32 = 0.100000001490116…).
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        self.state = std::array::from_fn(|_| f64::from(uniform(rng, -0.1, 0.1) as f32));
    }

    fn set_state(&mut self, state: &[f64]) {
        self.state.copy_from_slice(state);
    }

    /// `[θ1, θ2, θ̇1, θ̇2]`.
    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    /// `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]`.
    fn observation(&self) -> Vec<f64> {
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        vec![
            theta1.cos(),
            theta1.sin(),
            theta2.cos(),
            theta2.sin(),
            dtheta1,
            dtheta2,
        ]
    }

    /// With the torque `a` of the action:
    /// * `[θ1, θ2, θ̇1, θ̇2] ← rk4([θ1, θ2, θ̇1, θ̇2, a])` over `dt = 0.2` (see [`rk4`]);
    /// * the angles are wrapped into [−π, π], `θ̇1` bounded to ±4π and `θ̇2` to ±9π;
    /// * terminated when `−cos θ1 − cos(θ2 + θ1) > 1` (the tip is above the bar);
    /// * reward −1, or 0 on a terminating step.
    ///
    /// Errors, leaving the state as it was, if the integration reaches an angle beyond
    /// ±10⁶ or a non-finite value (only from a state set far beyond the velocity bounds).
    fn transition(&mut self, action: usize) -> Result<(f64, bool)> {
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        let ns = rk4([theta1, theta2, dtheta1, dtheta2, AVAIL_TORQUE[action]]);
        let within = |x: f64| x.abs() <= WRAP_LIMIT;
        if !(within(ns[0]) && within(ns[1]) && ns[2].is_finite() && ns[3].is_finite()) {
            return Err(Error::runtime(format!(
                "acrobot: the step from state {:?} integrates to {ns:?}, beyond what the \
                 angles can be wrapped from",
                self.state
            )));
        }
        let ns = [
            wrap(ns[0]),
            wrap(ns[1]),
            bound(ns[2], -MAX_VEL_1, MAX_VEL_1),
            bound(ns[3], -MAX_VEL_2, MAX_VEL_2),
        ];
        self.state = ns;
        let terminated = -ns[0].cos() - (ns[1] + ns[0]).cos() > 1.0;
        let reward = if terminated { 0.0 } else { -1.0 };
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
        replay(Task::Acrobot, Tolerances::FLOAT64);
    }

    #[test]
    fn reset_draws_are_float32_in_gymnasiums_range() {
        let mut env = Task::Acrobot.make();
        let mut rng = stream_rng(14, 0, 0);
        let bound = f64::from(0.1_f32);
        for _ in 0..1000 {
            env.reset(&mut rng);
            for value in env.state() {
                assert!((-bound..=bound).contains(&value), "{value}");
                assert_eq!(value, f64::from(value as f32));
            }
        }
    }

    #[test]
    fn wrap_moves_by_whole_turns_into_minus_pi_to_pi() {
        assert_eq!(wrap(0.5), 0.5);
        assert_eq!(wrap(PI), PI);
        assert_eq!(wrap(-PI), -PI);
        assert_eq!(wrap(3.5), 3.5 - 2.0 * PI);
        assert_eq!(wrap(-10.0), -10.0 + 2.0 * PI + 2.0 * PI);
    }

    #[test]
    fn runaway_integration_is_refused_without_change() {
        let mut env = Task::Acrobot.make();
        let start = [0.0, 0.0, 1.0e5, -1.0e5];
        env.set_state(&start).unwrap();
        let error = env.step(Action::Discrete(1)).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("acrobot: the step from state"));
        assert_eq!(env.state(), start);
    }
}
