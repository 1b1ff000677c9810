//! Every method on convolutional networks (SPEC §11) against oracles that share no code
//! with the crate's layers: a tiny CNN written here by the definitions of convolution,
//! pooling, flatten and linear, evaluated in hyper-dual numbers (`v + a·ε₁ + b·ε₂ +
//! ab·ε₁ε₂`, ε₁² = ε₂² = 0), which give first and second derivatives exact to rounding.
//!
//! * exact: the diagonal of the full Hessian (hyper-dual), central finite differences of
//!   the crate's gradient, and one crate Hessian-vector product per parameter (whole
//!   columns of the full Hessian);
//! * ggn: `Σ_n J_nᵀ ∇²_z ℓ_n J_n` from the hyper-dual Jacobians;
//! * hesscale, hesscale_gn, bl89: the diagonal recursion with each layer's dense Jacobian
//!   (`d_in = (J∘J)ᵀ d` plus, for hesscale and bl89, the layer's own second-derivative
//!   term `Σ_o g_o ∂²y_o/∂x_i²`; parameters `(J_θ∘J_θ)ᵀ d`);
//! * ggn_mc, kfac (KFC), hutchinson_signed: their means over many draws against ggn, the
//!   KFC of the exact GGN, and exact;
//! * the identities of SPEC §2.2 that still hold on CNNs.

mod common;

use std::ops::{Add, Mul, Sub};

use common::{assert_params_close, method, scaled};
use hesscale::nn::conv::Conv;
use hesscale::nn::flatten::Flatten;
use hesscale::nn::pool::{Pool, PoolKind};
use hesscale::nn::{
    Activation, ActivationLayer, ImageShape, Layer, Linear, Linearization, Loss, Mlp, Params,
    Problem, Reduction, Targets,
};
use hesscale::rng::stream_rng;
use ndarray::Array2;
use ndarray_rand::rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------
// Hyper-dual numbers
// ---------------------------------------------------------------------------------------

/// `v + a·ε₁ + b·ε₂ + ab·ε₁ε₂`: f(x + ε₁u + ε₂w) carries f, ∇f·u, ∇f·w and uᵀ∇²f w.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hd {
    v: f64,
    a: f64,
    b: f64,
    ab: f64,
}

impl Hd {
    fn constant(v: f64) -> Hd {
        Hd {
            v,
            a: 0.0,
            b: 0.0,
            ab: 0.0,
        }
    }

    /// f of self, given f, f' and f'' at the value.
    fn chain(self, f: f64, f1: f64, f2: f64) -> Hd {
        Hd {
            v: f,
            a: f1 * self.a,
            b: f1 * self.b,
            ab: f1 * self.ab + f2 * self.a * self.b,
        }
    }

