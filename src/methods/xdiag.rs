//! `xdiag:M` (SPEC §2.4): XDiag (Epperly, Tropp & Webber, "XTrace: making the most of
//! every sample in stochastic trace estimation", SIMAX 2024, §4), the exact diagonal of the
//! Hessian H over all parameters of the batch from M Hessian-vector products (M even),
//! unbiased.
//!
//! With k = M/2 Rademacher vectors `w_1 … w_k` (the test matrix `Ω`):
//! * the sketch `Y = H Ω` (k products) and an orthonormal basis `Q` of its range;
//! * `Z = H Q` (at most k more products);
//! * for each i, the projector `P_i = Q Π_i Qᵀ` onto the span of the other columns
//!   `{y_j : j ≠ i}`, which does not depend on `w_i` (the leave-one-out, "exchangeable"
//!   low-rank part: `Π_i` projects onto the coordinates `Qᵀ y_j`, j ≠ i; when `Y` has full
//!   rank this is the paper's `I − s_i s_iᵀ`, `s_i` the normalised column i of `R^{−T}`);
//! * the estimate, the mean over i of the low-rank diagonal plus a Hutchinson estimate of
//!   the rest, `diag(P_i H) + w_i ⊙ (I − P_i) H w_i`:
//!
//!   `d = diag(Q Π̄ Zᵀ) + (1/k) Σ_i w_i ⊙ (y_i − Q Π_i Qᵀ y_i)`, `Π̄ = (1/k) Σ_i Π_i`.
//!
//! Given `{w_j : j ≠ i}`, `E[w_i ⊙ (I − P_i) H w_i] = diag((I − P_i) H)`, so each term and
//! their mean are unbiased for `diag(H)`. The bases are made by Gram–Schmidt twice over
//! ("twice is enough"), dropping a vector whose remainder is below `1e−10` of its norm,
//! so a sketch of lower rank than k (a Hessian of low rank) is handled by the same
//! formula. Cost: M Hessian-vector products and `O(P k²)` for the bases.

use ndarray::{s, Array1, Array2, ArrayView1, Axis};
use rand_chacha::ChaCha8Rng;

use crate::methods::hutchinson::rademacher_like;
use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{gradient_work, padded_rows, parameters, units, weights, F64_BYTES};
use crate::nn::{Linearization, Params};

/// XDiag.
pub const XDIAG: MethodDef = MethodDef {
    name: "xdiag",
    estimates: "Hessian diagonal, unbiased: XDiag (Epperly et al. 2024), low-rank sketch + exchangeable Hutchinson from M (even) HVPs",
    cost: CostClass::HvpPerDraw,
    draws: Draws::Paired,
    estimate: Estimate::FromLinearization(|linearization, draws, rng| {
        Diagonal::Params(estimate(linearization, draws, rng))
    }),
    work,
    memory,
};

/// A remainder below this fraction of a vector's norm counts as dependent.
const DEPENDENT: f64 = 1e-10;

/// XDiag's estimate from `draws` (even) Hessian-vector products, the `draws / 2` test
/// vectors drawn from `rng` only, one after another in the parameters' order
/// ([`rademacher_like`]).
pub fn estimate(linearization: &Linearization, draws: usize, rng: &mut ChaCha8Rng) -> Params {
    let layout = linearization.mlp().params().layout();
    let tests = draws / 2;
    let omega: Vec<Params> = (0..tests).map(|_| rademacher_like(layout, rng)).collect();
    let width = layout.len();
    let sketch = rows_of(&products(linearization, &omega), width);
    let omega = rows_of(&omega, width);
    let basis = orthonormal_rows(&sketch);
    let rank = basis.nrows();
    // The coordinates of each sketch column in the basis, `C = Q Yᵀ`, `[r, k]`.
    let coordinates = basis.dot(&sketch.t());
    let basis_params: Vec<Params> = basis
        .rows()
        .into_iter()
        .map(|row| Params::from_values(layout, row.to_vec()))
        .collect();
    let z = rows_of(&products(linearization, &basis_params), width);
    let mut mean_projector = Array2::<f64>::zeros((rank, rank));
    // Row i: `Π_i Qᵀ y_i`, `[k, r]`.
    let mut kept = Array2::<f64>::zeros((tests, rank));
    for i in 0..tests {
        let projector = leave_one_out_projector(&coordinates, i);
        kept.row_mut(i)
            .assign(&projector.dot(&coordinates.column(i)));
        mean_projector += &projector;
    }
    mean_projector /= tests as f64;
    let low_rank = (&basis * &mean_projector.dot(&z)).sum_axis(Axis(0));
    let remainder = (&omega * &(&sketch - &kept.dot(&basis))).sum_axis(Axis(0)) / tests as f64;
    Params::from_values(layout, (low_rank + remainder).to_vec())
}

/// The Hessian-vector products of `directions` (none for none).
fn products(linearization: &Linearization, directions: &[Params]) -> Vec<Params> {
    if directions.is_empty() {
        return Vec::new();
    }
    let refs: Vec<&Params> = directions.iter().collect();
    linearization.hessian_vector_products(&refs)
}

/// Parameter vectors (of `width` values) as the rows of a `[k, P]` matrix.
fn rows_of(vectors: &[Params], width: usize) -> Array2<f64> {
    let mut rows = Array2::zeros((vectors.len(), width));
    for (mut row, vector) in rows.rows_mut().into_iter().zip(vectors) {
        row.assign(&ArrayView1::from(vector.values()));
    }
    rows
}

