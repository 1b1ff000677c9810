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
/// layer by layer, weight (row-major) before bias. Each sign is the top bit of one 32-bit
/// word of `rng` (+1 when set), exactly as `rng.random::<bool>()` draws it; the words are
/// taken in blocks, which is the same stream, only faster.
pub fn fill_rademacher(direction: &mut [LayerParams], rng: &mut ChaCha8Rng) {
    let mut words = [0u32; 256];
    for layer in direction {
        let weight = layer
            .weight
            .as_slice_mut()
            .expect("directions are standard layout");
        let bias = layer
            .bias
            .as_slice_mut()
            .expect("directions are standard layout");
        for values in [weight, bias] {
            for chunk in values.chunks_mut(words.len()) {
                let words = &mut words[..chunk.len()];
                rng.fill(words);
                for (value, &word) in chunk.iter_mut().zip(words.iter()) {
                    *value = if (word as i32) < 0 { 1.0 } else { -1.0 };
                }
            }
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
    fn block_draws_give_the_signs_of_one_bool_per_value() {
        let shapes = [(3, 300), (7, 3)];
        let mut direction: ParamTensors = shapes
            .iter()
            .map(|&(outputs, inputs)| LayerParams::zeros(outputs, inputs))
            .collect();
        let mut fast = crate::rng::stream_rng(1, 2, 3);
        let mut slow = crate::rng::stream_rng(1, 2, 3);
        // Start in the middle of a block of the generator, twice over.
        for _ in 0..2 {
            let _: u32 = fast.random();
            let _: u32 = slow.random();
            fill_rademacher(&mut direction, &mut fast);
            for layer in &direction {
                for &value in layer.weight.iter().chain(&layer.bias) {
                    let expected = if slow.random::<bool>() { 1.0 } else { -1.0 };
                    assert_eq!(value, expected);
                }
            }
        }
        assert_eq!(fast.random::<u64>(), slow.random::<u64>());
    }
}