    fn exp(self) -> Hd {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    fn ln(self) -> Hd {
        self.chain(self.v.ln(), 1.0 / self.v, -1.0 / (self.v * self.v))
    }

    fn activate(self, activation: Activation) -> Hd {
        let x = self.v;
        match activation {
            Activation::Tanh => {
                let t = x.tanh();
                self.chain(t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))
            }
            Activation::Sigmoid => {
                let s = 1.0 / (1.0 + (-x).exp());
                self.chain(s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
            }
            Activation::Relu => {
                if x > 0.0 {
                    self
                } else {
                    Hd::constant(0.0)
                }
            }
            Activation::Identity => self,
            other => panic!("the oracle has no {other}"),
        }
    }
}

impl Add for Hd {
    type Output = Hd;
    fn add(self, o: Hd) -> Hd {
        Hd {
            v: self.v + o.v,
            a: self.a + o.a,
            b: self.b + o.b,
            ab: self.ab + o.ab,
        }
    }
}

impl Sub for Hd {
    type Output = Hd;
    fn sub(self, o: Hd) -> Hd {
        self + o * -1.0
    }
}

impl Mul for Hd {
    type Output = Hd;
    fn mul(self, o: Hd) -> Hd {
        Hd {
            v: self.v * o.v,
            a: self.v * o.a + self.a * o.v,
            b: self.v * o.b + self.b * o.v,
            ab: self.v * o.ab + self.a * o.b + self.b * o.a + self.ab * o.v,
        }
    }
}

impl Mul<f64> for Hd {
    type Output = Hd;
    fn mul(self, s: f64) -> Hd {
        Hd {
            v: self.v * s,
            a: self.a * s,
            b: self.b * s,
            ab: self.ab * s,
        }
    }
}

fn sum(values: impl Iterator<Item = Hd>) -> Hd {
    values.fold(Hd::constant(0.0), |s, v| s + v)
}

// ---------------------------------------------------------------------------------------
// A CNN by the definitions
// ---------------------------------------------------------------------------------------

/// One layer of a test network.
#[derive(Clone, Copy, Debug)]
enum Spec {
    Conv {
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    Act(Activation),
    Pool(PoolKind, usize),
    Flatten,
    Linear(usize),
}

/// A layer with the shape it takes: (channels, height, width), or (width, 1, 1) flat.
#[derive(Clone, Copy, Debug)]
struct Placed {
    spec: Spec,
    input: (usize, usize, usize),
    output: (usize, usize, usize),
    params: usize,
}

fn place(input: (usize, usize, usize), specs: &[Spec]) -> Vec<Placed> {
    let mut shape = input;
    specs
        .iter()
        .map(|&spec| {
            let (c, h, w) = shape;
            let (output, params) = match spec {
                Spec::Conv {
                    filters,
                    kernel,
                    stride,
                    padding,
                } => (
                    (
                        filters,
                        (h + 2 * padding - kernel) / stride + 1,
                        (w + 2 * padding - kernel) / stride + 1,
                    ),
                    filters * c * kernel * kernel + filters,
                ),
                Spec::Act(_) => (shape, 0),
                Spec::Pool(_, k) => ((c, h / k, w / k), 0),
                Spec::Flatten => ((c * h * w, 1, 1), 0),
                Spec::Linear(out) => ((out, 1, 1), out * c * h * w + out),
            };
            let placed = Placed {
                spec,
                input: shape,
                output,
                params,
            };
            shape = output;
            placed
        })
        .collect()
}

fn len((c, h, w): (usize, usize, usize)) -> usize {
    c * h * w
}

/// One layer of one sample, by its definition.
fn layer_forward(layer: &Placed, params: &[Hd], x: &[Hd]) -> Vec<Hd> {
    let (c_in, h_in, w_in) = layer.input;
    let (c_out, h_out, w_out) = layer.output;
    match layer.spec {
        Spec::Conv {
            kernel: k,
            stride,
            padding,
            ..
        } => {
            let bias = &params[c_out * c_in * k * k..];
            let mut y = Vec::with_capacity(len(layer.output));
            for o in 0..c_out {
                for row in 0..h_out {
                    for col in 0..w_out {
                        let mut value = bias[o];
                        for c in 0..c_in {
                            for i in 0..k {
                                for j in 0..k {
                                    let r = (row * stride + i) as isize - padding as isize;
                                    let s = (col * stride + j) as isize - padding as isize;
                                    if r < 0 || s < 0 || r >= h_in as isize || s >= w_in as isize {
                                        continue;
                                    }
                                    let weight = params[((o * c_in + c) * k + i) * k + j];
                                    value = value
                                        + weight * x[(c * h_in + r as usize) * w_in + s as usize];
                                }
                            }
                        }
                        y.push(value);
                    }
                }
            }
            y
        }
        Spec::Act(activation) => x.iter().map(|v| v.activate(activation)).collect(),
        Spec::Pool(kind, k) => {
            let mut y = Vec::with_capacity(len(layer.output));
            for c in 0..c_out {
                for row in 0..h_out {
                    for col in 0..w_out {
                        let window: Vec<Hd> = (0..k)
                            .flat_map(|i| (0..k).map(move |j| (i, j)))
                            .map(|(i, j)| x[(c * h_in + row * k + i) * w_in + col * k + j])
                            .collect();
                        y.push(match kind {
                            PoolKind::Max => window
                                .iter()
                                .copied()
                                .reduce(|best, v| if v.v > best.v { v } else { best })
                                .unwrap(),
                            PoolKind::Avg => sum(window.into_iter()) * (1.0 / (k * k) as f64),
                        });
                    }
                }
            }
            y
        }
        Spec::Flatten => x.to_vec(),
        Spec::Linear(out) => {
            let inputs = x.len();
            (0..out)
                .map(|o| {
                    params[out * inputs + o]
                        + sum((0..inputs).map(|i| params[o * inputs + i] * x[i]))
                })
                .collect()
        }
    }
}

/// A test network with a batch, its loss and the crate's problem made from it.
struct Net {
    name: &'static str,
    layers: Vec<Placed>,
    theta: Vec<f64>,
    inputs: Vec<Vec<f64>>,
    loss: Loss,
    reduction: Reduction,
    classes: Vec<usize>,
    values: Vec<Vec<f64>>,
}

impl Net {
    fn new(
        name: &'static str,
        input: (usize, usize, usize),
        specs: &[Spec],
        loss: Loss,
        batch: usize,
        seed: u64,
    ) -> Net {
        let layers = place(input, specs);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count: usize = layers.iter().map(|l| l.params).sum();
        let theta = (0..count).map(|_| rng.random_range(-0.6..0.6)).collect();
        let inputs = (0..batch)
            .map(|_| {
                (0..len(input))
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect()
            })
            .collect();
        let outputs = len(layers.last().unwrap().output);
        let classes = (0..batch).map(|_| rng.random_range(0..outputs)).collect();
        let values = (0..batch)
            .map(|_| (0..outputs).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        Net {
            name,
            layers,
            theta,
            inputs,
            loss,
            reduction: Reduction::Mean,
            classes,
            values,
        }
    }

    fn with_reduction(mut self, reduction: Reduction) -> Net {
        self.reduction = reduction;
        self
    }

    fn batch(&self) -> usize {
        self.inputs.len()
    }

    fn outputs(&self) -> usize {
        len(self.layers.last().unwrap().output)
    }

    /// The crate's network, built from its layer types.
    fn problem(&self) -> Problem {
        let shape = |(c, h, w)| ImageShape::new(c, h, w).unwrap();
        let layers = self
            .layers
            .iter()
            .map(|l| match l.spec {
                Spec::Conv {
                    filters,
                    kernel,
                    stride,
                    padding,
                } => Layer::Conv(
                    Conv::new(shape(l.input), filters, kernel, stride, padding).unwrap(),
                ),
                Spec::Act(activation) => Layer::Activation(ActivationLayer {
                    activation,
                    width: len(l.input),
                }),
                Spec::Pool(kind, k) => Layer::Pool(Pool::new(kind, shape(l.input), k).unwrap()),
                Spec::Flatten => Layer::Flatten(Flatten {
                    input: shape(l.input),
                }),
                Spec::Linear(out) => Layer::Linear(Linear {
                    inputs: len(l.input),
                    outputs: out,
                }),
            })
            .collect();
        let mlp = Mlp::new(layers, self.theta.clone()).unwrap();
        let rows =
            |v: &Vec<Vec<f64>>| Array2::from_shape_fn((v.len(), v[0].len()), |(n, i)| v[n][i]);
        let targets = match self.loss {
            Loss::CrossEntropy => Targets::Classes(self.classes.clone()),
            Loss::Mse => Targets::Values(rows(&self.values)),
        };
        Problem::new(mlp, self.loss, self.reduction, rows(&self.inputs), targets).unwrap()
    }

    /// Per layer, the input of every sample, by the definitions.
    fn trace(&self, n: usize) -> Vec<Vec<f64>> {
        let theta: Vec<Hd> = self.theta.iter().map(|&v| Hd::constant(v)).collect();
        let mut x: Vec<Hd> = self.inputs[n].iter().map(|&v| Hd::constant(v)).collect();
        let mut values = vec![x.iter().map(|h| h.v).collect()];
        let mut offset = 0;
        for layer in &self.layers {
            x = layer_forward(layer, &theta[offset..offset + layer.params], &x);
            offset += layer.params;
            values.push(x.iter().map(|h| h.v).collect());
        }
        values
    }

    /// Sample n's share of the loss as a function of its output z (the reduction's factor
    /// included).
    fn sample_loss(&self, n: usize, z: &[Hd]) -> Hd {
        let batch = self.batch() as f64;
        let outputs = z.len() as f64;
        let (scale_ce, scale_mse) = match self.reduction {
            Reduction::Mean => (1.0 / batch, 1.0 / (batch * outputs)),
            Reduction::Sum => (1.0, 1.0),
        };
        match self.loss {
            Loss::CrossEntropy => {
                let top = z.iter().map(|v| v.v).fold(f64::MIN, f64::max);
                let shifted = sum(z.iter().map(|&v| (v - Hd::constant(top)).exp()));
                (shifted.ln() + Hd::constant(top) - z[self.classes[n]]) * scale_ce
            }
            Loss::Mse => {
                sum(z
                    .iter()
                    .zip(&self.values[n])
                    .map(|(&v, &y)| (v - Hd::constant(y)) * (v - Hd::constant(y))))
                    * scale_mse
            }
        }
    }

    /// The loss with parameter i seeded on ε₁ and j on ε₂.
    fn loss(&self, i: usize, j: usize) -> Hd {
        let theta: Vec<Hd> = self
            .theta
            .iter()
            .enumerate()
            .map(|(k, &v)| Hd {
                v,
                a: f64::from(k == i),
                b: f64::from(k == j),
                ab: 0.0,
            })
            .collect();
        sum((0..self.batch()).map(|n| {
            let mut x: Vec<Hd> = self.inputs[n].iter().map(|&v| Hd::constant(v)).collect();
            let mut offset = 0;
            for layer in &self.layers {
                x = layer_forward(layer, &theta[offset..offset + layer.params], &x);
                offset += layer.params;
            }
            self.sample_loss(n, &x)
        }))
    }

    /// The full Hessian, `[P, P]`.
    fn hessian(&self) -> Array2<f64> {
        let p = self.theta.len();
        let mut h = Array2::zeros((p, p));
        for i in 0..p {
            for j in i..p {
                let value = self.loss(i, j).ab;
                h[[i, j]] = value;
                h[[j, i]] = value;
            }
        }
        h
    }

    /// The gradient.
    fn gradient(&self) -> Vec<f64> {
        (0..self.theta.len()).map(|i| self.loss(i, i).a).collect()
    }

    /// `∇²_z ℓ_n`, `[D, D]`, and `∂ℓ_n/∂z`.
    fn output_curvature(&self, n: usize, z: &[f64]) -> (Array2<f64>, Vec<f64>) {
        let d = z.len();
        let seeded = |i: usize, j: usize| {
            let z: Vec<Hd> = z
                .iter()
                .enumerate()
                .map(|(k, &v)| Hd {
                    v,
                    a: f64::from(k == i),
                    b: f64::from(k == j),
                    ab: 0.0,
                })
                .collect();
            self.sample_loss(n, &z)
        };
        let hessian = Array2::from_shape_fn((d, d), |(i, j)| seeded(i, j).ab);
        let gradient = (0..d).map(|i| seeded(i, i).a).collect();
        (hessian, gradient)
    }

    /// A layer's Jacobians at sample input `x`: w.r.t. its input `[out, in]` and its
    /// parameters `[out, params]` (`params`: the layer's slice of θ).
    fn layer_jacobians(
        &self,
        layer: &Placed,
        params: &[f64],
        x: &[f64],
    ) -> (Array2<f64>, Array2<f64>) {
        let constants = |v: &[f64], seed: Option<usize>| -> Vec<Hd> {
            v.iter()
                .enumerate()
                .map(|(k, &v)| Hd {
                    v,
                    a: f64::from(Some(k) == seed),
                    b: 0.0,
                    ab: 0.0,
                })
                .collect()
        };
        let out = len(layer.output);
        let mut input = Array2::zeros((out, x.len()));
        for i in 0..x.len() {
            let y = layer_forward(layer, &constants(params, None), &constants(x, Some(i)));
            for o in 0..out {
                input[[o, i]] = y[o].a;
            }
        }
        let mut param = Array2::zeros((out, params.len()));
        for j in 0..params.len() {
            let y = layer_forward(layer, &constants(params, Some(j)), &constants(x, None));
            for o in 0..out {
                param[[o, j]] = y[o].a;
            }
        }
        (input, param)
    }

    /// `Σ_o g_o ∂²y_o/∂x_i²` for every input i: the layer's own second-derivative term.
    fn layer_residual(&self, layer: &Placed, params: &[f64], x: &[f64], g: &[f64]) -> Vec<f64> {
        let params: Vec<Hd> = params.iter().map(|&v| Hd::constant(v)).collect();
        (0..x.len())
            .map(|i| {
                let seeded: Vec<Hd> = x
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| Hd {
                        v,
                        a: f64::from(k == i),
                        b: f64::from(k == i),
                        ab: 0.0,
                    })
                    .collect();
                let y = layer_forward(layer, &params, &seeded);
                y.iter().zip(g).map(|(y, g)| y.ab * g).sum()
            })
            .collect()
    }

