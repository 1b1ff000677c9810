//! The computational-cost study (SPEC §4) on the engine: a cell is one network of a sweep;
//! on its fixed problem one plain gradient and every method are timed in one process,
//! interleaved round-robin (each round times every one of them once, starting one further
//! along each round) after untimed warm-up rounds, so that drift of the machine hits all
//! alike. Each method is timed twice per round: alone (a forward pass and its own backward
//! work, what `diag` pays) and together with the gradient from one shared linearization
//! (what a training step that uses the diagonal pays). Per method: the median times over
//! the rounds and the medians of the per-round ratios to the gradient of the same round,
//! one row of `cost.csv` each.

use std::hint::black_box;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::cost::{CostCase, CostSpec};
use crate::error::Result;
use crate::io::table::{self, non_negative, optional_float, Row};
use crate::methods::Method;
use crate::nn::init::{sample_batch, Network};
use crate::nn::work::gradient_work;
use crate::nn::{Linearization, Problem, Reduction};
use crate::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use crate::study::engine::{Study, Table};
use crate::study::stats::median;

/// The timings file.
pub const COST_FILE: &str = "cost.csv";

/// The method name of the reference rows.
pub const GRADIENT: &str = "gradient";

/// One row of `cost.csv`. A skipped method has no timings (`None`), `reps` 0 and the
/// reason in `skipped`; a timed one has an empty `skipped`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    pub sweep: String,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub inputs: usize,
    pub outputs: usize,
    pub batch_size: usize,
    pub n_params: usize,
    /// A method name, or [`GRADIENT`].
    pub method: String,
    /// Timed rounds behind the medians (0 when skipped).
    pub reps: usize,
    #[serde(with = "optional_float")]
    pub median_seconds: Option<f64>,
    #[serde(with = "optional_float")]
    pub ratio_to_gradient: Option<f64>,
    /// Median seconds of one call computing the gradient and the method's diagonal from one
    /// shared linearization (for `gradient`, the gradient alone).
    #[serde(with = "optional_float")]
    pub median_seconds_with_gradient: Option<f64>,
    /// Median over the rounds of that call's time divided by the gradient's time in the
    /// same round: what a training step that uses the diagonal pays, in gradients.
    #[serde(with = "optional_float")]
    pub ratio_with_gradient: Option<f64>,
    /// Why the method was not timed; empty when it was.
    pub skipped: String,
}

impl Row for CostRow {
    fn validate(&self) -> std::result::Result<(), String> {
        for (column, value) in [
            ("median_seconds", self.median_seconds),
            ("ratio_to_gradient", self.ratio_to_gradient),
            (
                "median_seconds_with_gradient",
                self.median_seconds_with_gradient,
            ),
            ("ratio_with_gradient", self.ratio_with_gradient),
        ] {
            if let Some(value) = value {
                non_negative(column, value)?;
            }
        }
        Ok(())
    }
}

/// What one timed call computes: the reference gradient or a method's estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `Problem::gradient`: forward + backward, the unit of cost.
    Gradient,
    /// `Method::estimate`: forward + the method's own backward work.
    Method(Method),
}

impl Subject {
    /// The name in the output file.
    pub fn name(self) -> String {
        match self {
            Subject::Gradient => GRADIENT.to_string(),
            Subject::Method(method) => method.to_string(),
        }
    }
}

/// The result of one subject on one case: its seconds per timed round, in round order,
/// alone and together with the gradient (the gradient's own: the same twice), or why it
/// was not timed.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Timed {
        alone: Vec<f64>,
        with_gradient: Vec<f64>,
    },
    Skipped(String),
}

/// The median over rounds r of `seconds[r] / gradient[r]`.
fn median_ratio(seconds: &[f64], gradient: &[f64]) -> f64 {
    let ratios: Vec<f64> = seconds.iter().zip(gradient).map(|(t, g)| t / g).collect();
    median(&ratios)
}

