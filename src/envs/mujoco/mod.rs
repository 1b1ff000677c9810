//! Gymnasium's MuJoCo tasks (built with the `mujoco` cargo feature), on the MuJoCo 3.17.0
//! library through the `mujoco-rs` binding: HalfCheetah-v5, Hopper-v5, Walker2d-v5, Ant-v5,
//! InvertedPendulum-v5, InvertedDoublePendulum-v5, Swimmer-v5 and Reacher-v5 with their
//! default arguments (SPEC §10). Each module follows its `gymnasium/envs/mujoco/*_v5.py` of
//! Gymnasium 1.4.0 line by line; what they share follows `mujoco_env.py`'s `MujocoEnv`:
//!
//! * **Model.** Gymnasium's XML file (`envs/mujoco/assets/`, installed by `make mujoco` and
//!   embedded into the binary at compile time; none of the eight uses a mesh or another
//!   file), compiled once per process and shared by every environment of the task.
//! * **State.** `qpos ++ qvel`. [`Env::set_state`] is Gymnasium's `set_state(qpos, qvel)` on
//!   a freshly reset environment: `mj_resetData`, the state, `mj_forward`. So a transition is
//!   a function of (state, action) alone: the solver's warm start and the time are those of a
//!   reset, as after `env.reset()`.
//! * **Step.** The action is written to `ctrl` as it is (MuJoCo clamps it to the actuators'
//!   `ctrlrange` inside the dynamics; the control cost uses the action as given, as in
//!   Gymnasium without its `ClipAction` wrapper), then `frame_skip` × `mj_step` and
//!   `mj_rnePostConstraint` (which fills the contact forces `cfrc_ext` Ant observes);
//!   `dt = timestep · frame_skip`.
//! * **Reset.** Gymnasium's `reset_model` noise (uniform or standard normal, per task, around
//!   the model's initial pose), drawn from the caller's ChaCha8 stream in NumPy's order.
//! * **Time limit.** 1000 steps (Reacher 50), as registered.
//!
//! **Precision.** The physics is MuJoCo's own code, the same shared library as in the PyPI
//! wheel `mujoco==3.17.0` that Gymnasium runs; the reward and observation terms repeat
//! NumPy's float64 operations in NumPy's order, including the pairwise summation of
//! `np.sum` ([`numpy_sum`]), C's `pow` for `x**2` and OpenBLAS's fused multiply-adds in
//! Reacher's `np.linalg.norm`. So every state, observation, reward and flag agrees to the
//! last bit with the recorded Gymnasium transitions and episodes
//! (`tests/data/gym/mujoco.json.gz`), which the tests compare exactly.
//!
//! **Messages.** MuJoCo's warnings (Gymnasium's `half_cheetah.xml` uses a deprecated compiler
//! attribute; an unstable simulation is reset by MuJoCo, as in Gymnasium) are not printed
//! and no `MUJOCO_LOG.TXT` is written; a MuJoCo error ends the process with
//! `Error: MuJoCo: …` and exit code 1.

mod ant;
mod half_cheetah;
mod hopper;
mod inverted_double_pendulum;
mod inverted_pendulum;
mod reacher;
#[cfg(test)]
mod reference;
mod swimmer;
mod walker2d;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Once, OnceLock};

use mujoco_rs::prelude::{set_log_handler, MjData, MjLogMessage, MjModel, MjtLogLevel, MjtObjBase};
use rand_chacha::ChaCha8Rng;

use super::{Action, ActionSpace, Env, System, Task, TimeLimit};
use crate::error::{Error, Result};

/// The task's name (one of [`super::MUJOCO_TASK_NAMES`]).
pub(super) fn task_name(task: Task) -> &'static str {
    match task {
        Task::HalfCheetah => "half_cheetah",
        Task::Hopper => "hopper",
        Task::Walker2d => "walker2d",
        Task::Ant => "ant",
        Task::InvertedPendulum => "inverted_pendulum",
        Task::InvertedDoublePendulum => "inverted_double_pendulum",
        Task::Swimmer => "swimmer",
        Task::Reacher => "reacher",
        classic => unreachable!("{classic:?} is not a MuJoCo task"),
    }
}

