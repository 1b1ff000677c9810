//! Bytes in and out: the JSON interchange formats of SPEC §6 and writing result files
//! so that a reader never sees a half-written one.

pub mod cost_out;
pub mod csv_out;
pub mod diagonals;
pub mod format;
pub mod method_table;
pub mod output;
pub mod problem;
pub mod results_dir;
