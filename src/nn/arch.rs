//! The compact architecture syntax of `--arch` and of the problem JSON's `arch` field
//! (SPEC §11): the network's input, then its layers, comma-separated, input to output:
//!
//! ```text
//! 1x28x28,conv:8k3,relu,maxpool:2,conv:16k3s1p1,relu,avgpool:2,flatten,linear:10
//! ```
//!
//! * the input: an image `CxHxW`, or a flat width `W` (e.g. `6`); it may be left out where
//!   the data fix it (MNIST: `1x28x28`);
//! * `conv:<filters>k<kernel>[s<stride>][p<padding>]`: C_out filters of k×k, stride s
//!   (default 1), zero padding p on each side (default 0), with a bias;
//! * `maxpool:<k>`, `avgpool:<k>`: k×k windows with stride k;
//! * `flatten`: an image as a flat vector (needed before `linear`);
//! * `linear:<outputs>`: a Linear layer with a bias;
//! * an activation by name (`tanh`, `relu`, …, SPEC §1).
//!
//! [`Arch::layers`] checks that the layers chain and gives one-line errors naming the item
//! at fault; [`Arch::of`] reads a network's architecture back, so it round-trips.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::activation::{Activation, ActivationLayer};
use crate::nn::conv::Conv;
use crate::nn::flatten::Flatten;
use crate::nn::image::{Form, ImageShape, MAX_IMAGE_SIDE};
use crate::nn::layer::LayerRules;
use crate::nn::linear::Linear;
use crate::nn::network::{Layer, Mlp};
use crate::nn::pool::{Pool, PoolKind};

/// One item of an architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArchLayer {
    Conv {
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    Pool(PoolKind, usize),
    Flatten,
    Linear(usize),
    Activation(Activation),
}

impl fmt::Display for ArchLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArchLayer::Conv {
                filters,
                kernel,
                stride,
                padding,
            } => {
                write!(f, "conv:{filters}k{kernel}")?;
                if stride != 1 {
                    write!(f, "s{stride}")?;
                }
                if padding != 0 {
                    write!(f, "p{padding}")?;
                }
                Ok(())
            }
            ArchLayer::Pool(kind, k) => write!(f, "{kind}:{k}"),
            ArchLayer::Flatten => f.write_str("flatten"),
            ArchLayer::Linear(outputs) => write!(f, "linear:{outputs}"),
            ArchLayer::Activation(activation) => f.write_str(activation.name()),
        }
    }
}

/// A whole number of at most [`MAX_IMAGE_SIDE`], digits only.
fn number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&n| n <= MAX_IMAGE_SIDE)
}

/// `conv`'s argument `<filters>k<kernel>[s<stride>][p<padding>]`.
fn conv_argument(text: &str) -> Option<ArchLayer> {
    let (filters, rest) = text.split_once('k')?;
    let (rest, padding) = match rest.split_once('p') {
        Some((rest, padding)) => (rest, number(padding)?),
        None => (rest, 0),
    };
    let (kernel, stride) = match rest.split_once('s') {
        Some((kernel, stride)) => (kernel, number(stride)?),
        None => (rest, 1),
    };
    Some(ArchLayer::Conv {
        filters: number(filters)?,
        kernel: number(kernel)?,
        stride,
        padding,
    })
}

impl FromStr for ArchLayer {
    type Err = String;

    /// One item, without its input (see the module documentation).
    fn from_str(item: &str) -> std::result::Result<ArchLayer, String> {
        let (name, argument) = match item.split_once(':') {
            Some((name, argument)) => (name, Some(argument)),
            None => (item, None),
        };
        let parsed = match (name, argument) {
            ("conv", Some(argument)) => conv_argument(argument).ok_or_else(|| {
                format!("'{item}' is not conv:<filters>k<kernel>[s<stride>][p<padding>] (e.g. conv:8k3, conv:16k5s2p2)")
            })?,
            ("maxpool" | "avgpool", Some(argument)) => {
                let kind = if name == "maxpool" {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                };
                let k = number(argument)
                    .ok_or_else(|| format!("'{item}' is not {name}:<window> (e.g. {name}:2)"))?;
                ArchLayer::Pool(kind, k)
            }
            ("linear", Some(argument)) => ArchLayer::Linear(
                number(argument)
                    .ok_or_else(|| format!("'{item}' is not linear:<outputs> (e.g. linear:10)"))?,
            ),
            ("flatten", None) => ArchLayer::Flatten,
            ("conv" | "maxpool" | "avgpool" | "linear", None) => {
                return Err(format!("'{item}' needs its size after a colon (e.g. {name}:2)"))
            }
            (_, None) => ArchLayer::Activation(name.parse().map_err(|_| {
                format!(
                    "unknown layer '{item}' (expected conv:, maxpool:, avgpool:, flatten, linear: or an activation: {})",
                    Activation::ALL.map(Activation::name).join(", ")
                )
            })?),
            (_, Some(_)) => {
                return Err(format!(
                    "unknown layer '{item}' (expected conv:, maxpool:, avgpool:, flatten, linear: or an activation)"
                ))
            }
        };
        Ok(parsed)
    }
}

