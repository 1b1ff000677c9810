//! The identities of SPEC §2.2 that hold exactly, checked on random nets (depth 1–4,
//! widths 1–12, every activation and loss, both reductions), plus independent oracles for
//! the methods no identity pins down completely (the HesScale recursions, Hutchinson,
//! grad_squared, KFAC for N > 1).

mod common;

use approx::assert_relative_eq;
use common::*;
use hesscale::methods::hutchinson::rademacher_like;
use hesscale::methods::{exact, Method};
use hesscale::nn::{Activation, Linearization, Loss, Params, Problem, Reduction, Targets};
use hesscale::rng::{stream_id, stream_rng};
use ndarray::Axis;
use proptest::prelude::*;

/// Two exact computations of the same quantity, relative to its largest entry.
const ROUNDING: f64 = 1e-12;

const CASES: u32 = 64;

/// The method's estimate, drawing (if stochastic) from its own stream of `seed`.
fn estimate(method: Method, problem: &Problem, seed: u64) -> Params {
    method.estimate(
        problem,
        &mut stream_rng(seed, 0, stream_id(&method.to_string())),
    )
}

/// Every method of `Method::all()` and a few more sample counts.
fn every_method() -> Vec<Method> {
    let mut methods = Method::all();
    methods.extend([
        method("ggn_mc:3"),
        method("kfac:3"),
        method("hutchinson:3"),
        method("hutchinson_signed:3"),
    ]);
    methods
}

/// The last layer on its own.
fn last(params: &Params) -> Params {
    select(params, params.layers() - 1..params.layers())
}

