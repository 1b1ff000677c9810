//! A checked problem: a model, a loss bound to a batch (targets and reduction), and the
//! batch's inputs, whose shapes and values all agree. Only a [`Problem`] reaches the
//! methods, so they never see a ragged weight, a NaN or a class index out of range. The
//! loss is any [`OutputLoss`]: a supervised loss ([`SupervisedLoss`], the default) or a
//! policy loss ([`crate::nn::PolicyLoss`]).

use std::sync::Arc;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::nn::loss::{LossKind, OutputLoss, Reduction, SupervisedLoss, Targets};
use crate::nn::network::{ForwardPass, Mlp};
use crate::nn::params::check_finite;

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
}
