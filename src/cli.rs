//! The command line, parsed by clap and nothing else: every value arrives here as text
//! or a plain number and is checked by `crate::config`.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use crate::nn::{Activation, Loss, Reduction};

/// A parser of one of the `values` a type of the core lists, giving clap the possible
/// values for help, completions and error messages: the command line's names (and their
/// help) come from the core's own `name()`s, and the core knows nothing of clap.
fn one_of<T>(values: impl IntoIterator<Item = PossibleValue>) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = crate::Error> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(values).try_map(|name| name.parse::<T>())
}

/// The activations by name.
fn activations() -> impl TypedValueParser<Value = Activation> {
    one_of(Activation::ALL.map(|a| PossibleValue::new(a.name())))
}

/// The losses by name, with what each is.
fn losses() -> impl TypedValueParser<Value = Loss> {
    one_of(Loss::ALL.map(|l| PossibleValue::new(l.name()).help(l.about())))
}

/// The reductions by name, with what each does.
fn reductions() -> impl TypedValueParser<Value = Reduction> {
    one_of(Reduction::ALL.map(|r| PossibleValue::new(r.name()).help(r.about())))
}

/// Measure how well cheap Hessian-diagonal approximations match the exact Hessian
/// diagonal of small neural networks, and what each costs.
#[derive(Debug, Parser)]
#[command(name = "hesscale-cli", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a random problem (MLP + batch) as JSON.
    #[command(after_help = "Examples:\n  \
        hesscale-cli sample --hidden 16,16,16 --batch-size 4 --seed 0 -o problem.json\n  \
        hesscale-cli sample --loss mse --activation relu | jq .layers")]
    Sample(SampleArgs),
    /// Compute Hessian diagonals of a problem file with any methods.
    #[command(after_help = "Examples:\n  \
        hesscale-cli diag --problem problem.json --methods exact,hesscale,ggn_mc:50 -o diag.json\n  \
        hesscale-cli diag --problem problem.json --methods all --against exact")]
    Diag(DiagArgs),
    /// List the methods: what each estimates, its cost class, whether it is stochastic.
    #[command(after_help = "Examples:\n  hesscale-cli list\n  hesscale-cli list --json")]
    List(ListArgs),
    /// Compare a summary CSV with a baseline: exit 0 if every number is within tolerance,
    /// 1 (with a table of what moved) if any moved, 2 for trouble.
    #[command(after_help = "Example:\n  \
        hesscale-cli check --baseline experiments/baselines/ci-quality.csv results/quality_summary.csv")]
    Check(CheckArgs),
    /// Run the approximation-quality study over a grid: per seed a network (random, or
    /// trained on MNIST), every method against the exact Hessian diagonal; CSVs of errors,
    /// a summary and timings.
    #[command(after_help = "Examples:\n  \
        hesscale-cli quality --widths 16,32,64 --seeds 30          # the standard study, into results/\n  \
        hesscale-cli quality --widths 4,8 --seeds 3 --samples 20 --out-dir results/quick\n  \
        hesscale-cli quality --preset experiments/paper2022.json   # the 2022 paper's protocol\n  \
        hesscale-cli quality --preset experiments/icml2024.json    # MNIST nets before and after training\n  \
        hesscale-cli quality --widths 16,32,64 --seeds 40 --resume  # grow a finished run by 10 seeds")]
    Quality(Box<QualityArgs>),
    /// Train MLPs on MNIST with each optimizer, with and without HesScale step-size
    /// scaling, over step sizes and seeds; learning curves, a summary and timings.
    #[command(after_help = "Examples:\n  \
        hesscale-cli optimize --preset experiments/optimize-mnist.json\n  \
        hesscale-cli optimize --optimizers adam,adahesscale --scaling none,hesscale --lrs 1e-3,1e-2,1e-1 --seeds 3 --steps 500 --out-dir results/opt")]
    Optimize(Box<OptimizeArgs>),
    /// Train A2C and PPO agents on classic-control tasks with each optimizer, with and
    /// without HesScale step-size scaling, over step sizes and seeds (the ICML 2024 RL
    /// study); learning curves, a summary and timings.
    #[command(after_help = "Examples:\n  \
        hesscale-cli rl --preset experiments/rl-small.json\n  \
        hesscale-cli rl --envs cartpole --agents a2c --optimizers adam,adahesscale --lrs 1e-3 --seeds 2 --steps 5000 --out-dir results/rl")]
    Rl(Box<RlArgs>),
    /// Combine out-dirs of one study (quality, optimize or rl): shards of one run, or runs
    /// of other grids, into one.
    #[command(after_help = "Example:\n  \
        hesscale-cli merge results/shard-1 results/shard-2 results/shard-3 --out-dir results/merged")]
    Merge(MergeArgs),
    /// Time a gradient and every method, interleaved, over sweeps of network sizes.
    #[command(after_help = "Examples:\n  \
        hesscale-cli cost                                   # depth and outputs sweeps into results/\n  \
        hesscale-cli cost --sweep depth --sizes 1,2 --reps 5 --methods hesscale,ggn_mc:1 --out-dir results/cost-quick")]
    Cost(CostArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example (bash):\n  \
        hesscale-cli completions bash > ~/.local/share/bash-completion/completions/hesscale-cli")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of the program or of one subcommand.
    #[command(after_help = "Examples:\n  \
        hesscale-cli man > hesscale-cli.1 && man ./hesscale-cli.1\n  \
        hesscale-cli man quality > hesscale-cli-quality.1 && man ./hesscale-cli-quality.1")]
    Man(ManArgs),
}

