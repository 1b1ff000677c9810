//! SPEC §3: on the 2022 paper's protocol net (6 → 16,16,16 → 10, tanh, cross_entropy,
//! batch 1, PyTorch initialisation, never trained) the normalized L1 errors of the
//! methods come out in the papers' order:
//! hesscale < bl89 < ggn ≈ hesscale_gn < grad_squared ≈ ggn_mc:1 ≪ hutchinson:1.

mod common;

use common::{l1_distance, method};
use hesscale::methods::exact;
use hesscale::nn::init::{init_mlp, sample_batch, Architecture};
use hesscale::nn::{Activation, Loss, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng, PROBLEM_STREAM};

const SEED: u64 = 2022;
const NETS: u64 = 20;
const SAMPLES: usize = 200;

/// The methods compared, named independently of the library's list.
const METHODS: [&str; 8] = [
    "hesscale",
    "bl89",
    "ggn",
    "hesscale_gn",
    "grad_squared",
    "ggn_mc:1",
    "hutchinson:1",
    "zero",
];

/// Per method (in `METHODS` order): the mean over nets of the per-net mean over samples of
/// `Σ_params |exact − estimate|`.
fn mean_l1_errors() -> Vec<f64> {
    let architecture = Architecture {
        inputs: 6,
        hidden: vec![16, 16, 16],
        outputs: 10,
        activation: Activation::Tanh,
    };
    let mut totals = vec![0.0; METHODS.len()];
    for cell in 0..NETS {
        let mut problem_rng = stream_rng(SEED, cell, PROBLEM_STREAM);
        let mlp = init_mlp(&architecture, &mut problem_rng).expect("valid architecture");
        // Every method draws from its own stream of the cell.
        let mut method_rngs: Vec<_> = METHODS
            .iter()
            .map(|name| stream_rng(SEED, cell, stream_id(name)))
            .collect();
        let mut per_net = vec![0.0; METHODS.len()];
        for _ in 0..SAMPLES {
            let (inputs, targets) = sample_batch(6, 10, Loss::CrossEntropy, 1, &mut problem_rng);
            let problem = Problem::new(
                mlp.clone(),
                Loss::CrossEntropy,
                Reduction::Mean,
                inputs,
                targets,
            )
            .expect("a valid problem");
            let exact = exact::hessian_diag(&problem);
            for ((name, rng), sum) in METHODS.iter().zip(&mut method_rngs).zip(&mut per_net) {
                *sum += l1_distance(&exact, &method(name).estimate(&problem, rng));
            }
        }
        for (total, sum) in totals.iter_mut().zip(per_net) {
            *total += sum / SAMPLES as f64;
        }
    }
    totals.iter().map(|total| total / NETS as f64).collect()
}

#[test]
fn normalized_l1_errors_follow_the_papers_order() {
    let errors = mean_l1_errors();
    let normalized = |name: &str| {
        let index = METHODS.iter().position(|&m| m == name).expect("listed");
        errors[index] / errors[0]
    };
    for name in METHODS {
        eprintln!("{name:>14}  {:10.3}", normalized(name));
    }
    let hesscale = normalized("hesscale");
    let bl89 = normalized("bl89");
    let ggn = normalized("ggn");
    let hesscale_gn = normalized("hesscale_gn");
    let grad_squared = normalized("grad_squared");
    let ggn_mc = normalized("ggn_mc:1");
    let hutchinson = normalized("hutchinson:1");

    assert!(hesscale < bl89, "hesscale {hesscale} ≮ bl89 {bl89}");
    assert!(
        bl89 < ggn.min(hesscale_gn),
        "bl89 {bl89} ≮ ggn {ggn}, hesscale_gn {hesscale_gn}"
    );
    assert!(
        ggn.max(hesscale_gn) / ggn.min(hesscale_gn) < 1.25,
        "ggn {ggn} and hesscale_gn {hesscale_gn} are not within 25%"
    );
    assert!(
        ggn.max(hesscale_gn) < grad_squared.min(ggn_mc),
        "ggn {ggn} / hesscale_gn {hesscale_gn} ≮ grad_squared {grad_squared} / ggn_mc:1 {ggn_mc}"
    );
    assert!(
        grad_squared.max(ggn_mc) / grad_squared.min(ggn_mc) < 2.0,
        "grad_squared {grad_squared} and ggn_mc:1 {ggn_mc} are not within a factor 2"
    );
    assert!(
        hutchinson > 10.0 * ggn_mc,
        "hutchinson:1 {hutchinson} is not ≫ ggn_mc:1 {ggn_mc}"
    );
}
