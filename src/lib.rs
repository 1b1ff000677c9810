//! hesscale: exact and approximate Hessian diagonals of small MLPs, and the studies that
//! measure them (see `SPEC.md`). Layers and losses live in [`nn`], the methods that
//! compose them in [`methods`], training in [`train`] and [`rl`], the studies on one engine
//! in [`study`]. A command is parsed by [`cli`], checked into a spec by [`config`], run by
//! [`runner`] (which calls the studies or the methods), and its files written through
//! [`io`].

pub mod build;
pub mod cli;
pub mod compare;
pub mod config;
pub mod data;
pub mod envs;
pub mod error;
pub mod io;
pub mod methods;
pub mod nn;
pub mod rl;
pub mod rng;
pub mod runner;
pub mod study;
pub mod train;

pub use error::{Error, Result};