const PIECEWISE_LINEAR: [Activation; 3] = [
    Activation::Relu,
    Activation::LeakyRelu,
    Activation::Identity,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// §2.2.1: the output curvature is exact and the last layer needs nothing below it.
    #[test]
    fn hesscale_hesscale_gn_and_ggn_are_exact_in_the_last_layer(case in arb_case(1..=4)) {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        for method in [method("hesscale"), method("hesscale_gn"), method("ggn")] {
            assert_params_close(
                format!("{case} {method}, last layer"),
                &last(&estimate(method, &problem, case.seed)),
                &last(&exact),
                scaled(ROUNDING, &last(&exact)),
            );
        }
    }

    /// §2.2.2: for mse `∇²ℓ ∝ I`, so dropping off-diagonals loses nothing one layer down.
    #[test]
    fn hesscale_is_exact_in_layer_l_minus_1_for_mse(
        case in arb_case_with(&Activation::ALL, &[Loss::Mse], 1..=4, 2..=4)
    ) {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        let hesscale = estimate(method("hesscale"), &problem, case.seed);
        let layers = exact.layers();
        assert_params_close(
            format!("{case} hesscale, layers L−1 and L"),
            &select(&hesscale, layers - 2..layers),
            &select(&exact, layers - 2..layers),
            scaled(ROUNDING, &select(&exact, layers - 2..layers)),
        );
    }

    /// §2.2.2: for mse the elementwise seed is the exact one.
    #[test]
    fn bl89_equals_hesscale_for_mse(
        case in arb_case_with(&Activation::ALL, &[Loss::Mse], 1..=4, 1..=4)
    ) {
        let problem = case.problem();
        let hesscale = estimate(method("hesscale"), &problem, case.seed);
        assert_params_close(
            format!("{case} bl89 vs hesscale"),
            &estimate(method("bl89"), &problem, case.seed),
            &hesscale,
            scaled(ROUNDING, &hesscale),
        );
    }

    /// §2.2.4: for cross_entropy and one sample, bl89's last layer is exact in row y and
    /// zero in every other row.
    #[test]
    fn bl89_last_layer_is_exact_in_row_y_and_zero_elsewhere_for_cross_entropy(
        case in arb_case_with(&Activation::ALL, &[Loss::CrossEntropy], 1..=1, 1..=4)
    ) {
        let problem = case.problem();
        let Targets::Classes(classes) = problem.targets() else { unreachable!() };
        let y = classes[0];
        let exact = exact::hessian_diag(&problem);
        let bl89 = estimate(method("bl89"), &problem, case.seed);
        let (exact, bl89) = (last(&exact), last(&bl89));
        let tolerance = ROUNDING * weight(&exact, 0).row(y).iter().fold(bias(&exact, 0)[y].abs(), |m, v| m.max(v.abs()));
        for c in 0..bias(&bl89, 0).len() {
            if c == y {
                assert_relative_eq!(bias(&bl89, 0)[c], bias(&exact, 0)[c], epsilon = tolerance.max(f64::MIN_POSITIVE), max_relative = ROUNDING);
                for (b, e) in weight(&bl89, 0).row(c).iter().zip(weight(&exact, 0).row(c)) {
                    assert_relative_eq!(*b, *e, epsilon = tolerance.max(f64::MIN_POSITIVE), max_relative = ROUNDING);
                }
            } else {
                prop_assert_eq!(bias(&bl89, 0)[c], 0.0, "{} bias row {}", case, c);
                prop_assert!(weight(&bl89, 0).row(c).iter().all(|&v| v == 0.0), "{} weight row {}", case, c);
            }
        }
    }

    /// §2.2.3: φ'' ≡ 0 removes the residual, so Hessian = GGN and hesscale = hesscale_gn.
    #[test]
    fn ggn_is_exact_and_hesscale_is_hesscale_gn_on_piecewise_linear_nets(
        case in arb_case_with(&PIECEWISE_LINEAR, &Loss::ALL, 1..=4, 1..=4)
    ) {
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        assert_params_close(
            format!("{case} ggn vs exact"),
            &estimate(method("ggn"), &problem, case.seed),
            &exact,
            scaled(ROUNDING, &exact),
        );
        let hesscale = estimate(method("hesscale"), &problem, case.seed);
        assert_params_close(
            format!("{case} hesscale_gn vs hesscale"),
            &estimate(method("hesscale_gn"), &problem, case.seed),
            &hesscale,
            scaled(ROUNDING, &hesscale),
        );
    }

    /// ggn against the full-matrix GGN recursion of oracle (c), every activation.
    #[test]
    fn ggn_equals_the_full_matrix_ggn_recursion(case in arb_case(1..=4)) {
        let problem = case.problem();
        let oracle = full_matrix_oracle(&problem).ggn;
        assert_params_close(
            format!("{case} ggn vs full-matrix GGN"),
            &estimate(method("ggn"), &problem, case.seed),
            &oracle,
            scaled(ROUNDING, &oracle),
        );
    }

    /// hesscale, hesscale_gn and bl89 against the diagonal recursion of SPEC §2 written
    /// out with loops (the residual `φ''⊙γ` kept, dropped, kept with BL89's seed).
    #[test]
    fn the_hesscale_family_follows_its_diagonal_recursion(case in arb_case(1..=4)) {
        let problem = case.problem();
        for (method, seed, residual) in [
            (method("hesscale"), Seed::ExactDiagonal, true),
            (method("hesscale_gn"), Seed::ExactDiagonal, false),
            (method("bl89"), Seed::Elementwise, true),
        ] {
            let oracle = diagonal_recursion_oracle(&problem, seed, residual);
            assert_params_close(
                format!("{case} {method} vs its recursion"),
                &estimate(method, &problem, case.seed),
                &oracle,
                scaled(ROUNDING, &oracle),
            );
        }
    }

    /// §2.2.6: for one sample A = h hᵀ, so G_oo·A_ii is exactly ggn_mc's Σ_m s_m² h².
    #[test]
    fn kfac_equals_ggn_mc_for_one_sample_given_the_same_draws(
        case in arb_case(1..=1),
        draws in 1usize..=5,
    ) {
        let problem = case.problem();
        let kfac = method(&format!("kfac:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 9));
        let ggn_mc = method(&format!("ggn_mc:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 9));
        assert_params_close(
            format!("{case} kfac:{draws} vs ggn_mc:{draws}"),
            &kfac,
            &ggn_mc,
            scaled(ROUNDING, &ggn_mc),
        );
    }

    /// KFAC for any batch: its bias diagonal G_oo is ggn_mc's, and the weight diagonal is
    /// G_oo · A_ii with A = (1/N) Σ_n h hᵀ.
    #[test]
    fn kfac_is_the_product_of_its_factor_diagonals(case in arb_case(1..=4), draws in 1usize..=3) {
        let problem = case.problem();
        let kfac = method(&format!("kfac:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 9));
        let ggn_mc = method(&format!("ggn_mc:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 9));
        let inputs = layer_inputs(&problem);
        let mut expected = ggn_mc.clone();
        for (l, h) in inputs.iter().enumerate() {
            let a_diag = h.mapv(|v| v * v).mean_axis(Axis(0)).expect("a sample");
            let g = bias(&ggn_mc, l).to_owned();
            expected.matrix_mut(l, 0).assign(&g.view().insert_axis(Axis(1)).dot(&a_diag.view().insert_axis(Axis(0))));
        }
        assert_params_close(format!("{case} kfac:{draws}"), &kfac, &expected, scaled(ROUNDING, &expected));
    }

    /// §2.2.7: mean = sum × 1/N (mse: 1/(N·D)) for every method; grad_squared with the
    /// square of that factor. Stochastic methods see identical draws.
    #[test]
    fn mean_reduction_is_the_sum_reduction_scaled(case in arb_case(1..=4)) {
        let problem = case.problem();
        let mean = problem.with_reduction(Reduction::Mean);
        let sum = problem.with_reduction(Reduction::Sum);
        let factor = match case.loss {
            Loss::CrossEntropy => 1.0 / case.batch as f64,
            Loss::Mse => 1.0 / (case.batch * case.widths[case.depth()]) as f64,
        };
        for method in every_method() {
            let factor = if method.family() == "grad_squared" { factor * factor } else { factor };
            let of_sum = map_params(&estimate(method, &sum, case.seed), |v| factor * v);
            assert_params_close(
                format!("{case} {method}: mean vs {factor} × sum"),
                &estimate(method, &mean, case.seed),
                &of_sum,
                scaled(ROUNDING, &of_sum),
            );
        }
    }

    /// §2.2.8: the Gauss–Newton family, squares and zero are never negative.
    #[test]
    fn gauss_newton_methods_are_non_negative(case in arb_case(1..=4)) {
        let problem = case.problem();
        for method in [
            method("ggn"),
            method("hesscale_gn"),
            method("ggn_mc:1"),
            method("ggn_mc:3"),
            method("kfac:1"),
            method("kfac:3"),
            method("hutchinson:2"),
            method("grad_squared"),
            method("zero"),
        ] {
            let values = flatten(&estimate(method, &problem, case.seed));
            prop_assert!(values.iter().all(|&v| v >= 0.0), "{} {}: {:?}", case, method, values);
        }
    }

    /// Every method returns one weight [out, in] and one bias [out] per layer, finite.
    #[test]
    fn every_method_returns_the_parameter_shapes(case in arb_case(1..=4)) {
        let problem = case.problem();
        for method in every_method() {
            let diagonal = estimate(method, &problem, case.seed);
            prop_assert_eq!(diagonal.layers(), case.depth(), "{} {}", case, method);
            for l in 0..diagonal.layers() {
                prop_assert_eq!(weight(&diagonal, l).dim(), (case.widths[l + 1], case.widths[l]), "{} {}", case, method);
                prop_assert_eq!(weight(&diagonal, l).dim(), weight(problem.mlp().params(), l).dim());
                prop_assert_eq!(bias(&diagonal, l).len(), case.widths[l + 1], "{} {}", case, method);
            }
            prop_assert!(flatten(&diagonal).iter().all(|v| v.is_finite()), "{} {}", case, method);
        }
    }

    /// Stochastic methods are functions of their rng: same stream, same estimate.
    #[test]
    fn the_same_seed_gives_the_same_estimate(case in arb_case(1..=4)) {
        let problem = case.problem();
        for method in every_method().into_iter().filter(|m| m.is_stochastic()) {
            prop_assert_eq!(
                estimate(method, &problem, case.seed),
                estimate(method, &problem, case.seed),
                "{} {}", case, method
            );
        }
    }

    /// hutchinson_signed:M is the mean of v ⊙ Hv over the Rademacher vectors its stream
    /// yields, hutchinson:M the mean of |v ⊙ Hv|; Hv here by finite differences.
    #[test]
    fn hutchinson_is_the_mean_of_v_times_hv(case in arb_case(1..=3), draws in 1usize..=3) {
        let problem = case.problem();
        // Finite differences of step 1e-5 would straddle the kink of relu, leaky_relu and
        // elu at 0 (where φ″ jumps) for a pre-activation within reach of it: such draws
        // say nothing about the method and are skipped.
        let pass = problem.forward();
        let preacts = (0..problem.mlp().layers().len())
            .filter(|&k| problem.mlp().slot(k).is_some())
            .map(|k| pass.output_of(k));
        prop_assume!(preacts.flatten().all(|a| a.abs() > 1e-3));
        let mut rng = stream_rng(case.seed, 0, 5);
        let mut signed = problem.mlp().zeros_like_params();
        let mut absolute = problem.mlp().zeros_like_params();
        for _ in 0..draws {
            let v = rademacher_like(problem.mlp().params().layout(), &mut rng);
            prop_assert!(flatten(&v).iter().all(|&x| x == 1.0 || x == -1.0));
            let sample = zip_params(&v, &finite_difference_hvp(&problem, &v, 1e-5), |v, hv| v * hv);
            signed = zip_params(&signed, &sample, |s, x| s + x / draws as f64);
            absolute = zip_params(&absolute, &sample, |s, x| s + x.abs() / draws as f64);
        }
        // Central differences of step 1e-5 carry round-off of about 1e-11 of the gradient:
        // an absolute floor far above it, so that an exactly zero v⊙Hv (all units of a
        // layer dead) is not held to the finite differences' noise.
        let tolerance = scaled(1e-7, &absolute).max(1e-9);
        assert_params_close(
            format!("{case} hutchinson_signed:{draws}"),
            &method(&format!("hutchinson_signed:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 5)),
            &signed,
            tolerance,
        );
        assert_params_close(
            format!("{case} hutchinson:{draws}"),
            &method(&format!("hutchinson:{draws}")).estimate(&problem, &mut stream_rng(case.seed, 0, 5)),
            &absolute,
            tolerance,
        );
    }

    /// The M directions go through together; the result is the mean over the same
    /// Rademacher vectors of `v ⊙ Hv` (or `|v ⊙ Hv|`) with `Hv` from one Hessian-vector
    /// product per direction, to rounding.
    #[test]
    fn batched_hutchinson_equals_one_hessian_vector_product_per_direction(
        case in arb_case(1..=3),
        draws in 1usize..=4,
    ) {
        let problem = case.problem();
        let linearization = Linearization::new(&problem);
        let mut rng = stream_rng(case.seed, 0, 5);
        let mut signed = problem.mlp().zeros_like_params();
        let mut absolute = problem.mlp().zeros_like_params();
        for _ in 0..draws {
            let v = rademacher_like(problem.mlp().params().layout(), &mut rng);
            let hv = linearization.hessian_vector_product(&v);
            let sample = zip_params(&v, &hv, |v, hv| v * hv);
            signed = zip_params(&signed, &sample, |s, x| s + x / draws as f64);
            absolute = zip_params(&absolute, &sample, |s, x| s + x.abs() / draws as f64);
        }
        let names = [("hutchinson_signed", &signed), ("hutchinson", &absolute)];
        for (family, expected) in names {
            let name = format!("{family}:{draws}");
            let tolerance = scaled(ROUNDING, &absolute) + 1e-300;
            assert_params_close(
                format!("{case} {name}"),
                &method(&name).estimate(&problem, &mut stream_rng(case.seed, 0, 5)),
                expected,
                tolerance,
            );
        }
    }

    /// grad_squared is g ⊙ g of the reduced loss (the gradient is checked against finite
    /// differences in exact_diagonal.rs), and zero is zero.
    #[test]
    fn grad_squared_squares_the_gradient_and_zero_is_zero(case in arb_case(1..=4)) {
        let problem = case.problem();
        let expected = map_params(&problem.gradient(), |g| g * g);
        assert_params_close(
            format!("{case} grad_squared"),
            &estimate(method("grad_squared"), &problem, case.seed),
            &expected,
            scaled(ROUNDING, &expected),
        );
        prop_assert!(flatten(&estimate(method("zero"), &problem, case.seed)).iter().all(|&v| v == 0.0));
    }
}

/// The identities above would not notice a lost residual term if every net were
/// piecewise linear: on tanh nets hesscale and hesscale_gn differ, and only hesscale is
/// exact in layer L−1 for mse.
#[test]
fn the_residual_term_matters_on_tanh_nets() {
    for batch in [1, 4] {
        let case = Case::new(
            &[5, 7, 6, 3],
            Activation::Tanh,
            Loss::Mse,
            Reduction::Mean,
            batch,
            11,
        );
        let problem = case.problem();
        let exact = exact::hessian_diag(&problem);
        let hesscale = estimate(method("hesscale"), &problem, 0);
        let hesscale_gn = estimate(method("hesscale_gn"), &problem, 0);
        let below = &select(&exact, 1..2);
        assert!(max_abs_distance(&select(&hesscale, 1..2), below) < 1e-12 * max_abs(below));
        assert!(
            max_abs_distance(&select(&hesscale_gn, 1..2), below) > 1e-2 * max_abs(below),
            "{case}: hesscale_gn is exact too"
        );
    }
}

/// Different streams give different Hutchinson estimates (the seed is really used).
#[test]
fn other_seeds_give_other_stochastic_estimates() {
    let case = Case::new(
        &[4, 6, 5],
        Activation::Tanh,
        Loss::CrossEntropy,
        Reduction::Mean,
        2,
        3,
    );
    let problem = case.problem();
    for method in [
        method("hutchinson:1"),
        method("hutchinson_signed:1"),
        method("ggn_mc:4"),
    ] {
        assert_ne!(
            estimate(method, &problem, 1),
            estimate(method, &problem, 2),
            "{method}"
        );
    }
}

/// Width-1 layers with several samples (once a layout panic in `tile_rows`): every
/// method runs and the exact ones agree with the full-matrix oracle.
#[test]
fn width_one_layers_with_a_batch_work_for_every_method() {
    for widths in [[1, 1, 2, 1], [3, 1, 1, 4], [1, 2, 1, 1]] {
        for loss in Loss::ALL {
            let case = Case::new(&widths, Activation::Tanh, loss, Reduction::Mean, 3, 0);
            let problem = case.problem();
            for method in every_method() {
                let diagonal = estimate(method, &problem, 0);
                assert!(
                    flatten(&diagonal).iter().all(|v| v.is_finite()),
                    "{case} {method}"
                );
            }
            let oracle = full_matrix_oracle(&problem);
            assert_params_close(
                format!("{case} exact"),
                &exact::hessian_diag(&problem),
                &oracle.hessian,
                scaled(ROUNDING, &oracle.hessian),
            );
            assert_params_close(
                format!("{case} ggn"),
                &estimate(method("ggn"), &problem, 0),
                &oracle.ggn,
                scaled(ROUNDING, &oracle.ggn),
            );
        }
    }
}