    fn offsets(&self) -> Vec<usize> {
        let mut offset = 0;
        self.layers
            .iter()
            .map(|l| {
                let start = offset;
                offset += l.params;
                start
            })
            .collect()
    }

    /// The diagonal recursion of hesscale (`seed` the output diagonal, `residual` the
    /// layers' own second-derivative terms) with dense Jacobians, as a flat vector.
    fn diagonal_recursion(&self, seed: Seed, residual: bool) -> Vec<f64> {
        let offsets = self.offsets();
        let mut estimate = vec![0.0; self.theta.len()];
        for n in 0..self.batch() {
            let trace = self.trace(n);
            let (hessian, mut g) = self.output_curvature(n, trace.last().unwrap());
            let mut d: Vec<f64> = match seed {
                Seed::Exact => (0..hessian.nrows()).map(|c| hessian[[c, c]]).collect(),
                Seed::Bl89 => {
                    let y = self.classes[n];
                    (0..hessian.nrows())
                        .map(|c| if c == y { hessian[[y, y]] } else { 0.0 })
                        .collect()
                }
            };
            for (k, layer) in self.layers.iter().enumerate().rev() {
                let params = &self.theta[offsets[k]..offsets[k] + layer.params];
                let (jacobian, param_jacobian) = self.layer_jacobians(layer, params, &trace[k]);
                for j in 0..layer.params {
                    estimate[offsets[k] + j] += (0..d.len())
                        .map(|o| param_jacobian[[o, j]].powi(2) * d[o])
                        .sum::<f64>();
                }
                let own = if residual {
                    self.layer_residual(layer, params, &trace[k], &g)
                } else {
                    vec![0.0; trace[k].len()]
                };
                d = (0..trace[k].len())
                    .map(|i| {
                        (0..d.len())
                            .map(|o| jacobian[[o, i]].powi(2) * d[o])
                            .sum::<f64>()
                            + own[i]
                    })
                    .collect();
                g = (0..trace[k].len())
                    .map(|i| (0..g.len()).map(|o| jacobian[[o, i]] * g[o]).sum())
                    .collect();
            }
        }
        estimate
    }

