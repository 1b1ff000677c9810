//! Hutchinson's estimators (SPEC §2): for Rademacher vectors `v` over all parameters,
//! `E[v ⊙ Hv] = diag(H)`. `hutchinson:M` is AdaHessian's `(1/M) Σ_m |v_m ⊙ H v_m|`
//! (a true mean over M draws, SPEC §2.3), `hutchinson_signed:M` the unbiased
//! `(1/M) Σ_m v_m ⊙ H v_m`. One Hessian-vector product per draw.

use ndarray::Zip;
use ndarray_rand::rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nn::{LayerParams, ParamTensors, Problem};

/// Which average of `v ⊙ Hv` to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// AdaHessian's `|v ⊙ Hv|`.
    AbsoluteValue,
    /// The unbiased `v ⊙ Hv`.
    Signed,
}

/// Overwrite `direction` with a Rademacher vector (±1 with probability ½ each), drawn
/// layer by layer, weight (row-major) before bias.
pub fn fill_rademacher(direction: &mut [LayerParams], rng: &mut ChaCha8Rng) {
    for layer in direction {
        for value in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            *value = if rng.random::<bool>() { 1.0 } else { -1.0 };
        }
    }
}

/// A Rademacher vector shaped like the parameters (see [`fill_rademacher`]).
pub fn rademacher_like(params: &[LayerParams], rng: &mut ChaCha8Rng) -> ParamTensors {
    let mut direction: ParamTensors = params
        .iter()
        .map(|layer| LayerParams::zeros(layer.outputs(), layer.inputs()))
        .collect();
    fill_rademacher(&mut direction, rng);
    direction
}

/// The Hutchinson estimate of every weight and bias diagonal from `draws` Rademacher
/// vectors. The first draw's product becomes the running sum in place, and one direction
/// buffer is redrawn for every draw, so no more parameter-sized arrays are made than one
/// Hessian-vector product needs.
pub fn hessian_diag_estimate(
    problem: &Problem,
    draws: usize,
    estimator: Estimator,
    rng: &mut ChaCha8Rng,
) -> ParamTensors {
    assert!(draws >= 1, "at least one draw");
    let pass = problem.forward();
    let backward = problem.backward(&pass);
    let weight_of_draw = 1.0 / draws as f64;
    // One draw's term `(1/M)·|v·Hv|` or `(1/M)·v·Hv`.
    let term = |v: f64, hv: f64| {
        let sample = v * hv;
        weight_of_draw
            * match estimator {
                Estimator::AbsoluteValue => sample.abs(),
                Estimator::Signed => sample,
            }
    };
    let mut direction = rademacher_like(&problem.mlp().layers, rng);
    let mut mean = problem.hessian_vector_product(&pass, &backward, &direction);
    for (hv, v) in mean.iter_mut().zip(&direction) {
        // `0.0 + term` is what a sum starting at zero holds (it turns −0 into +0).
        let start = |hv: &mut f64, &v: &f64| *hv = 0.0 + term(v, *hv);
        Zip::from(&mut hv.weight).and(&v.weight).for_each(start);
        Zip::from(&mut hv.bias).and(&v.bias).for_each(start);
    }
    for _ in 1..draws {
        fill_rademacher(&mut direction, rng);
        let product = problem.hessian_vector_product(&pass, &backward, &direction);
        for ((sum, v), hv) in mean.iter_mut().zip(&direction).zip(&product) {
            let accumulate = |s: &mut f64, &v: &f64, &hv: &f64| *s += term(v, hv);
            Zip::from(&mut sum.weight)
                .and(&v.weight)
                .and(&hv.weight)
                .for_each(accumulate);
            Zip::from(&mut sum.bias)
                .and(&v.bias)
                .and(&hv.bias)
                .for_each(accumulate);
        }
    }
    mean
}
