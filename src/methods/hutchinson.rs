//! Hutchinson's estimators (SPEC §2): for Rademacher vectors `v` over all parameters,
//! `E[v ⊙ Hv] = diag(H)`. `hutchinson:M` is AdaHessian's `(1/M) Σ_m |v_m ⊙ H v_m|`
//! (a true mean over M draws, SPEC §2.3; `|v ⊙ Hv| = |Hv|` since v = ±1),
//! `hutchinson_signed:M` the unbiased `(1/M) Σ_m v_m ⊙ H v_m`.
//!
//! All M Hessian-vector products go through together, as the rows of one stack of
//! tangents (row `m·N + n`: direction m, sample n), so every step is one matrix product
//! with M·N rows rather than M products of N rows. The directions are kept as sign bits
//! and never expanded into parameter-shaped tensors: per layer l, Pearlmutter's R-op
//! (as [`crate::nn::Linearization::hessian_vector_products`]) reads
//! * forward: `ȧ_l = ḣ_{l−1} W_lᵀ + h_{l−1} V_lᵀ + v_{b,l}`, `ḣ_l = φ'(a_l) ⊙ ȧ_l`;
//! * output: `δ̇_L = ∇²_z ℓ · ȧ_L`;
//! * backward: `(Hv)_{W_l} = δ̇_lᵀ h_{l−1} + δ_lᵀ ḣ_{l−1}`, `(Hv)_{b_l} = Σ_n δ̇_l`,
//!   `γ̇_{l−1} = δ̇_l W_l + δ_l V_l`, `δ̇_{l−1} = φ' ⊙ γ̇_{l−1} + φ'' ⊙ ȧ_{l−1} ⊙ γ_{l−1}`,
//!
//! with `V_l`, `v_{b,l}` the direction's signs, applied by adding or subtracting. The
//! estimate of each weight is accumulated over the directions in order as its `(Hv)` is
//! formed, one row of the weight at a time.

use std::sync::Arc;

use multiversion::multiversion;
use ndarray::Array2;
use ndarray_rand::rand::RngCore;
use rand_chacha::ChaCha8Rng;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::linear::{affine, times};
use crate::nn::work::{gradient_work, padded_rows, parameters, weights, F64_BYTES};
use crate::nn::{Linearization, ParamLayout, Params, PlainMlp};

/// AdaHessian's estimator.
pub const HUTCHINSON: MethodDef = MethodDef {
    name: "hutchinson",
    estimates: "Hessian diagonal magnitude: AdaHessian's mean of |v * Hv| over M Rademacher v",
    cost: CostClass::HvpPerDraw,
    draws: Draws::MonteCarlo { in_all: &[1, 50] },
    estimate: Estimate::FromLinearization(|linearization, draws, rng| {
        Diagonal::Params(hessian_diag_estimate(
            linearization,
            draws,
            Estimator::AbsoluteValue,
            rng,
        ))
    }),
    work,
    memory,
};

/// The unbiased Hutchinson estimator.
pub const HUTCHINSON_SIGNED: MethodDef = MethodDef {
    name: "hutchinson_signed",
    estimates: "Hessian diagonal, unbiased: mean of v * Hv over M Rademacher v",
    cost: CostClass::HvpPerDraw,
    draws: Draws::MonteCarlo { in_all: &[1, 50] },
    estimate: Estimate::FromLinearization(|linearization, draws, rng| {
        Diagonal::Params(hessian_diag_estimate(
            linearization,
            draws,
            Estimator::Signed,
            rng,
        ))
    }),
    work,
    memory,
};

/// Which average of `v ⊙ Hv` to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// AdaHessian's `|v ⊙ Hv|`.
    AbsoluteValue,
    /// The unbiased `v ⊙ Hv`.
    Signed,
}

/// `SIGNS[b][j]` is +1 when bit j of the byte b is set and −1 otherwise.
static SIGNS: [[f64; 8]; 256] = sign_table();

const fn sign_table() -> [[f64; 8]; 256] {
    let mut table = [[0.0; 8]; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut bit = 0;
        while bit < 8 {
            table[byte][bit] = if (byte >> bit) & 1 == 1 { 1.0 } else { -1.0 };
            bit += 1;
        }
        byte += 1;
    }
    table
}