/// An orthonormal basis of the span of the rows of `vectors`, as rows, in order: each row
/// has its components along the basis so far removed twice (classical Gram–Schmidt with
/// reorthogonalisation) and is kept, normalised, unless what remains is below
/// [`DEPENDENT`] of its norm.
pub fn orthonormal_rows(vectors: &Array2<f64>) -> Array2<f64> {
    let mut basis = Array2::zeros(vectors.raw_dim());
    let mut rank = 0;
    for vector in vectors.rows() {
        let norm = vector.dot(&vector).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            continue;
        }
        let mut rest = vector.to_owned();
        let kept = basis.slice(s![..rank, ..]);
        for _ in 0..2 {
            let along = kept.dot(&rest);
            for (&a, b) in along.iter().zip(kept.rows()) {
                rest.scaled_add(-a, &b);
            }
        }
        let left = rest.dot(&rest).sqrt();
        if left > DEPENDENT * norm {
            basis.row_mut(rank).assign(&(rest / left));
            rank += 1;
        }
    }
    basis.slice(s![..rank, ..]).to_owned()
}

/// The projector `Π_i` onto the span of the coordinates of every sketch column but the
/// i-th (`coordinates` `[r, k]`, column j the coordinates of `y_j`). When the sketch has
/// full rank (r = k) the coordinates are triangular and `Π_i = I − s_i s_iᵀ`, `s_i` the
/// normalised solution of `Cᵀ s = e_i` (the paper's form); otherwise a basis of the other
/// columns is made.
fn leave_one_out_projector(coordinates: &Array2<f64>, i: usize) -> Array2<f64> {
    let (rank, tests) = coordinates.dim();
    if rank == tests {
        // Forward substitution on the lower-triangular Cᵀ.
        let mut x = Array1::<f64>::zeros(rank);
        for row in 0..rank {
            let known: f64 = (0..row).map(|j| coordinates[[j, row]] * x[j]).sum();
            let unit = if row == i { 1.0 } else { 0.0 };
            x[row] = (unit - known) / coordinates[[row, row]];
        }
        let norm = x.dot(&x).sqrt();
        if norm.is_finite() && norm > 0.0 {
            let unit = x / norm;
            let column = unit.view().insert_axis(Axis(1));
            return Array2::eye(rank) - column.dot(&column.t());
        }
    }
    projector_from_a_basis(coordinates, i)
}

/// [`leave_one_out_projector`] made from an orthonormal basis of the other columns.
fn projector_from_a_basis(coordinates: &Array2<f64>, i: usize) -> Array2<f64> {
    let (rank, tests) = coordinates.dim();
    let others: Vec<ArrayView1<f64>> = (0..tests)
        .filter(|&j| j != i)
        .map(|j| coordinates.column(j))
        .collect();
    let others = ndarray::stack(Axis(0), &others).unwrap_or_else(|_| Array2::zeros((0, rank)));
    let small = orthonormal_rows(&others);
    small.t().dot(&small)
}

/// A forward pass and a gradient, M Hessian-vector products as a stack of `M·N` tangent
/// rows (four sweeps of the weights: forward tangent, backward tangent, the two terms of
/// the weights' product), and the bases, `2·P·(M/2)²`.
pub fn work(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let weights = weights(widths);
    let tests = (draws / 2) as f64;
    gradient_work(widths, batch)
        + 2.0 * padded_rows(draws * batch) * weights
        + 2.0 * (draws * batch) as f64 * weights
        + 2.0 * parameters(widths) * tests * tests
}

/// The test vectors, the sketch, the basis and its products (`4·(M/2)·P` floats) and the
/// tangent stacks (`4·(M/2)·N·U`).
pub fn memory(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let tests = (draws / 2) as f64;
    F64_BYTES * 4.0 * tests * (parameters(widths) + batch as f64 * units(widths))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triangular_shortcut_is_the_projector_onto_the_other_columns() {
        let coordinates = ndarray::arr2(&[
            [2.0, -1.0, 0.5, 3.0],
            [0.0, 1.5, 2.0, -1.0],
            [0.0, 0.0, -0.7, 0.2],
            [0.0, 0.0, 0.0, 1.1],
        ]);
        for i in 0..4 {
            let shortcut = leave_one_out_projector(&coordinates, i);
            let general = projector_from_a_basis(&coordinates, i);
            assert!(
                shortcut.abs_diff_eq(&general, 1e-13),
                "{i}: {shortcut} vs {general}"
            );
        }
        let deficient = ndarray::arr2(&[[1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]);
        let projector = leave_one_out_projector(&deficient, 2);
        let expected = ndarray::arr2(&[[1.0, 0.0], [0.0, 0.0]]);
        assert!(projector.abs_diff_eq(&expected, 1e-14), "{projector}");
    }

    #[test]
    fn orthonormal_rows_span_the_rows_and_drop_dependent_ones() {
        let vectors = ndarray::arr2(&[
            [1.0, 2.0, 0.0, 1.0],
            [2.0, 4.0, 0.0, 2.0],
            [0.0, 1.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 3.0, 1.0, 1.0],
        ]);
        let basis = orthonormal_rows(&vectors);
        assert_eq!(basis.nrows(), 2, "rank 2: {basis}");
        let gram = basis.dot(&basis.t());
        assert!(gram.abs_diff_eq(&Array2::eye(2), 1e-14), "{gram}");
        for vector in vectors.rows() {
            let rest = &vector - &basis.t().dot(&basis.dot(&vector));
            assert!(rest.iter().all(|v| v.abs() < 1e-13), "{vector} left {rest}");
        }
    }
}
