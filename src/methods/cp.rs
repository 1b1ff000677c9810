//! `cp:M` (SPEC §2.4): curvature propagation (Martens, Sutskever & Swersky, ICML 2012),
//! the real-valued S/T form with Rademacher noise, unbiased for the exact diagonal.
//!
//! The Hessian of a sample with respect to a layer's output obeys
//! `∇²_x ℓ = Jᵀ (∇²_y ℓ) J + diag(r)` with `r` the layer's own second-order term
//! ([`crate::nn::LayerRules::residual_diag`]; `r = φ″(a) ⊙ γ` for an activation, none for an
//! affine layer). Factor the output Hessian `∇²_z ℓ = S_L S_Lᵀ` (the loss's exact
//! square-root factor: cross_entropy `S_L v = √c (√p ⊙ v − p (√p · v))`, mse
//! `S_L = √(2c) I`) and every residual as `diag(r) = diag(√|r|) diag(sign(r) √|r|)`.
//! Per draw, with independent Rademacher vectors `v_L` (one per output unit) and `v_k`
//! (one per unit at the input of each layer with a residual), the two vectors
//!
//! * `s_L = t_L = S_L v_L`,
//! * `s_in = Jᵀ s_out + √|r| ⊙ v_k`, `t_in = Jᵀ t_out + sign(r) √|r| ⊙ v_k`
//!   (for an MLP `s_{l−1} = φ′(a_{l−1}) ⊙ (W_lᵀ s_l) + √|r_{l−1}| ⊙ v_{l−1}`)
//!
//! satisfy `E[s ⊙ t] = diag(∇²ℓ)` at every layer's output, so the weight estimate
//! `(s_l ⊙ t_l) ⊗ h_{l−1}²` per sample (bias `s_l ⊙ t_l`), summed over the batch and
//! averaged over the M draws, is unbiased for the exact diagonal. It may be negative.
//!
//! Both vectors of all M draws go down the one backward walk as one row-stack (rows
//! `m·N + n` the s of draw m, sample n; rows `M·N + m·N + n` its t), like ggn_mc's
//! columns: two backward sweeps of vectors per draw.

use ndarray::{s, Array2, Zip};
use ndarray_rand::rand::RngCore;
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::LayerDiagonal;
use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{forward_work, padded_rows, units, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization, SquareRootFactor};

/// Curvature propagation.
pub const CP: MethodDef = MethodDef {
    name: "cp",
    estimates: "Hessian diagonal, unbiased: curvature propagation (Martens et al. 2012), M draws",
    cost: CostClass::BackwardPerDraw,
    draws: Draws::MonteCarlo { in_all: &[] },
    estimate: Estimate::WithSquareRootFactor(|linearization, factor, draws, rng| {
        Diagonal::from_layers(
            linearization,
            layer_estimates(linearization, factor, draws, rng),
        )
    }),
    work,
    memory,
};

/// `[rows, width]` Rademacher values (±1), drawn row-major, 64 per word of `rng`, lowest
/// bit first (bit 1 → +1).
pub fn rademacher_array(rows: usize, width: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut bits = 0u64;
    let mut left = 0u32;
    Array2::from_shape_simple_fn((rows, width), || {
        if left == 0 {
            bits = rng.next_u64();
            left = u64::BITS;
        }
        let value = if bits & 1 == 1 { 1.0 } else { -1.0 };
        bits >>= 1;
        left -= 1;
        value
    })
}

/// `S_L v` for every row of `noise` (`[M·N, D]`, row `m·N + n` for sample n), from the
/// exact square-root columns (row `c·N + n` column c of sample n's factor).
fn output_factor_times(columns: &Array2<f64>, noise: &Array2<f64>, samples: usize) -> Array2<f64> {
    let mut out = Array2::zeros(noise.raw_dim());
    for (r, (mut row, v)) in out.rows_mut().into_iter().zip(noise.rows()).enumerate() {
        let n = r % samples;
        for (c, &sign) in v.iter().enumerate() {
            row.scaled_add(sign, &columns.row(c * samples + n));
        }
    }
    out
}

