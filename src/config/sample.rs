//! The checked configuration of `hesscale-cli sample`.

use crate::cli::SampleArgs;
use crate::config::memory::{check_memory, problem_bytes};
use crate::config::{check_count, check_n_params, check_width, checked_output, parse_list};
use crate::error::{Error, Result};
use crate::io::output::Output;
use crate::nn::init::Architecture;
use crate::nn::{Arch, Loss, Reduction};

/// The largest batch `sample` writes.
pub const MAX_BATCH: usize = 100_000;

/// The network `sample` draws: an MLP of widths, or any architecture (`--arch`).
#[derive(Clone, Debug, PartialEq)]
pub enum SampledNetwork {
    Mlp(Architecture),
    Arch(Arch),
}

/// A checked `--arch`: parsed, and its layers chaining from the input it names.
pub fn checked_arch(text: &str) -> Result<Arch> {
    let arch: Arch = text.parse()?;
    let n_params = arch.n_params()?;
    check_n_params(n_params)?;
    Ok(arch)
}

/// A checked `sample` request.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSpec {
    pub network: SampledNetwork,
    pub loss: Loss,
    pub reduction: Reduction,
    pub batch_size: usize,
    pub seed: u64,
    pub output: Output,
}

impl TryFrom<SampleArgs> for SampleSpec {
    type Error = Error;

    fn try_from(args: SampleArgs) -> Result<Self> {
        let batch_size = check_count("batch-size", args.batch_size, MAX_BATCH)?;
        let network = match &args.arch {
            Some(text) => {
                let arch = checked_arch(text)?;
                let layers = arch.layers()?;
                let mut widths = vec![arch.input.map_or(0, |form| form.len())];
                widths.extend(layers.iter().map(crate::nn::LayerRules::outputs));
                check_memory(problem_bytes(&widths, batch_size, &[]), "the problem")?;
                SampledNetwork::Arch(arch)
            }
            None => {
                let hidden = parse_list::<usize>("hidden", &args.hidden)?
                    .into_iter()
                    .map(|width| check_width("hidden", width))
                    .collect::<Result<Vec<_>>>()?;
                let architecture = Architecture {
                    inputs: check_width("inputs", args.inputs)?,
                    hidden,
                    outputs: check_width("outputs", args.outputs)?,
                    activation: args
                        .activation
                        .parse()
                        .map_err(|e| Error::input(format!("--activation: {e}")))?,
                };
                check_n_params(architecture.n_params())?;
                check_memory(
                    problem_bytes(&architecture.widths(), batch_size, &[]),
                    "the problem",
                )?;
                SampledNetwork::Mlp(architecture)
            }
        };
        Ok(SampleSpec {
            network,
            loss: args
                .loss
                .parse()
                .map_err(|e| Error::input(format!("--loss: {e}")))?,
            reduction: args
                .reduction
                .parse()
                .map_err(|e| Error::input(format!("--reduction: {e}")))?,
            batch_size,
            seed: args.seed,
            output: checked_output(&args.output)?,
        })
    }
}
