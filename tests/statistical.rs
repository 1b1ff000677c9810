//! SPEC §2.2.5: the Monte-Carlo estimators converge to what they estimate, at the rate
//! 1/√M of an unbiased mean — ggn_mc:M to ggn, hutchinson_signed:M to exact — and
//! AdaHessian's hutchinson:M converges, at the same rate, to E|v ⊙ Hv|, which is not the
//! Hessian diagonal when the diagonal has negative entries.
//!
//! Between M = 4 and M = 256 the mean absolute error of an unbiased mean shrinks by
//! √64 = 8; the band [4, 16] rejects both "does not converge" (ratio ≈ 1) and "converges
//! like 1/M" (ratio ≈ 64).

mod common;

use common::*;
use hesscale::methods::{exact, Method};
use hesscale::nn::{Activation, Linearization, Loss, Params, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng};
use ndarray::Array2;

const FEW: usize = 4;
const MANY: usize = 256;
/// Random streams averaged over per sample count.
const REPEATS: u64 = 12;
const RATE_BAND: std::ops::RangeInclusive<f64> = 4.0..=16.0;

/// The mean over `REPEATS` streams of `L1(estimate, target) / L1(target)`.
fn mean_relative_l1_error(method: Method, problem: &Problem, target: &Params, cell: u64) -> f64 {
    let total: f64 = (0..REPEATS)
        .map(|seed| {
            let mut rng = stream_rng(seed, cell, stream_id(&method.to_string()));
            l1_distance(&method.estimate(problem, &mut rng), target) / l1_norm(target)
        })
        .sum();
    total / REPEATS as f64
}

/// err(M = 4) / err(M = 256) for a family of estimators.
fn error_ratio(
    family: fn(usize) -> Method,
    problem: &Problem,
    target: &Params,
    cell: u64,
) -> (f64, f64) {
    let few = mean_relative_l1_error(family(FEW), problem, target, cell);
    let many = mean_relative_l1_error(family(MANY), problem, target, cell);
    (few, many)
}

#[test]
fn ggn_mc_converges_to_ggn_like_one_over_root_m() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let problem = case.problem();
        let ggn = method("ggn").estimate(&problem, &mut stream_rng(0, 0, 0));
        let (few, many) = error_ratio(
            |draws| method(&format!("ggn_mc:{draws}")),
            &problem,
            &ggn,
            cell as u64,
        );
        eprintln!("{case} ggn_mc: relative L1 error {few:.4} at M={FEW}, {many:.4} at M={MANY}");
        assert!(
            RATE_BAND.contains(&(few / many)),
            "{case}: ggn_mc error ratio {} outside {RATE_BAND:?}",
            few / many
        );
        assert!(
            many < 0.1,
            "{case}: ggn_mc:{MANY} still {many} away from ggn"
        );
    }
}

#[test]
fn hutchinson_signed_converges_to_exact_like_one_over_root_m() {
    for (cell, case) in statistical_nets().into_iter().enumerate() {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        let (few, many) = error_ratio(
            |draws| method(&format!("hutchinson_signed:{draws}")),
            &problem,
            &exact,
            cell as u64,
        );
        eprintln!(
            "{case} hutchinson_signed: relative L1 error {few:.4} at M={FEW}, {many:.4} at M={MANY}"
        );
        assert!(
            RATE_BAND.contains(&(few / many)),
            "{case}: hutchinson_signed error ratio {} outside {RATE_BAND:?}",
            few / many
        );
    }
}

/// The full parameter Hessian, one Hessian-vector product per column.
fn full_hessian(problem: &Problem) -> Array2<f64> {
    let linearization = Linearization::new(problem);
    let n = problem.mlp().n_params();
    let mut hessian = Array2::zeros((n, n));
    for j in 0..n {
        let mut unit = problem.mlp().zeros_like_params();
        *param_mut(&mut unit, j) = 1.0;
        let column = flatten(&linearization.hessian_vector_product(&unit));
        hessian.column_mut(j).assign(&ndarray::Array1::from(column));
    }
    hessian
}

