//! Reinforcement learning with the optimizers of SPEC §9 (ICML 2024, the RL application):
//! A2C and PPO agents on the classic-control tasks of [`crate::envs`]. One agent
//! implementation; A2C and PPO are two settings of it ([`AgentKind::config`]).
//!
//! Every network (the policy's, and the critic) is a [`crate::train::Learner`] with its own
//! optimizer, stepping on the policy losses of [`crate::nn::policy`] (the critic on mse), so
//! each optimizer's curvature (hesscale, hesscale_gn, AdaHessian's estimator) and the
//! step-size scaling come from the same code as in supervised training.
//!
//! Randomness (SPEC §5), all in the caller's (seed, cell): the networks' initialisation
//! from the streams `rl/init/<network>`, environment resets from `rl/env`, actions from
//! `rl/actions`, PPO's minibatch shuffles from `rl/minibatches`; each network's curvature
//! streams are its learner's, keyed by a cell of its own ([`agent::network_cell`]).

pub mod agent;
pub mod normalize;

pub use agent::{Actions, Agent, AgentConfig, AgentKind, Episode, Rollout, RunOutcome};
