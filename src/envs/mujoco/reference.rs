//! Test support: replay Gymnasium's recorded MuJoCo transitions and episodes
//! (`tests/data/gym/mujoco.json.gz`, written by `tests/data/gym/make_mujoco_reference.py`
//! from the same MuJoCo library) and compare every value.

use std::io::Read;

use serde::Deserialize;

use crate::envs::reference::{assert_close, Tolerance};
use crate::envs::{Action, Env, Step, Task};

/// The whole reference file.
#[derive(Deserialize)]
struct Reference {
    gymnasium: String,
    mujoco: String,
    libc: String,
    tasks: Vec<TaskReference>,
}

/// One task's records.
#[derive(Deserialize)]
struct TaskReference {
    task: String,
    gymnasium_id: String,
    max_episode_steps: usize,
    transitions: Vec<Transition>,
    episodes: Vec<Episode>,
}

/// One step from a given state.
#[derive(Deserialize)]
struct Transition {
    initial_state: Vec<f64>,
    initial_observation: Vec<f64>,
    #[serde(flatten)]
    step: StepReference,
}

/// A whole episode from Gymnasium's reset.
#[derive(Deserialize)]
struct Episode {
    policy: String,
    initial_state: Vec<f64>,
    initial_observation: Vec<f64>,
    steps: Vec<StepReference>,
}

/// One recorded step: the action, then what Gymnasium returned and `qpos ++ qvel` after it.
#[derive(Deserialize)]
struct StepReference {
    action: Vec<f64>,
    state: Vec<f64>,
    observation: Vec<f64>,
    reward: f64,
    terminated: bool,
    truncated: bool,
}

/// Every comparison is to the last bit: the physics is the same library's, and the rest
/// repeats NumPy's operations in NumPy's order. (Over the long episodes a different libm
/// would move the states by more than any useful relative tolerance, as MuJoCo calls it;
/// the file records the platform it was made on.)
const EXACT: Tolerance = Tolerance {
    relative: 0.0,
    absolute: 0.0,
};

/// The records of `task`, after checking the file's metadata against ours.
fn records(task: Task) -> (TaskReference, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gym/mujoco.json.gz");
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let reference: Reference = serde_json::from_str(&text).unwrap();
    assert_eq!(reference.gymnasium, "1.4.0");
    assert_eq!(reference.mujoco, "3.17.0");
    let versions = format!(
        "Gymnasium {}, MuJoCo {}, recorded on {}",
        reference.gymnasium, reference.mujoco, reference.libc
    );
    let recorded = reference
        .tasks
        .into_iter()
        .find(|t| t.task == task.name())
        .unwrap_or_else(|| panic!("{path} has no records of {task}"));
    assert_eq!(recorded.gymnasium_id, task.gymnasium_id());
    assert_eq!(recorded.max_episode_steps, task.make().max_episode_steps());
    assert!(!recorded.transitions.is_empty() && !recorded.episodes.is_empty());
    (recorded, versions)
}

/// Compare one step's state, observation, reward and flags with the record.
fn compare_step(env: &dyn Env, step: &Step, expected: &StepReference, context: &str) {
    let state = env.state();
    assert_close(&state, &expected.state, EXACT, &format!("{context} state"));
    assert_close(
        &step.observation,
        &expected.observation,
        EXACT,
        &format!("{context} observation"),
    );
    assert_close(
        &[step.reward],
        &[expected.reward],
        EXACT,
        &format!("{context} reward"),
    );
    assert_eq!(step.terminated, expected.terminated, "{context} terminated");
    assert_eq!(step.truncated, expected.truncated, "{context} truncated");
}

/// Every recorded transition of `task` from its state, and every recorded episode from its
/// initial state with its actions, compared value by value to the last bit. Returns the number
/// of steps
/// compared and how many of them terminated.
pub(super) fn replay(task: Task) -> (usize, usize) {
    let (recorded, versions) = records(task);
    let mut env = task.make();
    let (mut steps, mut terminated) = (0, 0);
    for (i, transition) in recorded.transitions.iter().enumerate() {
        let context = format!("{task} ({versions}) transition {i}");
        let observation = env.set_state(&transition.initial_state).unwrap();
        assert_close(
            &observation,
            &transition.initial_observation,
            EXACT,
            &format!("{context} initial observation"),
        );
        let expected = &transition.step;
        let step = env.step(Action::Continuous(&expected.action)).unwrap();
        compare_step(&*env, &step, expected, &context);
        steps += 1;
        terminated += usize::from(step.terminated);
    }
    for (e, episode) in recorded.episodes.iter().enumerate() {
        let context = format!("{task} ({versions}) episode {e} ({})", episode.policy);
        let observation = env.set_state(&episode.initial_state).unwrap();
        assert_close(
            &observation,
            &episode.initial_observation,
            EXACT,
            &format!("{context} initial observation"),
        );
        for (t, expected) in episode.steps.iter().enumerate() {
            let step = env.step(Action::Continuous(&expected.action)).unwrap();
            compare_step(&*env, &step, expected, &format!("{context} step {}", t + 1));
            steps += 1;
            terminated += usize::from(step.terminated);
        }
    }
    (steps, terminated)
}
