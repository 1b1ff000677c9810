//! `hesscale-cli diag`: every requested method on one problem, in parallel, each
//! stochastic method on its own random stream of the seed.

use rayon::prelude::*;
use serde_json::json;

use crate::build::tool_version;
use crate::config::diag::DiagSpec;
use crate::error::{Error, Result};
use crate::io::diagonals::diagonals_to_json;
use crate::io::output::Output;
use crate::methods::Method;
use crate::nn::{Params, Problem};
use crate::rng::{stream_id, stream_rng};

/// The diagonal of each method, in the order given. A method whose numbers overflow is
/// an error naming it, never a file of nulls.
pub fn compute_diagonals(
    problem: &Problem,
    methods: &[Method],
    seed: u64,
) -> Result<Vec<(Method, Params)>> {
    methods
        .par_iter()
        .map(|&method| {
            let mut rng = stream_rng(seed, 0, stream_id(&method.to_string()));
            let diagonal = method.estimate(problem, &mut rng);
            if diagonal.is_finite() {
                Ok((method, diagonal))
            } else {
                Err(Error::runtime(format!(
                    "method {method} produced non-finite values (the problem's numbers overflow f64)"
                )))
            }
        })
        .collect()
}

/// The `--against` table: per method, `Σ|x − reference|` over every weight and bias, that
/// relative to `Σ|reference|`, and the largest `|x − reference|`.
pub fn comparison_table(diagonals: &[(Method, Params)], reference: Method) -> String {
    let values = |params: &Params| -> Vec<f64> { params.values().to_vec() };
    let reference_values = diagonals
        .iter()
        .find(|(method, _)| *method == reference)
        .map(|(_, params)| values(params))
        .expect("the reference is computed");
    let size: f64 = reference_values.iter().map(|v| v.abs()).sum();
    let width = diagonals
        .iter()
        .map(|(m, _)| m.to_string().len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut text = format!(
        "{:width$}  {:>12}  {:>12}  {:>12}\n",
        "method", "l1", "relative_l1", "max_abs"
    );
    for (method, params) in diagonals {
        let differences: Vec<f64> = values(params)
            .iter()
            .zip(&reference_values)
            .map(|(x, r)| (x - r).abs())
            .collect();
        let l1: f64 = differences.iter().sum();
        let max = differences.iter().fold(0.0_f64, |m, &d| m.max(d));
        let relative = if size > 0.0 {
            format!("{:12.4e}", l1 / size)
        } else {
            format!("{:>12}", "-")
        };
        text += &format!(
            "{:width$}  {l1:12.4e}  {relative}  {max:12.4e}\n",
            method.to_string()
        );
    }
    text
}

/// Compute the diagonals; write them as JSON and/or print the `--against` table.
pub fn run(spec: &DiagSpec) -> Result<()> {
    let diagonals = compute_diagonals(&spec.problem, &spec.methods, spec.seed)?;
    if let Some(output) = &spec.output {
        let meta = json!({
            "tool": tool_version(),
            "problem": spec.problem_path.display().to_string(),
            "loss": spec.problem.loss().name(),
            "reduction": spec.problem.reduction().name(),
            "batch_size": spec.problem.batch_size(),
            "seed": spec.seed,
        });
        let named: Vec<(String, Params)> = diagonals
            .iter()
            .map(|(method, diagonal)| (method.to_string(), diagonal.clone()))
            .collect();
        output.write(diagonals_to_json(&named, meta).as_bytes())?;
    }
    if let Some(reference) = spec.against {
        Output::Stdout.write(comparison_table(&diagonals, reference).as_bytes())?;
    }
    Ok(())
}
