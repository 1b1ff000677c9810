//! Training (SPEC §8, §9): the optimizers and the step-size scaling rule ([`optimizer`]),
//! and a model with its optimizer stepping on the batches it is given ([`Learner`]).
//!
//! Randomness (SPEC §5): each stochastic curvature method draws from its own stream
//! `train/<method>` (`train/hutchinson:1`, `train/ggn_mc:1`) in the caller's (seed, cell).

pub mod learner;
pub mod optimizer;

pub use learner::{curvature_stream, Learner, StepOutcome};
pub use optimizer::{
    scaling_factor, Hyperparameters, Optimizer, OptimizerConfig, OptimizerState, Scaling,
};
