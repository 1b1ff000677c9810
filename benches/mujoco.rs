//! Environment steps per second on Gymnasium's MuJoCo tasks (`--features mujoco`), per task:
//!
//! * `simulation/TASK`: the environment alone, 1,000 steps of fixed pseudo-random actions in
//!   the action box from a reset state (reset again on termination): MuJoCo's steps and the
//!   task's observation and reward;
//! * `ppo/OPTIMIZER/TASK`: a PPO agent's first rollout and update (2,048 steps, then 10
//!   epochs × 32 minibatches of its three networks), as `rl` runs it with the MuJoCo presets'
//!   settings (the `exp` variance head, α 3e-4), for `adam` and for `adahesscale` with the
//!   hesscale scaling.
//!
//! Both report elements (environment steps) per second. The allocator is the CLI's.
//! Run with `cargo bench --features mujoco --bench mujoco`; filter with e.g.
//! `cargo bench --features mujoco --bench mujoco -- simulation/`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hesscale::envs::{Action, ActionSpace, Task, MUJOCO_TASK_NAMES};
use hesscale::nn::VarianceHead;
use hesscale::rl::{Agent, AgentConfig, AgentKind};
use hesscale::rng::stream_rng;
use hesscale::train::{Optimizer, OptimizerConfig, Scaling};

/// The allocator of the CLI (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The MuJoCo tasks.
fn tasks() -> Vec<Task> {
    MUJOCO_TASK_NAMES
        .iter()
        .map(|name| name.parse().expect("a MuJoCo build"))
        .collect()
}

/// `steps` steps of `task` with actions cycling through a fixed pseudo-random set.
fn simulate(task: Task, steps: usize) -> f64 {
    let mut env = task.make();
    let ActionSpace::Continuous { low, high } = env.action_space() else {
        unreachable!("MuJoCo actions are continuous")
    };
    let actions: Vec<Vec<f64>> = (0..97)
        .map(|i| {
            (0..low.len())
                .map(|d| {
                    let u = ((i * 7 + d * 13) % 31) as f64 / 30.0;
                    low[d] + (high[d] - low[d]) * u
                })
                .collect()
        })
        .collect();
    let mut rng = stream_rng(0, 0, 0);
    env.reset(&mut rng);
    let mut total = 0.0;
    for t in 0..steps {
        let step = env
            .step(Action::Continuous(&actions[t % actions.len()]))
            .expect("a valid action");
        total += step.reward;
        if step.terminated || step.truncated {
            env.reset(&mut rng);
        }
    }
    total
}

fn simulation(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulation");
    group.throughput(Throughput::Elements(1000));
    for task in tasks() {
        group.bench_function(BenchmarkId::from_parameter(task), |b| {
            b.iter(|| black_box(simulate(task, 1000)))
        });
    }
    group.finish();
}

fn ppo(c: &mut Criterion) {
    let rollout = AgentKind::Ppo.config().rollout;
    let mut group = c.benchmark_group("ppo");
    group
        .throughput(Throughput::Elements(rollout as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let optimizers = [
        ("adam", OptimizerConfig::new(Optimizer::Adam, 3e-4)),
        (
            "adahesscale_hesscale",
            OptimizerConfig {
                scaling: Scaling::HesScale { delta: 1e-8 },
                ..OptimizerConfig::new(Optimizer::AdaHesScale, 3e-4)
            },
        ),
    ];
    let config = AgentConfig {
        variance_head: VarianceHead::Exp,
        ..AgentKind::Ppo.config()
    };
    for (name, optimizer) in optimizers {
        for task in tasks() {
            group.bench_function(BenchmarkId::new(name, task), |b| {
                b.iter(|| {
                    let agent = Agent::new(task, config, optimizer, 0, 0).expect("an agent");
                    black_box(agent.run(rollout as u64).expect("a run"))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, simulation, ppo);
criterion_main!(benches);