/// `hesscale-cli man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`hesscale-cli-SUBCOMMAND(1)`); the program's page
    /// when left out.
    pub subcommand: Option<String>,
}

/// `hesscale-cli completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `hesscale-cli sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Input width.
    #[arg(long, default_value_t = 6)]
    pub inputs: usize,
    /// Hidden widths, comma-separated (empty for a single Linear layer).
    #[arg(long, default_value = "16,16,16")]
    pub hidden: String,
    /// Output width (classes for cross_entropy).
    #[arg(long, default_value_t = 10)]
    pub outputs: usize,
    /// Activation of every hidden layer: tanh, sigmoid, relu, leaky_relu, elu, softplus, identity.
    #[arg(long, default_value = "tanh")]
    pub activation: String,
    /// Loss: cross_entropy or mse.
    #[arg(long, default_value = "cross_entropy")]
    pub loss: String,
    /// Reduction of the loss over the batch: mean or sum.
    #[arg(long, default_value = "mean")]
    pub reduction: String,
    /// Number of samples in the batch.
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// Seed of the model and the batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the problem JSON (`-` for standard output).
    #[arg(long, short, default_value = "-")]
    pub output: String,
}

/// `hesscale-cli diag`.
#[derive(Debug, Args)]
pub struct DiagArgs {
    /// Problem JSON file (as written by `sample`).
    #[arg(long)]
    pub problem: PathBuf,
    /// Methods, comma-separated, e.g. `exact,hesscale,ggn_mc:50`, or `all`.
    #[arg(long, default_value = "exact")]
    pub methods: String,
    /// Seed of the stochastic methods (each draws from its own stream).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the diagonals JSON (`-` for standard output).
    #[arg(long, short, default_value = "-")]
    pub output: String,
    /// Print a table of each method's L1 error and relative error against this method
    /// (e.g. `exact`) on standard output; the JSON then goes only to --output if it names
    /// a file.
    #[arg(long)]
    pub against: Option<String>,
    /// Start a computation estimated at more than an hour of CPU time without asking.
    #[arg(long)]
    pub yes: bool,
}

/// `hesscale-cli list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the table as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `hesscale-cli check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The committed baseline summary CSV.
    #[arg(long)]
    pub baseline: PathBuf,
    /// The summary CSV to check (e.g. results/quality_summary.csv).
    pub current: PathBuf,
    /// Relative tolerance: a value may move by atol + rtol·|baseline|.
    #[arg(long, default_value = "1e-9", allow_hyphen_values = true)]
    pub rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value = "1e-12", allow_hyphen_values = true)]
    pub atol: f64,
}

