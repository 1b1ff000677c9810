//! The checked configuration of `hesscale-cli diag`: the problem file is read and
//! validated here, so the runner only sees a good [`Problem`].

use std::path::PathBuf;

use crate::cli::DiagArgs;
use crate::config::checked_output;
use crate::config::memory::{check_memory, problem_bytes};
use crate::error::{Error, Result};
use crate::io::output::Output;
use crate::io::problem::read_problem;
use crate::methods::Method;
use crate::nn::Problem;

/// A checked `diag` request.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagSpec {
    pub problem_path: PathBuf,
    pub problem: Problem,
    pub methods: Vec<Method>,
    pub seed: u64,
    pub output: Output,
}

impl TryFrom<DiagArgs> for DiagSpec {
    type Error = Error;

    fn try_from(args: DiagArgs) -> Result<Self> {
        let methods = Method::parse_list(&args.methods)
            .map_err(|e| Error::input(format!("--methods: {e}")))?;
        let problem = read_problem(&args.problem)?;
        let mlp = problem.mlp();
        let mut widths = vec![mlp.inputs()];
        widths.extend(mlp.layers.iter().map(|layer| layer.outputs()));
        check_memory(
            problem_bytes(&widths, problem.batch_size(), &methods),
            &format!("diag of '{}' with these methods", args.problem.display()),
        )?;
        Ok(DiagSpec {
            problem_path: args.problem,
            problem,
            methods,
            seed: args.seed,
            output: checked_output(&args.output)?,
        })
    }
}