    /// Per sample: the Jacobian of the output w.r.t. the output of every layer
    /// (`[D, out_k]`), and the output curvature.
    fn output_jacobians(&self, n: usize) -> (Vec<Array2<f64>>, Array2<f64>) {
        let offsets = self.offsets();
        let trace = self.trace(n);
        let (hessian, _) = self.output_curvature(n, trace.last().unwrap());
        let depth = self.layers.len();
        let mut jacobians = vec![Array2::zeros((0, 0)); depth];
        let mut above = Array2::eye(self.outputs());
        for k in (0..depth).rev() {
            jacobians[k] = above.clone();
            let layer = &self.layers[k];
            let params = &self.theta[offsets[k]..offsets[k] + layer.params];
            let (jacobian, _) = self.layer_jacobians(layer, params, &trace[k]);
            above = above.dot(&jacobian);
        }
        (jacobians, hessian)
    }

    /// The GGN diagonal `Σ_n diag(J_nᵀ ∇²_z ℓ_n J_n)`, J the Jacobian of z w.r.t. θ.
    fn ggn(&self) -> Vec<f64> {
        let offsets = self.offsets();
        let mut ggn = vec![0.0; self.theta.len()];
        for n in 0..self.batch() {
            let trace = self.trace(n);
            let (jacobians, hessian) = self.output_jacobians(n);
            for (k, layer) in self.layers.iter().enumerate() {
                let params = &self.theta[offsets[k]..offsets[k] + layer.params];
                let (_, param_jacobian) = self.layer_jacobians(layer, params, &trace[k]);
                let full = jacobians[k].dot(&param_jacobian);
                let curved = hessian.dot(&full);
                for j in 0..layer.params {
                    ggn[offsets[k] + j] += full.column(j).dot(&curved.column(j));
                }
            }
        }
        ggn
    }

