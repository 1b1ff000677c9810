//! The command line, parsed by clap and nothing else: every value arrives here as text
//! or a plain number and is checked by `crate::config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Sample(SampleArgs),
    /// Compute Hessian diagonals of a problem file with any methods.
    Diag(DiagArgs),
    /// List the methods: what each estimates, its cost class, whether it is stochastic.
    List(ListArgs),
    /// Compare a summary CSV with a baseline: exit 0 if every number is within tolerance,
    /// 1 (with a table of what moved) if any moved, 2 for trouble.
    Check(CheckArgs),
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
    #[arg(long, default_value_t = 1e-9, allow_hyphen_values = true)]
    pub rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-12, allow_hyphen_values = true)]
    pub atol: f64,
}
