//! A checked problem: a model, a loss bound to a batch (targets and reduction), and the
//! batch's inputs, whose shapes and values all agree. Only a [`Problem`] reaches the
//! methods, so they never see a ragged weight, a NaN or a class index out of range. The
//! loss is any [`OutputLoss`]: a supervised loss ([`SupervisedLoss`], the default) or a
//! policy loss ([`crate::nn::PolicyLoss`]).

use std::sync::Arc;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::nn::kernels;
use crate::nn::linear::row_major;
use crate::nn::linearization::Linearization;
use crate::nn::loss::{LossKind, OutputLoss, Reduction, SupervisedLoss, Targets};
use crate::nn::network::{ForwardPass, Mlp, PlainLayers};
use crate::nn::params::{check_finite, Params};

/// A model, a loss bound to a batch and the batch's inputs, validated by [`Problem::new`].
/// The model is shared: problems made from one another by [`Problem::with_batch`] hold
/// the same checked model.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem<L = SupervisedLoss> {
    mlp: Arc<Mlp>,
    loss: L,
    inputs: Array2<f64>,
}

/// Check a model's values: every parameter finite (its shapes were checked when it was
/// made, and only its values change).
pub fn check_model(mlp: &Mlp) -> Result<()> {
    mlp.params().check_finite()
}

/// Check a batch's inputs against a checked model: not empty, of the model's input
/// width, every value finite (unless `inputs_known_finite`).
fn check_inputs(mlp: &Mlp, inputs: &Array2<f64>, inputs_known_finite: bool) -> Result<()> {
    if inputs.nrows() == 0 {
        return Err(Error::input("inputs: the batch is empty"));
    }
    if inputs.ncols() != mlp.inputs() {
        return Err(Error::input(format!(
            "inputs: rows have {} values but the first layer takes {}",
            inputs.ncols(),
            mlp.inputs()
        )));
    }
    if !inputs_known_finite {
        check_finite(inputs, "inputs")?;
    }
    Ok(())
}

impl Problem {
    /// Check that the batch fits the model's input and output widths and that every value
    /// is finite (the model's shapes were checked when it was made); then bind the loss
    /// `kind` (a supervised [`crate::nn::Loss`], or [`crate::nn::Policy`]) to the
    /// targets.
    pub fn new<K: LossKind>(
        mlp: Mlp,
        kind: K,
        reduction: Reduction,
        inputs: Array2<f64>,
        targets: K::Targets,
    ) -> Result<Problem<K::Bound>> {
        Problem::with_shared_model(Arc::new(mlp), kind, reduction, inputs, targets)
    }

    /// As [`Problem::new`], for a model the caller keeps: a trainer holds its model in an
    /// `Arc`, makes each batch's problem from a clone of it, and changes the parameters in
    /// place (`Arc::make_mut`, which copies nothing) once those problems are dropped. The
    /// model's values are checked every time.
    pub fn with_shared_model<K: LossKind>(
        mlp: Arc<Mlp>,
        kind: K,
        reduction: Reduction,
        inputs: Array2<f64>,
        targets: K::Targets,
    ) -> Result<Problem<K::Bound>> {
        check_model(&mlp)?;
        Problem::with_checked_model(mlp, kind, reduction, inputs, targets, false)
    }

    /// As [`Problem::with_shared_model`], for a model that passed [`check_model`] and has
    /// kept its shapes and finite values since (a learner's model between its steps): the
    /// model is not checked again. With `inputs_known_finite`, for inputs made from data
    /// that holds no NaN or infinity (MNIST's pixel bytes), the inputs are not scanned for
    /// non-finite values either; every other check of the batch is made.
    pub(crate) fn with_checked_model<K: LossKind>(
        mlp: Arc<Mlp>,
        kind: K,
        reduction: Reduction,
        inputs: Array2<f64>,
        targets: K::Targets,
        inputs_known_finite: bool,
    ) -> Result<Problem<K::Bound>> {
        debug_assert!(check_model(&mlp).is_ok(), "the model was checked");
        debug_assert!(
            !inputs_known_finite || inputs.iter().all(|v| v.is_finite()),
            "the inputs are finite"
        );
        check_inputs(&mlp, &inputs, inputs_known_finite)?;
        let loss = kind.bind(reduction, targets, inputs.nrows(), mlp.outputs())?;
        Ok(Problem { mlp, loss, inputs })
    }

    /// The same model, loss and reduction with another batch: only the batch is checked
    /// (the model was checked when this problem was made).
    pub fn with_batch(&self, inputs: Array2<f64>, targets: Targets) -> Result<Problem> {
        check_inputs(&self.mlp, &inputs, false)?;
        let loss = self.loss.kind().bind(
            self.loss.reduction(),
            targets,
            inputs.nrows(),
            self.mlp.outputs(),
        )?;
        Ok(Problem {
            mlp: Arc::clone(&self.mlp),
            loss,
            inputs,
        })
    }

    /// The targets of the batch.
    pub fn targets(&self) -> &Targets {
        self.loss.targets()
    }

    /// The reduction of the loss over the batch.
    pub fn reduction(&self) -> Reduction {
        self.loss.reduction()
    }

