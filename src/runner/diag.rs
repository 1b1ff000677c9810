//! `hesscale-cli diag`: every requested method on one problem, in parallel, each
//! stochastic method on its own random stream of the seed.

use rayon::prelude::*;
use serde_json::json;

use crate::build::tool_version;
use crate::config::diag::DiagSpec;
use crate::error::{Error, Result};
use crate::io::diagonals::diagonals_to_json;
use crate::methods::Method;
use crate::nn::{LayerParams, ParamTensors, Problem};
use crate::rng::{stream_id, stream_rng};

/// The diagonal of each method, in the order given. A method whose numbers overflow is
/// an error naming it, never a file of nulls.
pub fn compute_diagonals(
    problem: &Problem,
    methods: &[Method],
    seed: u64,
) -> Result<Vec<(Method, ParamTensors)>> {
    methods
        .par_iter()
        .map(|&method| {
            let mut rng = stream_rng(seed, 0, stream_id(&method.to_string()));
            let diagonal = method.estimate(problem, &mut rng);
            if diagonal.iter().all(LayerParams::is_finite) {
                Ok((method, diagonal))
            } else {
                Err(Error::runtime(format!(
                    "method {method} produced non-finite values (the problem's numbers overflow f64)"
                )))
            }
        })
        .collect()
}

/// Compute the diagonals and write them as JSON.
pub fn run(spec: &DiagSpec) -> Result<()> {
    let diagonals = compute_diagonals(&spec.problem, &spec.methods, spec.seed)?;
    let meta = json!({
        "tool": tool_version(),
        "problem": spec.problem_path.display().to_string(),
        "loss": spec.problem.loss().name(),
        "reduction": spec.problem.reduction().name(),
        "batch_size": spec.problem.batch_size(),
        "seed": spec.seed,
    });
    let named: Vec<(String, ParamTensors)> = diagonals
        .into_iter()
        .map(|(method, diagonal)| (method.to_string(), diagonal))
        .collect();
    spec.output
        .write(diagonals_to_json(&named, meta).as_bytes())
}
