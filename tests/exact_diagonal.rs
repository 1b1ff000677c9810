//! The exact Hessian diagonal (SPEC §2.1) against three independent oracles, and the
//! building blocks it rests on (activation and loss derivatives, the gradient, the
//! Hessian-vector product) against finite differences.

mod common;

use approx::{assert_abs_diff_eq, assert_relative_eq};
use common::*;
use hesscale::methods::exact::Strategy as ExactStrategy;
use hesscale::methods::{exact, ggn, Diagonal};
use hesscale::nn::loss::softmax;
use hesscale::nn::{
    Activation, Linearization, Loss, LossKind, OutputLoss, Params, Problem, Reduction,
    SquareRootFactor, SupervisedLoss, Targets,
};
use hesscale::rng::stream_rng;
use ndarray::{array, Array2};
use ndarray_rand::rand_distr::StandardNormal;
use ndarray_rand::RandomExt;
use proptest::prelude::*;

/// Exact vs oracles (b) and (c): both are exact computations, so only rounding separates
/// them; relative to the largest diagonal entry.
const ROUNDING: f64 = 1e-12;
/// Exact vs oracle (a), central differences with step `STEP`: O(STEP²) truncation plus
/// O(1e-16/STEP) cancellation, relative to the largest entry.
const FINITE_DIFFERENCE: f64 = 1e-7;
const STEP: f64 = 1e-5;

/// Every activation × loss × reduction × batch size {1, 4} × depth {1, …, 4} (one net per
/// combination; a net without hidden layers is listed once, it has no activation).
fn exact_cases() -> Vec<Case> {
    let hidden = [5, 4, 6];
    let mut cases = Vec::new();
    for depth in 1..=4 {
        let mut widths = vec![3];
        widths.extend(&hidden[..depth - 1]);
        widths.push(4);
        let activations: &[Activation] = if depth == 1 {
            &[Activation::Identity]
        } else {
            &Activation::ALL
        };
        for &activation in activations {
            for loss in Loss::ALL {
                for reduction in REDUCTIONS {
                    for batch in [1, 4] {
                        let seed = 1000 + cases.len() as u64;
                        cases.push(Case::new(&widths, activation, loss, reduction, batch, seed));
                    }
                }
            }
        }
    }
    cases
}

#[test]
fn the_case_table_covers_every_activation_loss_reduction_batch_and_depth() {
    let cases = exact_cases();
    for depth in 2..=4 {
        for activation in Activation::ALL {
            for loss in Loss::ALL {
                for reduction in REDUCTIONS {
                    for batch in [1, 4] {
                        assert!(cases.iter().any(|c| c.depth() == depth
                            && c.activations[0] == activation
                            && c.loss == loss
                            && c.reduction == reduction
                            && c.batch == batch));
                    }
                }
            }
        }
    }
    assert!(cases.iter().any(|c| c.depth() == 1));
}

#[test]
fn exact_equals_one_hessian_vector_product_per_parameter() {
    for case in exact_cases() {
        let problem = case.problem();
        let exact = method("exact").estimate(&problem, &mut stream_rng(0, 0, 1));
        assert_eq!(exact, exact::hessian_diag(&problem), "{case}");
        let oracle = hvp_diag(&problem);
        assert_params_close(
            format!("{case} exact vs per-parameter HVPs"),
            &exact,
            &oracle,
            scaled(ROUNDING, &oracle),
        );
    }
}

#[test]
fn exact_equals_the_full_matrix_recursion() {
    for case in exact_cases() {
        let problem = case.problem();
        let oracle = full_matrix_oracle(&problem);
        assert_params_close(
            format!("{case} exact vs full-matrix recursion"),
            &exact::hessian_diag(&problem),
            &oracle.hessian,
            scaled(ROUNDING, &oracle.hessian),
        );
    }
}

/// The exact diagonal by either strategy, whichever the shape would pick.
fn exact_by(problem: &Problem, strategy: ExactStrategy) -> Params {
    let linearization = Linearization::new(problem);
    Diagonal::PerSample(exact::preact_hessian_diags_by(&linearization, strategy))
        .into_params(&linearization)
}

#[test]
fn both_exact_strategies_equal_the_full_matrix_recursion() {
    for case in exact_cases() {
        let problem = case.problem();
        let oracle = full_matrix_oracle(&problem).hessian;
        for strategy in [ExactStrategy::Jacobians, ExactStrategy::DenseHessians] {
            assert_params_close(
                format!("{case} exact by {strategy:?} vs full-matrix recursion"),
                &exact_by(&problem, strategy),
                &oracle,
                scaled(ROUNDING, &oracle),
            );
        }
    }
}

