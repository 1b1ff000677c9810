//! `zero` (SPEC §2): predicts 0 everywhere. Its error is `Σ|exact|`, the scale every other
//! error is read against.

use ndarray::Array2;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};

/// Zero everywhere: a scale reference.
pub const ZERO: MethodDef = MethodDef {
    name: "zero",
    estimates: "zero everywhere: a scale reference",
    cost: CostClass::None,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(|linearization, _, _| {
        let samples = linearization.batch_size();
        Diagonal::PerSample(
            linearization
                .mlp()
                .params()
                .layout()
                .layers()
                .iter()
                .map(|slot| {
                    Array2::zeros((samples, linearization.pass().output_of(slot.layer).ncols()))
                })
                .collect(),
        )
    }),
    work: |_, _, _| 0.0,
    memory: |_, _, _| 0.0,
};
