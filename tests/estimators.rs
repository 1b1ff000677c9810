//! SPEC §2.4: the estimators beyond the papers' set are unbiased for what they estimate —
//! cp:M and xdiag:M for the exact diagonal, gnb:M for the GGN diagonal — and their mean
//! over R independent estimates approaches it at the rate their variance predicts: the
//! squared errors of the means, each divided by its predicted variance `var/R`, average
//! at most about 1 (a biased estimator's grow with R). Averaging M draws divides the variance of
//! cp and gnb by M. gnb at batch 1 is ggn_mc on the same draws (so it has its law), xdiag:2
//! is hutchinson_signed:1 on the same draws, xdiag with more test vectors than
//! parameters is exact, and cp on a linear network with mse has the variance its closed
//! form gives.

mod common;

use common::*;
use hesscale::methods::{exact, Method};
use hesscale::nn::{Activation, Loss, Params, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng};

/// Independent estimates averaged per test.
const REPEATS: usize = 2000;

/// Per-parameter mean and unbiased variance of `repeats` independent estimates of
/// `method`, drawn one after another from the method's stream of `cell`.
fn moments(method: Method, problem: &Problem, repeats: usize, cell: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = stream_rng(7, cell, stream_id(&method.to_string()));
    let n = problem.mlp().n_params();
    let (mut sum, mut squares) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..repeats {
        let estimate = flatten(&method.estimate(problem, &mut rng));
        for ((s, q), x) in sum.iter_mut().zip(&mut squares).zip(estimate) {
            *s += x;
            *q += x * x;
        }
    }
    let r = repeats as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / r).collect();
    let variance = squares
        .iter()
        .zip(&mean)
        .map(|(q, m)| ((q - r * m * m) / (r - 1.0)).max(0.0))
        .collect();
    (mean, variance)
}

/// The mean of `REPEATS` estimates is within its standard error of `target`: the squared
/// z-scores `(mean − target)² / (var / R)` average at most 3 over the parameters with
/// variance and none is beyond 6 (a bias of a tenth of a draw's standard deviation alone
/// gives |z| ≈ √2000 / 10 ≈ 4.5; the parameters share their draws, so
/// the average need not be near 1), and the parameters without variance are on target.
fn assert_unbiased(method: Method, case: &Case, target: &Params, cell: u64) {
    let problem = case.problem();
    let (mean, variance) = moments(method, &problem, REPEATS, cell);
    let target = flatten(target);
    let scale = target.iter().fold(0.0_f64, |m, t| m.max(t.abs()));
    let (mut chi2, mut count, mut worst) = (0.0, 0usize, 0.0_f64);
    for ((m, v), t) in mean.iter().zip(&variance).zip(&target) {
        if *v <= 1e-24 * scale * scale {
            assert!(
                (m - t).abs() <= 1e-9 * scale,
                "{case} {method}: a parameter without variance is at {m}, not {t}"
            );
            continue;
        }
        let z2 = (m - t).powi(2) / (v / REPEATS as f64);
        chi2 += z2;
        worst = worst.max(z2.sqrt());
        count += 1;
    }
    let mean_z2 = chi2 / count.max(1) as f64;
    eprintln!("{case} {method}: mean squared z {mean_z2:.3} over {count} parameters, worst |z| {worst:.2}");
    assert!(count > 0, "{case} {method}: no parameter has variance");
    assert!(
        mean_z2 <= 3.0,
        "{case} {method}: mean squared z-score {mean_z2} (bias or a variance off its prediction)"
    );
    assert!(worst < 6.0, "{case} {method}: a z-score of {worst}");
}

/// `M · Σ var(estimate of M draws) / Σ var(estimate of 1 draw)`: 1 for a mean of M
/// independent draws.
fn variance_scaling(family: &str, draws: usize, case: &Case, cell: u64) -> f64 {
    let problem = case.problem();
    let one: f64 = moments(method(&format!("{family}:1")), &problem, REPEATS, cell)
        .1
        .iter()
        .sum();
    let many: f64 = moments(
        method(&format!("{family}:{draws}")),
        &problem,
        REPEATS,
        cell + 100,
    )
    .1
    .iter()
    .sum();
    draws as f64 * many / one
}

#[test]
fn cp_is_unbiased_for_the_exact_diagonal_and_averages_draws_like_one_over_m() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let exact = exact::hessian_diag(&case.problem());
        for draws in [1, 5] {
            assert_unbiased(method(&format!("cp:{draws}")), &case, &exact, cell as u64);
        }
        let scaling = variance_scaling("cp", 8, &case, cell as u64);
        eprintln!("{case} cp: 8 · var(cp:8) / var(cp:1) = {scaling:.3}");
        assert!((0.8..=1.25).contains(&scaling), "{case}: {scaling}");
    }
}

#[test]
fn gnb_is_unbiased_for_the_ggn_diagonal_and_averages_draws_like_one_over_m() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let problem = case.problem();
        let ggn = method("ggn").estimate(&problem, &mut stream_rng(0, 0, 0));
        for draws in [1, 5] {
            assert_unbiased(method(&format!("gnb:{draws}")), &case, &ggn, cell as u64);
        }
        let scaling = variance_scaling("gnb", 8, &case, cell as u64);
        eprintln!("{case} gnb: 8 · var(gnb:8) / var(gnb:1) = {scaling:.3}");
        assert!((0.8..=1.25).contains(&scaling), "{case}: {scaling}");
    }
}

#[test]
fn xdiag_is_unbiased_for_the_exact_diagonal() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let exact = exact::hessian_diag(&case.problem());
        for draws in [2, 6, 20] {
            assert_unbiased(
                method(&format!("xdiag:{draws}")),
                &case,
                &exact,
                cell as u64,
            );
        }
    }
}