/// M Rademacher directions over all parameters, as sign bits. Parameter k (in the order
/// `W_1` row by row, `b_1`, `W_2`, …) of direction m is bit `k mod 64` of the direction's
/// word `⌊k/64⌋`, its `⌈P/64⌉` words drawn in order from the stream; bit 1 is +1. These
/// are the draws of [`fill_rademacher`]. Each direction's words are followed by a zero
/// word, so that any 8 bits can be read from two neighbouring words without a test.
pub struct Directions {
    words: Vec<u64>,
    /// Words per direction, the zero word included.
    stride: usize,
}

impl Directions {
    /// Draw `count` directions over `parameters` parameters.
    pub fn draw(parameters: usize, count: usize, rng: &mut ChaCha8Rng) -> Directions {
        let drawn = parameters.div_ceil(64);
        let mut words = Vec::with_capacity(count * (drawn + 1));
        for _ in 0..count {
            words.extend((0..drawn).map(|_| rng.next_u64()));
            words.push(0);
        }
        Directions {
            words,
            stride: drawn + 1,
        }
    }

    /// The signs of parameters `k .. k + 64` of direction m as the bits of a word, lowest
    /// first (bits past the last parameter are unspecified).
    #[inline(always)]
    fn window(&self, m: usize, k: usize) -> u64 {
        let at = m * self.stride + k / 64;
        let pair = u128::from(self.words[at]) | u128::from(self.words[at + 1]) << 64;
        (pair >> (k % 64)) as u64
    }

    /// The signs of parameters `k .. k + 8` of direction m as the bits of a byte.
    #[inline(always)]
    fn byte(&self, m: usize, k: usize) -> usize {
        (self.window(m, k) & 0xff) as usize
    }

    /// The sign of parameter k of direction m.
    #[inline(always)]
    fn sign(&self, m: usize, k: usize) -> f64 {
        let word = self.words[m * self.stride + k / 64];
        if (word >> (k % 64)) & 1 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// `Σ_i s_i x_i` with `s` the signs of parameters `start .. start + x.len()` of
    /// direction m, from the [`SignedSums`] of `x`: one look-up per 8 inputs; the
    /// look-ups of each 64 inputs are added pairwise when there are 8 of them, in order
    /// otherwise, and those sums in order.
    #[inline(always)]
    fn signed_sum(&self, m: usize, start: usize, sums: &SignedSums) -> f64 {
        let mut total = 0.0;
        for (c, groups) in sums.table.chunks(8 * 256).enumerate() {
            let bits = self.window(m, start + 64 * c);
            let look_up = |g: usize| groups[g * 256 + ((bits >> (8 * g)) & 0xff) as usize];
            total += match groups.len() / 256 {
                8 => {
                    ((look_up(0) + look_up(1)) + (look_up(2) + look_up(3)))
                        + ((look_up(4) + look_up(5)) + (look_up(6) + look_up(7)))
                }
                1 => look_up(0),
                2 => look_up(0) + look_up(1),
                count => (0..count).fold(0.0, |sum, g| sum + look_up(g)),
            };
        }
        total
    }

    /// `y_i += α s_i` with `s` the signs of parameters `start .. start + y.len()` of
    /// direction m.
    #[inline(always)]
    fn add_signed(&self, m: usize, start: usize, alpha: f64, y: &mut [f64]) {
        let full = y.len() / 8 * 8;
        let (body, tail) = y.split_at_mut(full);
        for (g, chunk) in body.chunks_exact_mut(8).enumerate() {
            let signs = &SIGNS[self.byte(m, start + 8 * g)];
            for j in 0..8 {
                chunk[j] = signs[j].mul_add(alpha, chunk[j]);
            }
        }
        if !tail.is_empty() {
            let signs = &SIGNS[self.byte(m, start + full)];
            for (value, &sign) in tail.iter_mut().zip(signs) {
                *value = sign.mul_add(alpha, *value);
            }
        }
    }

    /// `y_i += s_i x_i` with `s` the signs of parameters `start .. start + y.len()` of
    /// direction m.
    #[inline(always)]
    fn add_signed_product(&self, m: usize, start: usize, x: &[f64], y: &mut [f64]) {
        for (g, (chunk, values)) in y.chunks_mut(8).zip(x.chunks(8)).enumerate() {
            let signs = &SIGNS[self.byte(m, start + 8 * g)];
            for ((value, &sign), &x) in chunk.iter_mut().zip(signs).zip(values) {
                *value = sign.mul_add(x, *value);
            }
        }
    }
}

/// Every signed sum of each group of 8 consecutive values of `x` (`x` padded with zeros to
/// a multiple of 8): `table[g·256 + b] = Σ_j ±x_{8g+j}`, `+` where bit j of b is set. Made
/// once per input vector, it turns `Σ_i s_i x_i` for any signs into one look-up per 8
/// values, whatever the number of directions and rows that use it.
struct SignedSums {
    /// `[⌈len/8⌉, 256]`, group by group.
    table: Vec<f64>,
}

impl SignedSums {
    /// An empty table, to be [`SignedSums::fill`]ed.
    fn new() -> SignedSums {
        SignedSums { table: Vec::new() }
    }

