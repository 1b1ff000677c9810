//! Hutchinson's estimators (SPEC §2): for Rademacher vectors `v` over all parameters,
//! `E[v ⊙ Hv] = diag(H)`. `hutchinson:M` is AdaHessian's `(1/M) Σ_m |v_m ⊙ H v_m|`
//! (a true mean over M draws, SPEC §2.3), `hutchinson_signed:M` the unbiased
//! `(1/M) Σ_m v_m ⊙ H v_m`. One Hessian-vector product per draw.

use ndarray::Zip;
use ndarray_rand::rand::RngCore;
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

/// A Rademacher vector (±1 with probability ½ each) shaped like the parameters, drawn
/// layer by layer, weight (row-major) before bias. Each 64-bit draw of `rng` gives 64
/// signs, lowest bit first (bit 1 → +1, bit 0 → −1).
pub fn rademacher_like(params: &[LayerParams], rng: &mut ChaCha8Rng) -> ParamTensors {
    let mut bits = 0u64;
    let mut bits_left = 0u32;
    let mut sign = || {
        if bits_left == 0 {
            bits = rng.next_u64();
            bits_left = u64::BITS;
        }
        let positive = bits & 1 == 1;
        bits >>= 1;
        bits_left -= 1;
        if positive {
            1.0
        } else {
            -1.0
        }
    };
    params
        .iter()
        .map(|layer| LayerParams {
            weight: layer.weight.mapv(|_| sign()),
            bias: layer.bias.mapv(|_| sign()),
        })
        .collect()
}

/// The Hutchinson estimate of every weight and bias diagonal from `draws` Rademacher
/// vectors.
pub fn hessian_diag_estimate(
    problem: &Problem,
    draws: usize,
    estimator: Estimator,
    rng: &mut ChaCha8Rng,
) -> ParamTensors {
    let pass = problem.forward();
    let backward = problem.backward(&pass);
    let mut mean = problem.mlp().zeros_like_params();
    let weight_of_draw = 1.0 / draws as f64;
    for _ in 0..draws {
        let direction = rademacher_like(&problem.mlp().layers, rng);
        let product = problem.hessian_vector_product(&pass, &backward, &direction);
        for ((sum, v), hv) in mean.iter_mut().zip(&direction).zip(&product) {
            let accumulate = |s: &mut f64, &v: &f64, &hv: &f64| {
                let sample = v * hv;
                *s += weight_of_draw
                    * match estimator {
                        Estimator::AbsoluteValue => sample.abs(),
                        Estimator::Signed => sample,
                    };
            };
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