/// gnb at batch 1 squares the one sample's gradient at sampled labels, `(J s)²`, which is
/// ggn_mc's estimate from the same sampled column: on the same stream they agree to
/// rounding for every M (ggn_mc's two ways of summing its draws included), so they have
/// one law.
#[test]
fn gnb_at_batch_one_is_ggn_mc_on_the_same_draws() {
    for (cell, loss) in Loss::ALL.into_iter().enumerate() {
        for reduction in REDUCTIONS {
            let case = Case::new(
                &[3, 5, 4, 3],
                Activation::Tanh,
                loss,
                reduction,
                1,
                30 + cell as u64,
            );
            let problem = case.problem();
            for draws in [1, 2, 7] {
                let gnb =
                    method(&format!("gnb:{draws}")).estimate(&problem, &mut stream_rng(1, 2, 3));
                let ggn_mc =
                    method(&format!("ggn_mc:{draws}")).estimate(&problem, &mut stream_rng(1, 2, 3));
                assert_params_close(
                    format!("{case} M={draws}"),
                    &gnb,
                    &ggn_mc,
                    scaled(1e-12, &ggn_mc),
                );
            }
        }
    }
}

/// With one test vector there is nothing to leave out: xdiag:2 is Hutchinson's `w ⊙ Hw`
/// on the same draw.
#[test]
fn xdiag_with_one_test_vector_is_hutchinson_signed() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let problem = case.problem();
        let xdiag = method("xdiag:2").estimate(&problem, &mut stream_rng(4, cell as u64, 5));
        let hutchinson =
            method("hutchinson_signed:1").estimate(&problem, &mut stream_rng(4, cell as u64, 5));
        assert_params_close(&case, &xdiag, &hutchinson, scaled(1e-12, &hutchinson));
    }
}

/// With at least P + 1 test vectors every leave-one-out sketch spans the Hessian's range,
/// so the low-rank part is the whole diagonal and the correction vanishes: exact.
#[test]
fn xdiag_with_more_test_vectors_than_parameters_is_exact() {
    let cases = [
        Case::new(
            &[2, 3, 2],
            Activation::Tanh,
            Loss::CrossEntropy,
            Reduction::Mean,
            1,
            3,
        ),
        Case::new(
            &[2, 2, 2],
            Activation::Sigmoid,
            Loss::Mse,
            Reduction::Sum,
            2,
            4,
        ),
    ];
    for case in cases {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        let draws = 2 * (problem.mlp().n_params() + 3);
        let xdiag = method(&format!("xdiag:{draws}")).estimate(&problem, &mut stream_rng(1, 1, 1));
        assert_params_close(&case, &xdiag, &exact, scaled(1e-9, &exact));
    }
}

/// On a network with identity activations and mse every residual vanishes, so cp's s = t
/// = `J_lᵀ √(2c) v` at layer l (J_l = ∂z/∂a_l = `W_L ⋯ W_{l+1}`, c the reduction factor)
/// and the estimate of unit o of one sample is `(a_o · v)²`, `a_o = √(2c) J_l[:, o]`, whose
/// variance over Rademacher v is `2((Σ a²)² − Σ a⁴)`. The weight `W_l[o, i]` adds it times
/// `h_i⁴` over the samples (their v independent), the bias times 1; M draws divide it by M.
#[test]
fn cp_on_a_linear_network_with_mse_has_the_closed_form_variance() {
    let case = Case::new(
        &[3, 4, 5, 3],
        Activation::Identity,
        Loss::Mse,
        Reduction::Mean,
        2,
        9,
    );
    let problem = case.problem();
    let layers = linear_layers(problem.mlp());
    let inputs = layer_inputs(&problem);
    let c = Loss::Mse.scale(Reduction::Mean, case.batch, 3);
    let mut predicted = Vec::new();
    for l in 0..layers.len() {
        // J_l = W_L ⋯ W_{l+1}, [D, out_l].
        let mut jacobian = ndarray::Array2::<f64>::eye(3);
        for (weight, _) in layers[l + 1..].iter().rev() {
            jacobian = jacobian.dot(weight);
        }
        let unit_variance: Vec<f64> = jacobian
            .columns()
            .into_iter()
            .map(|column| {
                let a2: Vec<f64> = column.iter().map(|j| 2.0 * c * j * j).collect();
                let sum: f64 = a2.iter().sum();
                2.0 * (sum * sum - a2.iter().map(|x| x * x).sum::<f64>())
            })
            .collect();
        let h = &inputs[l];
        for var in &unit_variance {
            for i in 0..h.ncols() {
                predicted.push(var * (0..case.batch).map(|n| h[[n, i]].powi(4)).sum::<f64>());
            }
        }
        for var in &unit_variance {
            predicted.push(var * case.batch as f64);
        }
    }
    for draws in [1usize, 4] {
        let (_, variance) = moments(
            method(&format!("cp:{draws}")),
            &problem,
            20_000,
            draws as u64,
        );
        let (total_measured, total_predicted): (f64, f64) = (
            variance.iter().sum(),
            predicted.iter().map(|p| p / draws as f64).sum(),
        );
        eprintln!("cp:{draws} on {case}: total variance {total_measured:.4e}, closed form {total_predicted:.4e}");
        assert!((total_measured / total_predicted - 1.0).abs() < 0.05);
        for (k, (measured, p)) in variance.iter().zip(&predicted).enumerate() {
            let p = p / draws as f64;
            assert!(
                (measured - p).abs() <= 0.1 * p + 1e-12,
                "parameter {k}: variance {measured:e}, closed form {p:e}"
            );
        }
    }
}
