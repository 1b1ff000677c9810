//! The two walks every method is written against, and the fast paths kept beside them:
//! each fast path (the one-sample gradient, Hutchinson's sign-bit kernels, the exact
//! diagonal's per-sample Jacobians and dense Hessians, all for multi-layer perceptrons)
//! agrees with the generic walk it stands for, bit for bit or to 1e-14 of the largest
//! entry; and on a network that is not a multi-layer perceptron (two activations in a
//! row, two Linear layers in a row), where no fast path applies, the walks alone give a
//! gradient, Hessian-vector products and an exact diagonal that the independent oracles
//! (finite differences) confirm, and every method runs.

mod common;

use common::*;
use hesscale::methods::exact::{self, Strategy};
use hesscale::methods::hutchinson::{by_sign_bits, by_walks, Estimator};
use hesscale::methods::{Diagonal, Method};
use hesscale::nn::{
    Activation, ActivationLayer, Layer, Linear, Linearization, Loss, Mlp, Params, Problem,
    Reduction, Targets,
};
use hesscale::rng::stream_rng;
use ndarray::Array2;
use ndarray_rand::rand_distr::StandardNormal;
use ndarray_rand::RandomExt;
use proptest::prelude::*;

/// A fast path's agreement with its walk: to this much of the largest entry.
const FAST_PATH: f64 = 1e-14;
/// Exact computations against finite differences, relative to the largest entry (as in
/// `exact_diagonal.rs`).
const FINITE_DIFFERENCE: f64 = 1e-7;
const STEP: f64 = 1e-5;
/// Two exact computations, relative to the largest entry (as in `exact_diagonal.rs`).
const ROUNDING: f64 = 1e-12;

/// The exact diagonal by `strategy`, as parameters.
fn exact_by(problem: &Problem, strategy: Strategy) -> Params {
    let linearization = Linearization::new(problem);
    Diagonal::PerSample(exact::preact_hessian_diags_by(&linearization, strategy))
        .into_params(&linearization)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The one-sample gradient of `Problem::gradient` (its own kernels, no arrays) is the
    /// walk's gradient, bit for bit.
    #[test]
    fn the_one_sample_gradient_is_the_walks_bit_for_bit(case in arb_case(1..=1)) {
        let problem = case.problem();
        let plain = problem.mlp().as_plain().expect("an MLP");
        let fast = problem.gradient_of_one_sample(&plain);
        let walk = Linearization::new(&problem).param_gradient();
        prop_assert_eq!(fast.layout(), walk.layout());
        for (a, b) in fast.values().iter().zip(walk.values()) {
            prop_assert_eq!(a.to_bits(), b.to_bits(), "{}: {} vs {}", case, a, b);
        }
        prop_assert_eq!(problem.gradient(), fast);
    }

    /// Hutchinson's sign-bit kernels give the walks' estimate on the same draws.
    #[test]
    fn hutchinsons_fast_path_is_the_walks(case in arb_case(1..=4), draws in 1usize..=5) {
        let problem = case.problem();
        let linearization = Linearization::new(&problem);
        let plain = linearization.plain().expect("an MLP");
        for estimator in [Estimator::Signed, Estimator::AbsoluteValue] {
            let fast = by_sign_bits(&linearization, &plain, draws, estimator, &mut stream_rng(case.seed, 0, 3));
            let walk = by_walks(&linearization, draws, estimator, &mut stream_rng(case.seed, 0, 3));
            assert_params_close(
                format!("{case} {estimator:?}:{draws}"),
                &fast,
                &walk,
                scaled(FAST_PATH, &walk),
            );
        }
    }

    /// Both fast paths of the exact diagonal give the walks' (one Hessian-vector product
    /// per unit).
    #[test]
    fn the_exact_diagonals_fast_paths_are_the_walks(case in arb_case(1..=4)) {
        let problem = case.problem();
        let walk = exact_by(&problem, Strategy::Tangents);
        for strategy in [Strategy::Jacobians, Strategy::DenseHessians] {
            assert_params_close(
                format!("{case} {strategy:?}"),
                &exact_by(&problem, strategy),
                &walk,
                scaled(FAST_PATH, &walk),
            );
        }
    }
}

