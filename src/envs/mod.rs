//! Gymnasium's classic-control tasks, with Gymnasium's dynamics, constants, rewards,
//! termination, reset distributions and the `TimeLimit` truncation that `gym.make` adds, and
//! (with the `mujoco` cargo feature) its MuJoCo tasks on the MuJoCo library (module
//! `mujoco`). The source followed is Gymnasium 1.4.0: `gymnasium/envs/classic_control/{pendulum,
//! continuous_mountain_car, cartpole, acrobot}.py`, `gymnasium/envs/mujoco/*_v5.py`, the
//! registrations in `gymnasium/envs/__init__.py` and `TimeLimit` in `gymnasium/wrappers/common.py`.
//!
//! | [`Task`] | Gymnasium id | actions | observation | steps |
//! |---|---|---|---|---|
//! | `pendulum` | Pendulum-v1 | torque in [−2, 2] | 3 | 200 |
//! | `mountain_car_continuous` | MountainCarContinuous-v0 | force in [−1, 1] | 2 | 999 |
//! | `cartpole` | CartPole-v1 | 2 (push left, right) | 4 | 500 |
//! | `acrobot` | Acrobot-v1 | 3 (torque −1, 0, +1) | 6 | 500 |
//! | `half_cheetah` (MuJoCo) | HalfCheetah-v5 | 6 in [−1, 1] | 17 | 1000 |
//! | `hopper` (MuJoCo) | Hopper-v5 | 3 in [−1, 1] | 11 | 1000 |
//! | `walker2d` (MuJoCo) | Walker2d-v5 | 6 in [−1, 1] | 17 | 1000 |
//! | `ant` (MuJoCo) | Ant-v5 | 8 in [−1, 1] | 105 | 1000 |
//! | `inverted_pendulum` (MuJoCo) | InvertedPendulum-v5 | 1 in [−3, 3] | 4 | 1000 |
//! | `inverted_double_pendulum` (MuJoCo) | InvertedDoublePendulum-v5 | 1 in [−1, 1] | 9 | 1000 |
//! | `swimmer` (MuJoCo) | Swimmer-v5 | 2 in [−1, 1] | 8 | 1000 |
//! | `reacher` (MuJoCo) | Reacher-v5 | 2 in [−1, 1] | 10 | 50 |
//!
//! **Precision.** States, observations and rewards are f64. Each rule evaluates
//! Gymnasium's formulas in Gymnasium's order with its constants, so wherever Gymnasium
//! computes in float64 the two agree to the last bit on the recorded episodes (the tests
//! allow 1e-12 relative). Two things make that hold: Rust's `sin`/`cos` and NumPy's float64
//! `np.sin`/`np.cos` both call the platform's libm, and Python's `x**2`, which is C's
//! `pow(x, 2.0)` and not always `x * x`, is reproduced by `pow2`. Exactness matters most
//! for Acrobot, which is chaotic at high energy. Where Gymnasium uses float32:
//! * every task casts its observation to float32; ours stay f64, unrounded;
//! * Acrobot rounds its reset draw to float32 (`.astype(np.float32)`); we do too, as that
//!   is its reset distribution;
//! * MountainCarContinuous stores its state as float32 after every step; we round the
//!   stored state the same way (the `mountain_car_continuous` module explains the float32
//!   arithmetic that NumPy's promotion rules add inside its step, which we do not copy);
//! * Pendulum's and MountainCarContinuous' action spaces are float32 boxes, and a float32
//!   action array would make NumPy compute the terms with the action in float32; our
//!   actions are f64 (the reference data passes float64 arrays).
//!
//! The MuJoCo tasks' precision is described in `mujoco`.
//!
//! **Episodes.** [`Env::reset`] draws Gymnasium's start state from the caller's rng;
//! [`Env::step`] counts steps and sets `truncated` once `elapsed ≥ max_episode_steps`, as
//! `TimeLimit` does, including on later steps. Stepping past termination goes on as in
//! Gymnasium (the dynamics keep running; CartPole's reward becomes 0, without Gymnasium's
//! warning). Stepping before any reset, an action of the wrong kind, a discrete index out
//! of range, a continuous action of the wrong length or with a NaN or infinite component
//! are refused with a runtime error (they come from the agent, not from the user's input)
//! and change nothing; finite out-of-range continuous values are clipped inside the
//! dynamics exactly where Gymnasium clips them. Gymnasium would assert, index from the
//! end (Acrobot, for a negative index) or carry a NaN into the state.