/// The id Gymnasium registers the task under.
pub(super) fn gymnasium_id(task: Task) -> &'static str {
    match task {
        Task::HalfCheetah => "HalfCheetah-v5",
        Task::Hopper => "Hopper-v5",
        Task::Walker2d => "Walker2d-v5",
        Task::Ant => "Ant-v5",
        Task::InvertedPendulum => "InvertedPendulum-v5",
        Task::InvertedDoublePendulum => "InvertedDoublePendulum-v5",
        Task::Swimmer => "Swimmer-v5",
        Task::Reacher => "Reacher-v5",
        classic => unreachable!("{classic:?} is not a MuJoCo task"),
    }
}

/// A new environment of `task`.
pub(super) fn make(task: Task) -> Box<dyn Env> {
    match task {
        Task::HalfCheetah => Box::new(TimeLimit::<Mujoco<half_cheetah::HalfCheetah>>::default()),
        Task::Hopper => Box::new(TimeLimit::<Mujoco<hopper::Hopper>>::default()),
        Task::Walker2d => Box::new(TimeLimit::<Mujoco<walker2d::Walker2d>>::default()),
        Task::Ant => Box::new(TimeLimit::<Mujoco<ant::Ant>>::default()),
        Task::InvertedPendulum => {
            Box::new(TimeLimit::<Mujoco<inverted_pendulum::InvertedPendulum>>::default())
        }
        Task::InvertedDoublePendulum => Box::new(TimeLimit::<
            Mujoco<inverted_double_pendulum::InvertedDoublePendulum>,
        >::default()),
        Task::Swimmer => Box::new(TimeLimit::<Mujoco<swimmer::Swimmer>>::default()),
        Task::Reacher => Box::new(TimeLimit::<Mujoco<reacher::Reacher>>::default()),
        classic => unreachable!("{classic:?} is not a MuJoCo task"),
    }
}

/// Gymnasium's XML model `file`, embedded from the folder `make mujoco` installed it in.
macro_rules! gymnasium_model {
    ($file:literal) => {
        include_str!(concat!(env!("HESSCALE_MUJOCO_ASSETS"), "/", $file))
    };
}
use gymnasium_model;

/// What one MuJoCo task of Gymnasium adds to `MujocoEnv`: its model, sizes, reset noise,
/// observation, reward and termination (one module per task).
trait Rules: Send + 'static {
    /// The task.
    const TASK: Task;
    /// Gymnasium's XML model.
    const XML: &'static str;
    /// MuJoCo steps per environment step.
    const FRAME_SKIP: usize;
    /// `nq`, the length of `qpos`.
    const NQ: usize;
    /// `nv`, the length of `qvel`.
    const NV: usize;
    /// `nu`, the number of actuators (the action's length).
    const NU: usize;
    /// Every actuator's `ctrlrange`, Gymnasium's action box (the same for all of a task's
    /// actuators in these eight models).
    const CTRL_RANGE: [f64; 2];
    /// The length of an observation.
    const OBSERVATION_DIM: usize;
    /// The `max_episode_steps` of the registration.
    const MAX_EPISODE_STEPS: usize;

    /// `reset_model`'s draw of `(qpos, qvel)` around the initial pose, in NumPy's order.
    fn reset(init_qpos: &[f64], init_qvel: &[f64], rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>);
    /// `_get_obs`.
    fn observation(sim: &Simulation) -> Vec<f64>;
    /// `step`: advance the simulation with `action` (of length `NU`, finite) and return the
    /// reward and `terminated`.
    fn step(sim: &mut Simulation, action: &[f64]) -> (f64, bool);
}

