//! Test support: replay Gymnasium's recorded episodes (`tests/data/gym/reference.json`,
//! written by `tests/data/gym/make_reference.py`) and compare every step.

use serde::Deserialize;

use super::{Action, Env, Task};

/// The whole reference file.
#[derive(Deserialize)]
struct Reference {
    gymnasium: String,
    tasks: Vec<TaskReference>,
}

/// The episodes of one task.
#[derive(Deserialize)]
struct TaskReference {
    task: String,
    gymnasium_id: String,
    max_episode_steps: usize,
    episodes: Vec<Episode>,
}

/// One episode: where it starts, and every step Gymnasium took.
#[derive(Deserialize)]
struct Episode {
    policy: String,
    initial_state: Vec<f64>,
    initial_observation: Vec<f64>,
    steps: Vec<StepReference>,
}

/// One recorded step: the action, then what Gymnasium returned and its state after it.
#[derive(Deserialize)]
struct StepReference {
    action: ReferenceAction,
    state: Vec<f64>,
    observation: Vec<f64>,
    reward: f64,
    terminated: bool,
    truncated: bool,
}

/// A recorded action: an index, or the components of a continuous action.
#[derive(Deserialize)]
#[serde(untagged)]
enum ReferenceAction {
    Discrete(usize),
    Continuous(Vec<f64>),
}

impl ReferenceAction {
    fn action(&self) -> Action<'_> {
        match self {
            ReferenceAction::Discrete(index) => Action::Discrete(*index),
            ReferenceAction::Continuous(values) => Action::Continuous(values),
        }
    }
}

/// `|actual − expected| ≤ absolute + relative·|expected|`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tolerance {
    pub(super) relative: f64,
    pub(super) absolute: f64,
}

/// The tolerances of one task's comparisons.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tolerances {
    state: Tolerance,
    observation: Tolerance,
    reward: Tolerance,
}

/// Half an ulp of float32, relative: the largest relative error of rounding to float32.
const FLOAT32_HALF_ULP: f64 = 1.0 / (1u64 << 24) as f64;
/// One ulp of float32 relative to the value, at most.
const FLOAT32_ULP: f64 = 1.0 / (1u64 << 23) as f64;

impl Tolerances {
    /// Tasks whose state Gymnasium keeps in float64 (Pendulum, CartPole, Acrobot after its
    /// reset): we evaluate the same operations in the same order, so state and reward agree
    /// to the last bit on the recorded episodes; 1e-12 relative only leaves room for another
    /// machine's libm. Gymnasium's observations are those values rounded to float32, which
    /// adds half a float32 ulp (2⁻²⁴ relative; the largest seen is 0.99 of that).
    pub(super) const FLOAT64: Tolerances = Tolerances {
        state: Tolerance {
            relative: 1e-12,
            absolute: 0.0,
        },
        observation: Tolerance {
            relative: FLOAT32_HALF_ULP + 1e-12,
            absolute: 0.0,
        },
        reward: Tolerance {
            relative: 1e-12,
            absolute: 0.0,
        },
    };

    /// MountainCarContinuous, one step from Gymnasium's own previous state. Both round the
    /// new state to float32, but Gymnasium's NumPy promotions compute `3·position` in
    /// float32 (which moves `0.0025·cos(3x)` by at most `0.0025·3.6·2⁻²⁴ ≈ 5.4e-10`) and,
    /// for a clipped force, the velocity update in float32 (rounding a term of at most
    /// 0.004 by `0.004·2⁻²⁴ ≈ 2.4e-10`). Those differences (≤ 1e-9 together), then the
    /// float32 rounding of the stored values, can put the two up to one float32 ulp apart
    /// (2⁻²³ relative) plus 1e-9. The reward depends only on the action and the goal test,
    /// so it is compared at 1e-12.
    pub(super) const FLOAT32_STATE_STEP: Tolerances = Tolerances {
        state: Tolerance {
            relative: FLOAT32_ULP,
            absolute: 1e-9,
        },
        observation: Tolerance {
            relative: FLOAT32_ULP,
            absolute: 1e-9,
        },
        reward: Tolerance {
            relative: 1e-12,
            absolute: 0.0,
        },
    };