/// The rows of one case: one per subject in the order given. `gradient` holds the
/// gradient's seconds per round; a timed subject's ratios are the medians over rounds r
/// of `seconds[r] / gradient[r]` (the gradient's own ratios are exactly 1).
pub fn case_rows(
    case: &CostCase,
    gradient: &[f64],
    outcomes: &[(Subject, Outcome)],
) -> Vec<CostRow> {
    outcomes
        .iter()
        .map(|(subject, outcome)| {
            let (reps, alone, with_gradient, skipped) = match outcome {
                Outcome::Timed {
                    alone,
                    with_gradient,
                } => {
                    let ratios = match subject {
                        Subject::Gradient => (1.0, 1.0),
                        Subject::Method(_) => (
                            median_ratio(alone, gradient),
                            median_ratio(with_gradient, gradient),
                        ),
                    };
                    (
                        alone.len(),
                        Some((median(alone), ratios.0)),
                        Some((median(with_gradient), ratios.1)),
                        String::new(),
                    )
                }
                Outcome::Skipped(reason) => (0, None, None, reason.clone()),
            };
            CostRow {
                sweep: case.sweep_name().to_string(),
                depth: case.depth(),
                width: case.width(),
                inputs: case.inputs(),
                outputs: case.outputs(),
                batch_size: case.batch_size,
                n_params: case.n_params(),
                method: subject.name(),
                reps,
                median_seconds: alone.map(|(seconds, _)| seconds),
                ratio_to_gradient: alone.map(|(_, ratio)| ratio),
                median_seconds_with_gradient: with_gradient.map(|(seconds, _)| seconds),
                ratio_with_gradient: with_gradient.map(|(_, ratio)| ratio),
                skipped,
            }
        })
        .collect()
}

/// The fixed problem of a case: the MLP (PyTorch init) and then the batch, drawn from the
/// problem stream of (seed, case), mean reduction.
pub fn case_problem(case: &CostCase, seed: u64) -> Result<Problem> {
    let mut rng = stream_rng(seed, case.cell(), PROBLEM_STREAM);
    let mlp = case.network.init(&mut rng)?;
    let (inputs, targets) = sample_batch(
        mlp.inputs(),
        mlp.outputs(),
        case.loss,
        case.batch_size,
        &mut rng,
    );
    Problem::new(mlp, case.loss, Reduction::Mean, inputs, targets)
}

/// One timed call of a round: a subject, alone or together with the gradient.
#[derive(Clone, Copy)]
struct Call {
    subject: Subject,
    with_gradient: bool,
}

/// Seconds of one call, results included: the inputs and the results pass through
/// `black_box` so the work cannot be optimised away; freeing them is timed too. A method
/// with the gradient computes both from one linearization, as a training step does.
fn time_once(call: Call, problem: &Problem, rng: &mut ChaCha8Rng) -> f64 {
    let problem = black_box(problem);
    let start = Instant::now();
    match (call.subject, call.with_gradient) {
        (Subject::Gradient, _) => drop(black_box(problem.gradient())),
        (Subject::Method(method), false) => drop(black_box(method.estimate(problem, rng))),
        (Subject::Method(method), true) => {
            let linearization = Linearization::new(problem);
            let gradient = linearization.param_gradient();
            let diagonal = method
                .estimate_from(&linearization, rng)
                .map(|diagonal| diagonal.into_params(&linearization));
            drop(black_box((gradient, diagonal)));
        }
    }
    start.elapsed().as_secs_f64()
}

/// The study's name: its subcommand and its files `cost.meta.json`, `cost.ledger.csv`.
pub const NAME: &str = "cost";

/// Each method's cost in gradients on `problem`, measured as this study measures it:
/// `rounds` rounds, each timing the gradient and then every method's estimate on its own
/// (forward pass and all its work), the methods' order rotated by one each round; per
/// method, the ratio of its seconds to the gradient's of the same round, round by round.
/// The methods draw from `rng` (the numbers are thrown away).
pub fn gradient_ratios(
    problem: &Problem,
    methods: &[Method],
    rounds: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let mut ratios = vec![Vec::with_capacity(rounds); methods.len()];
    for round in 0..rounds {
        let call = |subject| Call {
            subject,
            with_gradient: false,
        };
        let gradient = time_once(call(Subject::Gradient), problem, rng);
        for offset in 0..methods.len() {
            let slot = (round + offset) % methods.len();
            let seconds = time_once(call(Subject::Method(methods[slot])), problem, rng);
            ratios[slot].push(seconds / gradient);
        }
    }
    ratios
}

/// The cost study of a spec.
pub struct CostStudy {
    pub spec: CostSpec,
}

