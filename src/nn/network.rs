//! A network as a sequence of layers over one flat buffer of parameters, and the one
//! registration of the kinds of layer ([`Layer`]).

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};
use crate::nn::activation::{Activation, ActivationLayer};
use crate::nn::conv::Conv;
use crate::nn::flatten::Flatten;
use crate::nn::image::Form;
use crate::nn::layer::{LayerCache, LayerRules, Point};
use crate::nn::linear::Linear;
use crate::nn::params::{check_finite, ParamLayout, Params};
use crate::nn::pool::Pool;

/// Every kind of layer. A new kind is a file in `nn/` implementing
/// [`LayerRules`], a variant here and one line in `each_layer!`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `a = h Wᵀ + b` (`crate::nn::linear`).
    Linear(Linear),
    /// `h = φ(a)` elementwise (`crate::nn::activation`).
    Activation(ActivationLayer),
    /// A 2-D convolution of an image (`crate::nn::conv`).
    Conv(Conv),
    /// Max or average pooling of an image (`crate::nn::pool`).
    Pool(Pool),
    /// An image as a flat vector (`crate::nn::flatten`).
    Flatten(Flatten),
}

/// `$body` with `$layer` bound to the layer inside whichever variant `$self` is.
macro_rules! each_layer {
    ($self:expr, $layer:ident => $body:expr) => {
        match $self {
            Layer::Linear($layer) => $body,
            Layer::Activation($layer) => $body,
            Layer::Conv($layer) => $body,
            Layer::Pool($layer) => $body,
            Layer::Flatten($layer) => $body,
        }
    };
}

impl LayerRules for Layer {
    fn inputs(&self) -> usize {
        each_layer!(self, layer => layer.inputs())
    }

    fn outputs(&self) -> usize {
        each_layer!(self, layer => layer.outputs())
    }

    fn input_form(&self) -> Option<Form> {
        each_layer!(self, layer => layer.input_form())
    }

    fn output_form(&self, input: Form) -> Result<Form, String> {
        each_layer!(self, layer => layer.output_form(input))
    }

    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        each_layer!(self, layer => layer.param_shapes())
    }

    fn forward(&self, params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        each_layer!(self, layer => layer.forward(params, input))
    }

    fn cache(&self, input: &Array2<f64>, output: &Array2<f64>) -> LayerCache {
        each_layer!(self, layer => layer.cache(input, output))
    }

    fn forward_cached(&self, params: &[f64], input: &Array2<f64>) -> (Array2<f64>, LayerCache) {
        each_layer!(self, layer => layer.forward_cached(params, input))
    }

    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        each_layer!(self, layer => layer.backprop_rows(at, rows))
    }

    fn param_count(&self) -> usize {
        each_layer!(self, layer => layer.param_count())
    }

    fn param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut [f64]) {
        each_layer!(self, layer => layer.param_gradient(at, grad, out))
    }

    fn append_param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut Vec<f64>) {
        each_layer!(self, layer => layer.append_param_gradient(at, grad, out))
    }

    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        each_layer!(self, layer => layer.backprop_diag(at, grad, diag, residual))
    }

    fn param_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        each_layer!(self, layer => layer.param_diag(diag, squared_input, out))
    }

    fn append_param_diag(
        &self,
        diag: &Array2<f64>,
        squared_input: &Array2<f64>,
        out: &mut Vec<f64>,
    ) {
        each_layer!(self, layer => layer.append_param_diag(diag, squared_input, out))
    }

    fn residual_diag(&self, at: &Point, grad: &Array2<f64>) -> Option<Array2<f64>> {
        each_layer!(self, layer => layer.residual_diag(at, grad))
    }

    fn diag_is_outer_product(&self) -> bool {
        each_layer!(self, layer => layer.diag_is_outer_product())
    }

    fn row_param_gradients(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        each_layer!(self, layer => layer.row_param_gradients(at, rows))
    }

    fn unit_param_tangents(&self, at: &Point, params: Range<usize>) -> Array2<f64> {
        each_layer!(self, layer => layer.unit_param_tangents(at, params))
    }

    fn kfac_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        each_layer!(self, layer => layer.kfac_diag(diag, squared_input, out))
    }

    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        each_layer!(self, layer => layer.forward_tangent(at, input_tangent, param_tangents, rows))
    }

    fn backprop_tangent(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        each_layer!(self, layer => layer.backprop_tangent(
            at,
            grad,
            grad_tangent,
            input_tangent,
            param_tangents,
        ))
    }

    fn param_hessian_vector_product(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        out: &mut [&mut [f64]],
    ) {
        each_layer!(self, layer => layer.param_hessian_vector_product(
            at,
            grad,
            grad_tangent,
            input_tangent,
            out,
        ))
    }
}