#[test]
fn the_cheaper_strategy_is_jacobians_for_shallow_and_dense_for_deep_nets() {
    let net = |depth: usize| {
        let mut widths = vec![6];
        widths.extend(std::iter::repeat_n(64, depth));
        widths.push(10);
        widths
    };
    assert_eq!(ExactStrategy::cheaper(&net(3)), ExactStrategy::Jacobians);
    assert_eq!(
        ExactStrategy::cheaper(&net(8)),
        ExactStrategy::DenseHessians
    );
    // Per sample at width 64, depth 3: one 64³ product of Jacobians and two output
    // Jacobians, against four 64³ products of dense Hessians.
    assert_eq!(
        ExactStrategy::Jacobians.work_per_sample(&net(3)),
        64.0 * 64.0 * 64.0 + 2.0 * 10.0 * 64.0 * 64.0
    );
}

#[test]
fn exact_equals_central_differences_of_the_gradient() {
    for case in exact_cases() {
        let problem = case.problem();
        let oracle = finite_difference_diag(&problem, STEP);
        assert_params_close(
            format!("{case} exact vs finite differences of the gradient"),
            &exact::hessian_diag(&problem),
            &oracle,
            scaled(FINITE_DIFFERENCE, &oracle),
        );
    }
}

#[test]
fn gradient_equals_central_differences_of_the_loss() {
    for case in exact_cases() {
        let problem = case.problem();
        let oracle = finite_difference_gradient(&problem, STEP);
        assert_params_close(
            format!("{case} gradient vs finite differences of the loss"),
            &problem.gradient(),
            &oracle,
            scaled(FINITE_DIFFERENCE, &oracle),
        );
    }
}

#[test]
fn hessian_vector_product_equals_central_differences_of_the_gradient() {
    for case in exact_cases() {
        let problem = case.problem();
        let mut rng = stream_rng(case.seed, 1, 1);
        let layout = problem.mlp().params().layout();
        let direction = Params::from_values(
            layout,
            ndarray::Array1::random_using(layout.len(), StandardNormal, &mut rng).to_vec(),
        );
        let linearization = Linearization::new(&problem);
        let oracle = finite_difference_hvp(&problem, &direction, STEP);
        assert_params_close(
            format!("{case} Hv vs finite differences of the gradient along v"),
            &linearization.hessian_vector_product(&direction),
            &oracle,
            scaled(FINITE_DIFFERENCE, &oracle),
        );
    }
}

