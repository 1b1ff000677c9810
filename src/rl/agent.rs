//! The actor-critic agent: rollouts of a fixed length, generalised advantage estimates,
//! and epochs of minibatch steps of every network on the rollout.
//!
//! * Policy: for continuous actions a Gaussian with a mean network and a variance network,
//!   each its own learner (as in the paper); for discrete actions a softmax network. Critic:
//!   a value network trained on mse. Every network is `obs → 64 → 64 → out`, tanh, PyTorch's
//!   default initialisation, except the variance network of the `exp` head
//!   ([`AgentConfig::variance_head`]): `obs → 64 → D` with `v = exp(z)`, the ICML 2024
//!   code's; with the default `softplus` head it is `obs → 64 → 64 → D`, `v = softplus(z)`.
//! * Actions are sampled from the Gaussian and clipped to the task's action box before the
//!   environment sees them, as Gymnasium's `ClipAction` wrapper in CleanRL's PPO; the
//!   log-likelihood is of the sampled, unclipped action.
//! * Observations and rewards are normalised ([`crate::rl::normalize`]) before the agent
//!   sees them; the returns it reports are the environment's own rewards.
//! * A time-limit truncation is bootstrapped: the step's reward gains `γ V(s_final)`.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2, Axis};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::StandardNormal;
use rand_chacha::ChaCha8Rng;

use crate::envs::{Action, ActionSpace, Env, Task};
use crate::error::{Error, Result};
use crate::nn::init::{init_mlp, Architecture};
use crate::nn::loss::{sample_categorical, softmax};
use crate::nn::{
    Activation, Likelihood, Loss, Mlp, Policy, PolicyTargets, Surrogate, Targets, VarianceHead,
};
use crate::rl::normalize::{ObservationNormalizer, RewardNormalizer};
use crate::rng::{stream_id, stream_rng};
use crate::train::{Learner, OptimizerConfig, StepOutcome};

/// The agents of the study; [`AgentKind::name`] is their name for `Display`, `FromStr`
/// and serde.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// Advantage actor-critic with 5-step returns.
    A2c,
    /// Proximal policy optimisation with the clipped surrogate.
    Ppo,
}

/// The settings of an agent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgentConfig {
    /// Environment steps per rollout (and per update).
    pub rollout: usize,
    /// Passes over each rollout.
    pub epochs: usize,
    /// Minibatches per pass (the rollout shuffled, then cut into this many parts).
    pub minibatches: usize,
    /// The discount γ.
    pub gamma: f64,
    /// GAE's λ (1: n-step returns to the end of the rollout).
    pub lambda: f64,
    /// PPO's clip range ε; `None` for A2C's advantage-weighted log-likelihood.
    pub clip: Option<f64>,
    /// Standardise the advantages of each minibatch (mean 0, sample s.d. 1).
    pub normalize_advantages: bool,
    /// The width of each of the two hidden layers.
    pub width: usize,
    /// The variance network's head (continuous actions): `softplus` on two hidden layers,
    /// or `exp` on one (the ICML 2024 code's).
    pub variance_head: VarianceHead,
}

impl AgentConfig {
    /// The hidden layers of the variance network: two with `softplus`, one with `exp`.
    pub fn variance_hidden_layers(&self) -> usize {
        match self.variance_head {
            VarianceHead::Softplus => 2,
            VarianceHead::Exp => 1,
        }
    }
}

impl AgentKind {
    /// Every agent, in the order of the files.
    pub const ALL: [AgentKind; 2] = [AgentKind::A2c, AgentKind::Ppo];