    /// Make the table of `x`: `table[g·256] = −Σ_j x_{8g+j}` (in order), then, bit by
    /// bit, the patterns with bit j set from those below them, `+ 2·x_{8g+j}` (a run of
    /// independent additions per bit).
    #[inline(always)]
    fn fill(&mut self, x: &[f64]) {
        let groups = x.len().div_ceil(8);
        self.table.resize(groups * 256, 0.0);
        for (values, patterns) in x.chunks(8).zip(self.table.chunks_exact_mut(256)) {
            patterns[0] = -values.iter().fold(0.0, |sum, &v| sum + v);
            for bit in 0..8 {
                let twice = values.get(bit).map_or(0.0, |&v| 2.0 * v);
                let (below, above) = patterns.split_at_mut(1 << bit);
                for (high, &low) in above[..1 << bit].iter_mut().zip(below.iter()) {
                    *high = low + twice;
                }
            }
        }
    }
}

/// Overwrite `direction` with a Rademacher vector (±1 with probability ½ each), drawn in
/// the parameters' order (layer by layer, weight row-major before bias). Each 64-bit draw
/// of `rng` gives 64 signs, lowest bit first (bit 1 → +1, bit 0 → −1): one direction of
/// [`Directions`].
pub fn fill_rademacher(direction: &mut Params, rng: &mut ChaCha8Rng) {
    let mut bits = 0u64;
    let mut bits_left = 0u32;
    for value in direction.values_mut() {
        if bits_left == 0 {
            bits = rng.next_u64();
            bits_left = u64::BITS;
        }
        *value = if bits & 1 == 1 { 1.0 } else { -1.0 };
        bits >>= 1;
        bits_left -= 1;
    }
}

/// A Rademacher vector in `layout` (see [`fill_rademacher`]).
pub fn rademacher_like(layout: &Arc<ParamLayout>, rng: &mut ChaCha8Rng) -> Params {
    let mut direction = Params::zeros(layout);
    fill_rademacher(&mut direction, rng);
    direction
}

/// Where a layer's parameters sit among all of them, and its shape.
#[derive(Clone, Copy)]
struct LayerSlot {
    /// The index of `W_l[0, 0]`; the bias follows the weight.
    weight: usize,
    outputs: usize,
    inputs: usize,
}

impl LayerSlot {
    fn bias(self) -> usize {
        self.weight + self.outputs * self.inputs
    }
}

/// The sizes of a tangent stack: M directions of N samples.
#[derive(Clone, Copy)]
struct Stack {
    draws: usize,
    samples: usize,
}

/// Forward, the directions' own term: `ȧ[m·N+n, o] += Σ_i V_l[o,i] h[n,i] + v_b[o]`.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn add_direction_inputs(
    directions: &Directions,
    slot: LayerSlot,
    stack: Stack,
    inputs: &[f64],
    tangent: &mut [f64],
) {
    let mut sums = SignedSums::new();
    for n in 0..stack.samples {
        sums.fill(&inputs[n * slot.inputs..(n + 1) * slot.inputs]);
        for m in 0..stack.draws {
            let row = m * stack.samples + n;
            let out = &mut tangent[row * slot.outputs..(row + 1) * slot.outputs];
            let mut bias_signs = 0;
            for (o, value) in out.iter_mut().enumerate() {
                if o % 64 == 0 {
                    bias_signs = directions.window(m, slot.bias() + o);
                }
                let bias = if bias_signs & 1 == 1 { 1.0 } else { -1.0 };
                bias_signs >>= 1;
                *value += directions.signed_sum(m, slot.weight + o * slot.inputs, &sums) + bias;
            }
        }
    }
}