/// `hesscale-cli quality`. Every grid option is optional here so that a `--preset` can
/// set it; explicit flags win over the preset, and the defaults shown apply last
/// (`crate::config::quality`). A flag given twice takes its last value, so options can be
/// appended to a command line to change it.
#[derive(Debug, Default, Args)]
#[command(args_override_self = true)]
pub struct QualityArgs {
    /// Hidden widths, comma-separated (one grid axis) [default: 16].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub widths: Option<Vec<usize>>,
    /// Numbers of hidden layers, comma-separated (one grid axis) [default: 3].
    #[arg(long, alias = "depth", value_delimiter = ',', action = clap::ArgAction::Set)]
    pub depths: Option<Vec<usize>>,
    /// Input width [default: 6].
    #[arg(long)]
    pub inputs: Option<usize>,
    /// Output width (classes for cross_entropy) [default: 10].
    #[arg(long)]
    pub outputs: Option<usize>,
    /// Activations, comma-separated [default: tanh].
    #[arg(long, value_delimiter = ',', value_parser = activations(), action = clap::ArgAction::Set)]
    pub activations: Option<Vec<Activation>>,
    /// Losses, comma-separated [default: cross_entropy].
    #[arg(long, value_delimiter = ',', value_parser = losses(), action = clap::ArgAction::Set)]
    pub losses: Option<Vec<Loss>>,
    /// Reductions of the loss over a batch, comma-separated [default: mean].
    #[arg(long, alias = "reduction", value_delimiter = ',', value_parser = reductions(), action = clap::ArgAction::Set)]
    pub reductions: Option<Vec<Reduction>>,
    /// Samples per batch [default: 1].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Batches per seed [default: 1000].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seeds (random networks) per grid point [default: 40].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Base seed of every random stream [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Approximations to compare with the exact diagonal, comma-separated, or `all` (see `list`) [default: all].
    #[arg(long)]
    pub methods: Option<String>,
    /// Where inputs and targets come from, comma-separated (a grid axis): random (drawn per
    /// batch), mnist (the 10,000-image subset shipped in experiments/data/mnist) or mnist:DIR (the MNIST IDX files in
    /// DIR); with a data set, --inputs and --outputs are 784 and 10 [default: random].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub data: Option<Vec<String>>,
    /// The training steps after which a data set's networks are measured, comma-separated
    /// and increasing; 0 is untrained; random networks are only measured untrained
    /// [default: 0].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub train_steps: Option<Vec<usize>>,
    /// The optimizer that trains them: sgd, adam, adahessian, adaggnmc, adahesscale or
    /// adahesscale_gn [default: adam].
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Its step size [default: 1e-3].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Images per training minibatch, drawn from the training part [default: 32].
    #[arg(long)]
    pub train_batch_size: Option<usize>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The options of every study's run, after its own (`quality`, `optimize`).
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// Worker threads (cells run in parallel) [default: the number of CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Directory of the study's CSVs and metadata record [default: results].
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Continue the run recorded in --out-dir: finished cells are kept, and a grid with
    /// more seeds or grid values computes only the new cells.
    #[arg(long)]
    pub resume: bool,
    /// Run only slice I of N (1-based) of the cells, e.g. `--shard 2/8`.
    #[arg(long)]
    pub shard: Option<String>,
    /// JSON file that sets any of these options but --resume by name (see experiments/).
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// Print no results table at the end.
    #[arg(long)]
    pub quiet: bool,
    /// Start a run estimated at more than an hour of CPU time without asking.
    #[arg(long)]
    pub yes: bool,
}

