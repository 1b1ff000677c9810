//! `grad_squared` (SPEC §2): the square of the reduced loss gradient, `g ⊙ g`, the
//! second-moment statistic Adam uses. Not a per-sample quantity: the batch gradient is
//! squared, so it scales with the square of the reduction factor (SPEC §2.2.7).

use crate::nn::{LayerParams, ParamTensors, Problem};

/// `g ⊙ g` for every weight and bias, from one forward and one backward pass.
pub fn grad_squared(problem: &Problem) -> ParamTensors {
    problem
        .gradient()
        .into_iter()
        .map(|g| LayerParams {
            weight: g.weight.mapv(|v| v * v),
            bias: g.bias.mapv(|v| v * v),
        })
        .collect()
}
