//! Random models and batches: PyTorch's default initialisation and the sampling of inputs
//! and targets of the quality protocol (SPEC §3). Every draw comes from the caller's
//! seeded generator, in a fixed order, so a seed always gives the same problem.

use ndarray::{Array1, Array2};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::{StandardNormal, Uniform};
use ndarray_rand::RandomExt;

use crate::error::{Error, Result};
use crate::nn::arch::Arch;
use crate::nn::{Activation, LayerRules, Loss, Mlp, Targets};

/// The layer widths and activation of a random MLP: `inputs → hidden… → outputs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Architecture {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
}

impl Architecture {
    /// The widths of every layer boundary, input to output.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = vec![self.inputs];
        widths.extend(&self.hidden);
        widths.push(self.outputs);
        widths
    }

    /// The number of scalar parameters of the MLP.
    pub fn n_params(&self) -> usize {
        self.widths().windows(2).map(|w| w[1] * w[0] + w[1]).sum()
    }
}

/// PyTorch's `nn.Linear` default: weight `[out, in]` and bias `[out]`
/// ~ U(−1/√fan_in, 1/√fan_in), drawn weight first (row by row), then bias.
pub fn init_linear<R: Rng + ?Sized>(
    inputs: usize,
    outputs: usize,
    rng: &mut R,
) -> Result<(Array2<f64>, Array1<f64>)> {
    let bound = 1.0 / (inputs as f64).sqrt();
    let uniform = Uniform::new(-bound, bound).map_err(|e| {
        Error::input(format!(
            "cannot initialise a layer with {inputs} inputs: {e}"
        ))
    })?;
    let weight = Array2::random_using((outputs, inputs), uniform, rng);
    Ok((weight, Array1::random_using(outputs, uniform, rng)))
}

/// A randomly initialised MLP of the given architecture (layers drawn input to output).
pub fn init_mlp<R: Rng + ?Sized>(architecture: &Architecture, rng: &mut R) -> Result<Mlp> {
    let widths = architecture.widths();
    let layers = widths
        .windows(2)
        .map(|w| init_linear(w[0], w[1], rng))
        .collect::<Result<Vec<_>>>()?;
    Mlp::from_linear(
        layers,
        vec![architecture.activation; architecture.hidden.len()],
    )
}

/// The network of a study's grid point: an MLP of widths, or any architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Mlp(Architecture),
    Arch(Arch),
}

impl Network {
    /// A random network of this description ([`init_mlp`], [`init_network`]).
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Mlp> {
        match self {
            Network::Mlp(architecture) => init_mlp(architecture, rng),
            Network::Arch(arch) => init_network(arch, rng),
        }
    }

    /// The number of scalar parameters (0 for an architecture that does not chain).
    pub fn n_params(&self) -> usize {
        match self {
            Network::Mlp(architecture) => architecture.n_params(),
            Network::Arch(arch) => arch.n_params().unwrap_or(0),
        }
    }

    /// The widths of an MLP of the same forward work, for the work and memory estimates
    /// (`crate::nn::work`): an MLP's own widths; for an architecture, its input width and
    /// then, per layer with parameters, the width w that makes `w_prev · w` that layer's
    /// multiply-adds per sample (a convolution's `C_out · P · C_in·k·k`).
    pub fn widths(&self) -> Vec<usize> {
        match self {
            Network::Mlp(architecture) => architecture.widths(),
            Network::Arch(arch) => {
                let layers = arch.layers().unwrap_or_default();
                let mut widths = vec![arch.input.map_or(1, |form| form.len())];
                for layer in &layers {
                    if let Some((_, shape)) = layer.param_shapes().first() {
                        let weights: usize = shape.iter().product();
                        let positions = layer.outputs() / shape[0];
                        let previous = *widths.last().expect("the input");
                        widths.push((weights * positions).div_ceil(previous).max(1));
                    }
                }
                widths
            }
        }
    }
}

/// A randomly initialised network of a checked architecture, layer by layer input to
/// output, each layer with parameters as PyTorch's default (SPEC §11): weight then bias
/// ~ U(±1/√fan_in), fan_in = C_in·k·k for a convolution and the input width for a Linear
/// layer. An architecture of Linear layers and activations draws what [`init_mlp`] draws.
pub fn init_network<R: Rng + ?Sized>(arch: &Arch, rng: &mut R) -> Result<Mlp> {
    let layers = arch.layers()?;
    let mut values = Vec::with_capacity(layers.iter().map(LayerRules::param_count).sum());
    for layer in &layers {
        if let Some((_, shape)) = layer.param_shapes().first() {
            let outputs = shape[0];
            let fan_in = shape[1..].iter().product();
            let (weight, bias) = init_linear(fan_in, outputs, rng)?;
            values.extend(weight.iter().chain(&bias));
        }
    }
    Mlp::new(layers, values)
}

/// A batch of the quality protocol: inputs ~ N(0, I), then labels uniform over the
/// classes (cross_entropy) or targets ~ N(0, I) (mse).
pub fn sample_batch<R: Rng + ?Sized>(
    inputs: usize,
    outputs: usize,
    loss: Loss,
    batch_size: usize,
    rng: &mut R,
) -> (Array2<f64>, Targets) {
    let x = Array2::random_using((batch_size, inputs), StandardNormal, rng);
    let targets = match loss {
        Loss::CrossEntropy => Targets::Classes(
            (0..batch_size)
                .map(|_| rng.random_range(0..outputs))
                .collect(),
        ),
        Loss::Mse => Targets::Values(Array2::random_using(
            (batch_size, outputs),
            StandardNormal,
            rng,
        )),
    };
    (x, targets)
}