/// A network that is not a multi-layer perceptron: 3 → Linear 5 → tanh → softplus →
/// Linear 4 → Linear 2, PyTorch-initialised, with a batch of 3.
fn unusual(loss: Loss, reduction: Reduction) -> Problem {
    let mut rng = stream_rng(7, 0, 0);
    let shapes = [(3, 5), (5, 4), (4, 2)];
    let mut values = Vec::new();
    for &(inputs, outputs) in &shapes {
        let bound = 1.0 / (inputs as f64).sqrt();
        let uniform = ndarray_rand::rand_distr::Uniform::new(-bound, bound).unwrap();
        values.extend(ndarray::Array1::random_using(
            inputs * outputs + outputs,
            uniform,
            &mut rng,
        ));
    }
    let linear = |(inputs, outputs)| Layer::Linear(Linear { inputs, outputs });
    let activation = |activation| {
        Layer::Activation(ActivationLayer {
            activation,
            width: 5,
        })
    };
    let layers = vec![
        linear(shapes[0]),
        activation(Activation::Tanh),
        activation(Activation::Softplus),
        linear(shapes[1]),
        linear(shapes[2]),
    ];
    let mlp = Mlp::new(layers, values).unwrap();
    assert!(mlp.as_plain().is_none());
    let inputs = Array2::random_using((3, 3), StandardNormal, &mut rng);
    let targets = match loss {
        Loss::CrossEntropy => Targets::Classes(vec![1, 0, 1]),
        Loss::Mse => Targets::Values(Array2::random_using((3, 2), StandardNormal, &mut rng)),
    };
    Problem::new(mlp, loss, reduction, inputs, targets).unwrap()
}

#[test]
fn the_walks_alone_are_exact_on_a_network_that_is_not_an_mlp() {
    for loss in Loss::ALL {
        for reduction in REDUCTIONS {
            let problem = unusual(loss, reduction);
            let name = format!("{loss}/{reduction}");
            let linearization = Linearization::new(&problem);
            assert!(linearization.plain().is_none());

            let oracle = finite_difference_gradient(&problem, STEP);
            assert_params_close(
                format!("{name} gradient"),
                &problem.gradient(),
                &oracle,
                scaled(FINITE_DIFFERENCE, &oracle),
            );

            let direction = problem.mlp().params().map(|v| 0.5 - v * v);
            let oracle = finite_difference_hvp(&problem, &direction, STEP);
            assert_params_close(
                format!("{name} Hv"),
                &linearization.hessian_vector_product(&direction),
                &oracle,
                scaled(FINITE_DIFFERENCE, &oracle),
            );

            let exact = exact::hessian_diag(&problem);
            let oracle = finite_difference_diag(&problem, STEP);
            assert_params_close(
                format!("{name} exact vs central differences"),
                &exact,
                &oracle,
                scaled(FINITE_DIFFERENCE, &oracle),
            );
            let oracle = hvp_diag(&problem);
            assert_params_close(
                format!("{name} exact vs per-parameter HVPs"),
                &exact,
                &oracle,
                scaled(ROUNDING, &oracle),
            );

            // SPEC §2.2.1 holds for any network: the output curvature is exact and the
            // last layer needs nothing below it.
            let last = exact.layers() - 1;
            let exact_last = select(&exact, last..last + 1);
            for name in ["hesscale", "hesscale_gn", "ggn"] {
                let estimate = method(name).estimate(&problem, &mut stream_rng(0, 0, 1));
                assert_params_close(
                    format!("{loss}/{reduction} {name}, last layer"),
                    &select(&estimate, last..last + 1),
                    &exact_last,
                    scaled(ROUNDING, &exact_last),
                );
            }
            for method in Method::all() {
                let estimate = method.estimate(&problem, &mut stream_rng(0, 0, 2));
                assert_eq!(estimate.layout(), problem.mlp().params().layout());
                assert!(estimate.is_finite(), "{name} {method}");
            }
        }
    }
}