impl CostStudy {
    /// Time every subject of a case, interleaved, and return its rows (gradient first,
    /// then the methods as given; a method over the size cap keeps its row).
    fn time_case(&self, case: &CostCase) -> Result<Vec<CostRow>> {
        let spec = &self.spec;
        let problem = case_problem(case, spec.seed)?;
        let mut subjects = vec![(Subject::Gradient, None)];
        for &method in &spec.methods {
            let skip = spec.skip_reason(case, method);
            if let Some(reason) = &skip {
                crate::io::console::line(&format!(
                    "note: {method} skipped on the {} sweep at size {} ({reason})",
                    case.sweep_name(),
                    case.size
                ));
            }
            subjects.push((Subject::Method(method), skip));
        }
        // The gradient once, every method not over the cap alone and with the gradient.
        let calls: Vec<Call> = subjects
            .iter()
            .filter(|(_, skip)| skip.is_none())
            .flat_map(|&(subject, _)| {
                let variants: &[bool] = match subject {
                    Subject::Gradient => &[false],
                    Subject::Method(_) => &[false, true],
                };
                variants.iter().map(move |&with_gradient| Call {
                    subject,
                    with_gradient,
                })
            })
            .collect();
        let mut rngs: Vec<ChaCha8Rng> = calls
            .iter()
            .map(|call| stream_rng(spec.seed, case.cell(), stream_id(&call.subject.name())))
            .collect();
        let mut seconds = vec![Vec::with_capacity(spec.reps); calls.len()];
        for round in 0..spec.warmup + spec.reps {
            for offset in 0..calls.len() {
                let i = (round + offset) % calls.len();
                let elapsed = time_once(calls[i], &problem, &mut rngs[i]);
                if round >= spec.warmup {
                    seconds[i].push(elapsed);
                }
            }
        }
        let mut timings = seconds.into_iter();
        let gradient = timings.next().expect("the gradient is always timed first");
        let outcomes: Vec<(Subject, Outcome)> = subjects
            .into_iter()
            .map(|(subject, skip)| match (subject, skip) {
                (_, Some(reason)) => (subject, Outcome::Skipped(reason)),
                (Subject::Gradient, None) => (
                    subject,
                    Outcome::Timed {
                        alone: gradient.clone(),
                        with_gradient: gradient.clone(),
                    },
                ),
                (Subject::Method(_), None) => {
                    let mut next = || timings.next().expect("two timings per timed method");
                    let alone = next();
                    let with_gradient = next();
                    (
                        subject,
                        Outcome::Timed {
                            alone,
                            with_gradient,
                        },
                    )
                }
            })
            .collect();
        Ok(case_rows(case, &gradient, &outcomes))
    }
}

impl Study for CostStudy {
    type Cell = CostCase;

    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> Vec<Table> {
        vec![Table {
            file: COST_FILE,
            header: table::header(&CostRow::default()),
            timing: true,
        }]
    }

    fn summary_files(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn existing_results_hint(&self) -> &'static str {
        "pass --force to replace them (or --resume to finish that run), or choose another --out-dir"
    }

    fn grid_cells(&self) -> Vec<CostCase> {
        self.spec.cases.clone()
    }

    fn cell_key(&self, case: &CostCase) -> String {
        format!("{}/{}", case.sweep_name(), case.size)
    }

    /// The timed rounds of the gradient and every method not over the cap, alone and with
    /// the gradient.
    fn cell_work(&self, case: &CostCase) -> f64 {
        let widths = case.network.widths();
        let gradient = gradient_work(&widths, case.batch_size);
        let per_round: f64 = gradient
            + self
                .spec
                .methods
                .iter()
                .filter(|&&m| self.spec.skip_reason(case, m).is_none())
                .map(|m| 2.0 * m.work(&widths, case.batch_size) + gradient)
                .sum::<f64>();
        per_round * (self.spec.warmup + self.spec.reps) as f64
    }

    fn run_cell(&self, case: &CostCase) -> Result<Vec<String>> {
        Ok(vec![table::lines(&self.time_case(case)?)])
    }

    fn check_block(
        &self,
        _table: usize,
        case: &CostCase,
        block: &str,
    ) -> std::result::Result<(), String> {
        let rows: Vec<CostRow> = table::parse(block, 1)?;
        let mut expected = vec![GRADIENT.to_string()];
        expected.extend(self.spec.methods.iter().map(Method::to_string));
        let names: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        if names != expected {
            return Err(format!(
                "methods {}, expected {}",
                names.join(","),
                expected.join(",")
            ));
        }
        match rows.iter().find(|r| {
            r.sweep != case.sweep_name()
                || r.n_params != case.n_params()
                || r.batch_size != case.batch_size
        }) {
            Some(row) => Err(format!(
                "a row of another network ('{}')",
                table::lines(std::slice::from_ref(row)).trim_end()
            )),
            None => Ok(()),
        }
    }

