//! Size estimates of the model's own passes, made before any work: the multiply-adds of a
//! gradient and the bytes of a model with its batch. Each method adds its own on top
//! (`crate::methods::MethodDef::work` and `::memory`).
//!
//! Networks are given by their layer `widths`, input to output, and a batch of N samples;
//! `P = Σ_l in_l·out_l` counts the weights.

/// Bytes of one f64.
pub const F64_BYTES: f64 = 8.0;

/// The estimated multiply-adds per second of one thread that work estimates are turned
/// into time with, for a run's plan: on the standard quality study (2-core AMD EPYC,
/// 2026) 1.6e11 estimated multiply-adds took 29 CPU-seconds.
pub const WORK_PER_SECOND: f64 = 5.5e9;

/// The CPU time of one training step (minibatch forward and backward, the optimizer's
/// update) in units of its minibatch [`gradient_work`] at [`WORK_PER_SECOND`]: at minibatch
/// sizes the matrix kernel does several times more multiply-adds per second than the
/// batch-1 kernels that constant was calibrated on. Measured (2-core AMD EPYC, 2026): an
/// Adam step on 784 → 64,64,64 → 10 at minibatch 32 took 0.40 ms of CPU, 0.39 of its
/// estimated gradient work.
pub const TRAINING_STEP_GRADIENTS: f64 = 0.4;

/// The rows of a matrix product as the kernels compute them: one sample is a
/// matrix–vector product (`crate::nn::kernels`); a batch goes to the matrix kernel, which
/// computes rows in panels of 8, so a product of 2 rows costs as much as one of 8.
pub fn padded_rows(rows: usize) -> f64 {
    if rows == 1 {
        1.0
    } else {
        (rows.div_ceil(8) * 8) as f64
    }
}

/// The weights of every layer, `in_l·out_l`.
pub fn layer_weights(widths: &[usize]) -> Vec<f64> {
    widths
        .windows(2)
        .map(|w| w[0] as f64 * w[1] as f64)
        .collect()
}

/// `P`, the weights of the whole network.
pub fn weights(widths: &[usize]) -> f64 {
    layer_weights(widths).iter().sum()
}

/// The scalar parameters, weights and biases.
pub fn parameters(widths: &[usize]) -> f64 {
    widths.windows(2).map(|w| (w[0] * w[1] + w[1]) as f64).sum()
}

/// The units of every layer boundary, `Σ widths`.
pub fn units(widths: &[usize]) -> f64 {
    widths.iter().map(|&w| w as f64).sum()
}

/// The multiply-adds of a forward pass: `⌈N⌉₈·P`.
pub fn forward_work(widths: &[usize], batch: usize) -> f64 {
    padded_rows(batch) * weights(widths)
}

/// The multiply-adds of a gradient: the forward pass, the backward pass (`⌈N⌉₈·P`) and
/// the weight gradient `δᵀ h` (`N·P`).
pub fn gradient_work(widths: &[usize], batch: usize) -> f64 {
    2.0 * padded_rows(batch) * weights(widths) + batch as f64 * weights(widths)
}

/// The bytes of the model, its batch, a gradient and a diagonal, and the caches of the
/// forward and backward passes: `6P + 6·N·U` floats (U = [`units`]).
pub fn model_bytes(widths: &[usize], batch: usize) -> f64 {
    F64_BYTES * (6.0 * parameters(widths) + 6.0 * batch as f64 * units(widths))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_a_small_net() {
        // 2 → 3 → 1: 6 + 3 weights, 13 parameters, 6 units.
        let widths = [2, 3, 1];
        assert_eq!(weights(&widths), 9.0);
        assert_eq!(parameters(&widths), 13.0);
        assert_eq!(units(&widths), 6.0);
        assert_eq!(gradient_work(&widths, 1), 27.0);
        assert_eq!(gradient_work(&widths, 2), 2.0 * 8.0 * 9.0 + 18.0);
        assert_eq!(
            model_bytes(&widths, 2),
            8.0 * (6.0 * 13.0 + 6.0 * 2.0 * 6.0)
        );
    }
}
