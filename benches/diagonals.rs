//! Per-sample time (batch 1) on the quality protocol's net 6 → w,w,w → 10 (tanh,
//! cross_entropy) at widths 16, 64 and 256:
//!
//! * `cell/width_W`: a whole quality cell, every method of `all` on every sample with the
//!   errors against the exact diagonal (what `quality` does), per sample;
//! * `own/width_W/NAME`: each method's own work on a prepared linearization (the shared
//!   parts already made), and `gradient` and `linearization` (a plain gradient, and the
//!   forward pass with every shared part);
//! * `alone/width_W/NAME`: each method on its own from the problem (what `diag` and
//!   `cost` time);
//! * `training/OPTIMIZER`: one training step of the trained-network protocol (SPEC §8:
//!   784 → 64,64,64 → 10 relu on the shipped MNIST, minibatches of 32), per step.
//!
//! The allocator is the CLI's (mimalloc), so the numbers are those of the binary's runs:
//! under the system allocator a training step's large short-lived arrays make the heap
//! grow and shrink every step, and page faults take a fifth of the time.
//!
//! Run with `cargo bench --bench diagonals`; filter with e.g.
//! `cargo bench --bench diagonals -- 'own/width_64/'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hesscale::config::quality::QualityGrid;
use hesscale::data::{DataSource, Mnist};
use hesscale::methods::Method;
use hesscale::nn::init::{init_mlp, sample_batch, Architecture};
use hesscale::nn::{Activation, Linearization, Loss, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use hesscale::study::quality::cell::run_cell;
use hesscale::study::quality::Cell;
use hesscale::train::{Optimizer, OptimizerConfig, Trainer, TrainerConfig};

/// The allocator of the CLI (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 0;
const WIDTHS: [usize; 3] = [16, 64, 256];

/// One sample of the protocol: a PyTorch-initialised 6 → w,w,w → 10 tanh net and one input.
fn problem(width: usize) -> Problem {
    let architecture = Architecture {
        inputs: 6,
        hidden: vec![width; 3],
        outputs: 10,
        activation: Activation::Tanh,
    };
    let mut rng = stream_rng(SEED, width as u64, PROBLEM_STREAM);
    let mlp = init_mlp(&architecture, &mut rng).expect("valid architecture");
    let (inputs, targets) = sample_batch(6, 10, Loss::CrossEntropy, 1, &mut rng);
    Problem::new(mlp, Loss::CrossEntropy, Reduction::Mean, inputs, targets)
        .expect("a valid problem")
}

/// A quality grid of one cell at `width` with `samples` samples and every method.
fn grid(width: usize, samples: usize) -> QualityGrid {
    QualityGrid {
        activations: vec![Activation::Tanh],
        losses: vec![Loss::CrossEntropy],
        reductions: vec![Reduction::Mean],
        depths: vec![3],
        widths: vec![width],
        inputs: 6,
        outputs: 10,
        batch_size: 1,
        batches: samples,
        seeds: 1,
        seed: SEED,
        methods: Method::all(),
        ..QualityGrid::default()
    }
}

fn cell(c: &mut Criterion) {
    let mut group = c.benchmark_group("cell");
    for width in WIDTHS {
        let samples = if width > 64 { 4 } else { 20 };
        let grid = grid(width, samples);
        let cell = Cell {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 3,
            width,
            seed: 0,
        };
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("width_{width}")), |b| {
            b.iter(|| black_box(run_cell(&grid, &cell, None).expect("the cell runs")))
        });
    }
    group.finish();
}

fn own_work(c: &mut Criterion) {
    for width in WIDTHS {
        let problem = problem(width);
        let mut group = c.benchmark_group(format!("own/width_{width}"));
        group.bench_function("gradient", |b| {
            b.iter(|| black_box(black_box(&problem).gradient()))
        });
        group.bench_function("linearization", |b| {
            b.iter(|| {
                let linearization = Linearization::new(black_box(&problem));
                black_box(linearization.backward());
                black_box(linearization.output_jacobians());
                black_box(linearization.squared_inputs());
            })
        });
        let linearization = Linearization::new(&problem);
        linearization.backward();
        linearization.output_jacobians();
        linearization.squared_inputs();
        for method in Method::all() {
            let mut rng = stream_rng(SEED, width as u64, stream_id(&method.to_string()));
            group.bench_function(method.to_string(), |b| {
                b.iter(|| black_box(method.estimate_from(black_box(&linearization), &mut rng)))
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("alone/width_{width}"));
        for method in Method::all() {
            if width > 64 && method.is_capped() {
                continue;
            }
            let mut rng = stream_rng(SEED, width as u64, stream_id(&method.to_string()));
            group.bench_function(method.to_string(), |b| {
                b.iter(|| black_box(method.estimate(black_box(&problem), &mut rng)))
            });
        }
        group.finish();
    }
}

/// One training step of the trained-network protocol, per optimizer that needs no extra
/// curvature (adam) and one that does (adahesscale).
fn training(c: &mut Criterion) {
    let mnist = Mnist::shipped().expect("the shipped MNIST subset");
    let architecture = Architecture {
        inputs: 784,
        hidden: vec![64; 3],
        outputs: 10,
        activation: Activation::Relu,
    };
    let mut rng = stream_rng(SEED, 0, PROBLEM_STREAM);
    let mlp = init_mlp(&architecture, &mut rng).expect("valid architecture");
    let mut group = c.benchmark_group("training");
    for optimizer in [Optimizer::Adam, Optimizer::AdaHesScale] {
        let config = TrainerConfig {
            optimizer: OptimizerConfig::new(optimizer, 1e-3),
            loss: Loss::CrossEntropy,
            batch_size: 32,
            seed: SEED,
            cell: 0,
        };
        let mut trainer = Trainer::new(mlp.clone(), &mnist.train, &config).expect("a trainer");
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(optimizer), |b| {
            b.iter(|| black_box(trainer.step().expect("a step")))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = cell, own_work, training
}
criterion_main!(benches);
