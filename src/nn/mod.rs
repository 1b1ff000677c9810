//! The model side of the problem: layers ([`LayerRules`]: Linear, activations,
//! convolutions, pooling, flatten), losses
//! (supervised and policy losses, [`OutputLoss`]), the network that chains the layers over
//! one flat buffer of parameters ([`Mlp`], [`Params`]), the checked [`Problem`] (model +
//! batch) every method works on, and its [`Linearization`] with the two walks every
//! method is written against. Each rule sits next to its derivatives; the methods in
//! `crate::methods` only compose them.

pub mod activation;
pub mod arch;
pub mod conv;
pub mod flatten;
pub mod gradient;
pub mod image;
pub mod init;
pub mod kernels;
pub mod layer;
pub mod linear;
pub mod linearization;
pub mod loss;
pub mod network;
pub mod params;
pub mod policy;
pub mod pool;
pub mod problem;
pub mod work;

pub use activation::{Activation, ActivationLayer};
pub use arch::{Arch, ArchLayer};
pub use conv::Conv;
pub use flatten::Flatten;
pub use image::{Form, ImageShape};
pub use layer::{LayerCache, LayerRules, Point};
pub use linear::Linear;
pub use linearization::{BackwardPass, LayerAt, Linearization, PlainMlp, Tangents};
pub use loss::{
    Lack, Loss, LossKind, Need, OutputLoss, Reduction, SquareRootFactor, SupervisedLoss, Targets,
};
pub use network::{ForwardPass, Layer, Mlp, PlainLayers};
pub use params::{ParamLayout, Params};
pub use policy::{Likelihood, Policy, PolicyLoss, PolicyTargets, Surrogate, VarianceHead};
pub use pool::{Pool, PoolKind};
pub use problem::Problem;
