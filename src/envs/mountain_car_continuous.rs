//! MountainCarContinuous-v0 (`gymnasium/envs/classic_control/continuous_mountain_car.py`,
//! `Continuous_MountainCarEnv` with its default `goal_velocity = 0`): drive an underpowered
//! car up the right hill of the valley `height = sin(3x)` with a force `a ∈ [−1, 1]`. The
//! state and the observation are `[position, velocity]`; the time limit is 999 steps.
//!
//! **float32.** Gymnasium stores the state after every step as float32
//! (`np.array([position, velocity], dtype=np.float32)`), and we round the stored state the
//! same way; the reset state is not rounded (Gymnasium's is a float64 array). Inside a step
//! we compute in f64. Gymnasium does not quite: once the state is float32, NumPy 2's
//! promotion rules make `3 * position` a float32 product, make the velocity and position
//! updates float32 sums when the force was clipped (a clipped force is a Python float,
//! which does not promote a float32), and compare float32 values against float32 roundings
//! of the bounds. Those are artefacts of NumPy's scalar types (NumPy 1 promotes
//! differently), so we do not copy them; each can move a stored value by one float32 ulp,
//! which later steps carry on and amplify. The tests therefore check every step from
//! Gymnasium's own previous state to within a float32 ulp, and whole episodes more loosely.

use rand_chacha::ChaCha8Rng;

use super::{pow2, scalar_input, uniform, Action, ActionSpace, System, Task};
use crate::error::Result;

/// Smallest force (`min_action`).
const MIN_ACTION: f64 = -1.0;
/// Largest force (`max_action`).
const MAX_ACTION: f64 = 1.0;
/// The left wall (`min_position`).
const MIN_POSITION: f64 = -1.2;
/// The right wall (`max_position`).
const MAX_POSITION: f64 = 0.6;
/// Largest |velocity| (`max_speed`).
const MAX_SPEED: f64 = 0.07;
/// The goal position (`goal_position`).
const GOAL_POSITION: f64 = 0.45;
/// The velocity the goal requires at least (`goal_velocity`).
const GOAL_VELOCITY: f64 = 0.0;
/// Velocity gained per unit of force and step (`power`).
const POWER: f64 = 0.0015;

/// The car's state `(position, velocity)`.
#[derive(Default)]
pub(super) struct MountainCarContinuous {
    position: f64,
    velocity: f64,
}

/// `x` rounded to the nearest float32, as Gymnasium's `dtype=np.float32`.
fn float32(x: f64) -> f64 {
    f64::from(x as f32)
}

impl System for MountainCarContinuous {
    const TASK: Task = Task::MountainCarContinuous;
    const STATE_DIM: usize = 2;
    const OBSERVATION_DIM: usize = 2;
    const MAX_EPISODE_STEPS: usize = 999;
    type Input = f64;

    /// `Box(−1, 1, shape=(1,))`.
    fn action_space() -> ActionSpace {
        ActionSpace::Continuous {
            low: vec![MIN_ACTION],
            high: vec![MAX_ACTION],
        }
    }

    /// The action `a`, one finite value (clipped in the dynamics only).
    fn input(action: Action) -> Result<f64> {
        scalar_input(Self::TASK, action)
    }

    /// `position ~ U[−0.6, −0.4)`, `velocity = 0`.
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        self.position = uniform(rng, -0.6, -0.4);
        self.velocity = 0.0;
    }

    fn set_state(&mut self, state: &[f64]) {
        self.position = state[0];
        self.velocity = state[1];
    }

    /// `[position, velocity]`.
    fn state(&self) -> Vec<f64> {
        vec![self.position, self.velocity]
    }

    /// `[position, velocity]`.
    fn observation(&self) -> Vec<f64> {
        self.state()
    }

    /// With the force `f = min(max(a, −1), 1)`:
    /// * `v' = clip(v + f·0.0015 − 0.0025·cos(3x), −0.07, 0.07)`;
    /// * `x' = clip(x + v', −1.2, 0.6)`, and `v' = 0` if `x' = −1.2` and `v' < 0`;
    /// * terminated when `x' ≥ 0.45` and `v' ≥ 0`;
    /// * reward `100·[terminated] − 0.1·a²`, with the unclipped action `a` (as Gymnasium);
    /// * the new state is `(x', v')` rounded to float32, after the test for the goal.
    fn transition(&mut self, action: f64) -> Result<(f64, bool)> {
        let mut position = self.position;
        let mut velocity = self.velocity;
        let force = action.clamp(MIN_ACTION, MAX_ACTION);
        velocity += force * POWER - 0.0025 * (3.0 * position).cos();
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        let mut reward = 0.0;
        if terminated {
            reward = 100.0;
        }
        reward -= pow2(action) * 0.1;
        self.position = float32(position);
        self.velocity = float32(velocity);
        Ok((reward, terminated))
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{replay, replay_each_step, Tolerances};
    use super::*;
    use crate::rng::stream_rng;

    #[test]
    fn matches_gymnasium_from_each_of_its_states() {
        replay_each_step(Task::MountainCarContinuous, Tolerances::FLOAT32_STATE_STEP);
    }

    #[test]
    fn matches_gymnasium_over_whole_episodes() {
        replay(
            Task::MountainCarContinuous,
            Tolerances::FLOAT32_STATE_EPISODE,
        );
    }

    #[test]
    fn reset_draws_lie_in_gymnasiums_ranges() {
        let mut env = Task::MountainCarContinuous.make();
        let mut rng = stream_rng(12, 0, 0);
        for _ in 0..1000 {
            let observation = env.reset(&mut rng);
            assert!((-0.6..-0.4).contains(&observation[0]), "{observation:?}");
            assert_eq!(observation[1], 0.0);
            assert_eq!(observation, env.state());
        }
    }

    #[test]
    fn stored_state_is_float32_and_the_reward_uses_the_unclipped_action() {
        let mut env = Task::MountainCarContinuous.make();
        env.set_state(&[-0.5, 0.0]).unwrap();
        let step = env.step(Action::Continuous(&[3.0])).unwrap();
        for value in env.state() {
            assert_eq!(value, float32(value));
        }
        assert_eq!(step.reward, -(9.0 * 0.1));
        let mut at_limit = Task::MountainCarContinuous.make();
        at_limit.set_state(&[-0.5, 0.0]).unwrap();
        at_limit.step(Action::Continuous(&[1.0])).unwrap();
        assert_eq!(env.state(), at_limit.state());
    }
}
