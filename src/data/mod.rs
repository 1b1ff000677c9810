//! The data sets of SPEC §7 besides `random`: MNIST read from the four standard IDX files
//! in a directory (`mnist:DIR`) or the subset shipped in the binary (`mnist`). [`idx`]
//! reads and checks single IDX files, raw or gzip; [`mnist`] pairs them into training and
//! test splits and turns pixels into network inputs `x = byte / 255`.

pub mod idx;
pub mod mnist;

pub use idx::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE, MAX_IDX_BYTES};
pub use mnist::{Mnist, Split};
