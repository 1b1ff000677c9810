//! The checked configuration of `hesscale-cli diag`: the problem file is read and
//! validated here, so the runner only sees a good [`Problem`].

use std::path::PathBuf;

use crate::cli::DiagArgs;
use crate::config::checked_output;
use crate::config::memory::{check_memory, problem_bytes};
use crate::error::{Error, Result};
use crate::io::confirm::confirm_long_run;
use crate::io::format::duration;
use crate::io::output::Output;
use crate::io::problem::read_problem;
use crate::methods::Method;
use crate::nn::work::WORK_PER_SECOND;
use crate::nn::Problem;

/// A checked `diag` request.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagSpec {
    pub problem_path: PathBuf,
    pub problem: Problem,
    pub methods: Vec<Method>,
    pub seed: u64,
    /// Where the diagonals JSON goes; none when only the `--against` table is printed.
    pub output: Option<Output>,
    /// The method every other is compared with in a table on standard output.
    pub against: Option<Method>,
}

impl TryFrom<DiagArgs> for DiagSpec {
    type Error = Error;

    fn try_from(args: DiagArgs) -> Result<Self> {
        let mut methods = Method::parse_list(&args.methods)
            .map_err(|e| Error::input(format!("--methods: {e}")))?;
        let against = args
            .against
            .as_deref()
            .map(|name| {
                name.parse::<Method>()
                    .map_err(|e| Error::input(format!("--against: {e}")))
            })
            .transpose()?;
        if let Some(reference) = against {
            if !methods.contains(&reference) {
                methods.insert(0, reference);
            }
        }
        let problem = read_problem(&args.problem)?;
        let widths = problem.mlp().widths();
        check_memory(
            problem_bytes(&widths, problem.batch_size(), &methods),
            &format!("diag of '{}' with these methods", args.problem.display()),
        )?;
        let work: f64 = methods
            .iter()
            .map(|m| m.work(&widths, problem.batch_size()))
            .sum();
        let cpu = work / WORK_PER_SECOND;
        confirm_long_run(
            &format!(
                "diag of '{}': estimated {} of CPU time",
                args.problem.display(),
                duration(cpu)
            ),
            cpu,
            args.yes,
        )?;
        let output = match (&against, args.output.as_str()) {
            (Some(_), "-") => None,
            _ => Some(checked_output(&args.output)?),
        };
        Ok(DiagSpec {
            problem_path: args.problem,
            problem,
            methods,
            seed: args.seed,
            output,
            against,
        })
    }
}