/// Serialises model loading (MuJoCo's XML parser is not documented as thread-safe) and
/// installs the message handler before the first model is loaded.
static LOADING: Mutex<()> = Mutex::new(());
/// Installs [`message`] as MuJoCo's message handler, once.
static HANDLER: Once = Once::new();

/// MuJoCo's message handler: warnings are dropped (no console output, no `MUJOCO_LOG.TXT`);
/// an error is printed as `Error: MuJoCo: …`, after which mujoco-rs ends the process with
/// exit code 1, as MuJoCo cannot continue after one.
fn message(message: &MjLogMessage) {
    if message.level() == MjtLogLevel::mjLOG_ERROR {
        let body = message
            .body()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        eprintln!("Error: MuJoCo: {}{body}", message.subject());
    }
}

/// The compiled model of `R`'s task, shared by every environment of the task.
fn model<R: Rules>() -> Arc<MjModel> {
    static MODELS: [OnceLock<Arc<MjModel>>; 8] = [const { OnceLock::new() }; 8];
    let index = super::MUJOCO_TASK_NAMES
        .iter()
        .position(|&name| name == task_name(R::TASK))
        .expect("a MuJoCo task");
    MODELS[index]
        .get_or_init(|| {
            let _loading = LOADING
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // SAFETY: every use of MuJoCo goes through a model from here, and this runs
            // before the first one is loaded, under the lock, so no other thread uses MuJoCo.
            HANDLER.call_once(|| unsafe { set_log_handler(message) });
            let model = MjModel::from_xml_string(R::XML)
                .unwrap_or_else(|e| panic!("{}'s embedded model does not load: {e}", R::TASK));
            Arc::new(model)
        })
        .clone()
}

/// A MuJoCo simulation as `MujocoEnv` holds it: the data of a shared model, the initial pose
/// and the environment step's duration.
struct Simulation {
    data: MjData<Arc<MjModel>>,
    init_qpos: Vec<f64>,
    init_qvel: Vec<f64>,
    frame_skip: usize,
    dt: f64,
}

impl Simulation {
    /// A fresh simulation of `R`'s model (`mj_makeData`, which resets it).
    fn new<R: Rules>() -> Simulation {
        let model = model::<R>();
        let dt = model.opt().timestep * R::FRAME_SKIP as f64;
        let data = MjData::new(model);
        Simulation {
            init_qpos: data.qpos().to_vec(),
            init_qvel: data.qvel().to_vec(),
            data,
            frame_skip: R::FRAME_SKIP,
            dt,
        }
    }

    /// `mj_resetData`, then Gymnasium's `set_state(qpos, qvel)`: the state and `mj_forward`.
    fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.data.reset();
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
    }

    /// `do_simulation(action, frame_skip)`: `ctrl ← action`, `frame_skip` × `mj_step`, then
    /// `mj_rnePostConstraint`.
    fn advance(&mut self, action: &[f64]) {
        self.data.ctrl_mut().copy_from_slice(action);
        for _ in 0..self.frame_skip {
            self.data.step();
        }
        self.data.rne_post_constraint();
    }

    /// `model.opt.timestep · frame_skip`.
    fn dt(&self) -> f64 {
        self.dt
    }

    /// `data.qpos`.
    fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    /// `data.qvel`.
    fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    /// `data.xpos[body]`, the Cartesian position of a body's frame.
    fn body_xpos(&self, body: usize) -> [f64; 3] {
        self.data.xpos()[body]
    }

    /// `data.site_xpos[site]`.
    fn site_xpos(&self, site: usize) -> [f64; 3] {
        self.data.site_xpos()[site]
    }

    /// `data.cfrc_ext`, the external force on each body (`[nbody][6]`).
    fn cfrc_ext(&self) -> &[[f64; 6]] {
        self.data.cfrc_ext()
    }

    /// `data.qfrc_constraint`.
    fn qfrc_constraint(&self) -> &[f64] {
        self.data.qfrc_constraint()
    }

    /// The id of the body called `name` in the model.
    fn body(&self, name: &str) -> usize {
        self.data
            .model()
            .name_to_id(MjtObjBase::mjOBJ_BODY, name)
            .unwrap_or_else(|| panic!("the model has no body '{name}'"))
    }
}