/// Per-layer activations drawn independently, so layers with different φ'' meet.
fn arb_mixed_case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(1usize..=8, 2..=5),
        proptest::collection::vec(proptest::sample::select(Activation::ALL.to_vec()), 3),
        proptest::sample::select(Loss::ALL.to_vec()),
        proptest::sample::select(REDUCTIONS.to_vec()),
        1usize..=4,
        any::<u64>(),
    )
        .prop_map(|(widths, activations, loss, reduction, batch, seed)| {
            let mut case = Case::new(&widths, Activation::Identity, loss, reduction, batch, seed);
            case.activations = activations[..widths.len() - 2].to_vec();
            case
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn exact_equals_both_exact_oracles_on_random_nets_with_mixed_activations(
        case in arb_mixed_case()
    ) {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        let by_hvp = hvp_diag(&problem);
        let by_matrices = full_matrix_oracle(&problem).hessian;
        assert_params_close(format!("{case} vs HVPs"), &exact, &by_hvp, scaled(ROUNDING, &by_hvp));
        assert_params_close(
            format!("{case} vs full matrices"),
            &exact,
            &by_matrices,
            scaled(ROUNDING, &by_matrices),
        );
        for strategy in [ExactStrategy::Jacobians, ExactStrategy::DenseHessians] {
            assert_params_close(
                format!("{case} by {strategy:?} vs full matrices"),
                &exact_by(&problem, strategy),
                &by_matrices,
                scaled(ROUNDING, &by_matrices),
            );
        }
    }
}

/// If the exact diagonal were swapped for the GGN diagonal, the oracles would notice: on
/// tanh nets the two differ clearly below the last layer (and only the Hessian has
/// negative entries).
#[test]
fn exact_differs_from_the_ggn_diagonal_on_tanh_nets() {
    for loss in Loss::ALL {
        for batch in [1, 4] {
            let case = Case::new(
                &[6, 8, 8, 5],
                Activation::Tanh,
                loss,
                Reduction::Mean,
                batch,
                7,
            );
            let problem = case.problem();
            let exact = exact::hessian_diag(&problem);
            let ggn = ggn::ggn_diag(&problem);
            let hidden_exact = &select(&exact, 0..2);
            let hidden_ggn = &select(&ggn, 0..2);
            assert!(
                max_abs_distance(hidden_exact, hidden_ggn) > 1e-2 * max_abs(hidden_exact),
                "{case}: exact and GGN agree to {:e}",
                max_abs_distance(hidden_exact, hidden_ggn)
            );
            assert!(
                flatten(&exact).iter().any(|&h| h < 0.0),
                "{case}: no negative entry"
            );
            // The oracle sides with exact, not with the GGN.
            let oracle = full_matrix_oracle(&problem);
            assert!(
                max_abs_distance(&oracle.hessian, &ggn)
                    > 1e3 * max_abs_distance(&oracle.hessian, &exact)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------

/// Points away from every kink (a = 0), on both sides.
const POINTS: [f64; 8] = [-4.0, -1.3, -0.4, -0.01, 0.02, 0.5, 1.7, 3.5];

#[test]
fn activation_first_derivatives_equal_central_differences_of_the_value() {
    let step = 1e-6;
    for activation in Activation::ALL {
        for a in POINTS {
            let difference =
                (activation.value(a + step) - activation.value(a - step)) / (2.0 * step);
            assert_abs_diff_eq!(activation.first_derivative(a), difference, epsilon = 1e-8);
        }
    }
}

#[test]
fn activation_second_derivatives_equal_second_differences_of_the_value() {
    let step = 1e-4;
    for activation in Activation::ALL {
        for a in POINTS {
            let difference = (activation.value(a + step) - 2.0 * activation.value(a)
                + activation.value(a - step))
                / (step * step);
            assert_abs_diff_eq!(activation.second_derivative(a), difference, epsilon = 1e-6);
        }
    }
}

#[test]
fn activation_values_follow_the_spec() {
    // (activation, a, φ(a))
    let table = [
        (Activation::Tanh, 0.5, 0.5f64.tanh()),
        (Activation::Sigmoid, 0.0, 0.5),
        (Activation::Sigmoid, 2.0, 1.0 / (1.0 + (-2.0f64).exp())),
        (Activation::Relu, -2.0, 0.0),
        (Activation::Relu, 2.0, 2.0),
        (Activation::LeakyRelu, -2.0, -0.02),
        (Activation::LeakyRelu, 2.0, 2.0),
        (Activation::Elu, -2.0, (-2.0f64).exp() - 1.0),
        (Activation::Elu, 2.0, 2.0),
        (Activation::Softplus, 0.0, 2.0f64.ln()),
        (Activation::Softplus, 1.5, (1.0 + 1.5f64.exp()).ln()),
        (Activation::Identity, -3.0, -3.0),
    ];
    for (activation, a, expected) in table {
        assert_relative_eq!(activation.value(a), expected, max_relative = 1e-14);
    }
}

#[test]
fn activation_derivatives_at_zero_follow_pytorch() {
    // (activation, φ'(0), φ''(0)): relu' = 0, leaky_relu' = 0.01, elu takes eᵃ.
    let table = [
        (Activation::Tanh, 1.0, 0.0),
        (Activation::Sigmoid, 0.25, 0.0),
        (Activation::Relu, 0.0, 0.0),
        (Activation::LeakyRelu, 0.01, 0.0),
        (Activation::Elu, 1.0, 1.0),
        (Activation::Softplus, 0.5, 0.25),
        (Activation::Identity, 1.0, 0.0),
    ];
    for (activation, first, second) in table {
        assert_abs_diff_eq!(activation.first_derivative(0.0), first, epsilon = 1e-15);
        assert_abs_diff_eq!(activation.second_derivative(0.0), second, epsilon = 1e-15);
    }
    // The conventions are the derivatives from the left.
    for activation in [Activation::Relu, Activation::LeakyRelu, Activation::Elu] {
        let step = 1e-7;
        let left = (activation.value(0.0) - activation.value(-step)) / step;
        assert_abs_diff_eq!(activation.first_derivative(0.0), left, epsilon = 1e-6);
    }
}

#[test]
fn activations_stay_finite_and_exact_for_huge_inputs() {
    for activation in Activation::ALL {
        for a in [-800.0, 800.0] {
            assert!(activation.value(a).is_finite(), "{activation}({a})");
            assert!(
                activation.first_derivative(a).is_finite(),
                "{activation}'({a})"
            );
            assert!(
                activation.second_derivative(a).is_finite(),
                "{activation}''({a})"
            );
        }
    }
    // softplus has no cut-off: softplus(a) − a = log1p(e^(−a)) even beyond PyTorch's 20.
    let softplus = Activation::Softplus;
    assert_relative_eq!(
        softplus.value(30.0) - 30.0,
        (-30.0f64).exp(),
        max_relative = 0.05
    );
    assert_relative_eq!(
        softplus.value(-30.0),
        (-30.0f64).exp(),
        max_relative = 1e-12
    );
    assert_eq!(softplus.value(800.0), 800.0);
    assert_abs_diff_eq!(softplus.value(-800.0), 0.0, epsilon = 1e-300);
    assert_eq!(Activation::Sigmoid.value(-800.0), 0.0);
    assert_eq!(Activation::Sigmoid.value(800.0), 1.0);
}

// ---------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------

/// The supervised `loss` bound to `targets` and `reduction`, for outputs as wide as the
/// targets' vectors or as the largest class index needs.
fn bound(loss: Loss, targets: &Targets, reduction: Reduction) -> SupervisedLoss {
    let outputs = match targets {
        Targets::Classes(classes) => classes.iter().max().map_or(1, |&c| c + 1),
        Targets::Values(values) => values.ncols(),
    };
    loss.bind(reduction, targets.clone(), targets.len(), outputs)
        .expect("targets of the loss's kind")
}

/// Random outputs and targets of N = 3 samples, D = 4 outputs.
fn loss_batch(loss: Loss, seed: u64) -> (Array2<f64>, Targets) {
    let mut rng = stream_rng(seed, 0, 0);
    let z = Array2::random_using((3, 4), StandardNormal, &mut rng) * 2.0;
    let targets = match loss {
        Loss::CrossEntropy => Targets::Classes(vec![0, 3, 1]),
        Loss::Mse => Targets::Values(Array2::random_using((3, 4), StandardNormal, &mut rng)),
    };
    (z, targets)
}

#[test]
fn loss_values_follow_pytorch_reductions() {
    // mse mean divides by N·D, sum by nothing.
    let z = array![[1.0, 2.0], [0.0, -1.0]];
    let y = Targets::Values(array![[0.0, 0.0], [0.0, 0.0]]);
    assert_relative_eq!(
        bound(Loss::Mse, &y, Reduction::Sum).value(&z),
        6.0,
        max_relative = 1e-15
    );
    assert_relative_eq!(
        bound(Loss::Mse, &y, Reduction::Mean).value(&z),
        1.5,
        max_relative = 1e-15
    );
    // cross_entropy mean divides by N.
    let z = array![[0.0, 0.0], [2.0, 0.0]];
    let y = Targets::Classes(vec![0, 1]);
    let sum = 2.0f64.ln() + (1.0 + 2.0f64.exp()).ln();
    assert_relative_eq!(
        bound(Loss::CrossEntropy, &y, Reduction::Sum).value(&z),
        sum,
        max_relative = 1e-14
    );
    assert_relative_eq!(
        bound(Loss::CrossEntropy, &y, Reduction::Mean).value(&z),
        sum / 2.0,
        max_relative = 1e-14
    );
}

#[test]
fn loss_gradients_equal_central_differences_of_the_value() {
    let step = 1e-6;
    for loss in Loss::ALL {
        for reduction in REDUCTIONS {
            let (z, targets) = loss_batch(loss, 3);
            let gradient = bound(loss, &targets, reduction).gradient(&z);
            let difference = Array2::from_shape_fn(z.raw_dim(), |index| {
                let mut plus = z.clone();
                plus[index] += step;
                let mut minus = z.clone();
                minus[index] -= step;
                (bound(loss, &targets, reduction).value(&plus)
                    - bound(loss, &targets, reduction).value(&minus))
                    / (2.0 * step)
            });
            assert_abs_diff_eq!(gradient, difference, epsilon = 1e-8);
        }
    }
}

#[test]
fn loss_hessians_equal_central_differences_of_the_gradient() {
    let step = 1e-5;
    for loss in Loss::ALL {
        for reduction in REDUCTIONS {
            let (z, targets) = loss_batch(loss, 4);
            for n in 0..z.nrows() {
                let hessian = bound(loss, &targets, reduction).hessian(&z, n);
                for c in 0..z.ncols() {
                    let mut plus = z.clone();
                    plus[[n, c]] += step;
                    let mut minus = z.clone();
                    minus[[n, c]] -= step;
                    let column = (bound(loss, &targets, reduction).gradient(&plus)
                        - bound(loss, &targets, reduction).gradient(&minus))
                        / (2.0 * step);
                    // Samples do not interact: only row n of the gradient moves.
                    for m in 0..z.nrows() {
                        let expected = if m == n {
                            hessian.column(c).to_owned()
                        } else {
                            ndarray::Array1::zeros(z.ncols())
                        };
                        assert_abs_diff_eq!(column.row(m).to_owned(), expected, epsilon = 1e-9);
                    }
                }
            }
        }
    }
}

#[test]
fn loss_curvature_forms_agree_with_the_full_hessian() {
    for loss in Loss::ALL {
        for reduction in REDUCTIONS {
            let (z, targets) = loss_batch(loss, 5);
            let (samples, width) = z.dim();
            let diag = bound(loss, &targets, reduction).hessian_diag(&z);
            let columns = bound(loss, &targets, reduction).sqrt_hessian_columns(&z);
            let elementwise = bound(loss, &targets, reduction).elementwise_hessian_diag(&z);
            let mut rng = stream_rng(5, 1, 0);
            let tangents = Array2::random_using((2 * samples, width), StandardNormal, &mut rng);
            let products = bound(loss, &targets, reduction).hessian_vector_product(&z, &tangents);
            for n in 0..samples {
                let hessian = bound(loss, &targets, reduction).hessian(&z, n);
                // diagonal
                assert_abs_diff_eq!(diag.row(n), hessian.diag(), epsilon = 1e-15);
                // Hessian-vector products, row r belonging to sample r mod N
                for r in [n, n + samples] {
                    assert_abs_diff_eq!(
                        products.row(r).to_owned(),
                        hessian.dot(&tangents.row(r)),
                        epsilon = 1e-14
                    );
                }
                // the square-root factor: Σ_c s_c s_cᵀ = ∇²ℓ
                let mut outer = Array2::<f64>::zeros((width, width));
                for c in 0..width {
                    let s = columns.row(c * samples + n);
                    for i in 0..width {
                        for j in 0..width {
                            outer[[i, j]] += s[i] * s[j];
                        }
                    }
                }
                assert_abs_diff_eq!(outer, hessian, epsilon = 1e-15);
                // BL89's elementwise seed
                match (&targets, loss) {
                    (Targets::Classes(classes), Loss::CrossEntropy) => {
                        for c in 0..width {
                            let expected = if c == classes[n] {
                                hessian[[c, c]]
                            } else {
                                0.0
                            };
                            assert_abs_diff_eq!(elementwise[[n, c]], expected, epsilon = 1e-16);
                        }
                    }
                    _ => assert_abs_diff_eq!(elementwise.row(n), hessian.diag(), epsilon = 0.0),
                }
            }
        }
    }
}

#[test]
fn softmax_and_cross_entropy_are_stable_for_huge_logits() {
    let z = array![[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 1.0]];
    let p = softmax(&z);
    assert!(p.iter().all(|v| v.is_finite()));
    let e = 1.0f64.exp();
    let expected = array![
        [1.0, 0.0, 0.0],
        [1.0 / (2.0 + e), 1.0 / (2.0 + e), e / (2.0 + e)]
    ];
    assert_abs_diff_eq!(p, expected, epsilon = 1e-15);
    let targets = Targets::Classes(vec![1, 2]);
    let loss = Loss::CrossEntropy;
    // −log p_1 of sample 0 is 1e4 (log-sum-exp, not log of an underflowed 0).
    let value = bound(loss, &targets, Reduction::Sum).value(&z);
    assert_relative_eq!(value, 1e4 + (2.0 + e).ln() - 1.0, max_relative = 1e-14);
    assert!(bound(loss, &targets, Reduction::Mean)
        .gradient(&z)
        .iter()
        .all(|v| v.is_finite()));
    for n in 0..2 {
        assert!(bound(loss, &targets, Reduction::Mean)
            .hessian(&z, n)
            .iter()
            .all(|v| v.is_finite()));
    }
    assert!(bound(loss, &targets, Reduction::Mean)
        .hessian_diag(&z)
        .iter()
        .all(|v| v.is_finite()));
}