    /// KFC's diagonal with the exact GGN at each layer's output (the mean of kfac:M):
    /// conv weights `Γ_oo Ω_qq` with `Γ = (1/P) Σ_n Σ_p G_n[(o,p),(o,p)]` and
    /// `Ω_qq = (1/N) Σ_n Σ_p U_n[q,p]²`, biases `Σ_n Σ_p G_n[(o,p),(o,p)]`; linear layers
    /// `G_oo A_ii` with `A_ii = (1/N) Σ_n h_i²`, biases `G_oo`.
    fn kfc_of_ggn(&self) -> Vec<f64> {
        let offsets = self.offsets();
        let mut out = vec![0.0; self.theta.len()];
        let batch = self.batch() as f64;
        for (k, layer) in self.layers.iter().enumerate() {
            if layer.params == 0 {
                continue;
            }
            let (c_out, h_out, w_out) = layer.output;
            let positions = h_out * w_out;
            let mut gamma = vec![0.0; c_out];
            let weights = layer.params - c_out;
            let patch = weights / c_out;
            let mut omega = vec![0.0; patch];
            for n in 0..self.batch() {
                let trace = self.trace(n);
                let (jacobians, hessian) = self.output_jacobians(n);
                let g = jacobians[k].t().dot(&hessian).dot(&jacobians[k]);
                for (o, gamma) in gamma.iter_mut().enumerate() {
                    *gamma += (0..positions)
                        .map(|p| g[[o * positions + p, o * positions + p]])
                        .sum::<f64>();
                }
                // Ω_qq from the layer's own Jacobian w.r.t. weight (0, q): the unfolded
                // input of filter 0 at every position.
                let params = &self.theta[offsets[k]..offsets[k] + layer.params];
                let (_, param_jacobian) = self.layer_jacobians(layer, params, &trace[k]);
                for (q, omega) in omega.iter_mut().enumerate() {
                    *omega += (0..positions)
                        .map(|p| param_jacobian[[p, q]].powi(2))
                        .sum::<f64>()
                        / batch;
                }
            }
            for o in 0..c_out {
                for q in 0..patch {
                    out[offsets[k] + o * patch + q] = gamma[o] / positions as f64 * omega[q];
                }
                out[offsets[k] + weights + o] = gamma[o];
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
enum Seed {
    Exact,
    Bl89,
}

fn conv(filters: usize, kernel: usize, stride: usize, padding: usize) -> Spec {
    Spec::Conv {
        filters,
        kernel,
        stride,
        padding,
    }
}

/// The test networks: smooth activations with max-pooling and cross-entropy; a relu net
/// with stride, padding, average pooling and mse; a convolution that is the last layer.
fn nets() -> Vec<Net> {
    use Activation::{Relu, Sigmoid, Tanh};
    vec![
        Net::new(
            "tanh/sigmoid cnn, maxpool, cross_entropy",
            (2, 6, 6),
            &[
                conv(3, 3, 1, 1),
                Spec::Act(Tanh),
                Spec::Pool(PoolKind::Max, 2),
                conv(2, 2, 1, 0),
                Spec::Act(Sigmoid),
                Spec::Flatten,
                Spec::Linear(4),
            ],
            Loss::CrossEntropy,
            3,
            11,
        ),
        Net::new(
            "relu cnn, stride 2, padding, avgpool, mse",
            (1, 7, 7),
            &[
                conv(2, 3, 2, 1),
                Spec::Act(Relu),
                Spec::Pool(PoolKind::Avg, 2),
                Spec::Flatten,
                Spec::Linear(5),
                Spec::Act(Relu),
                Spec::Linear(3),
            ],
            Loss::Mse,
            2,
            12,
        ),
        Net::new(
            "tanh cnn, two convolutions, cross_entropy",
            (1, 5, 5),
            &[
                conv(2, 3, 1, 0),
                Spec::Act(Tanh),
                conv(2, 2, 1, 1),
                Spec::Act(Tanh),
                Spec::Flatten,
                Spec::Linear(3),
            ],
            Loss::CrossEntropy,
            2,
            13,
        ),
        Net::new(
            "a convolution as the last layer",
            (2, 3, 3),
            &[
                conv(3, 2, 1, 0),
                Spec::Act(Tanh),
                conv(4, 2, 1, 0),
                Spec::Flatten,
            ],
            Loss::CrossEntropy,
            2,
            14,
        ),
    ]
}

fn params_of(problem: &Problem, values: Vec<f64>) -> Params {
    Params::from_values(problem.mlp().params().layout(), values)
}

fn estimate(problem: &Problem, name: &str) -> Params {
    method(name).estimate(problem, &mut stream_rng(7, 0, 1))
}

/// Rounding-level agreement of two exact computations, relative to the largest entry.
const ROUNDING: f64 = 1e-11;

#[test]
fn the_crate_forward_pass_and_gradient_equal_the_definitions() {
    for net in nets() {
        let problem = net.problem();
        let pass = problem.forward();
        for n in 0..net.batch() {
            let z = net.trace(n).pop().unwrap();
            for (c, &value) in z.iter().enumerate() {
                assert!(
                    (pass.output()[[n, c]] - value).abs() < 1e-13,
                    "{}",
                    net.name
                );
            }
        }
        let oracle = params_of(&problem, net.gradient());
        assert_params_close(
            format!("{}: gradient", net.name),
            &problem.gradient(),
            &oracle,
            scaled(ROUNDING, &oracle),
        );
    }
}

#[test]
fn exact_equals_the_full_hessian_diagonal_finite_differences_and_per_parameter_hvps() {
    for net in nets() {
        let problem = net.problem();
        let hessian = net.hessian();
        let oracle = params_of(&problem, hessian.diag().to_vec());
        let exact = estimate(&problem, "exact");
        assert_params_close(
            format!("{}: exact vs full Hessian", net.name),
            &exact,
            &oracle,
            scaled(ROUNDING, &oracle),
        );
        let differences = common::finite_difference_diag(&problem, 1e-5);
        assert_params_close(
            format!("{}: exact vs finite differences", net.name),
            &exact,
            &differences,
            scaled(1e-7, &oracle),
        );
        // One crate Hessian-vector product per parameter: its whole column.
        let linearization = Linearization::new(&problem);
        for i in 0..hessian.nrows() {
            let mut unit = vec![0.0; hessian.nrows()];
            unit[i] = 1.0;
            let product = linearization.hessian_vector_product(&params_of(&problem, unit));
            let column = params_of(&problem, hessian.column(i).to_vec());
            assert_params_close(
                format!("{}: Hessian column {i}", net.name),
                &product,
                &column,
                scaled(ROUNDING, &oracle),
            );
        }
    }
}

#[test]
fn ggn_equals_the_jacobians_through_the_output_curvature() {
    for net in nets() {
        let problem = net.problem();
        let oracle = params_of(&problem, net.ggn());
        assert_params_close(
            format!("{}: ggn", net.name),
            &estimate(&problem, "ggn"),
            &oracle,
            scaled(ROUNDING, &oracle),
        );
    }
}

#[test]
fn the_diagonal_recursions_equal_the_dense_jacobian_recursion() {
    for net in nets() {
        let problem = net.problem();
        for (name, seed, residual) in [
            ("hesscale", Seed::Exact, true),
            ("hesscale_gn", Seed::Exact, false),
            ("bl89", Seed::Bl89, true),
        ] {
            if name == "bl89" && net.loss == Loss::Mse {
                continue;
            }
            let oracle = params_of(&problem, net.diagonal_recursion(seed, residual));
            assert_params_close(
                format!("{}: {name}", net.name),
                &estimate(&problem, name),
                &oracle,
                scaled(ROUNDING, &oracle),
            );
        }
    }
}

/// The layers with parameters whose diagonal SPEC §2.2.1 makes equal to exact: the last.
fn last_layer(problem: &Problem) -> std::ops::Range<usize> {
    let layout = problem.mlp().params().layout();
    layout.layers().last().unwrap().range.clone()
}

#[test]
fn spec_2_2_identities_that_hold_on_cnns() {
    for net in nets() {
        let problem = net.problem();
        let exact = estimate(&problem, "exact");
        let last = last_layer(&problem);
        let tolerance = scaled(ROUNDING, &exact);
        // 1. hesscale, hesscale_gn, ggn: the last layer equals exact.
        for name in ["hesscale", "hesscale_gn", "ggn"] {
            let values = estimate(&problem, name);
            for i in last.clone() {
                assert!(
                    (values.values()[i] - exact.values()[i]).abs() <= tolerance,
                    "{}: {name} last layer [{i}]",
                    net.name
                );
            }
        }
        // 3. relu nets (max/avg pooling and flatten are piecewise linear): ggn ≡ exact
        // everywhere, conv layers included, and hesscale ≡ hesscale_gn.
        if net.name.starts_with("relu") {
            assert_params_close(
                format!("{}: relu ggn = exact", net.name),
                &estimate(&problem, "ggn"),
                &exact,
                tolerance,
            );
            assert_eq!(
                estimate(&problem, "hesscale"),
                estimate(&problem, "hesscale_gn")
            );
        }
        // 8. ggn, hesscale_gn, ggn_mc, kfac, grad_squared are ≥ 0.
        for name in ["ggn", "hesscale_gn", "ggn_mc:3", "kfac:3", "grad_squared"] {
            assert!(
                estimate(&problem, name).values().iter().all(|&v| v >= 0.0),
                "{}: {name} has a negative entry",
                net.name
            );
        }
    }
}

#[test]
fn bl89_keeps_only_the_true_class_in_the_last_layer() {
    let net = Net::new(
        "bl89, one sample",
        (1, 4, 4),
        &[
            conv(2, 3, 1, 0),
            Spec::Act(Activation::Tanh),
            Spec::Flatten,
            Spec::Linear(3),
        ],
        Loss::CrossEntropy,
        1,
        21,
    );
    let problem = net.problem();
    let (bl89, exact) = (estimate(&problem, "bl89"), estimate(&problem, "exact"));
    let last = problem.mlp().params().layers() - 1;
    let y = net.classes[0];
    let (weights, bias) = (bl89.matrix(last, 0), bl89.vector(last, 1));
    for c in 0..3 {
        if c == y {
            assert!((bias[c] - exact.vector(last, 1)[c]).abs() < 1e-14);
        } else {
            assert_eq!(bias[c], 0.0);
            assert!(weights.row(c).iter().all(|&v| v == 0.0));
        }
    }
}

#[test]
fn mean_reduction_is_sum_reduction_over_n_for_every_method() {
    let batch = 3.0;
    for name in [
        "exact",
        "hesscale",
        "hesscale_gn",
        "bl89",
        "ggn",
        "ggn_mc:2",
        "kfac:2",
        "hutchinson_signed:2",
    ] {
        let mean = estimate(&nets().remove(0).problem(), name);
        let sum = estimate(
            &nets().remove(0).with_reduction(Reduction::Sum).problem(),
            name,
        );
        let tolerance = scaled(1e-12, &mean);
        for (m, s) in mean.values().iter().zip(sum.values()) {
            assert!(
                (m - s / batch).abs() <= tolerance,
                "{name}: {m} vs {s}/{batch}"
            );
        }
    }
}

/// The largest entry's share: `max |a − b| / max |b|`.
fn relative_error(a: &Params, b: &[f64]) -> f64 {
    let top = b.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    a.values()
        .iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
        / top
}

#[test]
fn monte_carlo_estimators_converge_to_their_targets_on_cnns() {
    for net in nets().into_iter().take(3) {
        let problem = net.problem();
        let ggn = net.ggn();
        let exact = net.hessian().diag().to_vec();
        let kfc = net.kfc_of_ggn();
        // Many draws in one estimate (the output-Jacobian path: M ≥ D) …
        // (hutchinson_signed's spread comes from the Hessian's off-diagonal terms, larger
        // than the GGN columns' on these nets, so it gets a wider band.)
        for (name, target, band) in [
            ("ggn_mc", &ggn, 0.03),
            ("kfac", &kfc, 0.03),
            ("hutchinson_signed", &exact, 0.1),
        ] {
            let rough = relative_error(&estimate(&problem, &format!("{name}:2")), target);
            let close = relative_error(&estimate(&problem, &format!("{name}:20000")), target);
            assert!(close < band, "{}: {name}:20000 is {close} off", net.name);
            assert!(
                close < rough / 10.0,
                "{}: {name}: {rough} → {close}",
                net.name
            );
        }
        // … and the mean of many one-draw estimates (the column path: M < D).
        let repeats = 4000;
        let mut mean = vec![0.0; ggn.len()];
        for r in 0..repeats {
            let one = method("ggn_mc:1").estimate(&problem, &mut stream_rng(r, 1, 2));
            for (m, v) in mean.iter_mut().zip(one.values()) {
                *m += v / repeats as f64;
            }
        }
        let close = relative_error(&params_of(&problem, mean), &ggn);
        assert!(
            close < 0.05,
            "{}: mean of ggn_mc:1 is {close} off",
            net.name
        );
    }
}

#[test]
fn the_newer_estimators_converge_to_their_targets_on_cnns() {
    for net in nets().into_iter().take(3) {
        let problem = net.problem();
        let ggn = net.ggn();
        let exact = net.hessian().diag().to_vec();
        // cp is unbiased for the exact diagonal (on a convolution, the product of s and t
        // after summing over positions), gnb for the GGN's.
        for (name, target, band) in [("cp", &exact, 0.05), ("gnb", &ggn, 0.1)] {
            let rough = relative_error(&estimate(&problem, &format!("{name}:2")), target);
            let close = relative_error(&estimate(&problem, &format!("{name}:20000")), target);
            assert!(close < band, "{}: {name}:20000 is {close} off", net.name);
            assert!(
                close < rough / 10.0,
                "{}: {name}: {rough} → {close}",
                net.name
            );
        }
        // xdiag with more sketch vectors than parameters has the whole Hessian in its
        // sketch: exact up to rounding.
        let sketch = 2 * (exact.len() + 2);
        let xdiag = estimate(&problem, &format!("xdiag:{sketch}"));
        assert!(
            relative_error(&xdiag, &exact) < 1e-8,
            "{}: xdiag:{sketch} is {} off",
            net.name,
            relative_error(&xdiag, &exact)
        );
    }
}
