//! Dense f64 kernels for one sample: dot products, matrix–vector products and their
//! transposes, outer products, and HesScale's fused product with the weights and their
//! squares. Matrices are row-major `[rows, cols]` slices (a Linear layer's weight is
//! `[out, in]`).
//!
//! Each kernel fixes its order of operations in the source: a dot product keeps
//! [`LANES`] running sums over `i mod LANES`, added pairwise at the end, then the tail in
//! order; an accumulating product adds the rows in order. So the numbers are the same on
//! every machine and whatever the compiler vectorises: `mul_add` is one correctly rounded
//! operation whether the CPU has FMA instructions or not. The kernels are compiled for
//! AVX-512 and AVX2+FMA as well as the baseline, and the best one the CPU supports is
//! picked at run time (the `multiversion` crate).
//!
//! A matrix kernel (`matrixmultiply`, behind `ndarray`'s `dot`) packs both operands into
//! panels before it multiplies; for a matrix times a single vector that copy costs as much
//! as the product, so one sample goes through these kernels instead.

use multiversion::multiversion;

/// The running sums of a dot product: four AVX2 or two AVX-512 registers, enough
/// independent multiply-add chains to hide their latency.
pub const LANES: usize = 16;

/// `Σ_i a_i b_i`, `a` and `b` of the same length.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut sums = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for j in 0..LANES {
            sums[j] = x[j].mul_add(y[j], sums[j]);
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            sums[j] += sums[j + width];
        }
    }
    a_tail
        .iter()
        .zip(b_tail)
        .fold(sums[0], |sum, (&x, &y)| x.mul_add(y, sum))
}

/// `y = W x + b` for `W` of shape `[y.len(), x.len()]`: one [`dot`] per row.
pub fn affine(weight: &[f64], x: &[f64], bias: &[f64], y: &mut [f64]) {
    debug_assert_eq!(weight.len(), x.len() * y.len());
    debug_assert_eq!(bias.len(), y.len());
    if x.is_empty() {
        y.copy_from_slice(bias);
        return;
    }
    for ((out, row), &b) in y.iter_mut().zip(weight.chunks_exact(x.len())).zip(bias) {
        *out = b + dot(row, x);
    }
}

/// `y += Wᵀ d` for `W` of shape `[d.len(), y.len()]`: `y += d_o W_o` row by row, in order.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn add_transposed_product(weight: &[f64], d: &[f64], y: &mut [f64]) {
    debug_assert_eq!(weight.len(), d.len() * y.len());
    if y.is_empty() {
        return;
    }
    for (row, &scale) in weight.chunks_exact(y.len()).zip(d) {
        for (out, &w) in y.iter_mut().zip(row) {
            *out = w.mul_add(scale, *out);
        }
    }
}

/// The outer product `u vᵀ` appended row by row to `out` (`[u.len(), v.len()]`
/// row-major; a zero product is written as +0, as a matrix kernel's sum starting at 0
/// would).
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn append_outer_product(u: &[f64], v: &[f64], out: &mut Vec<f64>) {
    out.reserve(u.len() * v.len());
    for &scale in u {
        out.extend(v.iter().map(|&value| 0.0 + scale * value));
    }
}

/// The outer product `u vᵀ` written over `out` row by row (`[u.len(), v.len()]`
/// row-major), the same numbers as [`append_outer_product`].
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn write_outer_product(u: &[f64], v: &[f64], out: &mut [f64]) {
    debug_assert_eq!(out.len(), u.len() * v.len());
    if v.is_empty() {
        return;
    }
    for (row, &scale) in out.chunks_exact_mut(v.len()).zip(u) {
        for (o, &value) in row.iter_mut().zip(v) {
            *o = 0.0 + scale * value;
        }
    }
}

/// HesScale's backward step through one Linear layer for one sample, fused into one sweep
/// over `W`: `γ += Wᵀ δ` and `c += (W∘W)ᵀ d` (SPEC §2), row by row in order.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn add_transposed_and_squared_products(
    weight: &[f64],
    delta: &[f64],
    curvature: &[f64],
    input_grad: &mut [f64],
    input_curvature: &mut [f64],
) {
    let cols = input_grad.len();
    debug_assert_eq!(weight.len(), delta.len() * cols);
    if cols == 0 {
        return;
    }
    for ((row, &d), &c) in weight.chunks_exact(cols).zip(delta).zip(curvature) {
        for ((g, k), &w) in input_grad
            .iter_mut()
            .zip(input_curvature.iter_mut())
            .zip(row)
        {
            *g = w.mul_add(d, *g);
            *k = (w * w).mul_add(c, *k);
        }
    }
}

/// `Σ_j r_j J_ji²` for every column i of `J` (`[r.len(), y.len()]`), added to `y` row by
/// row: the diagonal of `Jᵀ diag(r) J`.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
pub fn add_weighted_column_squares(jacobian: &[f64], r: &[f64], y: &mut [f64]) {
    debug_assert_eq!(jacobian.len(), r.len() * y.len());
    if y.is_empty() {
        return;
    }
    for (row, &weight) in jacobian.chunks_exact(y.len()).zip(r) {
        for (out, &j) in y.iter_mut().zip(row) {
            *out = (j * j).mul_add(weight, *out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in [−0.5, 0.5) from a fixed linear congruential sequence.
    fn filled(len: usize, state: &mut u64) -> Vec<f64> {
        (0..len)
            .map(|_| {
                *state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn naive_dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn dot_agrees_with_the_plain_sum_for_every_length_around_the_lanes() {
        let mut state = 3;
        for len in [0, 1, 5, 15, 16, 17, 33, 64, 100, 513] {
            let (a, b) = (filled(len, &mut state), filled(len, &mut state));
            let scale: f64 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
            assert!(
                (dot(&a, &b) - naive_dot(&a, &b)).abs() <= 1e-14 * scale.max(1e-300),
                "length {len}"
            );
        }
    }

    #[test]
    fn the_products_agree_with_their_definitions() {
        let mut state = 7;
        let (rows, cols) = (5, 19);
        let weight = filled(rows * cols, &mut state);
        let x = filled(cols, &mut state);
        let d = filled(rows, &mut state);
        let bias = filled(rows, &mut state);
        let w = |o: usize, i: usize| weight[o * cols + i];

        let mut y = vec![0.0; rows];
        affine(&weight, &x, &bias, &mut y);
        for o in 0..rows {
            let expected = bias[o] + (0..cols).map(|i| w(o, i) * x[i]).sum::<f64>();
            assert!((y[o] - expected).abs() < 1e-14);
        }

        let mut transposed = vec![1.0; cols];
        add_transposed_product(&weight, &d, &mut transposed);
        let mut column_squares = vec![1.0; cols];
        add_weighted_column_squares(&weight, &d, &mut column_squares);
        for i in 0..cols {
            let t = 1.0 + (0..rows).map(|o| d[o] * w(o, i)).sum::<f64>();
            let s = 1.0 + (0..rows).map(|o| d[o] * w(o, i) * w(o, i)).sum::<f64>();
            assert!((transposed[i] - t).abs() < 1e-14);
            assert!((column_squares[i] - s).abs() < 1e-14);
        }

        let mut outer = Vec::new();
        append_outer_product(&d, &x, &mut outer);
        let mut written = vec![f64::NAN; rows * cols];
        write_outer_product(&d, &x, &mut written);
        assert_eq!(outer, written);
        for o in 0..rows {
            for i in 0..cols {
                assert_eq!(outer[o * cols + i], d[o] * x[i]);
            }
        }
    }
}
