//! `hesscale-cli cost` (SPEC §4): on each network of the sweeps, one plain gradient and
//! every method are timed in one process, interleaved round-robin (each round times every
//! one of them once, starting one further along each round) after untimed warm-up rounds,
//! so that drift of the machine hits all alike. Per method: the median time over the
//! rounds and the median of its per-round ratios to the gradient of the same round.

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::config::cost::{CostCase, CostSpec};
use crate::error::{Error, Result};
use crate::io::cost_out::{cost_csv, CostRow, GRADIENT};
use crate::io::format::utc_timestamp;
use crate::io::output::write_atomically;
use crate::methods::Method;
use crate::nn::init::{init_mlp, sample_batch};
use crate::nn::work::gradient_work;
use crate::nn::{Problem, Reduction};
use crate::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use crate::runner::tool_version;

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
/// or why it was not timed.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Timed(Vec<f64>),
    Skipped(String),
}

/// The median of `values` (the mean of the two middle ones for an even count).
/// `values` must not be empty.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "the median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// The rows of one case: one per subject in the order given. `gradient` holds the
/// gradient's seconds per round; a timed subject's ratio is the median over rounds r of
/// `seconds[r] / gradient[r]` (the gradient's own ratio is exactly 1).
pub fn case_rows(
    case: &CostCase,
    gradient: &[f64],
    outcomes: &[(Subject, Outcome)],
) -> Vec<CostRow> {
    outcomes
        .iter()
        .map(|(subject, outcome)| {
            let (reps, median_seconds, ratio_to_gradient, skipped) = match outcome {
                Outcome::Timed(seconds) => {
                    let ratio = match subject {
                        Subject::Gradient => 1.0,
                        Subject::Method(_) => {
                            let ratios: Vec<f64> =
                                seconds.iter().zip(gradient).map(|(t, g)| t / g).collect();
                            median(&ratios)
                        }
                    };
                    (
                        seconds.len(),
                        Some(median(seconds)),
                        Some(ratio),
                        String::new(),
                    )
                }
                Outcome::Skipped(reason) => (0, None, None, reason.clone()),
            };
            CostRow {
                sweep: case.sweep.name().to_string(),
                depth: case.depth(),
                width: case.width(),
                inputs: case.architecture.inputs,
                outputs: case.architecture.outputs,
                batch_size: case.batch_size,
                n_params: case.n_params(),
                method: subject.name(),
                reps,
                median_seconds,
                ratio_to_gradient,
                skipped,
            }
        })
        .collect()
}

/// The fixed problem of a case: the MLP (PyTorch init) and then the batch, drawn from the
/// problem stream of (seed, case), mean reduction.
pub fn case_problem(case: &CostCase, seed: u64) -> Result<Problem> {
    let mut rng = stream_rng(seed, case.cell(), PROBLEM_STREAM);
    let architecture = &case.architecture;
    let mlp = init_mlp(architecture, &mut rng)?;
    let (inputs, targets) = sample_batch(
        architecture.inputs,
        architecture.outputs,
        case.loss,
        case.batch_size,
        &mut rng,
    );
    Problem::new(mlp, case.loss, Reduction::Mean, inputs, targets)
}

/// Seconds of one call, result included: the inputs and the result pass through
/// `black_box` so the work cannot be optimised away; freeing the result is timed too.
fn time_once(subject: Subject, problem: &Problem, rng: &mut ChaCha8Rng) -> f64 {
    let problem = black_box(problem);
    let start = Instant::now();
    let result = match subject {
        Subject::Gradient => problem.gradient(),
        Subject::Method(method) => method.estimate(problem, rng),
    };
    drop(black_box(result));
    start.elapsed().as_secs_f64()
}

/// Time every subject of a case, interleaved, and return the outcomes in row order
/// (gradient first, then the methods as given).
fn time_case(spec: &CostSpec, case: &CostCase, progress: &ProgressBar) -> Result<Vec<CostRow>> {
    let problem = case_problem(case, spec.seed)?;
    let mut subjects = vec![(Subject::Gradient, None)];
    for &method in &spec.methods {
        let skip = spec.skip_reason(case, method);
        if let Some(reason) = &skip {
            progress.suspend(|| {
                eprintln!(
                    "note: {method} skipped on the {} sweep at size {} ({reason})",
                    case.sweep, case.size
                )
            });
        }
        subjects.push((Subject::Method(method), skip));
    }
    let timed: Vec<Subject> = subjects
        .iter()
        .filter(|(_, skip)| skip.is_none())
        .map(|(subject, _)| *subject)
        .collect();
    let mut rngs: Vec<ChaCha8Rng> = timed
        .iter()
        .map(|subject| stream_rng(spec.seed, case.cell(), stream_id(&subject.name())))
        .collect();
    let mut seconds = vec![Vec::with_capacity(spec.reps); timed.len()];
    progress.set_message(format!("{} {}", case.sweep, case.size));
    for round in 0..spec.warmup + spec.reps {
        for offset in 0..timed.len() {
            let i = (round + offset) % timed.len();
            let elapsed = time_once(timed[i], &problem, &mut rngs[i]);
            if round >= spec.warmup {
                seconds[i].push(elapsed);
            }
        }
        progress.inc(1);
    }
    let mut timings = timed.iter().zip(seconds);
    let outcomes: Vec<(Subject, Outcome)> = subjects
        .into_iter()
        .map(|(subject, skip)| match skip {
            Some(reason) => (subject, Outcome::Skipped(reason)),
            None => {
                let (_, seconds) = timings.next().expect("one timing per timed subject");
                (subject, Outcome::Timed(seconds))
            }
        })
        .collect();
    let gradient = match &outcomes[0] {
        (Subject::Gradient, Outcome::Timed(seconds)) => seconds.clone(),
        _ => unreachable!("the gradient is always timed first"),
    };
    Ok(case_rows(case, &gradient, &outcomes))
}

