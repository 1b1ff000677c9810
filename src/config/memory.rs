//! How much memory a computation will need, estimated before any work so that a request
//! too large for the machine is refused with a one-line message instead of an allocation
//! failure that aborts the process.

use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::work::model_bytes;

/// The most memory a run may plan to use, in bytes (4 GiB).
pub const MAX_MEMORY: f64 = 4.0 * (1u64 << 30) as f64;

/// The estimated peak bytes of running `methods` side by side on one problem: the model
/// with its batch and passes, plus every method's own arrays ([`Method::memory`]).
pub fn problem_bytes(widths: &[usize], batch: usize, methods: &[Method]) -> f64 {
    model_bytes(widths, batch)
        + methods
            .iter()
            .map(|&m| m.memory(widths, batch))
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
    fn exact_grows_with_the_square_of_the_width() {
        let exact = Method::exact();
        let small = exact.memory(&[6, 64, 64, 10], 1);
        let large = exact.memory(&[6, 128, 128, 10], 1);
        assert!((3.0..4.5).contains(&(large / small)), "{}", large / small);
    }

    #[test]
    fn draws_scale_the_monte_carlo_methods_up_to_the_outputs() {
        let ggn_mc = |draws: usize| format!("ggn_mc:{draws}").parse::<Method>().unwrap();
        let one = ggn_mc(1).memory(&[6, 16, 10], 4);
        assert_eq!(ggn_mc(5).memory(&[6, 16, 10], 4), 5.0 * one);
        assert_eq!(ggn_mc(50).memory(&[6, 16, 10], 4), 10.0 * one);
    }

    #[test]
    fn a_huge_request_is_refused_with_its_size() {
        let bytes = problem_bytes(&[1, 65536, 1], 1, &[Method::exact()]);
        let error = check_memory(bytes, "diag").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("GiB"), "{error}");
        assert!(check_memory(problem_bytes(&[6, 16, 16, 10], 1, &Method::all()), "x").is_ok());
    }
}
