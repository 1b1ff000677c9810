//! Bytes in and out: the JSON interchange formats of SPEC §6 and writing result files
//! so that a reader never sees a half-written one.

pub mod confirm;
pub mod console;
pub mod diagonals;
pub mod format;
pub mod lock;
pub mod machine;
pub mod output;
pub mod problem;
pub mod table;