/// `E|v ⊙ Hv| = E|Hv|` exactly, by enumerating all 2ⁿ sign vectors of a tiny net.
fn expected_absolute_hutchinson(problem: &Problem) -> Params {
    let hessian = full_hessian(problem);
    let n = hessian.nrows();
    assert!(n <= 20, "2^{n} sign vectors are too many");
    let mut mean = vec![0.0; n];
    for pattern in 0u32..(1 << n) {
        let v: Vec<f64> = (0..n)
            .map(|j| if pattern >> j & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        for (i, m) in mean.iter_mut().enumerate() {
            let hv: f64 = (0..n).map(|j| hessian[[i, j]] * v[j]).sum();
            *m += hv.abs();
        }
    }
    let mut limit = problem.mlp().zeros_like_params();
    for (i, m) in mean.into_iter().enumerate() {
        *param_mut(&mut limit, i) = m / f64::from(1u32 << n);
    }
    limit
}

/// On a tiny tanh net whose Hessian diagonal has negative entries, hutchinson:M converges
/// like 1/√M to E|v ⊙ Hv| (computed exactly over all sign vectors), a limit that is far
/// from the exact diagonal; so it does not converge to exact, while hutchinson_signed:M
/// on the same net does.
#[test]
fn absolute_hutchinson_converges_to_the_mean_absolute_value_not_to_exact() {
    // Tiny nets (≤ 20 parameters, so all sign vectors can be enumerated) whose diagonal
    // has sizeable negative entries.
    let cases = [
        Case::new(
            &[2, 3, 2],
            Activation::Tanh,
            Loss::CrossEntropy,
            Reduction::Mean,
            1,
            0,
        ),
        Case::new(
            &[2, 2, 2, 2],
            Activation::Tanh,
            Loss::CrossEntropy,
            Reduction::Sum,
            1,
            1,
        ),
        Case::new(
            &[2, 3, 2],
            Activation::Tanh,
            Loss::Mse,
            Reduction::Mean,
            1,
            7,
        ),
    ];
    for (cell, case) in cases.into_iter().enumerate() {
        absolute_hutchinson_case(&case, cell as u64);
    }
}

fn absolute_hutchinson_case(case: &Case, cell: u64) {
    let problem = case.problem();
    let exact = exact::hessian_diag(&problem);
    let negative_mass: f64 = flatten(&exact)
        .iter()
        .filter(|&&h| h < 0.0)
        .map(|h| -h)
        .sum();
    assert!(
        negative_mass > 0.1 * l1_norm(&exact),
        "{case}: the diagonal must have sizeable negative entries ({negative_mass:e} of {:e})",
        l1_norm(&exact)
    );
    let limit = expected_absolute_hutchinson(&problem);
    let bias = l1_distance(&limit, &exact) / l1_norm(&exact);
    assert!(bias > 0.2, "{case}: E|v⊙Hv| is only {bias} away from exact");

    let (few, many) = error_ratio(
        |draws| method(&format!("hutchinson:{draws}")),
        &problem,
        &limit,
        cell,
    );
    eprintln!("{case} hutchinson vs E|v⊙Hv|: {few:.4} at M={FEW}, {many:.4} at M={MANY}");
    assert!(
        RATE_BAND.contains(&(few / many)),
        "{case}: hutchinson error ratio (to its limit) {} outside {RATE_BAND:?}",
        few / many
    );

    let (few_to_exact, many_to_exact) = error_ratio(
        |draws| method(&format!("hutchinson:{draws}")),
        &problem,
        &exact,
        cell,
    );
    eprintln!(
        "{case} hutchinson vs exact: {few_to_exact:.4} at M={FEW}, {many_to_exact:.4} at M={MANY}"
    );
    assert!(
        many_to_exact > 0.8 * bias,
        "{case}: hutchinson:{MANY} came within {many_to_exact} of exact (bias {bias})"
    );
    assert!(few_to_exact / many_to_exact < 2.0);

    let (signed_few, signed_many) = error_ratio(
        |draws| method(&format!("hutchinson_signed:{draws}")),
        &problem,
        &exact,
        cell,
    );
    assert!(RATE_BAND.contains(&(signed_few / signed_many)));
    assert!(signed_many < 0.5 * many_to_exact);
}
