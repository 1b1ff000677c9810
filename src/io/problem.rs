//! The problem JSON of SPEC §6, read into a checked [`Problem`] and written back so that
//! every float round-trips exactly:
//! `{"layers": [{"weight": [[…]], "bias": […]}], "activations": […], "loss": …,
//!   "reduction": …, "inputs": [[…]], "targets": [[…]] | [int]}`.
//!
//! A network that is not an MLP (a CNN, SPEC §11) is stored with its architecture in the
//! syntax of `--arch` (`crate::nn::arch`, input first) instead of `activations`:
//! `{"arch": "1x8x8,conv:4k3,relu,flatten,linear:10", "layers": […], …}`, one entry of
//! `layers` per layer with parameters, a weight as `[out][fan_in]` (a convolution's
//! `[C_out][C_in·k·k]`, each row in (channel, kernel row, kernel column) order) and its
//! bias. An MLP's file has no `arch` and is written as it always was.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::io::output::MAX_INPUT_BYTES;
use crate::nn::{Activation, Arch, LayerRules, Loss, Mlp, Params, Problem, Reduction, Targets};

/// One layer as stored: weight `[out][in]`, bias `[out]`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerJson {
    pub weight: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

/// The problem file as stored. `meta` is free-form (written by `sample`, ignored here).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arch: Option<String>,
    layers: Vec<LayerJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activations: Option<Vec<String>>,
    loss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reduction: Option<String>,
    inputs: Vec<Vec<f64>>,
    targets: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
}

/// A `[rows][cols]` list of lists as a matrix; ragged or empty rows name `field`.
pub fn matrix_from_rows(rows: &[Vec<f64>], field: &str) -> Result<Array2<f64>> {
    let columns = rows.first().map_or(0, Vec::len);
    if let Some((r, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, row)| row.len() != columns)
    {
        return Err(Error::input(format!(
            "{field}: row {r} has {} values but row 0 has {columns} (ragged)",
            row.len()
        )));
    }
    if rows.is_empty() || columns == 0 {
        return Err(Error::input(format!("{field}: is empty")));
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Array2::from_shape_vec((rows.len(), columns), flat).expect("rows were checked"))
}

/// A matrix as a list of rows.
pub fn rows_from_matrix(matrix: &Array2<f64>) -> Vec<Vec<f64>> {
    matrix.rows().into_iter().map(|row| row.to_vec()).collect()
}

/// Layer `l` of parameters (or anything shaped like them) as stored: its weight as
/// `[out][fan_in]` (a convolution's `[C_out][C_in·k·k]`) and its bias.
pub fn layer_to_json(params: &Params, l: usize) -> LayerJson {
    let weight = params.tensor(l, 0);
    let rows = params.layout().layers()[l].tensors[0].shape[0];
    LayerJson {
        weight: weight
            .chunks_exact(weight.len() / rows)
            .map(<[f64]>::to_vec)
            .collect(),
        bias: params.vector(l, 1).to_vec(),
    }
}