/// Gymnasium's `MujocoEnv` subclass of `R`, without the time limit.
struct Mujoco<R: Rules> {
    sim: Simulation,
    rules: PhantomData<R>,
}

impl<R: Rules> Default for Mujoco<R> {
    fn default() -> Self {
        Mujoco {
            sim: Simulation::new::<R>(),
            rules: PhantomData,
        }
    }
}

impl<R: Rules> System for Mujoco<R> {
    const TASK: Task = R::TASK;
    const STATE_DIM: usize = R::NQ + R::NV;
    const OBSERVATION_DIM: usize = R::OBSERVATION_DIM;
    const MAX_EPISODE_STEPS: usize = R::MAX_EPISODE_STEPS;
    type Input = Vec<f64>;

    /// `Box(ctrlrange)` of every actuator.
    fn action_space() -> ActionSpace {
        ActionSpace::Continuous {
            low: vec![R::CTRL_RANGE[0]; R::NU],
            high: vec![R::CTRL_RANGE[1]; R::NU],
        }
    }

    /// An action of `NU` finite components (out-of-range values are accepted as in
    /// Gymnasium: MuJoCo clamps the controls).
    fn input(action: Action) -> Result<Vec<f64>> {
        let task = R::TASK;
        match action {
            Action::Continuous(values) if values.len() == R::NU => {
                match values.iter().find(|value| !value.is_finite()) {
                    Some(value) => Err(Error::runtime(format!(
                        "{task}: action component {value} is not finite"
                    ))),
                    None => Ok(values.to_vec()),
                }
            }
            Action::Continuous(values) => Err(Error::runtime(format!(
                "{task}: an action has {} components, got {}",
                R::NU,
                values.len()
            ))),
            Action::Discrete(_) => Err(Error::runtime(format!(
                "{task}: expected a continuous action, got a discrete one"
            ))),
        }
    }

    /// `mj_resetData`, then `reset_model`.
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        let (qpos, qvel) = R::reset(&self.sim.init_qpos, &self.sim.init_qvel, rng);
        self.sim.set_state(&qpos, &qvel);
    }

    fn set_state(&mut self, state: &[f64]) {
        let (qpos, qvel) = state.split_at(R::NQ);
        self.sim.set_state(qpos, qvel);
    }

    /// `qpos ++ qvel`.
    fn state(&self) -> Vec<f64> {
        [self.sim.qpos(), self.sim.qvel()].concat()
    }

    fn observation(&self) -> Vec<f64> {
        R::observation(&self.sim)
    }

    fn transition(&mut self, action: Vec<f64>) -> Result<(f64, bool)> {
        Ok(R::step(&mut self.sim, &action))
    }
}

/// NumPy's `np.sum` of the `n` terms `term(0), …, term(n − 1)` in float64: its pairwise
/// summation (`pairwise_sum` in NumPy's `loops_utils.h.src`), which adds fewer than 8 terms
/// in order, up to 128 terms in 8 interleaved partial sums combined as
/// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))` plus the rest in order, and more by
/// halves (cut at a multiple of 8). Bit for bit, the sum equals NumPy's.
fn numpy_sum(n: usize, term: impl Fn(usize) -> f64 + Copy) -> f64 {
    pairwise(0, n, term)
}

/// NumPy's pairwise sum of `term(start..start + n)`.
fn pairwise(start: usize, n: usize, term: impl Fn(usize) -> f64 + Copy) -> f64 {
    if n < 8 {
        (start..start + n).fold(-0.0, |sum, i| sum + term(i))
    } else if n <= 128 {
        let mut r: [f64; 8] = std::array::from_fn(|j| term(start + j));
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, partial) in r.iter_mut().enumerate() {
                *partial += term(start + i + j);
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for k in whole..n {
            sum += term(start + k);
        }
        sum
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise(start, half, term) + pairwise(start + half, n - half, term)
    }
}