    /// The name on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::A2c => "a2c",
            AgentKind::Ppo => "ppo",
        }
    }

    /// The settings of the ICML 2024 RL study: A2C with 5-step returns, γ 0.99; PPO with 2048 steps per
    /// rollout, 32 minibatches, 10 epochs, γ 0.99, λ 0.95, clip 0.2 and advantage
    /// normalisation (CleanRL's PPO for continuous control). Neither has an entropy bonus
    /// or gradient clipping; both normalise observations and rewards.
    pub fn config(self) -> AgentConfig {
        match self {
            AgentKind::A2c => AgentConfig {
                rollout: 5,
                epochs: 1,
                minibatches: 1,
                gamma: 0.99,
                lambda: 1.0,
                clip: None,
                normalize_advantages: false,
                width: 64,
                variance_head: VarianceHead::Softplus,
            },
            AgentKind::Ppo => AgentConfig {
                rollout: 2048,
                epochs: 10,
                minibatches: 32,
                gamma: 0.99,
                lambda: 0.95,
                clip: Some(0.2),
                normalize_advantages: true,
                width: 64,
                variance_head: VarianceHead::Softplus,
            },
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for AgentKind {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        AgentKind::ALL
            .into_iter()
            .find(|agent| agent.name() == name)
            .ok_or_else(|| {
                Error::input(format!(
                    "unknown agent '{name}' (expected one of: a2c, ppo)"
                ))
            })
    }
}

/// A finished episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    /// The environment steps taken by the agent when the episode ended.
    pub step: u64,
    /// The sum of the environment's rewards over the episode.
    pub episode_return: f64,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// The finished episodes, in order.
    pub episodes: Vec<Episode>,
    /// The environment steps taken.
    pub steps: u64,
    /// A network's loss or parameters became non-finite (or its policy unusable): the run
    /// stopped there.
    pub diverged: bool,
}

/// The actions of a rollout.
#[derive(Clone, Debug, PartialEq)]
pub enum Actions {
    /// Continuous actions, `[T, D]`.
    Continuous(Array2<f64>),
    /// Discrete action indices.
    Discrete(Vec<usize>),
}

/// One rollout, as the update sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    /// The normalised observations, `[T, obs]`.
    pub observations: Array2<f64>,
    /// The actions taken.
    pub actions: Actions,
    /// `log π_old(a_t | s_t)`.
    pub log_probs: Array1<f64>,
    /// The critic's values `V(s_t)`.
    pub values: Array1<f64>,
    /// The normalised rewards (with the bootstrap of truncations).
    pub rewards: Array1<f64>,
    /// Whether step t ended an episode.
    pub dones: Vec<bool>,
    /// `V(s_T)`, the value of the observation after the rollout.
    pub last_value: f64,
}

/// GAE (Schulman et al. 2016): `δ_t = r_t + γ V_{t+1} (1 − done_t) − V_t`,
/// `Â_t = δ_t + γ λ (1 − done_t) Â_{t+1}`, with `V_T` the value after the rollout; λ = 1
/// gives the n-step returns minus the values. Returns the advantages.
pub fn advantages(
    rewards: &Array1<f64>,
    values: &Array1<f64>,
    dones: &[bool],
    last_value: f64,
    gamma: f64,
    lambda: f64,
) -> Array1<f64> {
    let steps = rewards.len();
    let mut advantages = Array1::zeros(steps);
    let mut next_advantage = 0.0;
    let mut next_value = last_value;
    for t in (0..steps).rev() {
        let continuing = if dones[t] { 0.0 } else { 1.0 };
        let delta = rewards[t] + gamma * next_value * continuing - values[t];
        next_advantage = delta + gamma * lambda * continuing * next_advantage;
        advantages[t] = next_advantage;
        next_value = values[t];
    }
    advantages
}

/// The policy's networks.
#[derive(Clone, Debug)]
enum Actor {
    /// A Gaussian: a mean network and a variance network `v = head(z)`, and the action box
    /// the sampled actions are clipped to.
    Gaussian {
        mean: Box<Learner<Policy>>,
        variance: Box<Learner<Policy>>,
        low: Vec<f64>,
        high: Vec<f64>,
    },
    /// A softmax over the discrete actions.
    Softmax { logits: Box<Learner<Policy>> },
}

/// The cell a network's learner keys its curvature streams with: distinct per network, so
/// that (say) the mean and variance networks' AdaHessian estimators draw independently.
pub fn network_cell(cell: u64, network: &str) -> u64 {
    stream_id(&format!("rl/{cell}/{network}"))
}

