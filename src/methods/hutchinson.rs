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

/// Overwrite `direction` with a Rademacher vector (±1 with probability ½ each), drawn
/// layer by layer, weight (row-major) before bias. Each 64-bit draw of `rng` gives 64
/// signs, lowest bit first (bit 1 → +1, bit 0 → −1).
pub fn fill_rademacher(direction: &mut [LayerParams], rng: &mut ChaCha8Rng) {
    let mut bits = 0u64;
    let mut bits_left = 0u32;
    for layer in direction {
        for value in layer.weight.iter_mut().chain(layer.bias.iter_mut()) {
            if bits_left == 0 {
                bits = rng.next_u64();
                bits_left = u64::BITS;
            }
            *value = if bits & 1 == 1 { 1.0 } else { -1.0 };
            bits >>= 1;
            bits_left -= 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_draw_gives_64_signs_lowest_bit_first_across_layers() {
        let shapes = [(3, 30), (7, 3)];
        let params: ParamTensors = shapes
            .iter()
            .map(|&(outputs, inputs)| LayerParams::zeros(outputs, inputs))
            .collect();
        let mut rng = crate::rng::stream_rng(1, 2, 3);
        let mut reference = crate::rng::stream_rng(1, 2, 3);
        for _ in 0..2 {
            let direction = rademacher_like(&params, &mut rng);
            let values: Vec<f64> = direction
                .iter()
                .flat_map(|layer| layer.weight.iter().chain(&layer.bias).copied())
                .collect();
            assert_eq!(values.len(), 3 * 30 + 3 + 7 * 3 + 7);
            for chunk in values.chunks(64) {
                let bits = reference.next_u64();
                for (k, &value) in chunk.iter().enumerate() {
                    assert_eq!(value, if bits >> k & 1 == 1 { 1.0 } else { -1.0 });
                }
            }
        }
    }
}
