//! How much memory a computation will need, estimated before any work so that a request
//! too large for the machine is refused with a one-line message instead of an allocation
//! failure that aborts the process.

use crate::error::{Error, Result};
use crate::methods::Method;

/// The most memory a run may plan to use, in bytes (4 GiB).
pub const MAX_MEMORY: f64 = 4.0 * (1u64 << 30) as f64;

const F64: f64 = 8.0;

/// The estimated peak bytes of `method` (`None`: the model, its batch and a gradient) on a
/// network with layer boundaries `widths` (input to output) and `batch` samples. With
/// `P` parameters, `U = Σ widths` units and `N` samples: the base is `6P + 6·N·U` floats
/// (parameters, gradient, diagonal; forward and backward caches). On top of it, exact
/// keeps for the layer l it works on a stack of `out_l·N` tangent rows at every layer
/// above (`max_l 3·out_l·N·Σ_{k≥l} out_k`, with tiled copies); ggn `3·D·N·U` square-root
/// columns; ggn_mc:M and kfac:M `3·M·N·U`; hutchinson:M a few parameter-shaped vectors
/// (`4P + 4·N·U`).
pub fn method_bytes(method: Option<Method>, widths: &[usize], batch: usize) -> f64 {
    let samples = batch as f64;
    let params: f64 = widths.windows(2).map(|w| (w[0] * w[1] + w[1]) as f64).sum();
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    let outputs = *widths.last().expect("a network has an output") as f64;
    let floats = match method {
        None => 6.0 * params + 6.0 * samples * units,
        Some(Method::Exact) => (1..widths.len())
            .map(|l| {
                let above: f64 = widths[l..].iter().map(|&w| w as f64).sum();
                3.0 * widths[l] as f64 * samples * above
            })
            .fold(0.0, f64::max),
        Some(Method::Ggn) => 3.0 * outputs * samples * units,
        Some(Method::GgnMc { draws } | Method::Kfac { draws }) => {
            3.0 * draws as f64 * samples * units
        }
        Some(Method::Hutchinson { .. } | Method::HutchinsonSigned { .. }) => {
            4.0 * params + 4.0 * samples * units
        }
        Some(
            Method::HesScale
            | Method::HesScaleGn
            | Method::Bl89
            | Method::GradSquared
            | Method::Zero,
        ) => 2.0 * params + 4.0 * samples * units,
    };
    F64 * floats
}

/// The estimated peak bytes of running `methods` side by side on one problem (the base
/// plus every method's own arrays).
pub fn problem_bytes(widths: &[usize], batch: usize, methods: &[Method]) -> f64 {
    method_bytes(None, widths, batch)
        + methods
            .iter()
            .map(|&m| method_bytes(Some(m), widths, batch))
            .sum::<f64>()
}

/// Refuse an estimate over [`MAX_MEMORY`], saying what it is for (`what`) and how much.
pub fn check_memory(bytes: f64, what: &str) -> Result<()> {
    if bytes > MAX_MEMORY {
        Err(Error::input(format!(
            "{what} would need about {:.1} GiB of memory, over the limit of {:.0} GiB (use a smaller batch, width or M)",
            bytes / (1u64 << 30) as f64,
            MAX_MEMORY / (1u64 << 30) as f64
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_alone_counts_parameters_and_activations() {
        // 2 → 3 → 1: 9 + 4 = 13 parameters, 6 units, batch 2.
        assert_eq!(
            method_bytes(None, &[2, 3, 1], 2),
            8.0 * (6.0 * 13.0 + 6.0 * 2.0 * 6.0)
        );
    }

    #[test]
    fn exact_grows_with_the_square_of_the_width() {
        let small = method_bytes(Some(Method::Exact), &[6, 64, 64, 10], 1);
        let large = method_bytes(Some(Method::Exact), &[6, 128, 128, 10], 1);
        assert!((3.5..4.5).contains(&(large / small)), "{}", large / small);
    }

    #[test]
    fn draws_scale_the_monte_carlo_methods() {
        let one = method_bytes(Some(Method::GgnMc { draws: 1 }), &[6, 16, 10], 4);
        let fifty = method_bytes(Some(Method::GgnMc { draws: 50 }), &[6, 16, 10], 4);
        assert_eq!(fifty, 50.0 * one);
    }

    #[test]
    fn a_huge_request_is_refused_with_its_size() {
        let bytes = problem_bytes(&[1, 65536, 1], 1, &[Method::Exact]);
        let error = check_memory(bytes, "diag").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("GiB"), "{error}");
        assert!(check_memory(problem_bytes(&[6, 16, 16, 10], 1, &Method::all()), "x").is_ok());
    }
}