/// Backward, the directions' own term: `γ̇[m·N+n, :] += Σ_o δ[n, o] V_l[o, :]`, a block of
/// columns at a time held in registers while it runs through the rows.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn add_direction_gradients(
    directions: &Directions,
    slot: LayerSlot,
    stack: Stack,
    delta: &[f64],
    hidden: &mut [f64],
) {
    let inputs = slot.inputs;
    let full = inputs / 8 * 8;
    for m in 0..stack.draws {
        for n in 0..stack.samples {
            let row = m * stack.samples + n;
            let out = &mut hidden[row * inputs..(row + 1) * inputs];
            let delta = &delta[n * slot.outputs..(n + 1) * slot.outputs];
            for (start, count) in blocks(inputs) {
                let first = slot.weight + start;
                let block = &mut out[start..start + 8 * count];
                match count {
                    4 => signed_rows::<4>(directions, m, first, inputs, delta, block),
                    2 => signed_rows::<2>(directions, m, first, inputs, delta, block),
                    _ => signed_rows::<1>(directions, m, first, inputs, delta, block),
                }
            }
            if full < inputs {
                for (o, &d) in delta.iter().enumerate() {
                    directions.add_signed(m, slot.weight + o * inputs + full, d, &mut out[full..]);
                }
            }
        }
    }
}

/// `y += Σ_o d_o s_o` for a block of `8·L` columns held in registers, `s_o` the signs of
/// direction m from parameter `first + o·stride` on.
#[inline(always)]
fn signed_rows<const L: usize>(
    directions: &Directions,
    m: usize,
    first: usize,
    stride: usize,
    d: &[f64],
    y: &mut [f64],
) {
    let mut block = lanes::<L>(y);
    for (o, &d) in d.iter().enumerate() {
        let mut bits = directions.window(m, first + o * stride);
        for lane in block.iter_mut() {
            let signs = &SIGNS[(bits & 0xff) as usize];
            for j in 0..8 {
                lane[j] = signs[j].mul_add(d, lane[j]);
            }
            bits >>= 8;
        }
    }
    store(&block, y);
}

/// What one layer's `(Hv)` is formed from.
struct LayerTerms<'a> {
    /// `δ̇_l`, `[M·N, out]`.
    delta_tangent: &'a [f64],
    /// `δ_l`, `[N, out]`.
    delta: &'a [f64],
    /// `h_{l−1}`, `[N, in]`.
    inputs: &'a [f64],
    /// `ḣ_{l−1}`, `[M·N, in]`; none for the first layer (the input has no tangent).
    input_tangent: Option<&'a [f64]>,
}

/// `8·L` values as `L` lanes of eight (to be held in registers).
#[inline(always)]
fn lanes<const L: usize>(values: &[f64]) -> [[f64; 8]; L] {
    let mut lanes = [[0.0; 8]; L];
    for (lane, chunk) in lanes.iter_mut().zip(values.chunks_exact(8)) {
        lane.copy_from_slice(chunk);
    }
    lanes
}

/// Store `L` lanes of eight back into `8·L` values.
#[inline(always)]
fn store<const L: usize>(lanes: &[[f64; 8]; L], values: &mut [f64]) {
    for (lane, chunk) in lanes.iter().zip(values.chunks_exact_mut(8)) {
        chunk.copy_from_slice(lane);
    }
}

/// The blocks of a row of `len` columns: as many blocks of 4 lanes of 8 as fit, then at
/// most one of 2 lanes and one of 1, as `(start, lanes)`; the columns past the last block
/// (fewer than 8) are left to a plain loop.
fn blocks(len: usize) -> impl Iterator<Item = (usize, usize)> {
    let fours = len / 32;
    let rest = len % 32;
    (0..fours)
        .map(|b| (32 * b, 4))
        .chain((rest >= 16).then_some((32 * fours, 2)))
        .chain((rest % 16 >= 8).then_some((32 * fours + rest / 16 * 16, 1)))
}