/// An agent on one task: its environment, networks, normalisers and random streams.
pub struct Agent {
    config: AgentConfig,
    env: Box<dyn Env>,
    actor: Actor,
    critic: Learner,
    observations: ObservationNormalizer,
    rewards: RewardNormalizer,
    env_rng: ChaCha8Rng,
    action_rng: ChaCha8Rng,
    minibatch_rng: ChaCha8Rng,
    /// The normalised observation the next action is chosen for.
    observation: Vec<f64>,
    episode_return: f64,
    steps: u64,
    episodes: Vec<Episode>,
}

impl Agent {
    /// An agent of `config` on `task`, every network trained by `optimizer`. An optimizer
    /// whose curvature a policy loss cannot serve (adaggnmc: a policy loss's output
    /// Hessian is indefinite where an advantage is negative, so it has no square-root
    /// factor) is refused by its learners ([`OptimizerConfig::serves`]).
    pub fn new(
        task: Task,
        config: AgentConfig,
        optimizer: OptimizerConfig,
        seed: u64,
        cell: u64,
    ) -> Result<Agent> {
        optimizer.check()?;
        let mut env = task.make();
        let inputs = env.observation_dim();
        let network = |name: &str, hidden: usize, outputs: usize| -> Result<Mlp> {
            let architecture = Architecture {
                inputs,
                hidden: vec![config.width; hidden],
                outputs,
                activation: Activation::Tanh,
            };
            let mut rng = stream_rng(seed, cell, stream_id(&format!("rl/init/{name}")));
            init_mlp(&architecture, &mut rng)
        };
        let policy = |name: &str, hidden: usize, outputs: usize| -> Result<Box<Learner<Policy>>> {
            let mlp = network(name, hidden, outputs)?;
            let learner = Learner::new(mlp, Policy, optimizer, seed, network_cell(cell, name))?;
            Ok(Box::new(learner))
        };
        let actor = match env.action_space() {
            ActionSpace::Continuous { low, high } => Actor::Gaussian {
                mean: policy("mean", 2, low.len())?,
                variance: policy("variance", config.variance_hidden_layers(), low.len())?,
                low,
                high,
            },
            ActionSpace::Discrete(actions) => Actor::Softmax {
                logits: policy("policy", 2, actions)?,
            },
        };
        let critic_cell = network_cell(cell, "critic");
        let critic = Learner::new(
            network("critic", 2, 1)?,
            Loss::Mse,
            optimizer,
            seed,
            critic_cell,
        )?;
        let mut env_rng = stream_rng(seed, cell, stream_id("rl/env"));
        let mut observations = ObservationNormalizer::new(inputs);
        let observation = observations.normalize(&env.reset(&mut env_rng));
        Ok(Agent {
            config,
            env,
            actor,
            critic,
            observations,
            rewards: RewardNormalizer::new(config.gamma),
            env_rng,
            action_rng: stream_rng(seed, cell, stream_id("rl/actions")),
            minibatch_rng: stream_rng(seed, cell, stream_id("rl/minibatches")),
            observation,
            episode_return: 0.0,
            steps: 0,
            episodes: Vec::new(),
        })
    }

    /// Run until `steps` environment steps are taken (the last rollout cut short) or a
    /// network diverges.
    pub fn run(mut self, steps: u64) -> Result<RunOutcome> {
        let mut diverged = false;
        while self.steps < steps && !diverged {
            let length = self.config.rollout.min((steps - self.steps) as usize);
            diverged = match self.collect(length)? {
                Some(rollout) => !self.update(&rollout)?,
                None => true,
            };
        }
        Ok(RunOutcome {
            episodes: self.episodes,
            steps: self.steps,
            diverged,
        })
    }

    /// The critic's value of a normalised observation.
    fn value(&self, observation: &[f64]) -> f64 {
        let x =
            Array2::from_shape_vec((1, observation.len()), observation.to_vec()).expect("one row");
        self.critic.model().forward(&x).output()[[0, 0]]
    }

