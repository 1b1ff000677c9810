//! The data sets of SPEC §7 besides `random`. [`idx`] reads and checks single MNIST IDX
//! files, raw or gzip.

pub mod idx;

pub use idx::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE, MAX_IDX_BYTES};
