//! The policy losses of the RL agents (`hesscale::nn::policy`) through the whole method
//! machinery: on small tanh nets, the exact diagonal (both strategies) equals the three
//! oracles (one Hessian-vector product per parameter, the full-matrix recursion, central
//! differences of the gradient), the gradient equals central differences of the loss, and
//! HesScale's and HesScale-GN's last-layer diagonals equal the exact one (SPEC §2.2.1).

mod common;

use common::*;
use hesscale::methods::exact::{self, Strategy};
use hesscale::methods::{Diagonal, Method};
use hesscale::nn::init::{init_mlp, Architecture};
use hesscale::nn::{
    Activation, Likelihood, Linearization, Policy, PolicyLoss, PolicyTargets, Problem, Reduction,
    Surrogate, VarianceHead,
};
use hesscale::rng::stream_rng;
use ndarray::{array, Array1, Array2};
use ndarray_rand::rand_distr::StandardNormal;
use ndarray_rand::RandomExt;

const ROUNDING: f64 = 1e-12;
const FINITE_DIFFERENCE: f64 = 1e-7;
const STEP: f64 = 1e-5;
const BATCH: usize = 4;

/// Every likelihood (Gaussian mean and variance heads, softplus and exp, with 2 action
/// dimensions, softmax over 3 actions) × surrogate (A2C; PPO with the clip inactive for samples 0 and 2 and
/// active for 1 and 3) on a 3 → 5 → 4 → D tanh net and on a net without hidden layers.
fn cases() -> Vec<(String, Problem<PolicyLoss>)> {
    let mut cases = Vec::new();
    for hidden in [vec![5, 4], vec![]] {
        for head in [
            "gaussian_mean",
            "gaussian_variance",
            "gaussian_variance_exp",
            "softmax",
        ] {
            for ppo in [false, true] {
                let seed = cases.len() as u64;
                let name = format!("{head} ppo={ppo} hidden={hidden:?}");
                cases.push((name, problem(&hidden, head, ppo, seed)));
            }
        }
    }
    cases
}

fn problem(hidden: &[usize], head: &str, ppo: bool, seed: u64) -> Problem<PolicyLoss> {
    let mut rng = stream_rng(seed, 0, 0);
    let outputs = if head == "softmax" { 3 } else { 2 };
    let architecture = Architecture {
        inputs: 3,
        hidden: hidden.to_vec(),
        outputs,
        activation: Activation::Tanh,
    };
    let mlp = init_mlp(&architecture, &mut rng).unwrap();
    let inputs = Array2::random_using((BATCH, 3), StandardNormal, &mut rng);
    let mut continuous = || Array2::random_using((BATCH, 2), StandardNormal, &mut rng);
    let likelihood = match head {
        "gaussian_mean" => Likelihood::GaussianMean {
            actions: continuous(),
            variances: array![[0.5, 1.5], [0.9, 0.3], [2.0, 0.7], [1.1, 1.0]],
        },
        "gaussian_variance" | "gaussian_variance_exp" => Likelihood::GaussianVariance {
            actions: continuous(),
            means: array![[0.3, -0.2], [0.0, 0.8], [-1.0, 0.1], [0.5, 0.5]],
            head: if head == "gaussian_variance" {
                VarianceHead::Softplus
            } else {
                VarianceHead::Exp
            },
        },
        _ => Likelihood::Softmax {
            actions: vec![0, 2, 1, 2],
        },
    };
    let advantages = array![1.0, 0.7, -0.8, -1.2];
    let surrogate = if ppo {
        let log_probs = likelihood.log_probs(mlp.forward(&inputs).output());
        Surrogate::Clipped {
            old_log_probs: log_probs - array![0.05, 0.5, -0.05, -0.5],
            clip: 0.2,
        }
    } else {
        Surrogate::AdvantageWeighted
    };
    let targets = PolicyTargets {
        likelihood,
        advantages,
        surrogate,
    };
    Problem::new(mlp, Policy, Reduction::Mean, inputs, targets).unwrap()
}

#[test]
fn gradient_equals_central_differences_of_the_loss() {
    for (name, problem) in cases() {
        let oracle = finite_difference_gradient(&problem, STEP);
        assert_params_close(
            format!("{name} gradient"),
            &problem.gradient(),
            &oracle,
            scaled(FINITE_DIFFERENCE, &oracle),
        );
    }
}