/// Add each direction's `|Hv|` (or `v ⊙ Hv`) of one layer to the running sums, weight row
/// by weight row, directions in order: `(Hv)_{W}[o, i] = Σ_n δ̇[m·N+n, o] h[n, i] +
/// δ[n, o] ḣ[m·N+n, i]` and `(Hv)_b[o] = Σ_n δ̇[m·N+n, o]`.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn accumulate(
    directions: &Directions,
    estimator: Estimator,
    slot: LayerSlot,
    stack: Stack,
    terms: &LayerTerms,
    weight_sums: &mut [f64],
    bias_sums: &mut [f64],
) {
    let (outputs, inputs) = (slot.outputs, slot.inputs);
    let mut product = vec![0.0; inputs];
    for o in 0..outputs {
        let sums = &mut weight_sums[o * inputs..(o + 1) * inputs];
        let mut bias_sum = bias_sums[o];
        for m in 0..stack.draws {
            let mut bias_product = 0.0;
            for n in 0..stack.samples {
                bias_product += terms.delta_tangent[(m * stack.samples + n) * outputs + o];
            }
            bias_sum += match estimator {
                Estimator::AbsoluteValue => bias_product.abs(),
                Estimator::Signed => directions.sign(m, slot.bias() + o) * bias_product,
            };
        }
        bias_sums[o] = bias_sum;
        if stack.samples == 1 {
            // One sample: `|δ̇_m h + δ ḣ_m|` (or its signed value) summed over the
            // directions, blocks of columns held in registers, then the last columns; one
            // loop per estimator, so that neither tests which it is per element.
            let row = OneSampleRow {
                terms,
                o,
                outputs,
                draws: stack.draws,
            };
            match estimator {
                Estimator::AbsoluteValue => row.sums(sums, |_, _, sums, product| {
                    for j in 0..8 {
                        sums[j] += product[j].abs();
                    }
                }),
                Estimator::Signed => row.sums(sums, |m, column, sums, product| {
                    let signs = &SIGNS[directions.byte(m, slot.weight + o * inputs + column)];
                    for j in 0..8 {
                        sums[j] = signs[j].mul_add(product[j], sums[j]);
                    }
                }),
            }
            continue;
        }
        for m in 0..stack.draws {
            product.iter_mut().for_each(|p| *p = 0.0);
            for n in 0..stack.samples {
                let row = m * stack.samples + n;
                let dd = terms.delta_tangent[row * outputs + o];
                let d = terms.delta[n * outputs + o];
                let h = &terms.inputs[n * inputs..(n + 1) * inputs];
                match terms.input_tangent {
                    Some(tangent) => {
                        let ht = &tangent[row * inputs..(row + 1) * inputs];
                        for ((p, &x), &y) in product.iter_mut().zip(h).zip(ht) {
                            *p += x.mul_add(dd, d * y);
                        }
                    }
                    None => {
                        for (p, &x) in product.iter_mut().zip(h) {
                            *p += x * dd;
                        }
                    }
                }
            }
            match estimator {
                Estimator::AbsoluteValue => {
                    for (s, &p) in sums.iter_mut().zip(&product) {
                        *s += p.abs();
                    }
                }
                Estimator::Signed => {
                    directions.add_signed_product(m, slot.weight + o * inputs, &product, sums);
                }
            }
        }
    }
}

/// Weight row o of one layer at batch 1: `(Hv)_{W}[o, i] = δ̇_m[o] h[i] + δ[o] ḣ_m[i]`.
struct OneSampleRow<'a> {
    terms: &'a LayerTerms<'a>,
    o: usize,
    outputs: usize,
    draws: usize,
}

