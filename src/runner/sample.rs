//! `hesscale-cli sample`: a random problem, drawn from the problem stream of the seed.

use serde_json::json;

use crate::build::tool_version;
use crate::config::sample::{SampleSpec, SampledNetwork};
use crate::error::Result;
use crate::io::problem::problem_to_json;
use crate::nn::init::{init_mlp, init_network, sample_batch};
use crate::nn::Problem;
use crate::rng::{stream_rng, PROBLEM_STREAM};

/// The problem a spec describes: the network first (PyTorch init), then the batch
/// (inputs ~ N(0, I), an image's values as a flat row).
pub fn sample_problem(spec: &SampleSpec) -> Result<Problem> {
    let mut rng = stream_rng(spec.seed, 0, PROBLEM_STREAM);
    let mlp = match &spec.network {
        SampledNetwork::Mlp(architecture) => init_mlp(architecture, &mut rng)?,
        SampledNetwork::Arch(arch) => init_network(arch, &mut rng)?,
    };
    let (inputs, targets) = sample_batch(
        mlp.inputs(),
        mlp.outputs(),
        spec.loss,
        spec.batch_size,
        &mut rng,
    );
    Problem::new(mlp, spec.loss, spec.reduction, inputs, targets)
}

/// Sample the problem and write it as JSON.
pub fn run(spec: &SampleSpec) -> Result<()> {
    let problem = sample_problem(spec)?;
    let meta = match &spec.network {
        SampledNetwork::Mlp(architecture) => json!({
            "tool": tool_version(),
            "seed": spec.seed,
            "hidden": architecture.hidden,
            "activation": architecture.activation.name(),
        }),
        SampledNetwork::Arch(arch) => json!({
            "tool": tool_version(),
            "seed": spec.seed,
            "arch": arch.to_string(),
        }),
    };
    spec.output
        .write(problem_to_json(&problem, meta).as_bytes())
}
