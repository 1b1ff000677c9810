//! The checked configuration of `hesscale-cli sample`.

use crate::cli::SampleArgs;
use crate::config::memory::{check_memory, problem_bytes};
use crate::config::{check_count, check_n_params, check_width, checked_output, parse_list};
use crate::error::{Error, Result};
use crate::io::output::Output;
use crate::nn::init::Architecture;
use crate::nn::{Loss, Reduction};

/// The largest batch `sample` writes.
pub const MAX_BATCH: usize = 100_000;

/// A checked `sample` request.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSpec {
    pub architecture: Architecture,
    pub loss: Loss,
    pub reduction: Reduction,
    pub batch_size: usize,
    pub seed: u64,
    pub output: Output,
}

impl TryFrom<SampleArgs> for SampleSpec {
    type Error = Error;

    fn try_from(args: SampleArgs) -> Result<Self> {
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
        let batch_size = check_count("batch-size", args.batch_size, MAX_BATCH)?;
        check_memory(
            problem_bytes(&architecture.widths(), batch_size, &[]),
            "the problem",
        )?;
        Ok(SampleSpec {
            architecture,
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