/// Every layer with parameters' part of the estimate, from `draws` draws of `rng` only
/// (first `v_L` (`[M·N, D]`), then the noise of each layer with a residual, from the top
/// down): where the layer's diagonal is the outer product of SPEC §1.1, the estimate
/// `(1/M) Σ_m s_m ⊙ t_m` at its output per sample (`[N, out_l]`); otherwise (a
/// convolution, whose weights are shared over positions) the parameters' estimate itself,
/// `(1/M) Σ_{m,n} (J_θᵀ s_{m,n}) ⊙ (J_θᵀ t_{m,n})`, the same unbiased product taken after
/// summing over positions (SPEC §11).
pub fn layer_estimates(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<LayerDiagonal> {
    let samples = linearization.batch_size();
    let rows = draws * samples;
    let output = linearization.output();
    let columns = factor.sqrt_hessian_columns(output);
    let top = output_factor_times(
        &columns,
        &rademacher_array(rows, output.ncols(), rng),
        samples,
    );
    let mut stack = Array2::zeros((2 * rows, output.ncols()));
    stack.slice_mut(s![..rows, ..]).assign(&top);
    stack.slice_mut(s![rows.., ..]).assign(&top);
    let mut diags = vec![LayerDiagonal::Values(Vec::new()); linearization.mlp().depth()];
    linearization.walk_backward(0..linearization.layers(), stack, |at, stack| {
        if let Some(slot) = at.slot() {
            diags[slot] = if at.layer().diag_is_outer_product() {
                LayerDiagonal::PerSample(mean_product_per_sample(&stack, draws, samples))
            } else {
                let gradients = at.layer().row_param_gradients(&at.point(), &stack);
                LayerDiagonal::Values(mean_product(&gradients, draws))
            };
        }
        at.has_below().then(|| {
            let point = at.point();
            let mut below = at.layer().backprop_rows(&point, &stack);
            if let Some(residual) = at.layer().residual_diag(&point, at.grad()) {
                add_residual_noise(&mut below, &residual, rows, rng);
            }
            below
        })
    });
    diags
}

/// `s += √|r| ⊙ v`, `t += sign(r) √|r| ⊙ v` for fresh Rademacher `v` (`[M·N, w]`), the
/// residual `r` of sample `row mod N`.
fn add_residual_noise(
    stack: &mut Array2<f64>,
    residual: &Array2<f64>,
    rows: usize,
    rng: &mut ChaCha8Rng,
) {
    let samples = residual.nrows();
    let noise = rademacher_array(rows, residual.ncols(), rng);
    let (mut s_rows, mut t_rows) = stack.view_mut().split_at(ndarray::Axis(0), rows);
    for (r, v) in noise.rows().into_iter().enumerate() {
        let r_row = residual.row(r % samples);
        Zip::from(s_rows.row_mut(r))
            .and(t_rows.row_mut(r))
            .and(&v)
            .and(&r_row)
            .for_each(|s, t, &v, &r| {
                let root = r.abs().sqrt();
                *s += root * v;
                *t += root.copysign(r) * v;
            });
    }
}

/// `(1/M) Σ_r s[r, p] · t[M·N + r, p]` over the `M·N` rows of the s half, per column p.
fn mean_product(stack: &Array2<f64>, draws: usize) -> Vec<f64> {
    let rows = stack.nrows() / 2;
    let (s_rows, t_rows) = stack.view().split_at(ndarray::Axis(0), rows);
    let mut sums = (&s_rows * &t_rows).sum_axis(ndarray::Axis(0));
    sums /= draws as f64;
    sums.to_vec()
}

/// `(1/M) Σ_m s[m·N + n, o] · t[M·N + m·N + n, o]`, `[N, w]`.
fn mean_product_per_sample(stack: &Array2<f64>, draws: usize, samples: usize) -> Array2<f64> {
    let rows = draws * samples;
    let mut diag = Array2::zeros((samples, stack.ncols()));
    for r in 0..rows {
        let mut target = diag.row_mut(r % samples);
        Zip::from(&mut target)
            .and(&stack.row(r))
            .and(&stack.row(rows + r))
            .for_each(|d, &s, &t| *d += s * t);
    }
    diag / draws as f64
}

/// A forward pass, the gradient's backward pass (for the residuals), `2·M·N` rows through
/// every layer above the first, then the weight diagonal.
pub fn work(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let rows = padded_rows(2 * draws * batch);
    2.0 * forward_work(widths, batch)
        + rows * weights(&widths[1..])
        + batch as f64 * weights(widths)
}

/// The stacks of s and t, `2·2·M·N·U` floats.
pub fn memory(widths: &[usize], batch: usize, draws: usize) -> f64 {
    F64_BYTES * 4.0 * (draws * batch) as f64 * units(widths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream_rng;

    #[test]
    fn rademacher_values_are_signs_in_bit_order() {
        let mut rng = stream_rng(1, 2, 3);
        let values = rademacher_array(3, 50, &mut rng);
        let mut again = stream_rng(1, 2, 3);
        let words: Vec<u64> = (0..3).map(|_| again.next_u64()).collect();
        for (k, &v) in values.iter().enumerate() {
            let word = words[k / 64];
            let expected = if (word >> (k % 64)) & 1 == 1 {
                1.0
            } else {
                -1.0
            };
            assert_eq!(v, expected, "value {k}");
        }
    }
}