impl OneSampleRow<'_> {
    /// Add every direction's products of the row to `sums`: `add(m, column, sums,
    /// product)` adds direction m's products of the eight columns from `column` on.
    #[inline(always)]
    fn sums(&self, sums: &mut [f64], add: impl Fn(usize, usize, &mut [f64; 8], &[f64; 8])) {
        let (terms, o, outputs) = (self.terms, self.o, self.outputs);
        let inputs = sums.len();
        let column = |m: usize| terms.delta_tangent[m * outputs + o];
        let d = terms.delta[o];
        for (start, count) in blocks(inputs) {
            let block = &mut sums[start..start + 8 * count];
            let x = &terms.inputs[start..];
            let y = terms.input_tangent.map(|tangent| (tangent, start));
            let add = |m: usize, lane: usize, sums: &mut [f64; 8], product: &[f64; 8]| {
                add(m, start + 8 * lane, sums, product)
            };
            match count {
                4 => block_sums::<4>(block, x, d, y, inputs, self.draws, column, add),
                2 => block_sums::<2>(block, x, d, y, inputs, self.draws, column, add),
                _ => block_sums::<1>(block, x, d, y, inputs, self.draws, column, add),
            }
        }
        let full = inputs / 8 * 8;
        if full < inputs {
            let y = terms.input_tangent.map(|tangent| (tangent, full));
            tail_sums(
                &mut sums[full..],
                &terms.inputs[full..],
                d,
                y,
                inputs,
                self.draws,
                column,
                |m, sums, product| add(m, full, sums, product),
            );
        }
    }
}

/// `sums += Σ_m |δ̇_m x + d y_m|` (or the signed sum, as `add` says) for a block of `8·L`
/// columns held in registers: `x` the inputs from the block's first column on, `y` the
/// input tangents (rows of `stride`) and the block's first column, `δ̇_m` = `column(m)`;
/// `add(m, lane, sums, product)` adds direction m's products of one lane of eight.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_sums<const L: usize>(
    sums: &mut [f64],
    x: &[f64],
    d: f64,
    y: Option<(&[f64], usize)>,
    stride: usize,
    draws: usize,
    column: impl Fn(usize) -> f64,
    add: impl Fn(usize, usize, &mut [f64; 8], &[f64; 8]),
) {
    let x = lanes::<L>(x);
    let mut block = lanes::<L>(sums);
    let mut product = [[0.0; 8]; L];
    for m in 0..draws {
        let dd = column(m);
        match y {
            Some((tangent, start)) => {
                let y = lanes::<L>(&tangent[m * stride + start..m * stride + start + 8 * L]);
                for k in 0..L {
                    for j in 0..8 {
                        product[k][j] = x[k][j].mul_add(dd, d * y[k][j]);
                    }
                }
            }
            None => {
                for k in 0..L {
                    for j in 0..8 {
                        product[k][j] = x[k][j] * dd;
                    }
                }
            }
        }
        for k in 0..L {
            add(m, k, &mut block[k], &product[k]);
        }
    }
    store(&block, sums);
}

/// [`block_sums`] for the last `len < 8` columns of a row, in one lane of 8 held in a
/// register (the columns past `len` count zeros); `add(m, sums, product)` adds direction
/// m's products.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tail_sums(
    sums: &mut [f64],
    x: &[f64],
    d: f64,
    y: Option<(&[f64], usize)>,
    stride: usize,
    draws: usize,
    column: impl Fn(usize) -> f64,
    add: impl Fn(usize, &mut [f64; 8], &[f64; 8]),
) {
    let len = sums.len();
    let mut lane = [0.0; 8];
    let mut inputs = [0.0; 8];
    let mut product = [0.0; 8];
    lane[..len].copy_from_slice(sums);
    inputs[..len].copy_from_slice(&x[..len]);
    for m in 0..draws {
        let dd = column(m);
        match y {
            Some((tangent, start)) => {
                let y = &tangent[m * stride + start..m * stride + start + len];
                for j in 0..8 {
                    let yj = if j < len { y[j] } else { 0.0 };
                    product[j] = inputs[j].mul_add(dd, d * yj);
                }
            }
            None => {
                for j in 0..8 {
                    product[j] = inputs[j] * dd;
                }
            }
        }
        add(m, &mut lane, &product);
    }
    sums.copy_from_slice(&lane[..len]);
}

/// An array's values as one row-major slice.
fn values(array: &Array2<f64>) -> &[f64] {
    array.as_slice().expect("fresh arrays are row-major")
}

/// The Hutchinson estimate of every parameter's diagonal from `draws` Rademacher
/// directions drawn from `rng` (see the module documentation): for a multi-layer
/// perceptron by its fast path ([`by_sign_bits`]), for any other network through the walks
/// ([`by_walks`]); both draw the same directions.
pub fn hessian_diag_estimate(
    linearization: &Linearization,
    draws: usize,
    estimator: Estimator,
    rng: &mut ChaCha8Rng,
) -> Params {
    match linearization.plain() {
        Some(plain) => by_sign_bits(linearization, &plain, draws, estimator, rng),
        None => by_walks(linearization, draws, estimator, rng),
    }
}