mod acrobot;
mod cartpole;
mod mountain_car_continuous;
#[cfg(feature = "mujoco")]
pub mod mujoco;
mod pendulum;
#[cfg(test)]
mod reference;

use std::fmt;
use std::str::FromStr;

use ndarray_rand::rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// The actions an environment accepts, as Gymnasium's `action_space`.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionSpace {
    /// `spaces.Discrete(n)`: the indices `0..n`.
    Discrete(usize),
    /// `spaces.Box(low, high)`: vectors of `low.len()` components. Values outside
    /// `[low, high]` are accepted and clipped by the task as Gymnasium clips them.
    Continuous {
        /// Lower bound of each component.
        low: Vec<f64>,
        /// Upper bound of each component.
        high: Vec<f64>,
    },
}

/// One action: an index into a discrete space or the components of a continuous one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    /// An index `i` of `ActionSpace::Discrete(n)`, valid when `i < n`.
    Discrete(usize),
    /// The components of an action of `ActionSpace::Continuous`.
    Continuous(&'a [f64]),
}

/// What one step returns, as Gymnasium's `(observation, reward, terminated, truncated)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The observation of the state after the step.
    pub observation: Vec<f64>,
    /// The reward of the transition.
    pub reward: f64,
    /// The task reached a terminal state (CartPole: the pole fell or the cart left;
    /// MountainCarContinuous: the goal; Acrobot: the tip is high enough; Pendulum: never).
    pub terminated: bool,
    /// The time limit: `elapsed ≥ max_episode_steps`, as Gymnasium's `TimeLimit`.
    pub truncated: bool,
}

/// A Gymnasium task behind `gym.make`'s `TimeLimit`.
pub trait Env: Send {
    /// The length of every observation.
    fn observation_dim(&self) -> usize;
    /// The accepted actions.
    fn action_space(&self) -> ActionSpace;
    /// The `max_episode_steps` of Gymnasium's registration.
    fn max_episode_steps(&self) -> usize;
    /// Start an episode from a state drawn from Gymnasium's reset distribution (with `rng`
    /// in place of Gymnasium's `np_random`) and return its observation.
    fn reset(&mut self, rng: &mut ChaCha8Rng) -> Vec<f64>;
    /// Apply `action` for one step. Errors (and changes nothing) before the first
    /// [`reset`](Env::reset) or [`set_state`](Env::set_state), for an invalid action, and
    /// for an Acrobot state set so far beyond its velocity bounds that the step runs away.
    fn step(&mut self, action: Action) -> Result<Step>;
    /// The internal state, as Gymnasium's `env.unwrapped.state` (classic control; all zeros
    /// before the first reset) or `qpos ++ qvel` (MuJoCo; the model's initial pose before the
    /// first reset).
    fn state(&self) -> Vec<f64>;
    /// Start an episode from `state` (as assigning `env.unwrapped.state` right after a
    /// reset, or MuJoCo's `set_state(qpos, qvel)` on a freshly reset environment) and return
    /// its observation. Errors (as bad input) on a wrong length or a
    /// non-finite value.
    fn set_state(&mut self, state: &[f64]) -> Result<Vec<f64>>;
}

/// The tasks; [`Task::name`] is their name for `Display`, `FromStr` and serde. The MuJoCo
/// tasks exist in builds with the `mujoco` feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// Pendulum-v1 (module `pendulum`).
    Pendulum,
    /// MountainCarContinuous-v0 (module `mountain_car_continuous`).
    MountainCarContinuous,
    /// CartPole-v1 (module `cartpole`).
    CartPole,
    /// Acrobot-v1 (module `acrobot`).
    Acrobot,
    /// HalfCheetah-v5 (module `mujoco::half_cheetah`).
    #[cfg(feature = "mujoco")]
    HalfCheetah,
    /// Hopper-v5 (module `mujoco::hopper`).
    #[cfg(feature = "mujoco")]
    Hopper,
    /// Walker2d-v5 (module `mujoco::walker2d`).
    #[cfg(feature = "mujoco")]
    Walker2d,
    /// Ant-v5 (module `mujoco::ant`).
    #[cfg(feature = "mujoco")]
    Ant,
    /// InvertedPendulum-v5 (module `mujoco::inverted_pendulum`).
    #[cfg(feature = "mujoco")]
    InvertedPendulum,
    /// InvertedDoublePendulum-v5 (module `mujoco::inverted_double_pendulum`).
    #[cfg(feature = "mujoco")]
    InvertedDoublePendulum,
    /// Swimmer-v5 (module `mujoco::swimmer`).
    #[cfg(feature = "mujoco")]
    Swimmer,
    /// Reacher-v5 (module `mujoco::reacher`).
    #[cfg(feature = "mujoco")]
    Reacher,
}