/// A network: layers in sequence, input to output, and their parameters in one flat
/// buffer (`crate::nn::params`). Made only through a constructor that checks it, so its
/// layers always chain and its parameters fit them. The networks of the papers are
/// multi-layer perceptrons, `a_l = W_l h_{l−1} + b_l`, `h_l = φ_l(a_l)` for the hidden
/// layers and the output `z = a_L` without activation (SPEC §1): Linear and activation
/// layers alternating ([`Mlp::from_linear`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    layers: Vec<Layer>,
    params: Params,
    /// For each layer, which of the layers with parameters it is.
    slots: Vec<Option<usize>>,
    /// What the network takes: a flat vector, or an image (its first layer that asks for
    /// a form asks for this one).
    input: Form,
}

/// What a forward pass keeps for the backward passes.
#[derive(Clone, Debug)]
pub struct ForwardPass {
    /// The values at every boundary between layers, `[N, width]`: entry k is the input of
    /// layer k, the last entry the network's output.
    values: Vec<Array2<f64>>,
}

impl ForwardPass {
    /// The input of layer k.
    pub fn input_of(&self, k: usize) -> &Array2<f64> {
        &self.values[k]
    }

    /// The output of layer k.
    pub fn output_of(&self, k: usize) -> &Array2<f64> {
        &self.values[k + 1]
    }

    /// The network output `z`.
    pub fn output(&self) -> &Array2<f64> {
        self.values.last().expect("a pass has its input")
    }
}

/// A multi-layer perceptron's Linear layers with their parameters, and its activations.
pub struct PlainLayers<'a> {
    /// Each Linear layer and its parameters, input to output.
    pub linear: Vec<(Linear, &'a [f64])>,
    /// The activation after each Linear layer but the last.
    pub activations: Vec<Activation>,
}

impl Mlp {
    /// A multi-layer perceptron from its Linear layers' weights `[out, in]` and biases
    /// `[out]` and one activation per hidden layer, checked: at least one layer, no zero
    /// dimension, each bias the length of its weight's rows, layers that chain (`in` of
    /// layer l+1 = `out` of layer l), one activation per hidden layer, every value finite.
    /// Errors name the layer (`layers[l].weight`) as the problem file does.
    pub fn from_linear(
        linear: Vec<(Array2<f64>, Array1<f64>)>,
        activations: Vec<Activation>,
    ) -> Result<Mlp> {
        if linear.is_empty() {
            return Err(Error::input("layers: the model needs at least one layer"));
        }
        for (l, (weight, bias)) in linear.iter().enumerate() {
            let name = format!("layers[{l}]");
            let (outputs, inputs) = weight.dim();
            if outputs == 0 || inputs == 0 {
                return Err(Error::input(format!(
                    "{name}.weight: shape [{outputs}, {inputs}] has a zero dimension"
                )));
            }
            if bias.len() != outputs {
                return Err(Error::input(format!(
                    "{name}.bias: length {} does not match the weight's {outputs} rows",
                    bias.len()
                )));
            }
            if l > 0 && inputs != linear[l - 1].0.nrows() {
                return Err(Error::input(format!(
                    "{name}.weight: {inputs} columns do not match the {} outputs of layers[{}]",
                    linear[l - 1].0.nrows(),
                    l - 1
                )));
            }
            check_finite(weight, &format!("{name}.weight"))?;
            check_finite(bias, &format!("{name}.bias"))?;
        }
        if activations.len() + 1 != linear.len() {
            return Err(Error::input(format!(
                "activations: {} given for {} layers (need one per hidden layer: {})",
                activations.len(),
                linear.len(),
                linear.len() - 1
            )));
        }
        let mut layers = Vec::with_capacity(2 * linear.len() - 1);
        let mut values = Vec::with_capacity(
            linear
                .iter()
                .map(|(weight, bias)| weight.len() + bias.len())
                .sum(),
        );
        for (l, (weight, bias)) in linear.iter().enumerate() {
            let (outputs, inputs) = weight.dim();
            layers.push(Layer::Linear(Linear { inputs, outputs }));
            values.extend(weight.iter().chain(bias));
            if let Some(&activation) = activations.get(l) {
                layers.push(Layer::Activation(ActivationLayer {
                    activation,
                    width: outputs,
                }));
            }
        }
        Ok(Mlp::from_parts(layers, values))
    }