#[test]
fn exact_equals_every_oracle_by_both_strategies() {
    for (name, problem) in cases() {
        let exact = exact::hessian_diag(&problem);
        let by_hvp = hvp_diag(&problem);
        assert_params_close(
            format!("{name} exact vs HVPs"),
            &exact,
            &by_hvp,
            scaled(ROUNDING, &by_hvp),
        );
        let full = full_matrix_oracle(&problem).hessian;
        assert_params_close(
            format!("{name} exact vs full matrices"),
            &exact,
            &full,
            scaled(ROUNDING, &full),
        );
        let differences = finite_difference_diag(&problem, STEP);
        assert_params_close(
            format!("{name} exact vs central differences"),
            &exact,
            &differences,
            scaled(FINITE_DIFFERENCE, &differences),
        );
        let linearization = Linearization::new(&problem);
        for strategy in [Strategy::Jacobians, Strategy::DenseHessians] {
            let by = Diagonal::PerSample(exact::preact_hessian_diags_by(&linearization, strategy))
                .into_params(&linearization);
            assert_params_close(
                format!("{name} {strategy:?}"),
                &by,
                &exact,
                scaled(ROUNDING, &exact),
            );
        }
    }
}

#[test]
fn hesscale_last_layer_equals_exact() {
    for (name, problem) in cases() {
        let exact = exact::hessian_diag(&problem);
        let last = exact.layers() - 1;
        for method_name in ["hesscale", "hesscale_gn"] {
            let linearization = Linearization::new(&problem);
            let estimate = method(method_name)
                .estimate_from(&linearization, &mut stream_rng(0, 0, 1))
                .unwrap()
                .into_params(&linearization);
            let exact = select(&exact, last..last + 1);
            assert_params_close(
                format!("{name} {method_name} last layer"),
                &select(&estimate, last..last + 1),
                &exact,
                scaled(ROUNDING, &exact),
            );
        }
    }
}

/// A2C's output curvature is the head's exact diagonal times the advantage: for the mean
/// head, `∂²ℓ/∂μ² = A / (N v)` per sample, so the last-layer bias diagonal is
/// `Σ_n A_n / (N v_n)`, which changes sign with the advantages.
#[test]
fn a2c_mean_head_bias_curvature_by_hand() {
    let problem = problem(&[5, 4], "gaussian_mean", false, 7);
    let exact = exact::hessian_diag(&problem);
    let variances = array![[0.5, 1.5], [0.9, 0.3], [2.0, 0.7], [1.1, 1.0]];
    let advantages: Array1<f64> = array![1.0, 0.7, -0.8, -1.2];
    for d in 0..2 {
        let want: f64 = (0..BATCH)
            .map(|n| advantages[n] / (BATCH as f64 * variances[[n, d]]))
            .sum();
        approx::assert_abs_diff_eq!(bias(&exact, 2)[d], want, epsilon = 1e-15);
    }
}

/// A policy loss has no square-root factor of its output Hessian: the methods whose
/// declaration needs one (ggn_mc, kfac) are refused with one line made from that
/// declaration, both up front (`Method::serves`) and when run (`Method::estimate_from`);
/// every other method runs. (A policy loss with supervised targets, or the reverse, no
/// longer compiles: `Problem::new` takes the targets of its kind of loss.)
#[test]
fn a_policy_loss_is_refused_exactly_by_the_methods_that_need_a_square_root_factor() {
    let problem = problem(&[5, 4], "softmax", true, 3);
    let linearization = Linearization::new(&problem);
    let mut refused = Vec::new();
    for method in Method::all() {
        let up_front = method.serves(&Policy);
        let run = method.estimate_from(&linearization, &mut stream_rng(0, 0, 1));
        assert_eq!(up_front.is_ok(), run.is_ok(), "{method}");
        if let (Err(expected), Err(error)) = (up_front, run) {
            assert_eq!(error.to_string(), expected.to_string());
            assert_eq!(error.exit_code(), 2);
            assert_eq!(
                error.to_string(),
                format!(
                    "{method} needs a square-root factor of the output Hessian, which policy \
                     losses do not have (their output Hessian is indefinite where an advantage \
                     is negative)"
                )
            );
            refused.push(method.family());
        }
    }
    refused.dedup();
    assert_eq!(refused, ["ggn_mc", "kfac"]);
}
