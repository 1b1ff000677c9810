//! One flat layout for the parameters and everything shaped like them (a gradient, a
//! Hessian diagonal, an optimizer's moments): the values of every tensor of every layer
//! that has parameters, in one buffer, layer after layer (input to output), each layer's
//! tensors in the order the layer declares them (a Linear layer: its weight `[out, in]`
//! row-major, then its bias `[out]`, SPEC §1: `W_1, b_1, W_2, b_2, …`). The
//! [`ParamLayout`] says where each tensor lies; [`Params`] is a buffer with its layout.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayBase, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Data, Dimension};

use crate::error::{Error, Result};

/// An error naming `what` and the first non-finite value's flat (row-major) index, if
/// there is one.
pub fn check_finite<S: Data<Elem = f64>, D: Dimension>(
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

/// One tensor of a layer's parameters: its name, its shape and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSlot {
    /// The tensor's name among its layer's ("weight", "bias").
    pub name: &'static str,
    /// Its shape (row-major in the buffer).
    pub shape: Vec<usize>,
    /// The index of its first value in the flat buffer.
    pub offset: usize,
}

impl TensorSlot {
    /// Its values' place in the flat buffer.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.shape.iter().product::<usize>()
    }
}

/// The tensors of one layer with parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSlot {
    /// The layer's position in the network's sequence of layers.
    pub layer: usize,
    /// Its tensors, in order.
    pub tensors: Vec<TensorSlot>,
    /// Its values' place in the flat buffer.
    pub range: Range<usize>,
}

/// Where every parameter tensor of a network lies in one flat buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    layers: Vec<LayerSlot>,
    len: usize,
}

impl ParamLayout {
    /// The layout of the layers with parameters, given as (position in the network, the
    /// named tensor shapes), in order.
    pub fn new(layers: impl IntoIterator<Item = (usize, Vec<(&'static str, Vec<usize>)>)>) -> Self {
        let mut offset = 0;
        let layers = layers
            .into_iter()
            .map(|(layer, shapes)| {
                let start = offset;
                let tensors = shapes
                    .into_iter()
                    .map(|(name, shape)| {
                        let slot = TensorSlot {
                            name,
                            shape,
                            offset,
                        };
                        offset = slot.range().end;
                        slot
                    })
                    .collect();
                LayerSlot {
                    layer,
                    tensors,
                    range: start..offset,
                }
            })
            .collect();
        ParamLayout {
            layers,
            len: offset,
        }
    }

    /// The number of scalar parameters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a network without parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The layers with parameters, in order.
    pub fn layers(&self) -> &[LayerSlot] {
        &self.layers
    }

    /// Which of the layers with parameters sits at position `layer` of the network.
    pub fn slot_of(&self, layer: usize) -> Option<usize> {
        self.layers.iter().position(|slot| slot.layer == layer)
    }
}

/// Parameters, or anything shaped like them: one flat buffer and its layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    layout: Arc<ParamLayout>,
    values: Vec<f64>,
}

impl Params {
    /// Zeros in `layout`.
    pub fn zeros(layout: &Arc<ParamLayout>) -> Params {
        Params::from_values(layout, vec![0.0; layout.len()])
    }