/// `hesscale-cli optimize`. Every option is optional here so that a `--preset` can set it;
/// explicit flags win over the preset, and the defaults shown apply last
/// (`crate::config::optimize`). A flag given twice takes its last value.
#[derive(Debug, Default, Args)]
#[command(args_override_self = true)]
pub struct OptimizeArgs {
    /// Optimizers, comma-separated: sgd, adam, adahessian, adaggnmc, adahesscale,
    /// adahesscale_gn, or `all` (a grid axis) [default: all].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub optimizers: Option<Vec<String>>,
    /// Step-size scalings, comma-separated: none, hesscale (a grid axis) [default: none,hesscale].
    #[arg(long, alias = "scalings", value_delimiter = ',', action = clap::ArgAction::Set)]
    pub scaling: Option<Vec<String>>,
    /// The scaling constant δ, the largest change a scaled step's quadratic model predicts;
    /// comma-separated values are a grid axis of the scaled runs [default: 1e-4].
    #[arg(long, alias = "deltas", value_delimiter = ',', allow_hyphen_values = true, action = clap::ArgAction::Set)]
    pub delta: Option<Vec<f64>>,
    /// Step sizes α, comma-separated (a grid axis) [default: 1e-4,1e-3,1e-2,1e-1,1].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, action = clap::ArgAction::Set)]
    pub lrs: Option<Vec<f64>>,
    /// Seeds per grid point (initial network, minibatches, stochastic curvature) [default: 3].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Base seed of every random stream [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hidden widths, comma-separated (a grid axis) [default: 64].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub widths: Option<Vec<usize>>,
    /// Numbers of hidden layers, comma-separated (a grid axis) [default: 3].
    #[arg(long, alias = "depth", value_delimiter = ',', action = clap::ArgAction::Set)]
    pub depths: Option<Vec<usize>>,
    /// Activations, comma-separated (a grid axis) [default: tanh].
    #[arg(long, value_delimiter = ',', value_parser = activations(), action = clap::ArgAction::Set)]
    pub activations: Option<Vec<Activation>>,
    /// Data sets, comma-separated: mnist (the shipped subset) or mnist:DIR (a grid axis) [default: mnist].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub data: Option<Vec<String>>,
    /// Optimizer steps per run [default: 1000].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Evaluate on the test part every this many steps (and after the last) [default: 100].
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Images per minibatch [default: 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `hesscale-cli rl`. Every option is optional here so that a `--preset` can set it;
/// explicit flags win over the preset, and the defaults shown apply last
/// (`crate::config::rl`). A flag given twice takes its last value.
#[derive(Debug, Default, Args)]
#[command(args_override_self = true)]
pub struct RlArgs {
    /// Tasks, comma-separated: pendulum, mountain_car_continuous, cartpole, acrobot, or
    /// `all` (a grid axis) [default: pendulum,cartpole].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub envs: Option<Vec<String>>,
    /// Agents, comma-separated: a2c, ppo, or `all` (a grid axis) [default: all].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub agents: Option<Vec<String>>,
    /// Optimizers of every network, comma-separated: sgd, adam, adahessian, adahesscale,
    /// adahesscale_gn, or `all` (a grid axis) [default: adam,adahessian,adahesscale,adahesscale_gn].
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set)]
    pub optimizers: Option<Vec<String>>,
    /// Step-size scalings, comma-separated: none, hesscale (a grid axis) [default: none,hesscale].
    #[arg(long, alias = "scalings", value_delimiter = ',', action = clap::ArgAction::Set)]
    pub scaling: Option<Vec<String>>,
    /// The scaling constant δ [default: 1e-8, the paper's].
    #[arg(long, allow_hyphen_values = true)]
    pub delta: Option<f64>,
    /// Step sizes α, comma-separated (a grid axis) [default: 1e-4,1e-3,1e-2].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, action = clap::ArgAction::Set)]
    pub lrs: Option<Vec<f64>>,
    /// Seeds per grid point (networks, environment, actions, minibatches) [default: 3].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Base seed of every random stream [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Environment steps per run [default: 20000].
    #[arg(long)]
    pub steps: Option<usize>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `hesscale-cli merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The out-dirs of the shards (`quality`, `optimize` or `rl --shard I/N`), in any order.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged files (must not already hold results).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Merge even where the inputs leave cells of their combined grid uncomputed (they are
    /// listed; `--resume` into the merged out-dir computes them). Without it such a merge
    /// is refused.
    #[arg(long)]
    pub partial: bool,
}

/// `hesscale-cli cost`. A flag given twice takes its last value.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CostArgs {
    /// Sweeps, comma-separated: depth (64 → k×512 tanh → 100, mse), outputs
    /// (64 → 256 tanh → out, mse), width (6 → w,w,w tanh → 10, cross_entropy).
    #[arg(long, default_value = "depth,outputs")]
    pub sweep: String,
    /// Override the sizes of the (single) chosen sweep: its k, out or w values,
    /// comma-separated, e.g. `1,2`.
    #[arg(long)]
    pub sizes: Option<String>,
    /// Methods to time next to the gradient, comma-separated, or `all`.
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Number of samples in the batch.
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// Timed rounds per size (each round times the gradient and every method once).
    #[arg(long, default_value_t = 30)]
    pub reps: usize,
    /// Untimed warm-up rounds per size before the timed ones.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Worker threads of the pool the timing runs in (1 gives clean timings).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Skip exact, ggn and every method with more than one draw at sizes where one call
    /// is estimated to take more than this many multiply-adds (`inf`: never skip).
    #[arg(long, default_value = "2e9")]
    pub max_work: String,
    /// Seed of the problems (one fixed problem per sweep and size) and of the methods' draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder of cost.csv, cost.ledger.csv and cost.meta.json (created if missing).
    #[arg(long, default_value = "results")]
    pub out_dir: PathBuf,
    /// Replace the results of an earlier cost run in --out-dir.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Continue the cost run recorded in --out-dir (networks already timed are kept).
    #[arg(long)]
    pub resume: bool,
    /// Start a run estimated at more than an hour of CPU time without asking.
    #[arg(long)]
    pub yes: bool,
}
