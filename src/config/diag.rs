//! The checked configuration of `hesscale-cli diag`: the problem file is read and
//! validated here, so the runner only sees a good [`Problem`].

use std::path::PathBuf;

use crate::cli::DiagArgs;
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
        Ok(DiagSpec {
            problem_path: args.problem,
            problem,
            methods,
            seed: args.seed,
            output: Output::from_arg(&args.output),
        })
    }
}
