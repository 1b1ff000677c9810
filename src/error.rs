//! The one error type of the library. Each error says whose fault it is, which picks the
//! process exit code in `main.rs`: 2 for bad input (flags, files, values), 1 for failures
//! while running (writing results, a worker that broke).

use std::fmt::Display;

/// An error with a one-line message that names the field, file or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong: a flag, a file's contents, a path that cannot be read.
    #[error("{0}")]
    Input(String),
    /// Something failed while running: writing results, an I/O failure mid-run.
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    /// A bad-input error (exit code 2).
    pub fn input(message: impl Display) -> Self {
        Error::Input(message.to_string())
    }

    /// A runtime failure (exit code 1).
    pub fn runtime(message: impl Display) -> Self {
        Error::Runtime(message.to_string())
    }

    /// The process exit code for this error: 2 for bad input, 1 for runtime failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Runtime(_) => 1,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