    /// Take `length` steps with the current policy. `None` when the policy has become
    /// unusable (a variance that is not a finite positive number, or a non-finite action).
    pub fn collect(&mut self, length: usize) -> Result<Option<Rollout>> {
        let width = self.observation.len();
        let mut observations = Array2::zeros((length, width));
        let mut continuous = Vec::new();
        let mut discrete = Vec::new();
        let (mut log_probs, mut values, mut rewards) = (
            Array1::zeros(length),
            Array1::zeros(length),
            Array1::zeros(length),
        );
        let mut dones = Vec::with_capacity(length);
        for t in 0..length {
            let x = Array2::from_shape_vec((1, width), self.observation.clone()).expect("one row");
            observations.row_mut(t).assign(&x.row(0));
            values[t] = self.value(&self.observation);
            let step = match &self.actor {
                Actor::Gaussian {
                    mean,
                    variance,
                    low,
                    high,
                } => {
                    let head = self.config.variance_head;
                    let means = mean.model().forward(&x).output().clone();
                    let variances = variance
                        .model()
                        .forward(&x)
                        .output()
                        .mapv(|z| head.variance(z));
                    if !variances.iter().all(|v| v.is_finite() && *v > 0.0) {
                        return Ok(None);
                    }
                    let action: Array2<f64> = Array2::from_shape_fn(means.raw_dim(), |(_, d)| {
                        let noise: f64 = self.action_rng.sample(StandardNormal);
                        means[[0, d]] + variances[[0, d]].sqrt() * noise
                    });
                    if !action.iter().all(|a| a.is_finite()) {
                        return Ok(None);
                    }
                    let likelihood = Likelihood::GaussianMean {
                        actions: action.clone(),
                        variances,
                    };
                    log_probs[t] = likelihood.log_probs(&means)[0];
                    let components = action.row(0).to_vec();
                    continuous.extend_from_slice(&components);
                    let clipped: Vec<f64> = components
                        .iter()
                        .zip(low.iter().zip(high))
                        .map(|(a, (lo, hi))| a.clamp(*lo, *hi))
                        .collect();
                    self.env.step(Action::Continuous(&clipped))?
                }
                Actor::Softmax { logits } => {
                    let z = logits.model().forward(&x).output().clone();
                    let action = sample_categorical(softmax(&z).row(0), &mut self.action_rng);
                    let likelihood = Likelihood::Softmax {
                        actions: vec![action],
                    };
                    log_probs[t] = likelihood.log_probs(&z)[0];
                    discrete.push(action);
                    self.env.step(Action::Discrete(action))?
                }
            };
            self.steps += 1;
            self.episode_return += step.reward;
            let mut reward = self.rewards.normalize(step.reward, step.terminated);
            let next = self.observations.normalize(&step.observation);
            if step.truncated && !step.terminated {
                reward += self.config.gamma * self.value(&next);
            }
            rewards[t] = reward;
            let done = step.terminated || step.truncated;
            dones.push(done);
            self.observation = if done {
                self.episodes.push(Episode {
                    step: self.steps,
                    episode_return: self.episode_return,
                });
                self.episode_return = 0.0;
                let start = self.env.reset(&mut self.env_rng);
                self.observations.normalize(&start)
            } else {
                next
            };
        }
        let actions = match self.actor {
            Actor::Gaussian { .. } => {
                let dim = continuous.len() / length.max(1);
                Actions::Continuous(
                    Array2::from_shape_vec((length, dim), continuous).expect("D per step"),
                )
            }
            Actor::Softmax { .. } => Actions::Discrete(discrete),
        };
        Ok(Some(Rollout {
            observations,
            actions,
            log_probs,
            values,
            rewards,
            dones,
            last_value: self.value(&self.observation),
        }))
    }