/// `np.sum(np.square(values))`.
fn sum_of_squares(values: &[f64]) -> f64 {
    numpy_sum(values.len(), |i| values[i] * values[i])
}

/// How `reset_model` perturbs the initial velocities.
#[derive(Clone, Copy)]
enum VelocityNoise {
    /// `U(−s, s)`.
    Uniform,
    /// `s·N(0, 1)` (HalfCheetah, Ant, InvertedDoublePendulum).
    Normal,
}

/// `reset_model`'s draw around the initial pose: `qpos = init + U(−s, s)`, then
/// `qvel = init + U(−s, s)` or `init + s·N(0, 1)`, with `s = scale`.
fn noisy_reset(
    init_qpos: &[f64],
    init_qvel: &[f64],
    rng: &mut ChaCha8Rng,
    scale: f64,
    velocities: VelocityNoise,
) -> (Vec<f64>, Vec<f64>) {
    let qpos = plus(
        init_qpos,
        uniform_noise(rng, -scale, scale, init_qpos.len()),
    );
    let noise = match velocities {
        VelocityNoise::Uniform => uniform_noise(rng, -scale, scale, init_qvel.len()),
        VelocityNoise::Normal => standard_normal(rng, init_qvel.len())
            .into_iter()
            .map(|n| scale * n)
            .collect(),
    };
    (qpos, plus(init_qvel, noise))
}

/// The locomotion tasks' observation: `qpos[skip:] ++ qvel`, the velocities clipped to
/// [−10, 10] when `clip_velocities` (Hopper, Walker2d).
fn positions_and_velocities(sim: &Simulation, skip: usize, clip_velocities: bool) -> Vec<f64> {
    let clip = if clip_velocities { 10.0 } else { f64::INFINITY };
    let velocities = sim.qvel().iter().map(|v| v.clamp(-clip, clip));
    sim.qpos()[skip..]
        .iter()
        .copied()
        .chain(velocities)
        .collect()
}

/// `do_simulation(action)`, returning `x_velocity = (qpos[0]_after − qpos[0]_before)/dt`.
fn advance_measuring_x(sim: &mut Simulation, action: &[f64]) -> f64 {
    let x_before = sim.qpos()[0];
    sim.advance(action);
    (sim.qpos()[0] - x_before) / sim.dt()
}

/// The step of Hopper and Walker2d: reward `(1.0·x_velocity + healthy·1.0) − w·Σ action²`
/// with `w = ctrl_cost_weight`, terminated when not `is_healthy` after the step.
fn healthy_locomotion_step(
    sim: &mut Simulation,
    action: &[f64],
    ctrl_cost_weight: f64,
    is_healthy: fn(&Simulation) -> bool,
) -> (f64, bool) {
    let x_velocity = advance_measuring_x(sim, action);
    let healthy = is_healthy(sim);
    let forward_reward = 1.0 * x_velocity;
    let healthy_reward = if healthy { 1.0 } else { 0.0 };
    let rewards = forward_reward + healthy_reward;
    let ctrl_cost = ctrl_cost_weight * sum_of_squares(action);
    (rewards - ctrl_cost, !healthy)
}

/// NumPy's `uniform(low, high, size=n)` from `rng`, in order.
fn uniform_noise(rng: &mut ChaCha8Rng, low: f64, high: f64, n: usize) -> Vec<f64> {
    (0..n).map(|_| super::uniform(rng, low, high)).collect()
}

