//! The work model of the training studies' plans, fitted to measured CPU time: what a
//! training step, an evaluation and an environment step cost besides the multiply-adds of
//! their passes ([`crate::nn::work`]). Work is in the units of
//! [`crate::nn::work::WORK_PER_SECOND`], so a plan's CPU time is its work over that rate.
//!
//! Fitted with `--threads 1` runs on the 2-core development machine (AMD EPYC, 2026, under
//! the load of other jobs), each its session's CPU seconds against the model:
//!
//! * optimize, 784 → 4 → 10 evaluated every step (2,001 evaluations of 2,004 images): 5.5
//!   CPU-s, of which the layers' multiply-adds explain 2.3: an image costs about
//!   [`IMAGE_WORK`] beyond them (turning 784 bytes into inputs, the loss, the argmax);
//! * optimize, 784 → 4 → 10 and 784 → 64×3 → 10 trained 5,000–20,000 steps: a minibatch
//!   costs [`IMAGE_WORK`] per image besides its [`TRAINING_STEP_GRADIENTS`] gradients;
//! * optimize and rl with AdaHesScale, AdaHessian and the hesscale scaling: the
//!   curvature's own work is about [`CURVATURE_SHARE`] of the methods' standalone
//!   estimates (it reuses the gradient's passes);
//! * rl, A2C and PPO on the four tasks, 100,000 and 1,000,000 steps (A2C on
//!   MountainCarContinuous: 27.5 CPU-s per million steps, where the networks' passes
//!   explain 9.4): each network costs [`ACTING_WORK`] per environment step (acting at
//!   batch 1: its pass, the policy's sampling, the environment, the normalisation) and
//!   [`LEARNING_WORK`] per sample and epoch of its updates.
//!
//! `tests/reliability_estimates.rs` checks representative runs against their CPU time.

use crate::methods::Method;
use crate::nn::work::{forward_work, gradient_work, TRAINING_STEP_GRADIENTS};

/// The work of one image of a data set in a pass, beyond the layers' multiply-adds: about
/// 6 per pixel (measured: 0.8 µs per image evaluated, 1–2 µs per image trained on).
pub const IMAGE_WORK: f64 = 4.7e3;

/// The share of a curvature method's standalone work ([`Method::work`]) that an optimizer
/// step adds to its gradient: the methods' estimates include the forward and backward
/// passes the step has already made (measured 0.5–0.55 in optimize and rl).
pub const CURVATURE_SHARE: f64 = 0.5;

/// The work of one network per environment step of an rl run besides its forward pass.
pub const ACTING_WORK: f64 = 3.3e4;

/// The work of one network per sample and epoch of an rl update besides its gradient.
pub const LEARNING_WORK: f64 = 3.0e3;

/// The work of `methods` computed alongside a gradient on `batch` samples of `widths`.
pub fn curvature_work(widths: &[usize], batch: usize, methods: &[Method]) -> f64 {
    CURVATURE_SHARE
        * methods
            .iter()
            .map(|method| method.work(widths, batch))
            .sum::<f64>()
}

/// The work of one training step on a minibatch of `batch` images: its gradients (the
/// loss's and the curvature `methods`') and the images.
pub fn training_step_work(widths: &[usize], batch: usize, methods: &[Method]) -> f64 {
    TRAINING_STEP_GRADIENTS
        * (gradient_work(widths, batch) + curvature_work(widths, batch, methods))
        + batch as f64 * IMAGE_WORK
}

/// The work of evaluating a network on `images` images (in passes of up to 256).
pub fn evaluation_work(widths: &[usize], images: usize) -> f64 {
    let passes = images.div_ceil(256);
    let full = images / 256;
    full as f64 * forward_work(widths, 256)
        + (passes - full) as f64 * forward_work(widths, images % 256)
        + images as f64 * IMAGE_WORK
}

/// The work of one network of an rl agent per environment step: acting with it, and
/// `epochs` passes of learning over each step's sample (its gradient and the curvature
/// `methods`).
pub fn agent_network_work(widths: &[usize], epochs: usize, methods: &[Method]) -> f64 {
    ACTING_WORK
        + forward_work(widths, 1)
        + epochs as f64
            * (LEARNING_WORK + gradient_work(widths, 1) + curvature_work(widths, 1, methods))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluations_count_every_image_in_passes_of_256() {
        let widths = [784, 4, 10];
        let one_pass = forward_work(&widths, 256) + 256.0 * IMAGE_WORK;
        assert_eq!(evaluation_work(&widths, 256), one_pass);
        assert_eq!(evaluation_work(&widths, 512), 2.0 * one_pass);
        assert!(evaluation_work(&widths, 300) > one_pass);
        assert_eq!(evaluation_work(&widths, 0), 0.0);
    }
}
