//! A checked problem: a model, a loss bound to a batch (targets and reduction), and the
//! batch's inputs, whose shapes and values all agree. Only a [`Problem`] reaches the
//! methods, so they never see a ragged weight, a NaN or a class index out of range. The
//! loss is any [`OutputLoss`]: a supervised loss ([`SupervisedLoss`], the default) or a
//! policy loss ([`crate::nn::PolicyLoss`]).

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayBase, Data, Dimension};

use crate::error::{Error, Result};
use crate::nn::kernels;
use crate::nn::linear::row_major;
use crate::nn::loss::{LossKind, OutputLoss, SupervisedLoss};
use crate::nn::{BackwardPass, ForwardPass, LayerParams, Mlp, ParamTensors, Reduction, Targets};

/// A model, a loss bound to a batch and the batch's inputs, validated by [`Problem::new`].
/// The model is shared: problems made from one another by [`Problem::with_batch`] hold
/// the same checked model.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem<L = SupervisedLoss> {
    mlp: Arc<Mlp>,
    loss: L,
    inputs: Array2<f64>,
}

/// An error naming `what` and the first non-finite value's flat index, if there is one.
pub(crate) fn check_finite<S: Data<Elem = f64>, D: Dimension>(
    values: &ArrayBase<S, D>,
    what: &str,
) -> Result<()> {
    // A pass without early exit over the memory (which the compiler vectorises) for the
    // common case; the index of the first bad value only when there is one.
    let finite = match values.as_slice_memory_order() {
        Some(memory) => memory.iter().fold(true, |finite, v| finite & v.is_finite()),
        None => values.iter().all(|v| v.is_finite()),
    };
    if finite {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::input(format!(
            "{what} holds a non-finite value (NaN or infinity) at flat index {index}"
        ))),
        None => Ok(()),
    }
}
/// Check a model: layers that chain (`in` of layer l+1 = `out` of layer l), each bias the
/// length of its weight's rows, one activation per hidden layer, every value finite.
pub fn check_model(mlp: &Mlp) -> Result<()> {
    if mlp.layers.is_empty() {
        return Err(Error::input("layers: the model needs at least one layer"));
    }
    for (l, layer) in mlp.layers.iter().enumerate() {
        let name = format!("layers[{l}]");
        if layer.outputs() == 0 || layer.inputs() == 0 {
            return Err(Error::input(format!(
                "{name}.weight: shape [{}, {}] has a zero dimension",
                layer.outputs(),
                layer.inputs()
            )));
        }
        if layer.bias.len() != layer.outputs() {
            return Err(Error::input(format!(
                "{name}.bias: length {} does not match the weight's {} rows",
                layer.bias.len(),
                layer.outputs()
            )));
        }
        if l > 0 && layer.inputs() != mlp.layers[l - 1].outputs() {
            return Err(Error::input(format!(
                "{name}.weight: {} columns do not match the {} outputs of layers[{}]",
                layer.inputs(),
                mlp.layers[l - 1].outputs(),
                l - 1
            )));
        }
        check_finite(&layer.weight, &format!("{name}.weight"))?;
        check_finite(&layer.bias, &format!("{name}.bias"))?;
    }
    if mlp.activations.len() + 1 != mlp.layers.len() {
        return Err(Error::input(format!(
            "activations: {} given for {} layers (need one per hidden layer: {})",
            mlp.activations.len(),
            mlp.layers.len(),
            mlp.layers.len() - 1
        )));
    }
    Ok(())
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
    /// Check that the layers chain (`in` of layer l+1 = `out` of layer l), that each bias
    /// matches its weight, that there is one activation per hidden layer, that the batch
    /// fits the input and output widths, and that every value is finite; then bind the
    /// loss `kind` (a supervised [`crate::nn::Loss`], or [`crate::nn::Policy`]) to the
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
    /// model is checked every time; one whose weights are not stored row-major is copied.
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
        mut mlp: Arc<Mlp>,
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
        if mlp.layers.iter().any(|l| !l.weight.is_standard_layout()) {
            for layer in &mut Arc::make_mut(&mut mlp).layers {
                if !layer.weight.is_standard_layout() {
                    layer.weight = layer.weight.as_standard_layout().into_owned();
                }
            }
        }
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
    /// The backward pass of the gradient.
    pub fn backward(&self, pass: &ForwardPass) -> BackwardPass {
        self.mlp.backward(pass, self.output_gradient(pass))
    }

    /// The gradient of the reduced loss with respect to every parameter (forward +
    /// backward): the unit of cost every method is compared with. For one sample the
    /// backward pass reads each weight once, computing `γ = Wᵀ δ` and writing
    /// `∂L/∂W = δ hᵀ` in the same sweep ([`kernels::backward_step`]).
    pub fn gradient(&self) -> ParamTensors {
        let pass = self.forward();
        if self.batch_size() != 1 {
            let backward = self.backward(&pass);
            return self.mlp.param_gradient(&pass, &backward);
        }
        let mlp = &self.mlp;
        let mut delta: Vec<f64> = self.output_gradient(&pass).into_iter().collect();
        let mut gradient = Vec::with_capacity(mlp.depth());
        for l in (0..mlp.depth()).rev() {
            let layer = &mlp.layers[l];
            // The first layer's input gradient is not needed.
            let mut input_grad = vec![0.0; if l > 0 { layer.inputs() } else { 0 }];
            let mut weight_grad = Vec::new();
            kernels::backward_step(
                &row_major(layer.weight.view()),
                &row_major(pass.inputs[l].view()),
                &delta,
                &mut input_grad,
                &mut weight_grad,
            );
            let weight = Array2::from_shape_vec(layer.weight.raw_dim(), weight_grad)
                .expect("one gradient per weight");
            if l > 0 {
                let activation = mlp.activations[l - 1];
                let preacts = pass.preacts[l - 1].row(0);
                let hidden = pass.inputs[l].row(0);
                for ((g, &a), &h) in input_grad.iter_mut().zip(preacts).zip(hidden) {
                    *g *= activation.derivatives(a, h).0;
                }
            }
            let bias = Array1::from(std::mem::replace(&mut delta, input_grad));
            gradient.push(LayerParams { weight, bias });
        }
        gradient.reverse();
        gradient
    }

    /// The Hessian-vector product `H v` of the reduced loss with respect to all parameters
    /// (Pearlmutter's R-op), for a direction `v = (Ẇ_l, ḃ_l)` shaped like the parameters.
    ///
    /// Forward tangents `ȧ_l = ḣ_{l−1} W_lᵀ + h_{l−1} Ẇ_lᵀ + ḃ_l`, `ḣ_l = φ'(a_l) ⊙ ȧ_l`;
    /// output `δ̇_L = ∇²_z ℓ · ȧ_L`; then back down
    /// `(Hv)_{W_l} = δ̇_lᵀ h_{l−1} + δ_lᵀ ḣ_{l−1}`, `(Hv)_{b_l} = Σ_n δ̇_l`,
    /// `γ̇_{l−1} = δ̇_l W_l + δ_l Ẇ_l`, `δ̇_{l−1} = φ' ⊙ γ̇_{l−1} + φ'' ⊙ ȧ_{l−1} ⊙ γ_{l−1}`.
    pub fn hessian_vector_product(
        &self,
        pass: &ForwardPass,
        backward: &BackwardPass,
        direction: &[LayerParams],
    ) -> ParamTensors {
        let mlp = &self.mlp;
        let depth = mlp.depth();
        let mut input_tangents = vec![Array2::zeros(self.inputs.raw_dim())];
        let mut preact_tangents = Vec::with_capacity(depth);
        for (l, layer) in mlp.layers.iter().enumerate() {
            let input_tangent = input_tangents.last().expect("seeded with a zero tangent");
            let preact_tangent =
                layer.forward_tangent(&pass.inputs[l], input_tangent, &direction[l]);
            if l + 1 < depth {
                input_tangents
                    .push(mlp.activations[l].first_derivatives(&pass.preacts[l]) * &preact_tangent);
            }
            preact_tangents.push(preact_tangent);
        }
        let mut grad_tangent = self
            .loss
            .hessian_vector_product(pass.output(), &preact_tangents[depth - 1]);
        let mut product = Vec::with_capacity(depth);
        for l in (0..depth).rev() {
            let delta = &backward.preact_grads[l];
            product.push(LayerParams::param_gradient_tangent(
                delta,
                &grad_tangent,
                &pass.inputs[l],
                &input_tangents[l],
            ));
            if l > 0 {
                let activation = mlp.activations[l - 1];
                let preacts = &pass.preacts[l - 1];
                let hidden_grad_tangent =
                    mlp.layers[l].input_gradient_tangent(delta, &grad_tangent, &direction[l]);
                grad_tangent = activation.first_derivatives(preacts) * &hidden_grad_tangent
                    + activation.second_derivatives(preacts)
                        * &preact_tangents[l - 1]
                        * &backward.hidden_grads[l - 1];
            }
        }
        product.reverse();
        product
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