    /// MountainCarContinuous over whole episodes: the differences above are carried on from
    /// step to step, and no useful bound on their growth follows from the dynamics (the
    /// step map stretches some directions by up to ~9% a step). On the recorded episodes
    /// the largest difference is 5.4e-7 (9 float32 ulps of the position, in the 999-step
    /// episode), so this tolerance is empirical: 1e-6, with the flags still exactly equal.
    pub(super) const FLOAT32_STATE_EPISODE: Tolerances = Tolerances {
        state: Tolerance {
            relative: 0.0,
            absolute: 1e-6,
        },
        observation: Tolerance {
            relative: 0.0,
            absolute: 1e-6,
        },
        reward: Tolerance {
            relative: 1e-12,
            absolute: 0.0,
        },
    };
}

/// The recorded episodes of `task`, after checking the file's metadata against ours.
fn episodes(task: Task) -> (TaskReference, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gym/reference.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reference: Reference = serde_json::from_str(&text).unwrap();
    let gymnasium = reference.gymnasium;
    let recorded = reference
        .tasks
        .into_iter()
        .find(|t| t.task == task.name())
        .unwrap_or_else(|| panic!("{path} has no episodes of {task}"));
    assert_eq!(recorded.gymnasium_id, task.gymnasium_id());
    assert_eq!(recorded.max_episode_steps, task.make().max_episode_steps());
    assert!(!recorded.episodes.is_empty());
    (recorded, gymnasium)
}

/// Assert that every component of `actual` is within `tolerance` of `expected`.
pub(super) fn assert_close(actual: &[f64], expected: &[f64], tolerance: Tolerance, context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let allowed = tolerance.absolute + tolerance.relative * e.abs();
        assert!(
            (a - e).abs() <= allowed,
            "{context}[{i}]: {a:e} against Gymnasium's {e:e} (difference {:e}, allowed {allowed:e})",
            (a - e).abs()
        );
    }
}

/// Replay every recorded episode of `task` from its initial state with its actions, and
/// compare each step's state, observation, reward and flags with Gymnasium's.
pub(super) fn replay(task: Task, tolerances: Tolerances) {
    let (recorded, gymnasium) = episodes(task);
    for (e, episode) in recorded.episodes.iter().enumerate() {
        let context = format!(
            "{task} (Gymnasium {gymnasium}) episode {e} ({})",
            episode.policy
        );
        let mut env = task.make();
        let observation = env.set_state(&episode.initial_state).unwrap();
        assert_close(
            &observation,
            &episode.initial_observation,
            tolerances.observation,
            &format!("{context} initial observation"),
        );
        for (t, expected) in episode.steps.iter().enumerate() {
            let step = env.step(expected.action.action()).unwrap();
            let context = format!("{context} step {}", t + 1);
            compare_step(&*env, &step, expected, tolerances, &context);
            assert_eq!(step.truncated, expected.truncated, "{context} truncated");
        }
    }
}

/// Replay every recorded step of `task` from Gymnasium's state before it (the episode's
/// initial state, then each recorded state), so differences cannot compound.
pub(super) fn replay_each_step(task: Task, tolerances: Tolerances) {
    let (recorded, gymnasium) = episodes(task);
    for (e, episode) in recorded.episodes.iter().enumerate() {
        let context = format!(
            "{task} (Gymnasium {gymnasium}) episode {e} ({})",
            episode.policy
        );
        let mut env = task.make();
        let mut before = &episode.initial_state;
        for (t, expected) in episode.steps.iter().enumerate() {
            env.set_state(before).unwrap();
            let step = env.step(expected.action.action()).unwrap();
            let context = format!("{context} step {} from Gymnasium's state", t + 1);
            compare_step(&*env, &step, expected, tolerances, &context);
            before = &expected.state;
        }
    }
}

/// Compare one step's state, observation, reward and `terminated` with the record.
fn compare_step(
    env: &dyn Env,
    step: &super::Step,
    expected: &StepReference,
    tolerances: Tolerances,
    context: &str,
) {
    assert_close(
        &env.state(),
        &expected.state,
        tolerances.state,
        &format!("{context} state"),
    );
    assert_close(
        &step.observation,
        &expected.observation,
        tolerances.observation,
        &format!("{context} observation"),
    );
    assert_close(
        &[step.reward],
        &[expected.reward],
        tolerances.reward,
        &format!("{context} reward"),
    );
    assert_eq!(step.terminated, expected.terminated, "{context} terminated");
}