/// The names of the MuJoCo tasks, known to every build so that a build without the
/// `mujoco` feature can say what a name needs.
pub const MUJOCO_TASK_NAMES: [&str; 8] = [
    "half_cheetah",
    "hopper",
    "walker2d",
    "ant",
    "inverted_pendulum",
    "inverted_double_pendulum",
    "swimmer",
    "reacher",
];

impl Task {
    /// Every task of this build, in the order of the table above: the four classic-control
    /// tasks, then (with the `mujoco` feature) the eight MuJoCo tasks.
    #[cfg(not(feature = "mujoco"))]
    pub const ALL: &'static [Task] = &[
        Task::Pendulum,
        Task::MountainCarContinuous,
        Task::CartPole,
        Task::Acrobot,
    ];

    /// Every task of this build, in the order of the table above: the four classic-control
    /// tasks, then (with the `mujoco` feature) the eight MuJoCo tasks.
    #[cfg(feature = "mujoco")]
    pub const ALL: &'static [Task] = &[
        Task::Pendulum,
        Task::MountainCarContinuous,
        Task::CartPole,
        Task::Acrobot,
        Task::HalfCheetah,
        Task::Hopper,
        Task::Walker2d,
        Task::Ant,
        Task::InvertedPendulum,
        Task::InvertedDoublePendulum,
        Task::Swimmer,
        Task::Reacher,
    ];

    /// The task's name: `pendulum`, `mountain_car_continuous`, `cartpole`, `acrobot`, or one
    /// of [`MUJOCO_TASK_NAMES`].
    pub fn name(self) -> &'static str {
        match self {
            Task::Pendulum => "pendulum",
            Task::MountainCarContinuous => "mountain_car_continuous",
            Task::CartPole => "cartpole",
            Task::Acrobot => "acrobot",
            #[cfg(feature = "mujoco")]
            mujoco => mujoco::task_name(mujoco),
        }
    }

    /// The id Gymnasium registers the task under.
    pub fn gymnasium_id(self) -> &'static str {
        match self {
            Task::Pendulum => "Pendulum-v1",
            Task::MountainCarContinuous => "MountainCarContinuous-v0",
            Task::CartPole => "CartPole-v1",
            Task::Acrobot => "Acrobot-v1",
            #[cfg(feature = "mujoco")]
            mujoco => mujoco::gymnasium_id(mujoco),
        }
    }

    /// A new environment of this task; it must be reset (or given a state) before stepping.
    pub fn make(self) -> Box<dyn Env> {
        match self {
            Task::Pendulum => Box::new(TimeLimit::<pendulum::Pendulum>::default()),
            Task::MountainCarContinuous => {
                Box::new(TimeLimit::<mountain_car_continuous::MountainCarContinuous>::default())
            }
            Task::CartPole => Box::new(TimeLimit::<cartpole::CartPole>::default()),
            Task::Acrobot => Box::new(TimeLimit::<acrobot::Acrobot>::default()),
            #[cfg(feature = "mujoco")]
            mujoco => mujoco::make(mujoco),
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Task {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        if let Some(&task) = Task::ALL.iter().find(|task| task.name() == name) {
            return Ok(task);
        }
        if MUJOCO_TASK_NAMES.contains(&name) {
            return Err(Error::input(format!(
                "task '{name}' needs the MuJoCo build: run `make mujoco`, then build with \
                 `cargo build --release --features mujoco`"
            )));
        }
        let names: Vec<&str> = Task::ALL.iter().map(|t| t.name()).collect();
        Err(Error::input(format!(
            "unknown task '{name}' (expected one of: {})",
            names.join(", ")
        )))
    }
}

impl serde::Serialize for Task {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Task {
    /// A task by its name, with [`FromStr`]'s messages.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One task's dynamics without the time limit: Gymnasium's unwrapped environment.
trait System: Default + Send + 'static {
    /// The task this system is.
    const TASK: Task;
    /// The length of the internal state.
    const STATE_DIM: usize;
    /// The length of an observation.
    const OBSERVATION_DIM: usize;
    /// The `max_episode_steps` of the registration.
    const MAX_EPISODE_STEPS: usize;
    /// A validated action: an index or a torque.
    type Input;

    /// Gymnasium's `action_space`.
    fn action_space() -> ActionSpace;
    /// Check `action` and turn it into an input; errors as [`Env::step`] documents.
    fn input(action: Action) -> Result<Self::Input>;
    /// Draw the start state from Gymnasium's reset distribution.
    fn reset(&mut self, rng: &mut ChaCha8Rng);
    /// Set the state (of length `STATE_DIM`, finite) and start an episode.
    fn set_state(&mut self, state: &[f64]);
    /// The internal state.
    fn state(&self) -> Vec<f64>;
    /// The observation of the current state.
    fn observation(&self) -> Vec<f64>;
    /// One step of the dynamics: (reward, terminated). On an error the state is unchanged.
    fn transition(&mut self, input: Self::Input) -> Result<(f64, bool)>;
}

/// Gymnasium's `TimeLimit` around a [`System`]: `elapsed` counts the steps since the last
/// reset (`None` before the first) and a step is truncated once `elapsed ≥ max`.
#[derive(Default)]
struct TimeLimit<S: System> {
    system: S,
    elapsed: Option<usize>,
}

impl<S: System> Env for TimeLimit<S> {
    fn observation_dim(&self) -> usize {
        S::OBSERVATION_DIM
    }

    fn action_space(&self) -> ActionSpace {
        S::action_space()
    }

    fn max_episode_steps(&self) -> usize {
        S::MAX_EPISODE_STEPS
    }

    fn reset(&mut self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        self.system.reset(rng);
        self.elapsed = Some(0);
        self.system.observation()
    }

    fn step(&mut self, action: Action) -> Result<Step> {
        let elapsed = self.elapsed.ok_or_else(|| {
            Error::runtime(format!(
                "{}: step before reset (call reset or set_state first)",
                S::TASK
            ))
        })?;
        let input = S::input(action)?;
        let (reward, terminated) = self.system.transition(input)?;
        let elapsed = elapsed + 1;
        self.elapsed = Some(elapsed);
        Ok(Step {
            observation: self.system.observation(),
            reward,
            terminated,
            truncated: elapsed >= S::MAX_EPISODE_STEPS,
        })
    }

    fn state(&self) -> Vec<f64> {
        self.system.state()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Vec<f64>> {
        if state.len() != S::STATE_DIM {
            return Err(Error::input(format!(
                "{}: a state has {} components, got {}",
                S::TASK,
                S::STATE_DIM,
                state.len()
            )));
        }
        if let Some(value) = state.iter().find(|value| !value.is_finite()) {
            return Err(Error::input(format!(
                "{}: state component {value} is not finite",
                S::TASK
            )));
        }
        self.system.set_state(state);
        self.elapsed = Some(0);
        Ok(self.system.observation())
    }
}

/// The index of a discrete action, which must be below `n`.
fn discrete_input(task: Task, n: usize, action: Action) -> Result<usize> {
    match action {
        Action::Discrete(index) if index < n => Ok(index),
        Action::Discrete(index) => Err(Error::runtime(format!(
            "{task}: action {index} is out of range 0..{n}"
        ))),
        Action::Continuous(_) => Err(Error::runtime(format!(
            "{task}: expected a discrete action in 0..{n}, got a continuous one"
        ))),
    }
}

/// The single component of a one-dimensional continuous action, which must be finite.
fn scalar_input(task: Task, action: Action) -> Result<f64> {
    match action {
        Action::Continuous(&[value]) if value.is_finite() => Ok(value),
        Action::Continuous(&[value]) => Err(Error::runtime(format!(
            "{task}: action {value} is not finite"
        ))),
        Action::Continuous(values) => Err(Error::runtime(format!(
            "{task}: an action has 1 component, got {}",
            values.len()
        ))),
        Action::Discrete(_) => Err(Error::runtime(format!(
            "{task}: expected a continuous action, got a discrete one"
        ))),
    }
}

/// NumPy's `Generator.uniform(low, high)`: `low + (high − low)·u` with `u` uniform on
/// [0, 1) (53 random bits), here drawn from `rng`.
fn uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// Python's `x**2` for a float, which is C's `pow(x, 2.0)` (NumPy's float64 scalar power
/// too). glibc's `pow` is not correctly rounded: for about 1 in 1,000 arguments it is one
/// ulp away from `x * x`. LLVM rewrites `pow(x, 2.0)` into `x * x` when it can see the
/// exponent (in optimised builds only), so the exponent is hidden behind `black_box` to
/// call the platform's `pow` in every build, as Python does. (On the recorded episodes
/// `x * x` would change one Pendulum reward by one ulp and nothing else.)
fn pow2(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream_rng;

    /// The classic-control tasks, which the generic tests below cover (the MuJoCo tasks have
    /// their own in `mujoco`).
    const CLASSIC: [Task; 4] = [
        Task::Pendulum,
        Task::MountainCarContinuous,
        Task::CartPole,
        Task::Acrobot,
    ];

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for &task in Task::ALL {
            assert_eq!(task.to_string().parse::<Task>().unwrap(), task);
            let json = serde_json::to_string(&task).unwrap();
            assert_eq!(json, format!("\"{task}\""));
            assert_eq!(serde_json::from_str::<Task>(&json).unwrap(), task);
        }
        assert_eq!(Task::ALL[..4], CLASSIC);
        let error = "cart_pole".parse::<Task>().unwrap_err();
        let mujoco = if cfg!(feature = "mujoco") {
            ", half_cheetah, hopper, walker2d, ant, inverted_pendulum, \
             inverted_double_pendulum, swimmer, reacher"
        } else {
            ""
        };
        assert_eq!(
            error.to_string(),
            format!(
                "unknown task 'cart_pole' (expected one of: pendulum, mountain_car_continuous, \
                 cartpole, acrobot{mujoco})"
            )
        );
        assert_eq!(error.exit_code(), 2);
        let error = serde_json::from_str::<Task>("\"cart_pole\"").unwrap_err();
        assert!(error.to_string().starts_with("unknown task 'cart_pole'"));
    }

    /// A build without the feature knows the MuJoCo names and says what they need; a build
    /// with it has exactly those tasks after the classic ones.
    #[test]
    fn mujoco_names_are_known_to_every_build() {
        if cfg!(feature = "mujoco") {
            let names: Vec<&str> = Task::ALL[4..].iter().map(|t| t.name()).collect();
            assert_eq!(names, MUJOCO_TASK_NAMES);
        } else {
            assert_eq!(Task::ALL, CLASSIC);
            for name in MUJOCO_TASK_NAMES {
                let error = name.parse::<Task>().unwrap_err();
                assert_eq!(
                    error.to_string(),
                    format!(
                        "task '{name}' needs the MuJoCo build: run `make mujoco`, then build \
                         with `cargo build --release --features mujoco`"
                    )
                );
                assert_eq!(error.exit_code(), 2);
            }
        }
    }

    #[test]
    fn spaces_sizes_and_limits_are_gymnasiums() {
        let expected = [
            (
                Task::Pendulum,
                3,
                2,
                ActionSpace::Continuous {
                    low: vec![-2.0],
                    high: vec![2.0],
                },
                200,
            ),
            (
                Task::MountainCarContinuous,
                2,
                2,
                ActionSpace::Continuous {
                    low: vec![-1.0],
                    high: vec![1.0],
                },
                999,
            ),
            (Task::CartPole, 4, 4, ActionSpace::Discrete(2), 500),
            (Task::Acrobot, 6, 4, ActionSpace::Discrete(3), 500),
        ];
        for (task, observation_dim, state_dim, space, steps) in expected {
            let mut env = task.make();
            assert_eq!(env.observation_dim(), observation_dim, "{task}");
            assert_eq!(env.action_space(), space, "{task}");
            assert_eq!(env.max_episode_steps(), steps, "{task}");
            let observation = env.reset(&mut stream_rng(1, 0, 0));
            assert_eq!(observation.len(), observation_dim, "{task}");
            assert_eq!(env.state().len(), state_dim, "{task}");
        }
    }

    /// An action that keeps each task away from termination for a whole episode from
    /// rest: no force for the pendulum, the car and the acrobot (they hang still at the
    /// bottom), and for cartpole a push towards balance (`0.1x + 0.5ẋ + 10θ + 2θ̇ > 0` pushes
    /// right), the policy of the reference episode that reaches the time limit.
    fn quiet_action(task: Task, observation: &[f64]) -> Action<'static> {
        match task {
            Task::Pendulum | Task::MountainCarContinuous => Action::Continuous(&[0.0]),
            Task::CartPole => {
                let push = 0.1 * observation[0]
                    + 0.5 * observation[1]
                    + 10.0 * observation[2]
                    + 2.0 * observation[3];
                Action::Discrete(usize::from(push > 0.0))
            }
            Task::Acrobot => Action::Discrete(1),
            #[cfg(feature = "mujoco")]
            _ => unreachable!("a classic-control task"),
        }
    }

    /// Every task of the build (the MuJoCo tasks too in the MuJoCo build).
    #[test]
    fn reset_is_deterministic_in_the_rng() {
        for &task in Task::ALL {
            let mut a = task.make();
            let mut b = task.make();
            let first = a.reset(&mut stream_rng(3, 1, 2));
            assert_eq!(first, b.reset(&mut stream_rng(3, 1, 2)), "{task}");
            assert_eq!(a.state(), b.state(), "{task}");
            assert_ne!(first, b.reset(&mut stream_rng(4, 1, 2)), "{task}");
        }
    }

    #[test]
    fn truncation_happens_exactly_at_the_limit_and_stays() {
        for task in CLASSIC {
            let mut env = task.make();
            let rest = vec![0.0; env.state().len()];
            let mut observation = env.set_state(&rest).unwrap();
            let limit = env.max_episode_steps();
            for t in 1..=limit + 2 {
                let step = env.step(quiet_action(task, &observation)).unwrap();
                assert!(!step.terminated, "{task} step {t}");
                assert_eq!(step.truncated, t >= limit, "{task} step {t}");
                observation = step.observation;
            }
            let observation = env.set_state(&rest).unwrap();
            let step = env.step(quiet_action(task, &observation)).unwrap();
            assert!(!step.truncated, "{task}: set_state restarts the count");
            let observation = env.reset(&mut stream_rng(2, 0, 0));
            let step = env.step(quiet_action(task, &observation)).unwrap();
            assert!(!step.truncated, "{task}: reset restarts the count");
        }
    }

    #[test]
    fn invalid_actions_and_early_steps_are_refused_without_change() {
        for task in CLASSIC {
            let mut env = task.make();
            let error = env.step(quiet_action(task, &[0.0; 6])).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{task}: step before reset (call reset or set_state first)")
            );
            let observation = env.reset(&mut stream_rng(5, 0, 0));
            let before = env.state();
            let invalid: Vec<Action> = match env.action_space() {
                ActionSpace::Discrete(n) => vec![Action::Discrete(n), Action::Continuous(&[0.0])],
                ActionSpace::Continuous { .. } => vec![
                    Action::Continuous(&[]),
                    Action::Continuous(&[0.0, 0.0]),
                    Action::Continuous(&[f64::NAN]),
                    Action::Continuous(&[f64::INFINITY]),
                    Action::Discrete(0),
                ],
            };
            for action in invalid {
                assert!(env.step(action).is_err(), "{task}: {action:?}");
                assert_eq!(env.state(), before, "{task}: {action:?}");
            }
            let step = env.step(quiet_action(task, &observation)).unwrap();
            assert!(!step.truncated, "{task}: refused actions are not counted");
        }
        let mut cartpole = Task::CartPole.make();
        cartpole.reset(&mut stream_rng(5, 0, 0));
        assert_eq!(
            cartpole.step(Action::Discrete(2)).unwrap_err().to_string(),
            "cartpole: action 2 is out of range 0..2"
        );
        let mut pendulum = Task::Pendulum.make();
        pendulum.reset(&mut stream_rng(5, 0, 0));
        assert_eq!(
            pendulum
                .step(Action::Continuous(&[f64::NAN]))
                .unwrap_err()
                .to_string(),
            "pendulum: action NaN is not finite"
        );
    }

    #[test]
    fn set_state_checks_length_and_finiteness() {
        for task in CLASSIC {
            let mut env = task.make();
            let dim = env.reset(&mut stream_rng(6, 0, 0)).len();
            let state = env.state();
            let mut longer = state.clone();
            longer.push(0.0);
            assert!(env.set_state(&longer).is_err(), "{task}");
            let mut nan = state.clone();
            nan[0] = f64::NAN;
            assert!(env.set_state(&nan).is_err(), "{task}");
            assert_eq!(env.set_state(&state).unwrap().len(), dim, "{task}");
            assert_eq!(env.state(), state, "{task}");
        }
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn pow2_is_the_platforms_pow_not_a_product() {
        // glibc's pow(x, 2.0) and Python's x**2 round this square up; x * x rounds down.
        let x = -2.8239505176090614_f64;
        assert_eq!(pow2(x), 7.974696525904486);
        assert_eq!(x * x, 7.974696525904485);
    }
}