    /// `values` in `layout`. Panics unless there is one value per parameter.
    pub fn from_values(layout: &Arc<ParamLayout>, values: Vec<f64>) -> Params {
        assert_eq!(
            values.len(),
            layout.len(),
            "one value per parameter of the layout"
        );
        Params {
            layout: Arc::clone(layout),
            values,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Arc<ParamLayout> {
        &self.layout
    }

    /// Every value, in the layout's order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Every value, to change in place.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// Exchange the values with a buffer of the same length (an optimizer's step computes
    /// the new parameters into a buffer of its own, then swaps it in).
    pub fn swap_values(&mut self, other: &mut Vec<f64>) {
        assert_eq!(other.len(), self.values.len(), "one value per parameter");
        std::mem::swap(&mut self.values, other);
    }

    /// The number of scalar parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The number of layers with parameters.
    pub fn layers(&self) -> usize {
        self.layout.layers.len()
    }

    /// The values of layer `l` (among the layers with parameters).
    pub fn layer(&self, l: usize) -> &[f64] {
        &self.values[self.layout.layers[l].range.clone()]
    }

    /// The values of layer `l`, to change in place.
    pub fn layer_mut(&mut self, l: usize) -> &mut [f64] {
        let range = self.layout.layers[l].range.clone();
        &mut self.values[range]
    }

    /// The values of tensor `t` of layer `l`.
    pub fn tensor(&self, l: usize, t: usize) -> &[f64] {
        &self.values[self.layout.layers[l].tensors[t].range()]
    }

    /// Tensor `t` of layer `l` as a matrix (it must have two dimensions).
    pub fn matrix(&self, l: usize, t: usize) -> ArrayView2<'_, f64> {
        let slot = &self.layout.layers[l].tensors[t];
        let shape: [usize; 2] = slot.shape[..].try_into().expect("a matrix");
        ArrayView2::from_shape(shape, &self.values[slot.range()]).expect("the slot's shape")
    }

    /// Tensor `t` of layer `l` as a matrix to change in place.
    pub fn matrix_mut(&mut self, l: usize, t: usize) -> ArrayViewMut2<'_, f64> {
        let slot = &self.layout.layers[l].tensors[t];
        let shape: [usize; 2] = slot.shape[..].try_into().expect("a matrix");
        ArrayViewMut2::from_shape(shape, &mut self.values[slot.range()]).expect("the slot's shape")
    }

    /// The values of tensor `t` of layer `l` as a vector, whatever its shape (row-major).
    pub fn vector_view(&self, l: usize, t: usize) -> ArrayView1<'_, f64> {
        ArrayView1::from(self.tensor(l, t))
    }

    /// Tensor `t` of layer `l` as a vector (it must have one dimension).
    pub fn vector(&self, l: usize, t: usize) -> ArrayView1<'_, f64> {
        assert_eq!(self.layout.layers[l].tensors[t].shape.len(), 1, "a vector");
        ArrayView1::from(self.tensor(l, t))
    }

    /// Tensor `t` of layer `l` as a vector to change in place.
    pub fn vector_mut(&mut self, l: usize, t: usize) -> ArrayViewMut1<'_, f64> {
        let range = self.layout.layers[l].tensors[t].range();
        ArrayViewMut1::from(&mut self.values[range])
    }

    /// True when every value is finite (one pass without early exit, which the compiler
    /// vectorises: the common case is that they all are).
    pub fn is_finite(&self) -> bool {
        self.values
            .iter()
            .fold(true, |finite, v| finite & v.is_finite())
    }

    /// An error naming the first tensor (`layers[l].weight`) that holds a non-finite
    /// value, and where.
    pub fn check_finite(&self) -> Result<()> {
        for (l, slot) in self.layout.layers.iter().enumerate() {
            for tensor in &slot.tensors {
                let values = ArrayView1::from(&self.values[tensor.range()]);
                check_finite(&values, &format!("layers[{l}].{}", tensor.name))?;
            }
        }
        Ok(())
    }

    /// `f` of every value, in the same layout.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Params {
        Params {
            layout: Arc::clone(&self.layout),
            values: self.values.iter().map(|&v| f(v)).collect(),
        }
    }

    /// `f` of the values of `self` and `other` side by side. Panics on another layout.
    pub fn zip_map(&self, other: &Params, f: impl Fn(f64, f64) -> f64) -> Params {
        assert_eq!(self.layout, other.layout, "parameters of one layout");
        Params {
            layout: Arc::clone(&self.layout),
            values: self
                .values
                .iter()
                .zip(&other.values)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
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

    #[test]
    fn tensors_lie_layer_after_layer_in_the_order_declared() {
        let layout = Arc::new(ParamLayout::new([
            (0, vec![("weight", vec![3, 2]), ("bias", vec![3])]),
            (2, vec![("weight", vec![1, 3]), ("bias", vec![1])]),
        ]));
        assert_eq!(layout.len(), 6 + 3 + 3 + 1);
        assert_eq!(layout.slot_of(2), Some(1));
        assert_eq!(layout.slot_of(1), None);
        let params = Params::from_values(&layout, (0..13).map(f64::from).collect());
        assert_eq!(params.matrix(0, 0).row(1).to_vec(), [2.0, 3.0]);
        assert_eq!(params.vector(0, 1).to_vec(), [6.0, 7.0, 8.0]);
        assert_eq!(params.layer(1), [9.0, 10.0, 11.0, 12.0]);
        assert_eq!(params.tensor(1, 1), [12.0]);
    }
}