    /// The epochs of minibatch steps on a rollout: each minibatch steps the policy's
    /// networks on the surrogate (A2C's or PPO's) and the critic on mse towards
    /// `Â + V`. Both Gaussian networks step on losses evaluated at the parameters before
    /// the minibatch (each holding the other's output fixed). False once a network
    /// diverges.
    pub fn update(&mut self, rollout: &Rollout) -> Result<bool> {
        let config = self.config;
        let advantages = advantages(
            &rollout.rewards,
            &rollout.values,
            &rollout.dones,
            rollout.last_value,
            config.gamma,
            config.lambda,
        );
        let returns = &advantages + &rollout.values;
        let length = rollout.rewards.len();
        let size = length.div_ceil(config.minibatches);
        let mut order: Vec<usize> = (0..length).collect();
        for _ in 0..config.epochs {
            if config.minibatches > 1 {
                shuffle(&mut order, &mut self.minibatch_rng);
            }
            for batch in order.chunks(size) {
                let inputs = rollout.observations.select(Axis(0), batch);
                let mut batch_advantages = advantages.select(Axis(0), batch);
                if config.normalize_advantages && batch.len() > 1 {
                    standardize(&mut batch_advantages);
                }
                let surrogate = match config.clip {
                    None => Surrogate::AdvantageWeighted,
                    Some(clip) => Surrogate::Clipped {
                        old_log_probs: rollout.log_probs.select(Axis(0), batch),
                        clip,
                    },
                };
                let policy = |likelihood| PolicyTargets {
                    likelihood,
                    advantages: batch_advantages.clone(),
                    surrogate: surrogate.clone(),
                };
                let actor_taken = match (&mut self.actor, &rollout.actions) {
                    (Actor::Gaussian { mean, variance, .. }, Actions::Continuous(actions)) => {
                        let actions = actions.select(Axis(0), batch);
                        // Each network's forward pass makes the other's targets, and its
                        // own step reuses it.
                        let head = config.variance_head;
                        let (mean_pass, variance_pass) =
                            (mean.forward(&inputs), variance.forward(&inputs));
                        let means = mean_pass.output().clone();
                        let variances = variance_pass.output().mapv(|z| head.variance(z));
                        if !variances.iter().all(|v| v.is_finite() && *v > 0.0) {
                            return Ok(false);
                        }
                        let mean_targets = policy(Likelihood::GaussianMean {
                            actions: actions.clone(),
                            variances,
                        });
                        let variance_targets = policy(Likelihood::GaussianVariance {
                            actions,
                            means,
                            head,
                        });
                        taken(mean.step_on_pass(mean_pass, mean_targets)?)
                            && taken(variance.step_on_pass(variance_pass, variance_targets)?)
                    }
                    (Actor::Softmax { logits }, Actions::Discrete(actions)) => {
                        let actions = batch.iter().map(|&t| actions[t]).collect();
                        taken(
                            logits
                                .step_on(inputs.clone(), policy(Likelihood::Softmax { actions }))?,
                        )
                    }
                    _ => unreachable!("the rollout's actions come from this actor"),
                };
                let values = returns.select(Axis(0), batch).insert_axis(Axis(1));
                if !(actor_taken && taken(self.critic.step_on(inputs, Targets::Values(values))?)) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The policy's networks (mean and variance, or the softmax's) and the critic, in that
    /// order.
    pub fn networks(&self) -> Vec<&Mlp> {
        let mut networks = match &self.actor {
            Actor::Gaussian { mean, variance, .. } => vec![mean.model(), variance.model()],
            Actor::Softmax { logits } => vec![logits.model()],
        };
        networks.push(self.critic.model());
        networks
    }
}

/// Whether a learner's step was taken.
fn taken(outcome: StepOutcome) -> bool {
    matches!(outcome, StepOutcome::Taken { .. })
}

/// Fisher–Yates with uniform draws from `rng`.
fn shuffle(order: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
}

/// `(x − mean)/(s + 1e-8)` with the sample standard deviation s (as `torch.std`).
fn standardize(values: &mut Array1<f64>) {
    let n = values.len() as f64;
    let mean = values.sum() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    let scale = 1.0 / (var.sqrt() + 1e-8);
    values.mapv_inplace(|v| (v - mean) * scale);
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    use super::*;
    use crate::train::Optimizer;
    use crate::train::Scaling;

    /// γ = 0.9, a done at t = 1: `δ_2 = 3 + 0.9·2 − 1.5 = 3.3`, `δ_1 = 2 − 1 = 1`,
    /// `δ_0 = 1 + 0.9·1 − 0.5 = 1.4`; `Â_0 = 1.4 + 0.9 λ · 1`. With λ = 1, `Â_0 + V_0` is the
    /// two-step return `1 + 0.9·2 = 2.8`, and `Â_2 + V_2` the bootstrapped `3 + 0.9·2`.
    #[test]
    fn advantages_by_hand() {
        let (rewards, values) = (array![1.0, 2.0, 3.0], array![0.5, 1.0, 1.5]);
        let dones = [false, true, false];
        let n_step = advantages(&rewards, &values, &dones, 2.0, 0.9, 1.0);
        assert_abs_diff_eq!(n_step, array![2.3, 1.0, 3.3], epsilon = 1e-15);
        assert_abs_diff_eq!(n_step[0] + values[0], 2.8, epsilon = 1e-15);
        let gae = advantages(&rewards, &values, &dones, 2.0, 0.9, 0.5);
        assert_abs_diff_eq!(gae, array![1.85, 1.0, 3.3], epsilon = 1e-15);
    }

    fn agent(task: Task, config: AgentConfig, optimizer: Optimizer, seed: u64) -> Agent {
        Agent::new(task, config, OptimizerConfig::new(optimizer, 1e-3), seed, 3).unwrap()
    }

    fn tiny(clip: Option<f64>) -> AgentConfig {
        AgentConfig {
            rollout: 8,
            epochs: 1,
            minibatches: 1,
            clip,
            normalize_advantages: false,
            width: 4,
            ..AgentKind::Ppo.config()
        }
    }

    /// The largest difference between two agents' parameters.
    fn distance(a: &Agent, b: &Agent) -> f64 {
        let mut largest: f64 = 0.0;
        for (x, y) in a.networks().into_iter().zip(b.networks()) {
            for (u, v) in x.params().values().iter().zip(y.params().values()) {
                largest = largest.max((u - v).abs());
            }
        }
        largest
    }

    /// On the first minibatch of a rollout the ratio is 1, the clip inactive and PPO's
    /// gradient `−A r ∇f` is A2C's `−A ∇f`: one update of one minibatch moves Adam's
    /// networks alike. The curvature differs (PPO's `s'' = −A r` adds `−A ∇f ∇fᵀ`), so
    /// AdaHesScale's updates do not. Both for a Gaussian (pendulum) and a softmax
    /// (cartpole) policy; the step changed every network.
    #[test]
    fn ppo_steps_as_a2c_where_the_ratio_is_one() {
        for task in [Task::Pendulum, Task::CartPole] {
            for (optimizer, alike) in [(Optimizer::Adam, true), (Optimizer::AdaHesScale, false)] {
                let mut a2c = agent(task, tiny(None), optimizer, 5);
                let mut ppo = agent(task, tiny(Some(0.2)), optimizer, 5);
                let before = agent(task, tiny(None), optimizer, 5);
                let rollout = a2c.collect(8).unwrap().unwrap();
                assert_eq!(ppo.collect(8).unwrap().unwrap(), rollout);
                assert!(a2c.update(&rollout).unwrap());
                assert!(ppo.update(&rollout).unwrap());
                for (moved, start) in a2c.networks().into_iter().zip(before.networks()) {
                    assert_ne!(moved, start, "{task}: every network steps");
                }
                let gap = distance(&a2c, &ppo);
                assert_eq!(gap < 1e-12, alike, "{task} {optimizer}: {gap}");
            }
        }
    }

    /// One A2C update is one step of each network on the whole rollout: the Gaussian
    /// networks on the advantage-weighted log-likelihood with the n-step advantages
    /// (not normalised), each holding the other's outputs before the step, and the
    /// critic on mse towards `Â + V`. For both variance heads; the `exp` head's network
    /// has one hidden layer, the `softplus` head's two.
    #[test]
    fn an_a2c_update_by_hand() {
        for (head, layers) in [(VarianceHead::Softplus, 3), (VarianceHead::Exp, 2)] {
            let config = AgentConfig {
                width: 4,
                variance_head: head,
                ..AgentKind::A2c.config()
            };
            let mut agent = agent(Task::Pendulum, config, Optimizer::AdaHesScale, 2);
            let rollout = agent.collect(5).unwrap().unwrap();
            let Actor::Gaussian { mean, variance, .. } = &agent.actor else {
                panic!("pendulum's policy is Gaussian");
            };
            assert_eq!(variance.model().depth(), layers, "{head}");
            assert_eq!(mean.model().depth(), 3, "{head}");
            let (mut mean, mut variance, mut critic) =
                (mean.clone(), variance.clone(), agent.critic.clone());
            let advantages = advantages(
                &rollout.rewards,
                &rollout.values,
                &rollout.dones,
                rollout.last_value,
                0.99,
                1.0,
            );
            let Actions::Continuous(actions) = &rollout.actions else {
                panic!("continuous actions");
            };
            let x = &rollout.observations;
            let means = mean.model().forward(x).output().clone();
            let variances = variance
                .model()
                .forward(x)
                .output()
                .mapv(|z| head.variance(z));
            let targets = |likelihood| PolicyTargets {
                likelihood,
                advantages: advantages.clone(),
                surrogate: Surrogate::AdvantageWeighted,
            };
            let likelihood = Likelihood::GaussianMean {
                actions: actions.clone(),
                variances,
            };
            assert!(taken(mean.step_on(x.clone(), targets(likelihood)).unwrap()));
            let likelihood = Likelihood::GaussianVariance {
                actions: actions.clone(),
                means,
                head,
            };
            assert!(taken(
                variance.step_on(x.clone(), targets(likelihood)).unwrap()
            ));
            let returns = (&advantages + &rollout.values).insert_axis(Axis(1));
            assert!(taken(
                critic.step_on(x.clone(), Targets::Values(returns)).unwrap()
            ));
            assert!(agent.update(&rollout).unwrap());
            assert_eq!(
                agent.networks(),
                vec![mean.model(), variance.model(), critic.model()],
                "{head}"
            );
        }
    }

    /// Actions are clipped to the box before the environment sees them (`ClipAction`), and
    /// the rollout keeps the sampled ones: MountainCarContinuous charges `0.1·a²` for the
    /// action it is given, so over 300 steps (no episode ends) the return is
    /// `−0.1 Σ clip(a, −1, 1)²` of the recorded actions, some of which lie outside [−1, 1].
    #[test]
    fn actions_are_clipped_to_the_box_for_the_environment() {
        let mut agent = agent(
            Task::MountainCarContinuous,
            AgentKind::A2c.config(),
            Optimizer::Adam,
            4,
        );
        let rollout = agent.collect(300).unwrap().unwrap();
        let Actions::Continuous(actions) = &rollout.actions else {
            panic!("continuous actions");
        };
        assert!(actions.iter().any(|a| a.abs() > 1.0));
        assert!(agent.episodes.is_empty());
        let clipped: f64 = actions.iter().map(|a| a.clamp(-1.0, 1.0).powi(2)).sum();
        assert_abs_diff_eq!(agent.episode_return, -0.1 * clipped, epsilon = 1e-12);
    }

    /// A run is a function of its seed (and cell): the same seed gives the same episodes
    /// and networks, another seed other ones.
    #[test]
    fn runs_are_deterministic() {
        let config = OptimizerConfig {
            scaling: Scaling::HesScale { delta: 1e-8 },
            ..OptimizerConfig::new(Optimizer::AdaHessian, 1e-3)
        };
        let run = |seed| {
            Agent::new(Task::CartPole, AgentKind::A2c.config(), config, seed, 0)
                .unwrap()
                .run(300)
                .unwrap()
        };
        let first = run(1);
        assert_eq!(first.steps, 300);
        assert!(!first.diverged);
        assert!(!first.episodes.is_empty());
        assert_eq!(run(1), first);
        assert_ne!(run(2), first);
    }

    /// PPO with Adam learns CartPole: over 16 rollouts (32768 steps) the mean return of
    /// the last ten episodes is well above that of the first ten (≈ 20 for a random
    /// policy).
    #[test]
    fn ppo_learns_cartpole() {
        let outcome = Agent::new(
            Task::CartPole,
            AgentKind::Ppo.config(),
            OptimizerConfig::new(Optimizer::Adam, 3e-4),
            0,
            0,
        )
        .unwrap()
        .run(16 * 2048)
        .unwrap();
        let mean = |episodes: &[Episode]| {
            episodes.iter().map(|e| e.episode_return).sum::<f64>() / episodes.len() as f64
        };
        let (first, last) = (
            mean(&outcome.episodes[..10]),
            mean(&outcome.episodes[outcome.episodes.len() - 10..]),
        );
        assert!(last > 3.0 * first, "first {first}, last {last}");
    }

    /// The mean return of the first and of the last ten episodes of a PPO run with Adam
    /// (α 3e-4, ε 1e-5 as in the study) and the MuJoCo presets' exp variance head.
    #[cfg(feature = "mujoco")]
    fn ppo_adam_first_and_last(task: Task, steps: u64) -> (f64, f64) {
        let config = AgentConfig {
            variance_head: VarianceHead::Exp,
            ..AgentKind::Ppo.config()
        };
        let mut optimizer = OptimizerConfig::new(Optimizer::Adam, 3e-4);
        optimizer.hyperparameters.eps = 1e-5;
        let outcome = Agent::new(task, config, optimizer, 0, 0)
            .unwrap()
            .run(steps)
            .unwrap();
        assert!(!outcome.diverged && outcome.episodes.len() >= 20, "{task}");
        let mean = |episodes: &[Episode]| {
            episodes.iter().map(|e| e.episode_return).sum::<f64>() / episodes.len() as f64
        };
        let episodes = &outcome.episodes;
        (
            mean(&episodes[..10]),
            mean(&episodes[episodes.len() - 10..]),
        )
    }

    /// PPO with Adam learns InvertedPendulum-v5: within 24 rollouts (49,152 steps; the
    /// issue allows 150,000) the mean return of the last ten episodes reaches 500 (the time
    /// limit is 1,000), from the few steps a falling pole lasts at first.
    #[cfg(feature = "mujoco")]
    #[test]
    fn ppo_learns_inverted_pendulum() {
        let (first, last) = ppo_adam_first_and_last(Task::InvertedPendulum, 24 * 2048);
        assert!(first < 50.0 && last >= 500.0, "first {first}, last {last}");
    }

    /// PPO with Adam improves HalfCheetah-v5 well beyond a random policy within 48
    /// rollouts (98,304 steps, the small MuJoCo preset's budget): the first policy's
    /// episodes score about −300 to −400 (the control cost of actions of about unit size,
    /// no progress); the last ten episodes score above 0, at least 300 more.
    #[cfg(feature = "mujoco")]
    #[test]
    fn ppo_improves_half_cheetah() {
        let (first, last) = ppo_adam_first_and_last(Task::HalfCheetah, 48 * 2048);
        assert!(
            first < -200.0 && last > 0.0 && last > first + 300.0,
            "first {first}, last {last}"
        );
    }

    #[test]
    fn adaggnmc_is_refused() {
        let error = Agent::new(
            Task::Acrobot,
            AgentKind::A2c.config(),
            OptimizerConfig::new(Optimizer::AdaGgnMc, 1e-3),
            0,
            0,
        )
        .err()
        .unwrap();
        assert_eq!(
            error.to_string(),
            "adaggnmc does not apply to policy losses: ggn_mc:1 needs a square-root factor of \
             the output Hessian, which policy losses do not have (their output Hessian is \
             indefinite where an advantage is negative)"
        );
    }
}