fn targets_from_json(targets: &Value, loss: Loss) -> Result<Targets> {
    let items = targets
        .as_array()
        .ok_or_else(|| Error::input("targets: must be a list"))?;
    match loss {
        Loss::CrossEntropy => items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                item.as_u64().map(|class| class as usize).ok_or_else(|| {
                    Error::input(format!(
                        "targets[{n}]: cross_entropy needs a class index (a whole number >= 0), got {item}"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Targets::Classes),
        Loss::Mse => {
            let rows = items
                .iter()
                .enumerate()
                .map(|(n, item)| {
                    let not_a_vector = || {
                        Error::input(format!(
                            "targets[{n}]: mse needs a list of numbers per sample, got {item}"
                        ))
                    };
                    item.as_array()
                        .ok_or_else(not_a_vector)?
                        .iter()
                        .map(|v| v.as_f64().ok_or_else(not_a_vector))
                        .collect::<Result<Vec<f64>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            matrix_from_rows(&rows, "targets").map(Targets::Values)
        }
    }
}

/// Parse and check a problem from JSON text; errors name the field at fault.
pub fn problem_from_json(text: &str) -> Result<Problem> {
    let stored: ProblemJson = serde_json::from_str(text)
        .map_err(|e| Error::input(format!("invalid problem JSON: {e}")))?;
    problem_from_stored(stored)
}

/// The checked problem of a parsed problem file.
fn problem_from_stored(stored: ProblemJson) -> Result<Problem> {
    let loss: Loss = stored.loss.parse()?;
    let reduction: Reduction = match &stored.reduction {
        Some(name) => name.parse()?,
        None => Reduction::Mean,
    };
    let inputs = matrix_from_rows(&stored.inputs, "inputs")?;
    let targets = targets_from_json(&stored.targets, loss)?;
    if let Some(arch) = &stored.arch {
        let mlp = network_from_arch(arch, stored.activations.as_deref(), &stored.layers)?;
        return Problem::new(mlp, loss, reduction, inputs, targets);
    }
    let activations = stored
        .activations
        .ok_or_else(|| {
            Error::input("invalid problem JSON: missing field `activations` (or `arch`)")
        })?
        .iter()
        .enumerate()
        .map(|(l, name)| {
            name.parse::<Activation>()
                .map_err(|e| Error::input(format!("activations[{l}]: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let layers = stored
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            Ok((
                matrix_from_rows(&layer.weight, &format!("layers[{l}].weight"))?,
                Array1::from_vec(layer.bias.clone()),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mlp = Mlp::from_linear(layers, activations)?;
    Problem::new(mlp, loss, reduction, inputs, targets)
}

/// The network of a problem file with an `arch`: the architecture (with its input) and
/// one stored layer per layer with parameters, each of the shape the architecture gives.
fn network_from_arch(
    arch: &str,
    activations: Option<&[String]>,
    stored: &[LayerJson],
) -> Result<Mlp> {
    if activations.is_some() {
        return Err(Error::input(
            "activations: a problem with an `arch` has its activations there",
        ));
    }
    let arch: Arch = arch.parse().map_err(|e: Error| {
        Error::input(format!(
            "arch: {}",
            e.to_string().trim_start_matches("--arch: ")
        ))
    })?;
    let layers = arch.layers().map_err(|e| {
        Error::input(format!(
            "arch: {}",
            e.to_string().trim_start_matches("--arch: ")
        ))
    })?;
    let shapes: Vec<_> = layers
        .iter()
        .filter_map(|layer| layer.param_shapes().first().map(|(_, shape)| shape.clone()))
        .collect();
    if shapes.len() != stored.len() {
        return Err(Error::input(format!(
            "layers: {} given, but the arch has {} layers with parameters",
            stored.len(),
            shapes.len()
        )));
    }
    let mut values = Vec::new();
    for (l, (shape, layer)) in shapes.iter().zip(stored).enumerate() {
        let weight = matrix_from_rows(&layer.weight, &format!("layers[{l}].weight"))?;
        let (rows, columns) = (shape[0], shape[1..].iter().product::<usize>());
        if weight.dim() != (rows, columns) {
            return Err(Error::input(format!(
                "layers[{l}].weight: shape [{}, {}] but the arch needs [{rows}, {columns}]",
                weight.nrows(),
                weight.ncols()
            )));
        }
        if layer.bias.len() != rows {
            return Err(Error::input(format!(
                "layers[{l}].bias: length {} but the arch needs {rows}",
                layer.bias.len()
            )));
        }
        values.extend(weight.iter().chain(&layer.bias));
    }
    Mlp::new(layers, values)
}

/// Read and check a problem file; the error names the file. The JSON is parsed as it is
/// read, from at most [`MAX_INPUT_BYTES`] bytes, so a stream of garbage (`/dev/zero`)
/// fails at its first byte and an endless one at the limit.
pub fn read_problem(path: &Path) -> Result<Problem> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("cannot read problem file '{shown}': {e}")))?;
    let reader = std::io::BufReader::new(file.take(MAX_INPUT_BYTES));
    let stored: ProblemJson = serde_json::from_reader(reader).map_err(|e| {
        if e.is_eof() && e.line() > 1 {
            Error::input(format!(
                "{shown}: invalid problem JSON: {e} (or the file is over the limit of {} MiB)",
                MAX_INPUT_BYTES >> 20
            ))
        } else {
            Error::input(format!("{shown}: invalid problem JSON: {e}"))
        }
    })?;
    problem_from_stored(stored).map_err(|e| Error::input(format!("{shown}: {e}")))
}

/// The problem as JSON text (floats in shortest round-trip form), with `meta` attached.
pub fn problem_to_json(problem: &Problem, meta: Value) -> String {
    let mlp = problem.mlp();
    let targets = match problem.targets() {
        Targets::Classes(classes) => Value::from(classes.clone()),
        Targets::Values(values) => {
            serde_json::to_value(rows_from_matrix(values)).expect("numbers serialise")
        }
    };
    let (arch, activations) = match mlp.as_plain() {
        Some(_) => (
            None,
            Some(
                mlp.activations()
                    .iter()
                    .map(|a| a.name().to_string())
                    .collect(),
            ),
        ),
        None => (Some(Arch::of(mlp).to_string()), None),
    };
    let stored = ProblemJson {
        arch,
        layers: (0..mlp.depth())
            .map(|l| layer_to_json(mlp.params(), l))
            .collect(),
        activations,
        loss: problem.loss().name().to_string(),
        reduction: Some(problem.reduction().name().to_string()),
        inputs: rows_from_matrix(problem.inputs()),
        targets,
        meta: Some(meta),
    };
    serde_json::to_string(&stored).expect("a checked problem serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"layers": [{"weight": [[1.0, 2.0]], "bias": [0.5]},
        {"weight": [[1.0], [-1.0]], "bias": [0.0, 0.1]}],
        "activations": ["tanh"], "loss": "cross_entropy",
        "inputs": [[0.1, 0.2]], "targets": [1]}"#;

    #[test]
    fn a_cnn_problem_round_trips_exactly() {
        use crate::nn::init::{init_network, sample_batch};
        use crate::rng::stream_rng;
        let arch: Arch = "2x5x5,conv:3k3p1,elu,avgpool:2,flatten,linear:4,tanh,linear:3"
            .parse()
            .unwrap();
        let mut rng = stream_rng(3, 0, 0);
        let mlp = init_network(&arch, &mut rng).unwrap();
        let (inputs, targets) = sample_batch(50, 3, Loss::CrossEntropy, 2, &mut rng);
        let problem =
            Problem::new(mlp, Loss::CrossEntropy, Reduction::Sum, inputs, targets).unwrap();
        let text = problem_to_json(&problem, serde_json::json!({}));
        assert!(text.starts_with(
            r#"{"arch":"2x5x5,conv:3k3p1,elu,avgpool:2,flatten,linear:4,tanh,linear:3","layers":"#
        ));
        let read = problem_from_json(&text).unwrap();
        assert_eq!(read, problem);
        assert_eq!(problem_to_json(&read, serde_json::json!({})), text);
        let with_activations = text.replace(r#""layers":"#, r#""activations":[],"layers":"#);
        assert_eq!(
            problem_from_json(&with_activations)
                .unwrap_err()
                .to_string(),
            "activations: a problem with an `arch` has its activations there"
        );
    }

    #[test]
    fn a_valid_problem_reads_with_mean_reduction_by_default() {
        let problem = problem_from_json(VALID).unwrap();
        assert_eq!(problem.reduction(), Reduction::Mean);
        assert_eq!(problem.mlp().depth(), 2);
        assert_eq!(problem.targets(), &Targets::Classes(vec![1]));
    }

    #[test]
    fn writing_and_reading_back_gives_the_same_problem() {
        let problem = problem_from_json(VALID).unwrap();
        let text = problem_to_json(&problem, Value::Null);
        assert_eq!(problem_from_json(&text).unwrap(), problem);
    }

    #[test]
    fn bad_problems_name_the_field_at_fault() {
        let cases = [
            ("malformed JSON", "{\"layers\": [", "invalid problem JSON"),
            (
                "unknown key",
                &VALID.replace("\"loss\"", "\"lost\""),
                "unknown field",
            ),
            (
                "ragged weight",
                &VALID.replace("[[1.0, 2.0]]", "[[1.0, 2.0], [1.0]]"),
                "layers[0].weight: row 1",
            ),
            (
                "bias too short",
                &VALID.replace("\"bias\": [0.5]", "\"bias\": []"),
                "layers[0].bias",
            ),
            (
                "chain broken",
                &VALID.replace("[[1.0], [-1.0]]", "[[1.0, 1.0], [-1.0, 1.0]]"),
                "layers[1].weight",
            ),
            (
                "class out of range",
                &VALID.replace("\"targets\": [1]", "\"targets\": [2]"),
                "targets[0]",
            ),
            (
                "class not an integer",
                &VALID.replace("\"targets\": [1]", "\"targets\": [1.5]"),
                "targets[0]",
            ),
            (
                "unknown activation",
                &VALID.replace("\"tanh\"", "\"swish\""),
                "activations[0]",
            ),
            (
                "unknown loss",
                &VALID.replace("\"cross_entropy\"", "\"hinge\""),
                "unknown loss 'hinge'",
            ),
            (
                "no layers",
                r#"{"layers": [], "activations": [], "loss": "mse", "inputs": [[1.0]], "targets": [[1.0]]}"#,
                "layers",
            ),
            (
                "too many activations",
                &VALID.replace("[\"tanh\"]", "[\"tanh\", \"relu\"]"),
                "activations",
            ),
            (
                "input width",
                &VALID.replace("[[0.1, 0.2]]", "[[0.1]]"),
                "inputs",
            ),
            (
                "overflowing number",
                &VALID.replace("0.5", "1e999"),
                "invalid problem JSON",
            ),
            (
                "missing targets",
                &VALID.replace(", \"targets\": [1]", ""),
                "missing field `targets`",
            ),
            (
                "mse with classes",
                &VALID.replace("cross_entropy", "mse"),
                "targets[0]",
            ),
        ];
        for (name, text, expected) in cases {
            let error = problem_from_json(text).expect_err(name);
            let message = error.to_string();
            assert!(
                message.contains(expected),
                "{name}: '{message}' lacks '{expected}'"
            );
            assert!(!message.contains('\n'), "{name}: message is one line");
            assert_eq!(error.exit_code(), 2, "{name}");
        }
    }
}
