//! Training (SPEC §8, §9): the optimizers and the step-size scaling rule ([`optimizer`]).

pub mod optimizer;

pub use optimizer::{
    scaling_factor, Hyperparameters, Optimizer, OptimizerConfig, OptimizerState, Scaling,
};