/// A network's architecture: what it takes (`None`: fixed by the data) and its layers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arch {
    pub input: Option<Form>,
    pub layers: Vec<ArchLayer>,
}

/// Stored as its text (a study's recorded grid).
impl From<Arch> for String {
    fn from(arch: Arch) -> String {
        arch.to_string()
    }
}

/// Read from its text, checked item by item.
impl TryFrom<String> for Arch {
    type Error = Error;

    fn try_from(text: String) -> Result<Arch> {
        text.parse()
    }
}

/// The input item: an image `CxHxW` or a flat width.
fn input_item(item: &str) -> Option<Result<Form>> {
    if item.contains('x') && item.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Some(item.parse::<ImageShape>().map(Form::Image));
    }
    let width = number(item)?;
    Some(if width == 0 {
        Err(Error::input("the input width must be at least 1"))
    } else {
        Ok(Form::Flat(width))
    })
}

impl FromStr for Arch {
    type Err = Error;

    /// The syntax of the module documentation; every item checked on its own (that the
    /// layers chain is [`Arch::layers`]'s to check, once the input is known).
    fn from_str(text: &str) -> Result<Arch> {
        let mut items = text.split(',').map(str::trim).peekable();
        let input = match items.peek().and_then(|item| input_item(item)) {
            Some(input) => {
                items.next();
                Some(input.map_err(|e| Error::input(format!("--arch: {e}")))?)
            }
            None => None,
        };
        let layers = items
            .enumerate()
            .map(|(k, item)| {
                if item.is_empty() {
                    return Err(Error::input(format!(
                        "--arch: layer {} is empty (a stray comma?)",
                        k + 1
                    )));
                }
                item.parse::<ArchLayer>()
                    .map_err(|e| Error::input(format!("--arch: layer {}: {e}", k + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        if layers.is_empty() {
            return Err(Error::input(
                "--arch: no layers (e.g. 1x28x28,conv:8k3,relu,flatten,linear:10)",
            ));
        }
        Ok(Arch { input, layers })
    }
}

/// The syntax of the module documentation, the input first when it is known.
impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(input) = self.input {
            match input {
                Form::Flat(width) => write!(f, "{width}")?,
                Form::Image(shape) => write!(f, "{shape}")?,
            }
            first = false;
        }
        for layer in &self.layers {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "{layer}")?;
            first = false;
        }
        Ok(())
    }
}

impl Arch {
    /// The same architecture with its input fixed by the data (`input`); an error if it
    /// names another.
    pub fn with_input(&self, input: Form) -> Result<Arch> {
        match self.input {
            Some(given) if given != input => Err(Error::input(format!(
                "--arch: takes {given}, but the data are {input}"
            ))),
            _ => Ok(Arch {
                input: Some(input),
                layers: self.layers.clone(),
            }),
        }
    }

    /// The network's layers, checked: an input, every layer fitting what the one below
    /// gives (a convolution or pooling an image whose size its kernel fits, a Linear
    /// layer a flat vector, …), and a flat output from a layer other than an activation
    /// (the logits, SPEC §1). Errors name the layer (1-based) and what went wrong.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        let mut form = self.input.ok_or_else(|| {
            Error::input(format!(
                "--arch: '{self}' does not say what it takes: start it with the input image (e.g. 1x28x28,{self}) or width"
            ))
        })?;
        let mut layers = Vec::with_capacity(self.layers.len());
        for (k, item) in self.layers.iter().enumerate() {
            let fail = |e: String| Error::input(format!("--arch: layer {} '{item}': {e}", k + 1));
            let image = |form: Form| match form {
                Form::Image(shape) => Ok(shape),
                Form::Flat(width) => Err(fail(format!(
                    "needs an image, but gets a flat vector of {width}"
                ))),
            };
            let layer = match *item {
                ArchLayer::Conv {
                    filters,
                    kernel,
                    stride,
                    padding,
                } => Layer::Conv(
                    Conv::new(image(form)?, filters, kernel, stride, padding)
                        .map_err(|e| fail(e.to_string()))?,
                ),
                ArchLayer::Pool(kind, k) => {
                    Layer::Pool(Pool::new(kind, image(form)?, k).map_err(|e| fail(e.to_string()))?)
                }
                ArchLayer::Flatten => Layer::Flatten(Flatten {
                    input: image(form)?,
                }),
                ArchLayer::Linear(outputs) => {
                    if outputs == 0 {
                        return Err(fail("a Linear layer needs at least 1 output".into()));
                    }
                    let inputs = match form {
                        Form::Flat(width) => width,
                        Form::Image(shape) => {
                            return Err(fail(format!(
                            "needs a flat input, but gets a {shape} image (put flatten before it)"
                        )))
                        }
                    };
                    Layer::Linear(Linear { inputs, outputs })
                }
                ArchLayer::Activation(activation) => Layer::Activation(ActivationLayer {
                    activation,
                    width: form.len(),
                }),
            };
            form = layer.output_form(form).map_err(fail)?;
            layers.push(layer);
        }
        match (form, self.layers.last()) {
            (Form::Image(shape), _) => Err(Error::input(format!(
                "--arch: the output is a {shape} image; end with flatten or linear:<classes>"
            ))),
            (_, Some(ArchLayer::Activation(activation))) => Err(Error::input(format!(
                "--arch: the output z has no activation (SPEC §1): drop the last '{activation}' or add linear:<classes> after it"
            ))),
            _ => Ok(layers),
        }
    }

    /// The output width of the checked architecture.
    pub fn outputs(&self) -> Result<usize> {
        Ok(self.layers()?.last().map_or(0, LayerRules::outputs))
    }

    /// The number of scalar parameters of the checked architecture.
    pub fn n_params(&self) -> Result<usize> {
        Ok(self.layers()?.iter().map(LayerRules::param_count).sum())
    }

    /// The architecture of a network (its input included), which builds it again.
    pub fn of(mlp: &Mlp) -> Arch {
        let layers = mlp
            .layers()
            .iter()
            .map(|layer| match layer {
                Layer::Conv(conv) => ArchLayer::Conv {
                    filters: conv.filters(),
                    kernel: conv.kernel(),
                    stride: conv.stride(),
                    padding: conv.padding(),
                },
                Layer::Pool(pool) => ArchLayer::Pool(pool.kind(), pool.kernel()),
                Layer::Flatten(_) => ArchLayer::Flatten,
                Layer::Linear(linear) => ArchLayer::Linear(linear.outputs),
                Layer::Activation(layer) => ArchLayer::Activation(layer.activation),
            })
            .collect();
        Arch {
            input: Some(mlp.input_form()),
            layers,
        }
    }

    /// How a study's grid shows the network in its activation and depth columns: its first
    /// activation (identity if none) and its layers with parameters − 1 (an MLP's number
    /// of hidden layers); the width column shows 0.
    pub fn grid_point(&self) -> (Activation, usize) {
        let activation = self
            .layers
            .iter()
            .find_map(|layer| match layer {
                ArchLayer::Activation(activation) => Some(*activation),
                _ => None,
            })
            .unwrap_or(Activation::Identity);
        let with_params = self
            .layers
            .iter()
            .filter(|layer| matches!(layer, ArchLayer::Conv { .. } | ArchLayer::Linear(_)))
            .count();
        (activation, with_params.saturating_sub(1))
    }

    /// The architecture a study runs on MNIST (`1x28x28` images, 10 classes), checked;
    /// `origin` names where it came from (`--arch`, or a preset's key).
    pub fn for_mnist(&self, origin: &str) -> Result<Arch> {
        let strip = |e: Error| {
            Error::input(format!(
                "{origin}: {}",
                e.to_string().trim_start_matches("--arch: ")
            ))
        };
        let image = ImageShape::new(1, 28, 28).expect("MNIST's shape");
        let arch = self.with_input(Form::Image(image)).map_err(strip)?;
        let classes = arch.outputs().map_err(strip)?;
        if classes != 10 {
            return Err(Error::input(format!(
                "{origin}: the network has {classes} outputs, but MNIST has 10 classes"
            )));
        }
        Ok(arch)
    }

    /// Whether the network has an image layer (a convolution, a pooling or a flatten):
    /// what needs the `arch` field in a problem file.
    pub fn has_images(&self) -> bool {
        matches!(self.input, Some(Form::Image(_)))
            || self.layers.iter().any(|layer| {
                matches!(
                    layer,
                    ArchLayer::Conv { .. } | ArchLayer::Pool(..) | ArchLayer::Flatten
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match text.parse::<Arch>().and_then(|arch| arch.layers()) {
            Ok(_) => panic!("'{text}' was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn architectures_round_trip_through_their_text() {
        for text in [
            "1x28x28,conv:8k3,relu,maxpool:2,conv:16k3s2p1,relu,avgpool:2,flatten,linear:10",
            "3x8x8,conv:4k3p1,tanh,flatten,linear:16,sigmoid,linear:2",
            "6,linear:16,tanh,linear:10",
        ] {
            let arch: Arch = text.parse().unwrap();
            assert_eq!(arch.to_string(), text);
            let layers = arch.layers().unwrap();
            let values = vec![0.0; layers.iter().map(LayerRules::param_count).sum()];
            let mlp = Mlp::new(layers, values).unwrap();
            assert_eq!(Arch::of(&mlp), arch);
        }
        let arch: Arch = "conv:8k3s1p0,relu,flatten,linear:10".parse().unwrap();
        assert_eq!(arch.input, None);
        assert_eq!(arch.to_string(), "conv:8k3,relu,flatten,linear:10");
        let fixed = arch
            .with_input(Form::Image(ImageShape::new(1, 5, 5).unwrap()))
            .unwrap();
        assert_eq!(fixed.outputs().unwrap(), 10);
        assert_eq!(fixed.n_params().unwrap(), 8 * 9 + 8 + 10 * 8 * 9 + 10);
    }

    #[test]
    fn bad_architectures_are_one_line_errors_naming_the_layer() {
        for (text, message) in [
            ("1x8x8,conv:0k3,flatten,linear:2", "--arch: layer 1 'conv:0k3': filters must be between 1 and 65536, not 0"),
            ("1x4x4,conv:2k5,flatten,linear:2", "--arch: layer 1 'conv:2k5': a 5x5 kernel is larger than its 1x4x4 input"),
            ("1x8x8,conv:2k3,relu,linear:10", "--arch: layer 3 'linear:10': needs a flat input, but gets a 2x6x6 image (put flatten before it)"),
            ("1x8x8,maxpool:9,flatten,linear:2", "--arch: layer 1 'maxpool:9': a 9x9 window is larger than its 1x8x8 input"),
            ("6,conv:2k3", "--arch: layer 1 'conv:2k3': needs an image, but gets a flat vector of 6"),
            ("1x8x8,conv:2k3", "--arch: the output is a 2x6x6 image; end with flatten or linear:<classes>"),
            ("6,linear:4,relu", "--arch: the output z has no activation (SPEC §1): drop the last 'relu' or add linear:<classes> after it"),
            ("1x8x8,conv:2x3", "--arch: layer 1: 'conv:2x3' is not conv:<filters>k<kernel>[s<stride>][p<padding>] (e.g. conv:8k3, conv:16k5s2p2)"),
            ("1x8x8,conv", "--arch: layer 1: 'conv' needs its size after a colon (e.g. conv:2)"),
            ("1x8x8,,flatten", "--arch: layer 1 is empty (a stray comma?)"),
            ("0x8x8,flatten", "--arch: an image's channels must be between 1 and 65536, not 0"),
            ("1x8x8", "--arch: no layers (e.g. 1x28x28,conv:8k3,relu,flatten,linear:10)"),
            ("conv:2k3,flatten,linear:2", "--arch: 'conv:2k3,flatten,linear:2' does not say what it takes: start it with the input image (e.g. 1x28x28,conv:2k3,flatten,linear:2) or width"),
            ("1x8x8,conv:2k3s0,flatten,linear:2", "--arch: layer 1 'conv:2k3s0': stride must be between 1 and 65536, not 0"),
            ("1x8x8,linear:0", "--arch: layer 1 'linear:0': a Linear layer needs at least 1 output"),
        ] {
            let got = error(text);
            assert_eq!(got, message, "{text}");
            assert!(!got.contains('\n'));
        }
        assert!(error("1x8x8,dropout").starts_with("--arch: layer 1: unknown layer 'dropout'"));
        assert!(error("1x8x8,pool:2").starts_with("--arch: layer 1: unknown layer 'pool:2'"));
    }
}
