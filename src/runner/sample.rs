//! `hesscale-cli sample`: a random problem, drawn from the problem stream of the seed.

use serde_json::json;

use crate::build::tool_version;
use crate::config::sample::SampleSpec;
use crate::error::Result;
use crate::io::problem::problem_to_json;
use crate::nn::init::{init_mlp, sample_batch};
use crate::nn::Problem;
use crate::rng::{stream_rng, PROBLEM_STREAM};

/// The problem a spec describes: the MLP first (PyTorch init), then the batch.
pub fn sample_problem(spec: &SampleSpec) -> Result<Problem> {
    let mut rng = stream_rng(spec.seed, 0, PROBLEM_STREAM);
    let architecture = &spec.architecture;
    let mlp = init_mlp(architecture, &mut rng)?;
    let (inputs, targets) = sample_batch(
        architecture.inputs,
        architecture.outputs,
        spec.loss,
        spec.batch_size,
        &mut rng,
    );
    Problem::new(mlp, spec.loss, spec.reduction, inputs, targets)
}

/// Sample the problem and write it as JSON.
pub fn run(spec: &SampleSpec) -> Result<()> {
    let problem = sample_problem(spec)?;
    let meta = json!({
        "tool": tool_version(),
        "seed": spec.seed,
        "hidden": spec.architecture.hidden,
        "activation": spec.architecture.activation.name(),
    });
    spec.output
        .write(problem_to_json(&problem, meta).as_bytes())
}