/// Make the C allocator keep freed memory for reuse: glibc trims the top of the heap and
/// serves large blocks with fresh `mmap`s by default, so a call that allocates
/// parameter-sized arrays page-faults all of them again on every repetition, and how
/// much depends on what the other methods of the round freed. With trimming off and
/// `mmap` only above 32 MiB (glibc's largest threshold), repeated calls reuse the same
/// memory, as in a training loop in steady state. Returns what was set, for the
/// metadata, or `None` where there is no glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() -> Option<&'static str> {
    use std::os::raw::c_int;
    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    // SAFETY: `mallopt` only changes glibc's allocator parameters; it is called before
    // any timing, and the values are within glibc's documented ranges.
    let set = unsafe {
        mallopt(M_TRIM_THRESHOLD, c_int::MAX) == 1 && mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
    };
    set.then_some(
        "glibc mallopt: M_TRIM_THRESHOLD = 2^31 - 1 (no trimming), M_MMAP_THRESHOLD = 32 MiB",
    )
}

/// Elsewhere the allocator is left as it is.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() -> Option<&'static str> {
    None
}

/// The CPU model (from /proc/cpuinfo where there is one) and the logical cores.
pub fn machine_description() -> Value {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        });
    json!({
        "cpu_model": cpu_model,
        "logical_cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

fn metadata(
    spec: &CostSpec,
    allocator: Option<&str>,
    started: SystemTime,
    finished: SystemTime,
) -> Value {
    let cases: Vec<Value> = spec
        .cases
        .iter()
        .map(|case| {
            json!({
                "sweep": case.sweep.name(),
                "size": case.size,
                "inputs": case.architecture.inputs,
                "hidden": case.architecture.hidden,
                "outputs": case.architecture.outputs,
                "activation": case.architecture.activation.name(),
                "loss": case.loss.name(),
                "reduction": Reduction::Mean.name(),
                "batch_size": case.batch_size,
                "n_params": case.n_params(),
                "gradient_work_estimate": gradient_work(&case.architecture.widths(), case.batch_size),
            })
        })
        .collect();
    let max_work = if spec.max_work.is_finite() {
        json!(spec.max_work)
    } else {
        json!("inf")
    };
    json!({
        "tool": tool_version(),
        "started": utc_timestamp(started),
        "finished": utc_timestamp(finished),
        "elapsed_seconds": finished.duration_since(started).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        "machine": machine_description(),
        "threads": spec.threads,
        "allocator": allocator.unwrap_or("system defaults"),
        "reps": spec.reps,
        "warmup": spec.warmup,
        "seed": spec.seed,
        "batch_size": spec.batch_size,
        "max_work": max_work,
        "sweeps": spec.sweeps.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "methods": spec.methods.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        "cases": cases,
        "timing": "std::time::Instant around one call (result freed inside); rounds interleave the gradient and every method round-robin, starting one further along each round; medians over the timed rounds; ratio_to_gradient = median over rounds of seconds / gradient seconds of the same round",
        "notes": "the depth sweep keeps biases (the paper's deep sweep had none); skipped rows are methods over the --max-work size cap",
    })
}

/// Time every case of the spec and write `cost.csv` and `cost.meta.json`.
pub fn run(spec: &CostSpec) -> Result<()> {
    let started = SystemTime::now();
    let allocator = if spec.malloc_defaults {
        None
    } else {
        keep_freed_memory()
    };
    let rounds = (spec.warmup + spec.reps) * spec.cases.len();
    let progress = ProgressBar::with_draw_target(Some(rounds as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template(
            "{msg:>14} [{bar:30}] {pos}/{len} rounds, {elapsed} (eta {eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    // This thread becomes the pool's first worker and `install` runs the timing on it,
    // so the allocations come from the main heap that `keep_freed_memory` set up.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.threads)
        .use_current_thread()
        .build()
        .map_err(|e| Error::runtime(format!("cannot start {} threads: {e}", spec.threads)))?;
    let rows = pool.install(|| -> Result<Vec<CostRow>> {
        let mut rows = Vec::new();
        for case in &spec.cases {
            rows.extend(time_case(spec, case, &progress)?);
        }
        Ok(rows)
    })?;
    progress.finish_and_clear();
    let finished = SystemTime::now();
    write_atomically(&spec.csv_path(), cost_csv(&rows).as_bytes())?;
    let meta = serde_json::to_string_pretty(&metadata(spec, allocator, started, finished))
        .expect("metadata serialises")
        + "\n";
    write_atomically(&spec.meta_path(), meta.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cost::Sweep;

    fn case() -> CostCase {
        CostCase {
            sweep: Sweep::Width,
            size: 4,
            architecture: Sweep::Width.architecture(4),
            loss: Sweep::Width.loss(),
            batch_size: 2,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn ratios_are_medians_of_per_round_ratios() {
        let gradient = vec![1.0, 2.0, 4.0];
        let outcomes = vec![
            (Subject::Gradient, Outcome::Timed(gradient.clone())),
            // Per-round ratios 4, 0.5, 3: median 3, while the ratio of medians is 4 / 2.
            (
                Subject::Method("hesscale".parse().unwrap()),
                Outcome::Timed(vec![4.0, 1.0, 12.0]),
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
        assert_eq!(rows[1].reps, 3);
        assert_eq!(rows[2].method, "exact");
        assert_eq!(
            (rows[2].median_seconds, rows[2].ratio_to_gradient),
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