/// The estimate through the two walks: the directions as flat vectors
/// ([`rademacher_like`]), their Hessian-vector products
/// ([`Linearization::hessian_vector_products`]), and the mean over the directions of
/// `|v ⊙ Hv|` or `v ⊙ Hv`, parameter by parameter.
pub fn by_walks(
    linearization: &Linearization,
    draws: usize,
    estimator: Estimator,
    rng: &mut ChaCha8Rng,
) -> Params {
    let layout = linearization.mlp().params().layout();
    let directions: Vec<Params> = (0..draws).map(|_| rademacher_like(layout, rng)).collect();
    let products = linearization.hessian_vector_products(&directions.iter().collect::<Vec<_>>());
    let mut sums = vec![0.0; layout.len()];
    for (direction, product) in directions.iter().zip(&products) {
        for ((sum, &v), &hv) in sums
            .iter_mut()
            .zip(direction.values())
            .zip(product.values())
        {
            *sum += match estimator {
                Estimator::AbsoluteValue => hv.abs(),
                Estimator::Signed => v * hv,
            };
        }
    }
    let weight_of_draw = 1.0 / draws as f64;
    Params::from_values(
        layout,
        sums.into_iter().map(|s| s * weight_of_draw).collect(),
    )
}

/// The fast path of a multi-layer perceptron: the directions as sign bits, all M products
/// as the rows of one tangent stack, register-blocked kernels (see the module
/// documentation); the same numbers as [`by_walks`] up to rounding.
pub fn by_sign_bits(
    linearization: &Linearization,
    plain: &PlainMlp,
    draws: usize,
    estimator: Estimator,
    rng: &mut ChaCha8Rng,
) -> Params {
    assert!(draws >= 1, "at least one draw");
    let depth = plain.depth();
    let samples = linearization.batch_size();
    let stack = Stack { draws, samples };
    let layout = linearization.mlp().params().layout();
    let slots: Vec<LayerSlot> = layout
        .layers()
        .iter()
        .map(|slot| LayerSlot {
            weight: slot.range.start,
            outputs: slot.tensors[0].shape[0],
            inputs: slot.tensors[0].shape[1],
        })
        .collect();
    let directions = Directions::draw(layout.len(), draws, rng);

    // Forward: `ȧ_l` of every layer and `ḣ_l` of every hidden layer.
    let mut preact_tangents: Vec<Array2<f64>> = Vec::with_capacity(depth);
    let mut hidden_tangents: Vec<Array2<f64>> = Vec::with_capacity(depth - 1);
    for (l, &slot) in slots.iter().enumerate() {
        let mut tangent = match hidden_tangents.last() {
            Some(below) => affine(below.view(), plain.weight(l), None),
            None => Array2::zeros((draws * samples, slot.outputs)),
        };
        add_direction_inputs(
            &directions,
            slot,
            stack,
            values(plain.input(l)),
            tangent.as_slice_mut().expect("fresh arrays are row-major"),
        );
        if l + 1 < depth {
            let slopes = plain.slopes(l);
            let mut hidden = tangent.clone();
            for (r, mut row) in hidden.rows_mut().into_iter().enumerate() {
                row *= &slopes.row(r % samples);
            }
            hidden_tangents.push(hidden);
        }
        preact_tangents.push(tangent);
    }

    // Backward: `δ̇_l` from the output down, each layer's products summed as they form.
    let mut delta_tangent = linearization
        .loss()
        .hessian_vector_product(linearization.output(), &preact_tangents[depth - 1]);
    let weight_of_draw = 1.0 / draws as f64;
    let mut estimate = linearization.mlp().zeros_like_params();
    for l in (0..depth).rev() {
        let slot = slots[l];
        let (weight_sums, bias_sums) = estimate
            .layer_mut(l)
            .split_at_mut(slot.outputs * slot.inputs);
        accumulate(
            &directions,
            estimator,
            slot,
            stack,
            &LayerTerms {
                delta_tangent: values(&delta_tangent),
                delta: values(plain.preact_grad(l)),
                inputs: values(plain.input(l)),
                input_tangent: l
                    .checked_sub(1)
                    .map(|below| values(&hidden_tangents[below])),
            },
            weight_sums,
            bias_sums,
        );
        for sum in estimate.layer_mut(l) {
            *sum *= weight_of_draw;
        }
        if l > 0 {
            let mut hidden = times(delta_tangent.view(), plain.weight(l));
            add_direction_gradients(
                &directions,
                slot,
                stack,
                values(plain.preact_grad(l)),
                hidden.as_slice_mut().expect("fresh arrays are row-major"),
            );
            let (slopes, curvatures) = (plain.slopes(l - 1), plain.curvatures(l - 1));
            let gradient = plain.hidden_grad(l - 1);
            let below = &preact_tangents[l - 1];
            for (r, (mut row, tangent)) in
                hidden.rows_mut().into_iter().zip(below.rows()).enumerate()
            {
                let n = r % samples;
                ndarray::Zip::from(&mut row)
                    .and(&slopes.row(n))
                    .and(&curvatures.row(n))
                    .and(&tangent)
                    .and(&gradient.row(n))
                    .for_each(|value, &s, &c, &t, &g| *value = s * *value + c * t * g);
            }
            delta_tangent = hidden;
        }
    }
    estimate
}