/// NumPy's `standard_normal(n)` from `rng` (the distribution; NumPy's ziggurat bits differ).
fn standard_normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    use ndarray_rand::rand::Rng;
    use ndarray_rand::rand_distr::StandardNormal;
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// `init + noise`, elementwise.
fn plus(init: &[f64], noise: Vec<f64>) -> Vec<f64> {
    init.iter().zip(noise).map(|(a, b)| a + b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream_rng;

    /// The MuJoCo tasks of this build.
    fn tasks() -> impl Iterator<Item = Task> {
        Task::ALL
            .iter()
            .copied()
            .filter(|task| super::super::MUJOCO_TASK_NAMES.contains(&task.name()))
    }

    /// `np.sum` of `[0.1, 0.2, …]`-like terms, by NumPy's blocks: under 8 in order, up to 128
    /// in 8 partial sums, more in halves. Each case is written out as NumPy adds.
    #[test]
    fn numpy_sum_adds_in_numpys_order() {
        let term = |i: usize| 1.0 / (i as f64 + 3.0);
        let sequential = |range: std::ops::Range<usize>| range.fold(-0.0, |s, i| s + term(i));
        assert_eq!(numpy_sum(5, term), sequential(0..5));
        let eight_way = |start: usize, n: usize| {
            let mut r: Vec<f64> = (0..8).map(|j| term(start + j)).collect();
            let whole = n - n % 8;
            for i in (8..whole).step_by(8) {
                for (j, partial) in r.iter_mut().enumerate() {
                    *partial += term(start + i + j);
                }
            }
            let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            (start + whole..start + n).fold(sum, |s, i| s + term(i))
        };
        assert_eq!(numpy_sum(84, term), eight_way(0, 84));
        // 300 terms: halves of 144 (150 cut to a multiple of 8) and 156, each in halves again.
        let left = eight_way(0, 72) + eight_way(72, 72);
        let right = eight_way(144, 72) + eight_way(216, 84);
        assert_eq!(numpy_sum(300, term), left + right);
        assert_ne!(
            numpy_sum(84, term),
            sequential(0..84),
            "the order matters here"
        );
    }

    /// Each task's sizes, action box, observation length and time limit are Gymnasium's, and
    /// the constants agree with the compiled model.
    #[test]
    fn spaces_sizes_and_limits_are_gymnasiums() {
        // (task, nq, nv, nu, ctrlrange, observation, steps, frame_skip, dt)
        let expected = [
            (Task::HalfCheetah, 9, 9, 6, 1.0, 17, 1000, 5, 0.05),
            (Task::Hopper, 6, 6, 3, 1.0, 11, 1000, 4, 0.008),
            (Task::Walker2d, 9, 9, 6, 1.0, 17, 1000, 4, 0.008),
            (Task::Ant, 15, 14, 8, 1.0, 105, 1000, 5, 0.05),
            (Task::InvertedPendulum, 2, 2, 1, 3.0, 4, 1000, 2, 0.04),
            (Task::InvertedDoublePendulum, 3, 3, 1, 1.0, 9, 1000, 5, 0.05),
            (Task::Swimmer, 5, 5, 2, 1.0, 8, 1000, 4, 0.04),
            (Task::Reacher, 4, 4, 2, 1.0, 10, 50, 2, 0.02),
        ];
        assert_eq!(expected.len(), tasks().count());
        for (task, nq, nv, nu, bound, observation, steps, frame_skip, dt) in expected {
            let mut env = task.make();
            assert_eq!(
                env.action_space(),
                ActionSpace::Continuous {
                    low: vec![-bound; nu],
                    high: vec![bound; nu],
                },
                "{task}"
            );
            assert_eq!(env.observation_dim(), observation, "{task}");
            assert_eq!(env.max_episode_steps(), steps, "{task}");
            assert_eq!(
                env.reset(&mut stream_rng(1, 0, 0)).len(),
                observation,
                "{task}"
            );
            assert_eq!(env.state().len(), nq + nv, "{task}");
            let sim = simulation(task);
            let model = sim.data.model();
            assert_eq!(
                (
                    model.nq() as usize,
                    model.nv() as usize,
                    model.nu() as usize
                ),
                (nq, nv, nu),
                "{task}"
            );
            assert!(
                model
                    .actuator_ctrlrange()
                    .iter()
                    .all(|range| *range == [-bound, bound]),
                "{task}"
            );
            assert_eq!((sim.frame_skip, sim.dt()), (frame_skip, dt), "{task}");
        }
    }

    /// A fresh simulation of `task`.
    fn simulation(task: Task) -> Simulation {
        match task {
            Task::HalfCheetah => Simulation::new::<half_cheetah::HalfCheetah>(),
            Task::Hopper => Simulation::new::<hopper::Hopper>(),
            Task::Walker2d => Simulation::new::<walker2d::Walker2d>(),
            Task::Ant => Simulation::new::<ant::Ant>(),
            Task::InvertedPendulum => Simulation::new::<inverted_pendulum::InvertedPendulum>(),
            Task::InvertedDoublePendulum => {
                Simulation::new::<inverted_double_pendulum::InvertedDoublePendulum>()
            }
            Task::Swimmer => Simulation::new::<swimmer::Swimmer>(),
            Task::Reacher => Simulation::new::<reacher::Reacher>(),
            classic => unreachable!("{classic:?}"),
        }
    }

    /// Whatever ran before, setting a state gives the same transition (that a reset is a
    /// function of the rng is `envs`' test over every task).
    #[test]
    fn set_state_restarts_the_same_transition() {
        for task in tasks() {
            let mut a = task.make();
            let mut b = task.make();
            let first = a.reset(&mut stream_rng(3, 1, 2));
            b.reset(&mut stream_rng(4, 1, 2));
            let state = a.state();
            let dim = match a.action_space() {
                ActionSpace::Continuous { low, .. } => low.len(),
                ActionSpace::Discrete(_) => unreachable!(),
            };
            let action: Vec<f64> = (0..dim).map(|i| 0.3 - 0.2 * i as f64).collect();
            let step = a.step(Action::Continuous(&action)).unwrap();
            for _ in 0..5 {
                b.step(Action::Continuous(&action)).unwrap();
            }
            assert_eq!(b.set_state(&state).unwrap(), first, "{task}");
            assert_eq!(b.step(Action::Continuous(&action)).unwrap(), step, "{task}");
            assert_eq!(a.state(), b.state(), "{task}");
        }
    }

    #[test]
    fn invalid_actions_and_early_steps_are_refused_without_change() {
        for task in tasks() {
            let mut env = task.make();
            let ActionSpace::Continuous { low, .. } = env.action_space() else {
                unreachable!()
            };
            let zero = vec![0.0; low.len()];
            assert_eq!(
                env.step(Action::Continuous(&zero)).unwrap_err().to_string(),
                format!("{task}: step before reset (call reset or set_state first)")
            );
            env.reset(&mut stream_rng(5, 0, 0));
            let before = env.state();
            let mut nan = zero.clone();
            nan[0] = f64::NAN;
            let longer = vec![0.0; low.len() + 1];
            for action in [
                Action::Continuous(&longer),
                Action::Continuous(&nan),
                Action::Discrete(0),
            ] {
                assert!(env.step(action).is_err(), "{task}: {action:?}");
                assert_eq!(env.state(), before, "{task}: {action:?}");
            }
            let mut longer_state = before.clone();
            longer_state.push(0.0);
            assert!(env.set_state(&longer_state).is_err(), "{task}");
            let mut nan_state = before.clone();
            nan_state[1] = f64::NAN;
            assert!(env.set_state(&nan_state).is_err(), "{task}");
            assert_eq!(env.state(), before, "{task}");
        }
        let mut ant = Task::Ant.make();
        ant.reset(&mut stream_rng(5, 0, 0));
        assert_eq!(
            ant.step(Action::Continuous(&[0.0; 3]))
                .unwrap_err()
                .to_string(),
            "ant: an action has 8 components, got 3"
        );
    }

    /// A reset's noise around the initial pose.
    #[derive(Clone, Copy, Debug)]
    enum Noise {
        /// `U(−s, s)`.
        Uniform(f64),
        /// `s·N(0, 1)`.
        Normal(f64),
    }

    /// Over 4,000 resets every component's deviation from the model's initial pose has
    /// Gymnasium's distribution: within ±s and of variance s²/3 for uniform noise, of mean 0
    /// and variance s² for normal noise (within 10% and four standard errors).
    #[test]
    fn resets_draw_gymnasiums_noise() {
        use Noise::{Normal, Uniform};
        let cases = [
            (Task::HalfCheetah, Uniform(0.1), Normal(0.1)),
            (Task::Hopper, Uniform(5e-3), Uniform(5e-3)),
            (Task::Walker2d, Uniform(5e-3), Uniform(5e-3)),
            (Task::Ant, Uniform(0.1), Normal(0.1)),
            (Task::InvertedPendulum, Uniform(0.01), Uniform(0.01)),
            (Task::InvertedDoublePendulum, Uniform(0.1), Normal(0.1)),
            (Task::Swimmer, Uniform(0.1), Uniform(0.1)),
        ];
        let draws = 4000;
        for (task, qpos_noise, qvel_noise) in cases {
            let sim = simulation(task);
            let init = [sim.init_qpos.clone(), sim.init_qvel.clone()].concat();
            let nq = sim.init_qpos.len();
            let mut env = task.make();
            let mut rng = stream_rng(21, 0, 0);
            let deviations: Vec<Vec<f64>> = (0..draws)
                .map(|_| {
                    env.reset(&mut rng);
                    env.state().iter().zip(&init).map(|(s, i)| s - i).collect()
                })
                .collect();
            for (i, &start) in init.iter().enumerate() {
                let noise = if i < nq { qpos_noise } else { qvel_noise };
                let d: Vec<f64> = deviations.iter().map(|row| row[i]).collect();
                let n = draws as f64;
                let mean = d.iter().sum::<f64>() / n;
                let variance = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                let context = format!("{task} component {i} (initially {start}), {noise:?}");
                let scale = match noise {
                    Uniform(s) => {
                        assert!(d.iter().all(|x| x.abs() <= s), "{context}");
                        assert!((variance / (s * s / 3.0) - 1.0).abs() < 0.1, "{context}");
                        s / 3f64.sqrt()
                    }
                    Normal(s) => {
                        assert!((variance / (s * s) - 1.0).abs() < 0.1, "{context}");
                        s
                    }
                };
                assert!(
                    mean.abs() < 4.0 * scale / n.sqrt(),
                    "{context}: mean {mean}"
                );
            }
        }
    }

    /// Reacher's reset: the arm's angles `U(−0.1, 0.1)`, a target in the disc of radius 0.2
    /// (drawn in the square until inside), the arm's speeds `U(−0.005, 0.005)`, the target's 0.
    #[test]
    fn reacher_resets_put_the_target_in_the_disc() {
        let mut env = Task::Reacher.make();
        let mut rng = stream_rng(22, 0, 0);
        let mut corners = 0;
        for _ in 0..4000 {
            env.reset(&mut rng);
            let state = env.state();
            assert!(state[..2].iter().all(|q| q.abs() <= 0.1), "{state:?}");
            let radius = (state[2] * state[2] + state[3] * state[3]).sqrt();
            assert!(radius < 0.2, "{state:?}");
            corners += usize::from(state[2].abs() > 0.15 && state[3].abs() > 0.1);
            assert!(state[4..6].iter().all(|v| v.abs() <= 0.005), "{state:?}");
            assert_eq!(state[6..], [0.0, 0.0]);
        }
        assert!(corners > 0, "the whole disc is reached");
    }

    /// Environments of one task share one compiled model.
    #[test]
    fn the_model_is_compiled_once_per_task() {
        let a = model::<hopper::Hopper>();
        let b = model::<hopper::Hopper>();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &model::<walker2d::Walker2d>()));
    }
}
