//! Time per sample (batch 1) of the gradient and of every Hessian-diagonal method on the
//! protocol-shaped net 6 → w,w,w → 10 (tanh, cross_entropy).
//!
//! Widths 64 and 256: the gradient and every method of `Method::all()`. Width 512: the
//! gradient and the cheap methods (the ones that cost about one backward pass or one HVP).
//!
//! Run with `cargo bench --bench diagonals`; filter with e.g.
//! `cargo bench --bench diagonals -- 'width_512/'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hesscale::methods::Method;
use hesscale::nn::init::{init_mlp, sample_batch, Architecture};
use hesscale::nn::{Activation, Loss, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng, PROBLEM_STREAM};

const SEED: u64 = 0;

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

/// The methods that cost about one backward pass (or one HVP) per sample.
fn cheap_methods() -> Vec<Method> {
    vec![
        Method::HesScale,
        Method::HesScaleGn,
        Method::Bl89,
        Method::GgnMc { draws: 1 },
        Method::Kfac { draws: 1 },
        Method::Hutchinson { draws: 1 },
        Method::GradSquared,
    ]
}

fn bench_width(c: &mut Criterion, width: usize, methods: &[Method]) {
    let problem = problem(width);
    let mut group = c.benchmark_group(format!("width_{width}"));
    group.bench_function("gradient", |b| {
        b.iter(|| black_box(black_box(&problem).gradient()))
    });
    for &method in methods {
        let mut rng = stream_rng(SEED, width as u64, stream_id(&method.to_string()));
        group.bench_function(method.to_string(), |b| {
            b.iter(|| black_box(method.estimate(black_box(&problem), &mut rng)))
        });
    }
    group.finish();
}

fn diagonals(c: &mut Criterion) {
    for width in [64, 256] {
        bench_width(c, width, &Method::all());
    }
    bench_width(c, 512, &cheap_methods());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = diagonals
}
criterion_main!(benches);