    /// A network of any sequence of `layers`, with their parameters `values` (in the
    /// layout's order: layer after layer, each layer's tensors as it declares them),
    /// checked: at least one layer, no zero width, layers that chain (each one's input
    /// width the output width of the one below, and the form it needs: an image of its
    /// shape, or a flat vector), one value per parameter, every value finite. The network
    /// takes the form its first layer that asks for one asks for (a flat vector if none
    /// does).
    pub fn new(layers: Vec<Layer>, values: Vec<f64>) -> Result<Mlp> {
        if layers.is_empty() {
            return Err(Error::input("layers: the model needs at least one layer"));
        }
        for (k, layer) in layers.iter().enumerate() {
            if layer.inputs() == 0 || layer.outputs() == 0 {
                return Err(Error::input(format!("layers[{k}]: a width is zero")));
            }
            if k > 0 && layer.inputs() != layers[k - 1].outputs() {
                return Err(Error::input(format!(
                    "layers[{k}]: {} inputs do not match the {} outputs of layers[{}]",
                    layer.inputs(),
                    layers[k - 1].outputs(),
                    k - 1
                )));
            }
        }
        let mut form = input_form(&layers);
        for (k, layer) in layers.iter().enumerate() {
            form = layer
                .output_form(form)
                .map_err(|e| Error::input(format!("layers[{k}]: {e}")))?;
        }
        let count: usize = layers.iter().map(LayerRules::param_count).sum();
        if values.len() != count {
            return Err(Error::input(format!(
                "parameters: {} values given for {count} parameters",
                values.len()
            )));
        }
        let mlp = Mlp::from_parts(layers, values);
        mlp.params.check_finite()?;
        Ok(mlp)
    }

    /// The network of `layers` (which chain) with the parameters `values` in their layout.
    fn from_parts(layers: Vec<Layer>, values: Vec<f64>) -> Mlp {
        let layout = Arc::new(ParamLayout::new(
            layers
                .iter()
                .enumerate()
                .map(|(k, layer)| (k, layer.param_shapes()))
                .filter(|(_, shapes)| !shapes.is_empty()),
        ));
        let slots = (0..layers.len()).map(|k| layout.slot_of(k)).collect();
        Mlp {
            input: input_form(&layers),
            layers,
            params: Params::from_values(&layout, values),
            slots,
        }
    }

    /// What the network takes: a flat vector of its input width, or an image.
    pub fn input_form(&self) -> Form {
        self.input
    }

    /// The layers, input to output.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The parameters, to change in place (their layout stays the network's; a caller
    /// that writes a non-finite value makes every problem of the network an error).
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// Which of the layers with parameters layer k is, if it has any.
    pub fn slot(&self, k: usize) -> Option<usize> {
        self.slots[k]
    }

    /// The parameters of layer k (empty for a layer without).
    pub fn layer_params(&self, k: usize) -> &[f64] {
        match self.slots[k] {
            Some(slot) => self.params.layer(slot),
            None => &[],
        }
    }

    /// The number of layers with parameters (the Linear layers L of an MLP).
    pub fn depth(&self) -> usize {
        self.params.layers()
    }