    /// The same problem with the other reduction (for the scaling identity, SPEC §2.2.7).
    pub fn with_reduction(&self, reduction: Reduction) -> Problem {
        Problem {
            loss: self.loss.with_reduction(reduction),
            ..self.clone()
        }
    }
}

impl<L: OutputLoss + Clone> Problem<L> {
    /// The same loss and batch on another model (checked, and of the same input and output
    /// widths): the oracles move weights and look at what changes.
    pub fn with_mlp(&self, mlp: Mlp) -> Result<Problem<L>> {
        check_model(&mlp)?;
        if mlp.inputs() != self.mlp.inputs() || mlp.outputs() != self.mlp.outputs() {
            return Err(Error::input(format!(
                "the model maps {} inputs to {} outputs, not {} to {}",
                mlp.inputs(),
                mlp.outputs(),
                self.mlp.inputs(),
                self.mlp.outputs()
            )));
        }
        Ok(Problem {
            mlp: Arc::new(mlp),
            loss: self.loss.clone(),
            inputs: self.inputs.clone(),
        })
    }
}

impl<L: OutputLoss> Problem<L> {
    /// The model.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// The loss, bound to the batch.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// The inputs, shape [N, inputs].
    pub fn inputs(&self) -> &Array2<f64> {
        &self.inputs
    }

    /// The batch size N.
    pub fn batch_size(&self) -> usize {
        self.inputs.nrows()
    }

    /// The forward pass of the batch.
    pub fn forward(&self) -> ForwardPass {
        self.mlp.forward(&self.inputs)
    }

    /// The reduced loss of a forward pass.
    pub fn loss_value(&self, pass: &ForwardPass) -> f64 {
        self.loss.value(pass.output())
    }

    /// `∂L/∂z` of a forward pass.
    pub fn output_gradient(&self, pass: &ForwardPass) -> Array2<f64> {
        self.loss.gradient(pass.output())
    }
    /// The gradient of the reduced loss with respect to every parameter (forward +
    /// backward): the unit of cost every method is compared with. Through the walk
    /// ([`Linearization::param_gradient`]), or, for one sample of a multi-layer
    /// perceptron, the fast path of [`Problem::gradient_of_one_sample`].
    pub fn gradient(&self) -> Params {
        match self.mlp.as_plain() {
            Some(plain) if self.batch_size() == 1 => self.gradient_of_one_sample(&plain),
            _ => Linearization::new(self).param_gradient(),
        }
    }

    /// The gradient of one sample of a multi-layer perceptron, the same numbers as the walk
    /// gives, without its arrays: down the layers `δ_{l−1} = φ'(a_{l−1}) ⊙ (W_lᵀ δ_l)` with
    /// one matrix–vector kernel per layer (φ' from `a` and `h`), then up the layers the
    /// flat gradient written once, in its layout's order: `∂L/∂W_l = δ_l h_{l−1}ᵀ`,
    /// `∂L/∂b_l = δ_l`. (Tested bit for bit against the walk.)
    pub fn gradient_of_one_sample(&self, plain: &PlainLayers) -> Params {
        let pass = self.forward();
        let depth = plain.linear.len();
        let mut deltas = vec![Vec::new(); depth];
        deltas[depth - 1] = self.output_gradient(&pass).into_iter().collect();
        for l in (1..depth).rev() {
            let (linear, params) = plain.linear[l];
            let mut below = vec![0.0; linear.inputs];
            kernels::add_transposed_product(
                &row_major(linear.weight(params)),
                &deltas[l],
                &mut below,
            );
            let activation = plain.activations[l - 1];
            let (preacts, hidden) = (pass.input_of(2 * l - 1).row(0), pass.input_of(2 * l).row(0));
            for ((g, &a), &h) in below.iter_mut().zip(preacts).zip(hidden) {
                *g *= activation.derivatives(a, h).0;
            }
            deltas[l - 1] = below;
        }
        let mut values = Vec::with_capacity(self.mlp.n_params());
        for (l, delta) in deltas.iter().enumerate() {
            kernels::append_outer_product(
                delta,
                &row_major(pass.input_of(2 * l).view()),
                &mut values,
            );
            // `∂L/∂b_l = Σ_n δ_l` of the one sample: `0 + δ_l`, as the walk's sum gives it.
            values.extend(delta.iter().map(|&d| 0.0 + d));
        }
        Params::from_values(self.mlp.params().layout(), values)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    /// The first non-finite value is named by its row-major index, whatever the layout.
    #[test]
    fn check_finite_names_the_first_bad_value_in_row_major_order() {
        let good = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert!(check_finite(&good, "w").is_ok());
        assert!(check_finite(&good.t(), "w").is_ok());
        let mut bad = good.clone();
        bad[[1, 0]] = f64::INFINITY;
        bad[[1, 2]] = f64::NAN;
        let message =
            |values: &ndarray::ArrayView2<f64>| check_finite(values, "w").unwrap_err().to_string();
        assert_eq!(
            message(&bad.view()),
            "w holds a non-finite value (NaN or infinity) at flat index 3"
        );
        assert_eq!(
            message(&bad.t()),
            "w holds a non-finite value (NaN or infinity) at flat index 1"
        );
        assert_eq!(
            message(&bad.slice(ndarray::s![.., ..;2])),
            "w holds a non-finite value (NaN or infinity) at flat index 2"
        );
    }
}