    fn summaries(&self, _tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>> {
        Ok(Vec::new())
    }

    fn config(&self) -> Value {
        let spec = &self.spec;
        let networks: Vec<Value> = spec
            .cases
            .iter()
            .map(|case| {
                let mut network = json!({
                    "sweep": case.sweep_name(),
                    "size": case.size,
                });
                match &case.network {
                    Network::Mlp(architecture) => {
                        network["inputs"] = json!(architecture.inputs);
                        network["hidden"] = json!(architecture.hidden);
                        network["outputs"] = json!(architecture.outputs);
                        network["activation"] = json!(architecture.activation.name());
                    }
                    Network::Arch(arch) => network["arch"] = json!(arch.to_string()),
                }
                network["loss"] = json!(case.loss.name());
                network["reduction"] = json!(Reduction::Mean.name());
                network["n_params"] = json!(case.n_params());
                network["gradient_work_estimate"] =
                    json!(gradient_work(&case.network.widths(), case.batch_size));
                network
            })
            .collect();
        json!({
            "sweeps": spec.sweeps.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "networks": networks,
            "methods": spec.methods.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            "batch_size": spec.batch_size,
            "reps": spec.reps,
            "warmup": spec.warmup,
            "max_work": if spec.max_work.is_finite() { json!(spec.max_work) } else { json!("inf") },
            "seed": spec.seed,
            "timing": "std::time::Instant around one call (result freed inside); rounds interleave the gradient and every method round-robin, starting one further along each round; medians over the timed rounds; ratio_to_gradient = median over rounds of seconds / gradient seconds of the same round; *_with_gradient: the method and the gradient from one shared linearization, timed as one call",
        })
    }

    fn grid_keys(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cost::Sweep;

    fn case() -> CostCase {
        CostCase {
            sweep: Some(Sweep::Width),
            size: 4,
            network: Network::Mlp(Sweep::Width.architecture(4)),
            loss: Sweep::Width.loss(),
            batch_size: 2,
        }
    }

    #[test]
    fn ratios_are_medians_of_per_round_ratios() {
        let gradient = vec![1.0, 2.0, 4.0];
        let outcomes = vec![
            (
                Subject::Gradient,
                Outcome::Timed {
                    alone: gradient.clone(),
                    with_gradient: gradient.clone(),
                },
            ),
            // Per-round ratios 4, 0.5, 3: median 3, while the ratio of medians is 4 / 2.
            // With the gradient: 5, 1, 3.5, median 3.5.
            (
                Subject::Method("hesscale".parse().unwrap()),
                Outcome::Timed {
                    alone: vec![4.0, 1.0, 12.0],
                    with_gradient: vec![5.0, 2.0, 14.0],
                },
            ),
            (
                Subject::Method(Method::exact()),
                Outcome::Skipped("size cap".into()),
            ),
        ];
        let rows = case_rows(&case(), &gradient, &outcomes);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].method, "gradient");
        assert_eq!(rows[0].ratio_to_gradient, Some(1.0));
        assert_eq!(rows[0].median_seconds, Some(2.0));
        assert_eq!(rows[1].method, "hesscale");
        assert_eq!(rows[1].ratio_to_gradient, Some(3.0));
        assert_eq!(rows[1].median_seconds, Some(4.0));
        assert_eq!(rows[1].ratio_with_gradient, Some(3.5));
        assert_eq!(rows[1].median_seconds_with_gradient, Some(5.0));
        assert_eq!(rows[0].ratio_with_gradient, Some(1.0));
        assert_eq!(rows[1].reps, 3);
        assert_eq!(rows[2].method, "exact");
        assert_eq!(
            (rows[2].median_seconds, rows[2].ratio_to_gradient),
            (None, None)
        );
        assert_eq!(
            (
                rows[2].median_seconds_with_gradient,
                rows[2].ratio_with_gradient
            ),
            (None, None)
        );
        assert_eq!((rows[2].reps, rows[2].skipped.as_str()), (0, "size cap"));
        for row in &rows {
            assert_eq!(
                (
                    row.sweep.as_str(),
                    row.depth,
                    row.width,
                    row.inputs,
                    row.outputs
                ),
                ("width", 3, 4, 6, 10)
            );
            assert_eq!(
                (row.batch_size, row.n_params),
                (2, 6 * 4 + 4 + 2 * (16 + 4) + 40 + 10)
            );
        }
        let text = table::lines(&rows);
        assert_eq!(table::parse::<CostRow>(&text, 2).unwrap(), rows);
        assert_eq!(
            table::header(&CostRow::default()),
            "sweep,depth,width,inputs,outputs,batch_size,n_params,method,reps,median_seconds,ratio_to_gradient,median_seconds_with_gradient,ratio_with_gradient,skipped"
        );
    }

    #[test]
    fn a_case_problem_is_fixed_by_the_seed() {
        let a = case_problem(&case(), 5).unwrap();
        assert_eq!(a, case_problem(&case(), 5).unwrap());
        assert_ne!(a, case_problem(&case(), 6).unwrap());
        assert_eq!(a.mlp().n_params(), case().n_params());
        assert_eq!(a.batch_size(), 2);
    }
}