/// The gradient, then per direction and sample: the two products with the weights
/// (`⌈M·N⌉₈` rows each) and four sweeps over the weights (the directions' terms and the
/// accumulated products).
fn work(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let weights = weights(widths);
    gradient_work(widths, batch)
        + 2.0 * padded_rows(draws * batch) * weights
        + 4.0 * (draws * batch) as f64 * weights
}

/// The tangent stacks (`4·M·N·U` floats), the sign bits and the sums.
fn memory(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    let params = parameters(widths);
    F64_BYTES * (4.0 * (draws * batch) as f64 * units + draws as f64 * params / 64.0 + 2.0 * params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of Linear layers of these (outputs, inputs).
    fn linear_layout(shapes: &[(usize, usize)]) -> Arc<ParamLayout> {
        Arc::new(ParamLayout::new(shapes.iter().enumerate().map(
            |(l, &(outputs, inputs))| {
                (
                    2 * l,
                    vec![("weight", vec![outputs, inputs]), ("bias", vec![outputs])],
                )
            },
        )))
    }

    #[test]
    fn each_draw_gives_64_signs_lowest_bit_first_across_layers() {
        let layout = linear_layout(&[(3, 30), (7, 3)]);
        let mut rng = crate::rng::stream_rng(1, 2, 3);
        let mut reference = crate::rng::stream_rng(1, 2, 3);
        for _ in 0..2 {
            let direction = rademacher_like(&layout, &mut rng);
            let values = direction.values();
            assert_eq!(values.len(), 3 * 30 + 3 + 7 * 3 + 7);
            for chunk in values.chunks(64) {
                let bits = reference.next_u64();
                for (k, &value) in chunk.iter().enumerate() {
                    assert_eq!(value, if bits >> k & 1 == 1 { 1.0 } else { -1.0 });
                }
            }
        }
    }

    #[test]
    fn the_bit_directions_are_the_rademacher_vectors_of_the_same_stream() {
        let layout = linear_layout(&[(5, 13), (70, 5), (2, 70)]);
        let directions = Directions::draw(layout.len(), 3, &mut crate::rng::stream_rng(4, 5, 6));
        let mut rng = crate::rng::stream_rng(4, 5, 6);
        for m in 0..3 {
            let vector = rademacher_like(&layout, &mut rng).values().to_vec();
            for (k, &value) in vector.iter().enumerate() {
                assert_eq!(directions.sign(m, k), value, "direction {m}, parameter {k}");
                assert_eq!(
                    SIGNS[directions.byte(m, k)][0],
                    value,
                    "direction {m}, byte at {k}"
                );
            }
            let mut ones = SignedSums::new();
            ones.fill(&[1.0; 40]);
            let expected: f64 = vector[17..57].iter().sum();
            assert_eq!(directions.signed_sum(m, 17, &ones), expected);
            let mut added = vec![0.5; 13];
            directions.add_signed(m, 60, 2.0, &mut added);
            for (i, &value) in added.iter().enumerate() {
                assert_eq!(value, 0.5 + 2.0 * vector[60 + i]);
            }
        }
    }
}
