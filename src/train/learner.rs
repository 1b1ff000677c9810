//! A model with its optimizer: one step per batch the caller gives. [`crate::train::Trainer`]
//! draws the batches from MNIST; other data can be stepped on directly.

use std::sync::Arc;

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::problem::check_model;
use crate::nn::{ForwardPass, Linearization, Loss, LossKind, Mlp, Params, Problem, Reduction};
use crate::rng::{stream_id, stream_rng};
use crate::train::optimizer::{OptimizerConfig, OptimizerState};

/// The stream a training run draws `method`'s estimates from: `train/<method>` (e.g.
/// `train/hutchinson:1`) in the caller's (seed, cell), apart from the streams a study
/// measures the same method with on the trained network (SPEC §5).
pub fn curvature_stream(seed: u64, cell: u64, method: Method) -> ChaCha8Rng {
    stream_rng(seed, cell, stream_id(&format!("train/{method}")))
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome {
    /// The step was taken.
    Taken {
        /// The batch's loss before the step.
        loss: f64,
        /// The step-size scaling factor s applied (1 without scaling).
        scale: f64,
    },
    /// The loss, or a parameter after the update, was not finite: the parameters are left
    /// as they were before this step, and no further step is taken.
    Diverged {
        /// The batch's loss before the step (perhaps not finite).
        loss: f64,
    },
}

/// A curvature method with its own random stream, and the buffer its diagonals are
/// written to step after step.
#[derive(Clone, Debug)]
struct CurvatureSource {
    method: Method,
    rng: ChaCha8Rng,
    diagonal: Params,
}

impl CurvatureSource {
    fn new(method: Method, seed: u64, cell: u64, mlp: &Mlp) -> Self {
        CurvatureSource {
            method,
            rng: curvature_stream(seed, cell, method),
            diagonal: mlp.zeros_like_params(),
        }
    }

    /// The method's diagonal of the batch, written over the buffer.
    fn estimate(&mut self, linearization: &Linearization) -> Result<()> {
        self.method
            .estimate_from(linearization, &mut self.rng)?
            .write_params(linearization, &mut self.diagonal);
        Ok(())
    }
}

/// A model trained with a mean-reduced loss of kind `K` (a supervised [`Loss`], or
/// [`crate::nn::Policy`]) by an optimizer (SPEC §9). Each step makes the batch's problem
/// on the model, one [`Linearization`] that the gradient and every diagonal the step
/// needs share, and the optimizer's step in place.
#[derive(Clone, Debug)]
pub struct Learner<K: LossKind = Loss> {
    /// The model; each step's problem shares it, and is dropped before the update.
    mlp: Arc<Mlp>,
    loss: K,
    state: OptimizerState,
    /// The gradient of the last step (a buffer reused from step to step).
    gradient: Params,
    /// The optimizer's own curvature method, if any.
    curvature: Option<CurvatureSource>,
    /// hesscale for the step-size scaling, when the optimizer does not compute it itself.
    scaling_curvature: Option<CurvatureSource>,
    /// The steps taken.
    steps: u64,
    diverged: bool,
}

impl<K: LossKind> Learner<K> {
    /// A learner for `mlp` (checked as [`Problem::new`] checks a model). Stochastic
    /// curvature methods draw from [`curvature_stream`]`(seed, cell, method)`. An error
    /// if the optimizer's curvature needs what this kind of loss lacks
    /// ([`OptimizerConfig::serves`]).
    pub fn new(
        mlp: Mlp,
        loss: K,
        config: OptimizerConfig,
        seed: u64,
        cell: u64,
    ) -> Result<Learner<K>> {
        config.serves(&loss)?;
        check_model(&mlp)?;
        let state = OptimizerState::new(config, mlp.params())?;
        let source =
            |method: Option<Method>| method.map(|m| CurvatureSource::new(m, seed, cell, &mlp));
        let (curvature, scaling_curvature) = (
            source(config.curvature()),
            source(config.scaling_curvature()),
        );
        Ok(Learner {
            gradient: mlp.zeros_like_params(),
            mlp: Arc::new(mlp),
            loss,
            state,
            curvature,
            scaling_curvature,
            steps: 0,
            diverged: false,
        })
    }

    /// One step on the batch (`inputs` `[N, in]`, `targets` as the loss takes them).
    /// Errors for a batch that does not fit the model, or once the run has diverged.
    pub fn step_on(&mut self, inputs: Array2<f64>, targets: K::Targets) -> Result<StepOutcome> {
        self.step_checking(inputs, None, targets, false)
    }

    /// The model's forward pass of `inputs` (`[N, in]`), for a caller that needs the
    /// outputs to make the targets and then steps with [`Learner::step_on_pass`].
    pub fn forward(&self, inputs: &Array2<f64>) -> ForwardPass {
        self.mlp.forward(inputs)
    }

    /// As [`Learner::step_on`] on the batch of `pass`, which must be [`Learner::forward`]'s
    /// for the current parameters: the step uses it instead of computing it again.
    pub fn step_on_pass(&mut self, pass: ForwardPass, targets: K::Targets) -> Result<StepOutcome> {
        let inputs = pass.input_of(0).clone();
        self.step_checking(inputs, Some(pass), targets, false)
    }

    /// As [`Learner::step_on`], for inputs made from data that holds no NaN or infinity
    /// (MNIST's pixel bytes): the inputs are not scanned for non-finite values.
    pub(crate) fn step_on_finite_inputs(
        &mut self,
        inputs: Array2<f64>,
        targets: K::Targets,
    ) -> Result<StepOutcome> {
        self.step_checking(inputs, None, targets, true)
    }

    /// One step on the batch. The model is not checked again: [`Learner::new`] checked it,
    /// and each step keeps its shapes and leaves every parameter finite.
    fn step_checking(
        &mut self,
        inputs: Array2<f64>,
        pass: Option<ForwardPass>,
        targets: K::Targets,
        inputs_known_finite: bool,
    ) -> Result<StepOutcome> {
        if self.diverged {
            return Err(Error::runtime(format!(
                "the run diverged after {} steps and takes no more",
                self.steps_done()
            )));
        }
        let loss = {
            let problem = Problem::with_checked_model(
                Arc::clone(&self.mlp),
                self.loss.clone(),
                Reduction::Mean,
                inputs,
                targets,
                inputs_known_finite,
            )?;
            let linearization = match pass {
                Some(pass) => Linearization::with_pass(&problem, pass),
                None => Linearization::new(&problem),
            };
            let loss = problem.loss_value(linearization.pass());
            if !loss.is_finite() {
                self.diverged = true;
                return Ok(StepOutcome::Diverged { loss });
            }
            linearization.write_param_gradient(&mut self.gradient);
            for source in [&mut self.curvature, &mut self.scaling_curvature]
                .into_iter()
                .flatten()
            {
                source.estimate(&linearization)?;
            }
            loss
        };
        let (curvature, scaling_curvature) = (
            self.curvature.as_ref().map(|s| &s.diagonal),
            self.scaling_curvature.as_ref().map(|s| &s.diagonal),
        );
        let params = Arc::make_mut(&mut self.mlp).params_mut();
        match self
            .state
            .step(params, &self.gradient, curvature, scaling_curvature)
        {
            Some(scale) => {
                self.steps += 1;
                Ok(StepOutcome::Taken { loss, scale })
            }
            None => {
                self.diverged = true;
                Ok(StepOutcome::Diverged { loss })
            }
        }
    }

    /// The number of steps taken.
    pub fn steps_done(&self) -> u64 {
        self.steps
    }

    /// The model as it stands.
    pub fn model(&self) -> &Mlp {
        &self.mlp
    }

    /// The model, taken out of the learner.
    pub fn into_model(self) -> Mlp {
        Arc::unwrap_or_clone(self.mlp)
    }

    /// The kind of loss trained on (mean reduction).
    pub fn loss(&self) -> &K {
        &self.loss
    }

    /// The optimizer's state.
    pub fn state(&self) -> &OptimizerState {
        &self.state
    }

    /// Whether a step diverged (no more steps are taken).
    pub fn diverged(&self) -> bool {
        self.diverged
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    use super::*;
    use crate::nn::init::{init_mlp, sample_batch, Architecture};
    use crate::nn::{Activation, Targets};
    use crate::train::optimizer::{Optimizer, Scaling};

    /// The tiny problem of the hand-computed steps: one Linear layer 1 → 1 (w, b) from
    /// w = b = 0, mse with mean reduction over N = 2 samples x = (2, −2), y = (1, 0).
    /// With residuals `r_1 = 2w + b − 1`, `r_2 = −2w + b`: `L = ½(r_1² + r_2²)`,
    /// `g_w = 2r_1 − 2r_2 = 8w − 2`, `g_b = r_1 + r_2 = 2b − 1`, and the Hessian is
    /// diag(8, 2) everywhere. So the exact diagonal, hesscale and hesscale_gn are (8, 2),
    /// and so is AdaHessian's `|v ⊙ Hv| = |Hv|` whatever the Rademacher draw v.
    /// Every optimizer runs with α = 0.1 and the defaults β1 0.9, β2 0.999, ε 1e-8.
    fn tiny(optimizer: Optimizer, scaling: Scaling) -> Learner {
        let mlp = Mlp::from_linear(vec![(array![[0.0]], array![0.0])], vec![]).unwrap();
        let config = OptimizerConfig {
            scaling,
            ..OptimizerConfig::new(optimizer, 0.1)
        };
        Learner::new(mlp, Loss::Mse, config, 0, 0).unwrap()
    }

    fn tiny_step(learner: &mut Learner) -> StepOutcome {
        let targets = Targets::Values(array![[1.0], [0.0]]);
        learner.step_on(array![[2.0], [-2.0]], targets).unwrap()
    }

    fn tiny_params(learner: &Learner) -> [f64; 2] {
        let values = learner.model().params().values();
        [values[0], values[1]]
    }

    /// Step `learner` once per row of `expected`: (loss before the step, scale, w and b
    /// after it).
    fn assert_steps(mut learner: Learner, expected: &[(f64, f64, [f64; 2])]) {
        for (t, &(loss, scale, params)) in expected.iter().enumerate() {
            let StepOutcome::Taken {
                loss: got_loss,
                scale: got_scale,
            } = tiny_step(&mut learner)
            else {
                panic!("step {} diverged", t + 1);
            };
            assert_abs_diff_eq!(got_loss, loss, epsilon = 1e-14);
            assert_abs_diff_eq!(got_scale, scale, epsilon = 1e-14);
            let got = tiny_params(&learner);
            for p in 0..2 {
                assert_abs_diff_eq!(got[p], params[p], epsilon = 1e-14);
            }
        }
        assert_eq!(learner.steps_done(), expected.len() as u64);
    }

    /// sgd, `θ ← θ − α g`:
    /// t=1: L = ½(1 + 0) = 0.5, g = (−2, −1), θ = (0.2, 0.1);
    /// t=2: r = (−0.5, −0.3), L = 0.17, g = (−0.4, −0.8), θ = (0.24, 0.18);
    /// t=3: r = (−0.34, −0.3), L = 0.1028, g = (−0.08, −0.64), θ = (0.248, 0.244).
    #[test]
    fn sgd_steps_by_hand() {
        assert_steps(
            tiny(Optimizer::Sgd, Scaling::None),
            &[
                (0.5, 1.0, [0.2, 0.1]),
                (0.17, 1.0, [0.24, 0.18]),
                (0.1028, 1.0, [0.248, 0.244]),
            ],
        );
    }

    /// adam:
    /// t=1: g = (−2, −1), m = (−0.2, −0.1), v = (0.004, 0.001), m̂ = g, v̂ = g², so
    /// u = α g/(|g| + ε) and θ = (0.2/(2 + 1e-8), 0.1/(1 + 1e-8))
    /// = (0.0999999995, 0.09999999900000001);
    /// t=2: r = (−0.700000002, −0.1), L = 0.250000001399999991,
    /// g = (8w − 2, 2b − 1) = (−1.200000004, −0.800000002),
    /// m = 0.9 m + 0.1 g = (−0.3000000004, −0.1700000002),
    /// v = 0.999 v + 0.001 g² = (0.0054360000096, 0.0016390000032),
    /// m̂ = m/0.19, v̂ = v/0.001999, u = α m̂/(√v̂ + ε)
    /// = (0.095749017076139364, 0.098812579340833885),
    /// θ = (0.195749016576139366, 0.198812578340833895).
    #[test]
    fn adam_steps_by_hand() {
        assert_steps(
            tiny(Optimizer::Adam, Scaling::None),
            &[
                (0.5, 1.0, [0.0999999995, 0.099999999]),
                (0.2500000014, 1.0, [0.19574901657613936, 0.1988125783408339]),
            ],
        );
    }

    /// adahessian, adahesscale and adahesscale_gn all square ĥ = (8, 2) here:
    /// t=1: m̂ = g = (−2, −1), v̂ = ĥ², u = α g/(ĥ + ε), θ = (0.2/(8 + 1e-8), 0.1/(2 + 1e-8))
    /// = (0.02499999996875, 0.04999999975);
    /// t=2: r = (−0.9000000003125, −1.875e-10), L = 0.405000000281249999,
    /// g = (8w − 2, 2b − 1) = (−1.80000000025, −0.9000000005),
    /// m = (−0.360000000025, −0.18000000005), m̂ = m/0.19, v̂ = ĥ² (v = (1 − 0.999²) ĥ²),
    /// u = α m̂/(ĥ + ε) = (0.023684210498355263, 0.047368420828947369),
    /// θ = (0.0486842104671052632, 0.0973684205789473707).
    #[test]
    fn adahessian_adahesscale_and_adahesscale_gn_steps_by_hand() {
        for optimizer in [
            Optimizer::AdaHessian,
            Optimizer::AdaHesScale,
            Optimizer::AdaHesScaleGn,
        ] {
            assert_steps(
                tiny(optimizer, Scaling::None),
                &[
                    (0.5, 1.0, [0.02499999996875, 0.04999999975]),
                    (
                        0.40500000028125,
                        1.0,
                        [0.04868421046710526, 0.09736842057894737],
                    ),
                ],
            );
        }
    }

    /// The N(0, 1) draws of ggn_mc:1 in the tiny problem's runs (seed 0, cell 0): two per
    /// step, one per sample (D = 1).
    const GGN_MC_DRAWS: [f64; 4] = [
        -0.2456487760003152,
        -1.4092959099099904,
        -0.23114980142412997,
        0.7741821318600458,
    ];

    /// adaggnmc: for mse each sample's square-root column is `√(2/(N·D)) ε = ε`, so the
    /// sampled pre-activation curvature is ε_n² and ĥ = (Σ ε_n² x_n², Σ ε_n²) = (4c, c) with
    /// c_t the sum of step t's two squared draws: c_1 = 2.0464582828394809,
    /// c_2 = 0.65278820398978007.
    /// t=1: u = α g/(ĥ + ε), θ = (0.2/(4c_1 + ε), 0.1/(c_1 + ε))
    /// = (0.0244324550166463072, 0.0488649098542091576);
    /// t=2: L = 0.407045738960119996, g = (8w − 2, 2b − 1), m = 0.9 m + 0.1 g,
    /// v = 0.999 · 0.001 ĥ_1² + 0.001 ĥ_2², m̂ = m/0.19, v̂ = v/0.001999,
    /// u = α m̂/(√v̂ + ε) = (0.031231673150323701, 0.062463346004567701),
    /// θ = (0.0556641281669700079, 0.111328255858776858).
    #[test]
    fn adaggnmc_steps_by_hand() {
        let mut stream = curvature_stream(0, 0, "ggn_mc:1".parse().unwrap());
        for draw in GGN_MC_DRAWS {
            let drawn: f64 = ndarray_rand::rand::Rng::sample(
                &mut stream,
                ndarray_rand::rand_distr::StandardNormal,
            );
            assert_eq!(drawn, draw);
        }
        assert_steps(
            tiny(Optimizer::AdaGgnMc, Scaling::None),
            &[
                (0.5, 1.0, [0.024432455016646308, 0.04886490985420916]),
                (
                    0.40704573896012,
                    1.0,
                    [0.05566412816697001, 0.11132825585877686],
                ),
            ],
        );
    }

    /// sgd with the hesscale scaling: ĥ = (8, 2), so after t steps the average is
    /// `(1 − 0.999^t) ĥ²` and Ĥ its square root.
    /// δ = 1e-4, t=1: u = α g = (−0.2, −0.1), Ĥ = √0.001 (8, 2) = (0.25298221, 0.06324555),
    /// τ = Ĥ · u² = 0.0107517440445724897, s = √(2δ/τ) = 0.136387804788801091,
    /// θ = −s u = (0.0272775609577602181, 0.0136387804788801091);
    /// t=2: L = 0.434968375265767834, g = (−1.78177951, −0.97272244),
    /// τ = 0.0122015343818252999,
    /// s = 0.128028829156982655, θ = (0.0500894754358125387, 0.0260924319754103483).
    /// δ = 1: τ is far below 2δ, so s = 1 and the steps are sgd's.
    #[test]
    fn sgd_with_the_scaling_by_hand() {
        assert_steps(
            tiny(Optimizer::Sgd, Scaling::HesScale { delta: 1e-4 }),
            &[
                (
                    0.5,
                    0.13638780478880108,
                    [0.027277560957760218, 0.013638780478880109],
                ),
                (
                    0.4349683752657678,
                    0.12802882915698266,
                    [0.05008947543581254, 0.02609243197541035],
                ),
            ],
        );
        assert_steps(
            tiny(Optimizer::Sgd, Scaling::HesScale { delta: 1.0 }),
            &[(0.5, 1.0, [0.2, 0.1]), (0.17, 1.0, [0.24, 0.18])],
        );
    }

    /// adahesscale with the scaling, δ = 1e-6, reading its own v = (1 − 0.999^t) ĥ²:
    /// t=1: u = (−0.02499999996875, −0.04999999975), Ĥ = √v = √0.001 (8, 2),
    /// τ = √0.001 (8 u_w² + 2 u_b²) = 3.16227764040414408e-4,
    /// s = √(2δ/τ) = 0.0795270731252271688, θ = −s u
    /// = (1.98817682564545819e-3, 3.97635363637959026e-3);
    /// t=2: τ = 4.43366798297471286e-4, s = 0.0671635145588126102,
    /// θ = (3.66023663788492328e-3, 7.32047324837078228e-3).
    #[test]
    fn adahesscale_with_the_scaling_by_hand() {
        assert_steps(
            tiny(Optimizer::AdaHesScale, Scaling::HesScale { delta: 1e-6 }),
            &[
                (
                    0.5,
                    0.07952707312522717,
                    [0.001988176825645458, 0.00397635363637959],
                ),
                (
                    0.4920789154889312,
                    0.06716351455881261,
                    [0.003660236637884923, 0.007320473248370782],
                ),
            ],
        );
    }

    /// Divergence is reported, not a panic. With α = 1e300, sgd's first step lands at
    /// θ = (2e300, 1e300), whose loss overflows: step 2 diverges with an infinite loss and
    /// leaves θ alone. With α = 1e308 the very first update overflows.
    #[test]
    fn divergence_is_reported_and_ends_the_run() {
        let sgd = |lr| {
            let mut learner = tiny(Optimizer::Sgd, Scaling::None);
            learner.state = OptimizerState::new(
                OptimizerConfig::new(Optimizer::Sgd, lr),
                learner.mlp.params(),
            )
            .unwrap();
            learner
        };
        let mut learner = sgd(1e300);
        assert!(matches!(tiny_step(&mut learner), StepOutcome::Taken { .. }));
        assert_eq!(tiny_params(&learner), [2e300, 1e300]);
        let StepOutcome::Diverged { loss } = tiny_step(&mut learner) else {
            panic!("the loss overflows");
        };
        assert_eq!(loss, f64::INFINITY);
        assert_eq!(tiny_params(&learner), [2e300, 1e300]);
        assert!(learner.diverged());
        assert_eq!(learner.steps_done(), 1);
        let targets = Targets::Values(array![[1.0], [0.0]]);
        let error = learner.step_on(array![[2.0], [-2.0]], targets).unwrap_err();
        assert_eq!(error.exit_code(), 1);

        let mut learner = sgd(1e308);
        assert_eq!(tiny_step(&mut learner), StepOutcome::Diverged { loss: 0.5 });
        assert_eq!(tiny_params(&learner), [0.0, 0.0]);
        assert_eq!(learner.steps_done(), 0);
    }

    /// Stepping on a forward pass computed first ([`Learner::forward`], then
    /// [`Learner::step_on_pass`]) is stepping on the inputs: the same parameters, bit for bit,
    /// for every optimizer with and without the scaling, over three batches.
    #[test]
    fn stepping_on_a_pass_is_stepping_on_its_inputs() {
        let architecture = Architecture {
            inputs: 3,
            hidden: vec![4, 5],
            outputs: 2,
            activation: Activation::Tanh,
        };
        let mut rng = stream_rng(11, 0, 0);
        let mlp = init_mlp(&architecture, &mut rng).unwrap();
        let batches: Vec<_> = (0..3)
            .map(|_| sample_batch(3, 2, Loss::Mse, 6, &mut rng))
            .collect();
        for optimizer in Optimizer::ALL {
            for scaling in [Scaling::None, Scaling::HesScale { delta: 1e-6 }] {
                let config = OptimizerConfig {
                    scaling,
                    ..OptimizerConfig::new(optimizer, 0.01)
                };
                let mut direct = Learner::new(mlp.clone(), Loss::Mse, config, 4, 2).unwrap();
                let mut via_pass = direct.clone();
                for (inputs, targets) in &batches {
                    let a = direct.step_on(inputs.clone(), targets.clone()).unwrap();
                    let pass = via_pass.forward(inputs);
                    let b = via_pass.step_on_pass(pass, targets.clone()).unwrap();
                    assert_eq!(a, b, "{optimizer} {scaling:?}");
                }
                assert_eq!(direct.model(), via_pass.model(), "{optimizer} {scaling:?}");
            }
        }
    }

    /// On a tanh net every optimizer (with and without the scaling) steps as the
    /// optimizer state does when fed, from one linearization per batch, the gradient and
    /// the registry's diagonals drawn from [`curvature_stream`]: each Ada* optimizer uses
    /// its own method, a fresh draw each step from its own stream.
    #[test]
    fn steps_use_the_registry_methods_on_one_linearization() {
        let architecture = Architecture {
            inputs: 3,
            hidden: vec![4],
            outputs: 2,
            activation: Activation::Tanh,
        };
        let mut rng = stream_rng(9, 0, 0);
        let mlp = init_mlp(&architecture, &mut rng).unwrap();
        let batches: Vec<_> = (0..3)
            .map(|_| sample_batch(3, 2, Loss::CrossEntropy, 5, &mut rng))
            .collect();
        let mut finals = Vec::new();
        for optimizer in Optimizer::ALL {
            for scaling in [Scaling::None, Scaling::HesScale { delta: 1e-12 }] {
                let config = OptimizerConfig {
                    scaling,
                    ..OptimizerConfig::new(optimizer, 0.01)
                };
                let mut learner =
                    Learner::new(mlp.clone(), Loss::CrossEntropy, config, 4, 2).unwrap();
                let mut state = OptimizerState::new(config, mlp.params()).unwrap();
                let mut streams = [config.curvature(), config.scaling_curvature()]
                    .map(|method| method.map(|m| (m, curvature_stream(4, 2, m))));
                let mut params = mlp.clone();
                for (inputs, targets) in &batches {
                    let StepOutcome::Taken { scale, .. } =
                        learner.step_on(inputs.clone(), targets.clone()).unwrap()
                    else {
                        panic!("{optimizer} diverged");
                    };
                    assert_eq!(scale < 1.0, scaling != Scaling::None, "the scaling binds");
                    let problem = Problem::new(
                        params.clone(),
                        Loss::CrossEntropy,
                        Reduction::Mean,
                        inputs.clone(),
                        targets.clone(),
                    )
                    .unwrap();
                    let linearization = Linearization::new(&problem);
                    let gradient = problem.gradient();
                    let [curvature, scaling_curvature] = streams.each_mut().map(|stream| {
                        stream.as_mut().map(|(method, rng)| {
                            method
                                .estimate_from(&linearization, rng)
                                .unwrap()
                                .into_params(&linearization)
                        })
                    });
                    state.step(
                        params.params_mut(),
                        &gradient,
                        curvature.as_ref(),
                        scaling_curvature.as_ref(),
                    );
                    {
                        let (got, want) = (learner.model().params(), params.params());
                        for (g, w) in got.values().iter().zip(want.values()) {
                            assert_abs_diff_eq!(g, w, epsilon = 1e-15);
                        }
                    }
                }
                finals.push(params);
            }
        }
        for (i, a) in finals.iter().enumerate() {
            for b in &finals[i + 1..] {
                assert_ne!(a, b, "every optimizer and scaling takes its own path");
            }
        }
    }
}