    /// The input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// The output width D.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs()
    }

    /// The widths of the input and of every layer with parameters' output, input to output
    /// (an MLP's `inputs → hidden… → outputs`).
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = vec![self.inputs()];
        widths.extend(
            self.params
                .layout()
                .layers()
                .iter()
                .map(|slot| self.layers[slot.layer].outputs()),
        );
        widths
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// Zeros shaped like the parameters.
    pub fn zeros_like_params(&self) -> Params {
        Params::zeros(self.params.layout())
    }

    /// The activations of the layers, in order.
    pub fn activations(&self) -> Vec<Activation> {
        self.layers
            .iter()
            .filter_map(|layer| match layer {
                Layer::Activation(layer) => Some(layer.activation),
                _ => None,
            })
            .collect()
    }

    /// Whether every layer's parameter diagonal is the outer product of SPEC §1.1
    /// ([`LayerRules::diag_is_outer_product`]; not where a convolution shares its weights).
    pub fn diag_is_outer_product(&self) -> bool {
        self.layers.iter().all(LayerRules::diag_is_outer_product)
    }

    /// A multi-layer perceptron's layers (Linear and activation alternating, Linear first
    /// and last), or `None` for another sequence: what the fast paths of the methods take.
    pub fn as_plain(&self) -> Option<PlainLayers<'_>> {
        let mut plain = PlainLayers {
            linear: Vec::with_capacity(self.depth()),
            activations: Vec::with_capacity(self.depth()),
        };
        for (k, layer) in self.layers.iter().enumerate() {
            match (layer, k % 2) {
                (Layer::Linear(linear), 0) => {
                    plain.linear.push((*linear, self.layer_params(k)));
                }
                (Layer::Activation(activation), 1) => plain.activations.push(activation.activation),
                _ => return None,
            }
        }
        (self.layers.len() % 2 == 1).then_some(plain)
    }

    /// The forward pass of a batch `x` of shape [N, inputs], layer by layer.
    pub fn forward(&self, x: &Array2<f64>) -> ForwardPass {
        let mut values = Vec::with_capacity(self.layers.len() + 1);
        values.push(x.clone());
        for (k, layer) in self.layers.iter().enumerate() {
            let output = layer.forward(self.layer_params(k), &values[k]);
            values.push(output);
        }
        ForwardPass { values }
    }

    /// The forward pass and what each layer caches of its point
    /// ([`LayerRules::forward_cached`]): the start of a linearization.
    pub fn forward_cached(&self, x: &Array2<f64>) -> (ForwardPass, Vec<LayerCache>) {
        let mut values = Vec::with_capacity(self.layers.len() + 1);
        let mut caches = Vec::with_capacity(self.layers.len());
        values.push(x.clone());
        for (k, layer) in self.layers.iter().enumerate() {
            let (output, cache) = layer.forward_cached(self.layer_params(k), &values[k]);
            values.push(output);
            caches.push(cache);
        }
        (ForwardPass { values }, caches)
    }
}

/// The form a sequence of layers takes: that of its first layer that asks for one, or a
/// flat vector of the first layer's width.
fn input_form(layers: &[Layer]) -> Form {
    layers
        .iter()
        .find_map(LayerRules::input_form)
        .unwrap_or(Form::Flat(layers[0].inputs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(inputs: usize, outputs: usize) -> Layer {
        Layer::Linear(Linear { inputs, outputs })
    }

    fn tanh(width: usize) -> Layer {
        Layer::Activation(ActivationLayer {
            activation: Activation::Tanh,
            width,
        })
    }

    /// Any sequence that chains is a network; its layout holds the layers with parameters.
    #[test]
    fn a_sequence_that_chains_is_a_network() {
        let layers = vec![linear(2, 3), tanh(3), tanh(3), linear(3, 1)];
        let mlp = Mlp::new(layers, vec![0.5; 9 + 4]).unwrap();
        assert_eq!(mlp.depth(), 2);
        assert_eq!(mlp.widths(), [2, 3, 1]);
        assert_eq!(
            (mlp.slot(0), mlp.slot(1), mlp.slot(3)),
            (Some(0), None, Some(1))
        );
        assert!(mlp.as_plain().is_none(), "two activations in a row");
        let pass = mlp.forward(&Array2::ones((4, 2)));
        assert_eq!(pass.output().dim(), (4, 1));
    }

    #[test]
    fn bad_networks_are_one_line_input_errors() {
        let cases: [(Vec<Layer>, usize, &str); 4] = [
            (vec![], 0, "layers: the model needs at least one layer"),
            (
                vec![linear(2, 3), tanh(4)],
                9,
                "layers[1]: 4 inputs do not match the 3 outputs of layers[0]",
            ),
            (vec![linear(2, 0)], 0, "layers[0]: a width is zero"),
            (
                vec![linear(2, 3)],
                8,
                "parameters: 8 values given for 9 parameters",
            ),
        ];
        for (layers, values, message) in cases {
            let error = Mlp::new(layers, vec![0.0; values]).unwrap_err();
            assert_eq!(error.to_string(), message);
            assert_eq!(error.exit_code(), 2);
        }
        let mut values = vec![0.0; 9];
        values[7] = f64::NAN;
        assert_eq!(
            Mlp::new(vec![linear(2, 3)], values)
                .unwrap_err()
                .to_string(),
            "layers[0].bias holds a non-finite value (NaN or infinity) at flat index 1"
        );
    }
}
