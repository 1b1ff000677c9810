//! Training (SPEC §8, §9): the optimizers and the step-size scaling rule ([`optimizer`]), a
//! model with its optimizer stepping on the batches it is given ([`Learner`]), and
//! supervised training on MNIST with its evaluation ([`Trainer`], [`evaluate`]).
//!
//! Randomness (SPEC §5): the minibatches come from the stream `train/minibatches`, and each
//! stochastic curvature method from its own stream `train/<method>` (`train/hutchinson:1`,
//! `train/ggn_mc:1`), all in the caller's (seed, cell). Initialising the model is the
//! caller's business (e.g. [`crate::nn::init::init_mlp`] on the problem stream).

pub mod learner;
pub mod optimizer;
pub mod trainer;

pub use learner::{curvature_stream, Learner, StepOutcome};
pub use optimizer::{
    scaling_factor, Hyperparameters, Optimizer, OptimizerConfig, OptimizerState, Scaling,
};
pub use trainer::{batch, evaluate, minibatch_stream, Evaluation, Trainer, TrainerConfig};
