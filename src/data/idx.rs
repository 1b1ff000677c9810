//! The IDX files of MNIST (SPEC §7), raw or gzip-compressed, read into checked byte
//! vectors. IDX is big-endian: a magic number `0x000008DD` (u8 values, `DD` dims), one
//! u32 per dim, then exactly the product of the dims in bytes. Image files have dims
//! N, 28, 28 (magic `0x00000803`), label files dim N (magic `0x00000801`) with labels
//! 0–9.
//!
//! Whether a file is gzip is decided by its first two bytes (`1f 8b`), not by its name.
//! Reading is bounded: the header's dims are checked against [`MAX_IDX_BYTES`] before the
//! payload is read, and no more than the declared payload (plus one byte to detect
//! trailing bytes) is ever read, so `/dev/zero` or a gzip bomb cannot exhaust memory.
//! Every bad file is a one-line [`Error::input`] that names the file and what is wrong.

use std::io::{Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The side of an MNIST image in pixels (SPEC §7).
pub const IMAGE_SIDE: usize = 28;

/// The pixels of one MNIST image, 28 × 28 (SPEC §7).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// The number of MNIST classes: labels are the digits 0–9 (SPEC §7).
pub const CLASSES: usize = 10;

/// The largest IDX file accepted, decompressed (header and payload): 200 MiB. The full
/// MNIST training images take 47 MB.
pub const MAX_IDX_BYTES: u64 = 200 * 1024 * 1024;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The IDX type byte for unsigned bytes (the third byte of the magic number).
const U8_TYPE: u32 = 0x08;

/// The two kinds of IDX file MNIST uses.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Magic `0x00000803`, dims N, 28, 28.
    Images,
    /// Magic `0x00000801`, dim N, values 0–9.
    Labels,
}

impl Layout {
    fn dims(self) -> usize {
        match self {
            Layout::Images => 3,
            Layout::Labels => 1,
        }
    }

    fn magic(self) -> u32 {
        U8_TYPE << 8 | self.dims() as u32
    }

    fn kind(self) -> &'static str {
        match self {
            Layout::Images => "image",
            Layout::Labels => "label",
        }
    }
}

/// The values of one IDX file and the SHA-256 of its bytes, decompressed (header and
/// payload): what a data set's digest is made of, the same for a raw and a gzip copy.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The payload: pixels (image after image, each row-major) or labels.
    pub values: Vec<u8>,
    /// The SHA-256 of the decompressed file, in hex.
    pub sha256: String,
}

/// The images of an IDX image file held in `bytes` (raw or gzip): N × 784 pixels,
/// image after image, each row-major. `source` names the file in error messages.
pub fn images_from_bytes(bytes: &[u8], source: &str) -> Result<Idx> {
    decode_and_parse(bytes, Layout::Images, source)
}

/// The labels (each 0–9) of an IDX label file held in `bytes` (raw or gzip). `source`
/// names the file in error messages.
pub fn labels_from_bytes(bytes: &[u8], source: &str) -> Result<Idx> {
    decode_and_parse(bytes, Layout::Labels, source)
}

/// The images of the IDX image file at `path` (raw or gzip): N × 784 pixels, image after
/// image, each row-major.
pub fn read_images(path: &Path) -> Result<Idx> {
    decode_and_parse(open(path, Layout::Images)?, Layout::Images, &source(path))
}

/// The labels (each 0–9) of the IDX label file at `path` (raw or gzip).
pub fn read_labels(path: &Path) -> Result<Idx> {
    decode_and_parse(open(path, Layout::Labels)?, Layout::Labels, &source(path))
}

/// The number of images an IDX image file declares in its header, read alone (so that a
/// data set's memory is known before its payload is read) and checked like
/// [`read_images`] checks it.
pub fn count_images(path: &Path) -> Result<usize> {
    count(path, Layout::Images)
}

/// The number of labels an IDX label file declares in its header.
pub fn count_labels(path: &Path) -> Result<usize> {
    count(path, Layout::Labels)
}

/// How a file is named in messages: its path, quoted.
fn source(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// Open an IDX file, which must be a regular file (a FIFO would block, a device never
/// end).
fn open(path: &Path, layout: Layout) -> Result<std::fs::File> {
    crate::io::output::open_regular(path).map_err(|e| {
        Error::input(format!(
            "cannot open IDX {} file '{}': {e}",
            layout.kind(),
            path.display()
        ))
    })
}

/// The first dim of the header of the IDX file at `path` (its images or labels).
fn count(path: &Path, layout: Layout) -> Result<usize> {
    let source = source(path);
    let mut reader = open(path, layout)?;
    let start = read_at_most(&mut reader, GZIP_MAGIC.len() as u64, &source)?;
    let is_gzip = start == GZIP_MAGIC;
    let whole = Cursor::new(start).chain(reader);
    let (dims, _) = if is_gzip {
        header(&mut MultiGzDecoder::new(whole), layout, &source)?
    } else {
        header(&mut { whole }, layout, &source)?
    };
    Ok(dims[0] as usize)
}

/// Parse `reader`'s bytes, decompressing them first if they start with the gzip magic.
fn decode_and_parse(mut reader: impl Read, layout: Layout, source: &str) -> Result<Idx> {
    let start = read_at_most(&mut reader, GZIP_MAGIC.len() as u64, source)?;
    let is_gzip = start == GZIP_MAGIC;
    let whole = Cursor::new(start).chain(reader);
    if is_gzip {
        parse(MultiGzDecoder::new(whole), layout, source)
    } else {
        parse(whole, layout, source)
    }
}

/// Read and check an IDX header: the dims and the payload's length in bytes.
fn header(reader: &mut impl Read, layout: Layout, source: &str) -> Result<(Vec<u32>, u64)> {
    let kind = layout.kind();
    let header_len = 4 + 4 * layout.dims();
    let header = read_at_most(reader, header_len as u64, source)?;
    let fields: Vec<u32> = header
        .chunks_exact(4)
        .map(|field| u32::from_be_bytes([field[0], field[1], field[2], field[3]]))
        .collect();
    let Some((&magic, dims)) = fields.split_first() else {
        return Err(Error::input(format!(
            "{source}: truncated header: {} bytes, an IDX {kind} file starts with {header_len}",
            header.len()
        )));
    };
    if magic >> 8 != U8_TYPE {
        return Err(Error::input(format!(
            "{source}: wrong magic number 0x{magic:08x}, an IDX {kind} file starts with 0x{:08x}",
            layout.magic()
        )));
    }
    if magic != layout.magic() {
        return Err(Error::input(format!(
            "{source}: wrong number of dims: {} (magic 0x{magic:08x}), an IDX {kind} file has {}",
            magic & 0xff,
            layout.dims()
        )));
    }
    if header.len() < header_len {
        return Err(Error::input(format!(
            "{source}: truncated header: {} bytes, an IDX {kind} file starts with {header_len}",
            header.len()
        )));
    }
    if let Layout::Images = layout {
        if dims[1..] != [IMAGE_SIDE as u32, IMAGE_SIDE as u32] {
            return Err(Error::input(format!(
                "{source}: images are {}×{}, expected {IMAGE_SIDE}×{IMAGE_SIDE}",
                dims[1], dims[2]
            )));
        }
    }
    let payload_len = dims
        .iter()
        .try_fold(1u64, |product, &dim| product.checked_mul(u64::from(dim)))
        .filter(|&len| len <= MAX_IDX_BYTES - header_len as u64)
        .ok_or_else(|| {
            Error::input(format!(
                "{source}: dims {} declare more than the limit of {MAX_IDX_BYTES} bytes (200 MiB)",
                shape(dims)
            ))
        })?;
    Ok((dims.to_vec(), payload_len))
}

/// Dims as `N×28×28`.
fn shape(dims: &[u32]) -> String {
    dims.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Check the header, then read exactly the payload it declares and nothing after it;
/// the values and the SHA-256 of everything read (header and payload).
fn parse(reader: impl Read, layout: Layout, source: &str) -> Result<Idx> {
    let mut reader = Hashing {
        inner: reader,
        sha256: Sha256::new(),
    };
    let (dims, payload_len) = header(&mut reader, layout, source)?;
    let shape = shape(&dims);
    let payload = read_at_most(&mut reader, payload_len, source)?;
    if (payload.len() as u64) < payload_len {
        return Err(Error::input(format!(
            "{source}: payload is {} bytes but dims {shape} need {payload_len} (truncated)",
            payload.len()
        )));
    }
    if !read_at_most(&mut reader, 1, source)?.is_empty() {
        return Err(Error::input(format!(
            "{source}: trailing bytes after the {payload_len}-byte payload that dims {shape} declare"
        )));
    }
    if let Layout::Labels = layout {
        if let Some((index, label)) = payload
            .iter()
            .enumerate()
            .find(|(_, &label)| usize::from(label) >= CLASSES)
        {
            return Err(Error::input(format!(
                "{source}: label {label} at index {index} is not a digit 0–9"
            )));
        }
    }
    Ok(Idx {
        values: payload,
        sha256: reader
            .sha256
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// A reader that hashes every byte read through it.
struct Hashing<R> {
    inner: R,
    sha256: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
}

/// Up to `limit` bytes of `reader`; fewer only where the stream ends.
fn read_at_most(reader: &mut impl Read, limit: u64, source: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::input(format!("{source}: cannot read: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    /// An IDX file: the magic for u8 values with `dims.len()` dims, the dims, `payload`.
    fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
        for dim in dims {
            bytes.extend(dim.to_be_bytes());
        }
        bytes.extend(payload);
        bytes
    }

    fn gzipped(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Two images whose pixels count up from 0 and from 100.
    fn two_images() -> Vec<u8> {
        (0..IMAGE_PIXELS)
            .map(|p| (p % 256) as u8)
            .chain((0..IMAGE_PIXELS).map(|p| ((p + 100) % 256) as u8))
            .collect()
    }

    /// `result` is an input error whose one-line message names `source` and contains
    /// `problem`.
    fn assert_input_error<T: std::fmt::Debug>(result: Result<T>, source: &str, problem: &str) {
        match result {
            Err(Error::Input(message)) => {
                assert!(
                    message.contains(source),
                    "{message:?} does not name {source}"
                );
                assert!(message.contains(problem), "{message:?} lacks {problem:?}");
                assert!(!message.contains('\n'), "{message:?} spans lines");
            }
            other => panic!("expected an input error about {problem:?}, got {other:?}"),
        }
    }

    #[test]
    fn raw_and_gzip_files_give_the_same_images_and_labels() {
        let pixels = two_images();
        let images = idx(&[2, 28, 28], &pixels);
        let labels = idx(&[2], &[3, 9]);
        for (images, labels) in [
            (images.clone(), labels.clone()),
            (gzipped(&images), gzipped(&labels)),
        ] {
            assert_eq!(images_from_bytes(&images, "images").unwrap().values, pixels);
            assert_eq!(labels_from_bytes(&labels, "labels").unwrap().values, [3, 9]);
        }
    }

    #[test]
    fn files_are_read_from_a_path_whatever_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let pixels = two_images();
        let gzip_without_suffix = dir.path().join("images");
        let raw_with_gz_suffix = dir.path().join("labels.gz");
        std::fs::write(&gzip_without_suffix, gzipped(&idx(&[2, 28, 28], &pixels))).unwrap();
        std::fs::write(&raw_with_gz_suffix, idx(&[2], &[0, 7])).unwrap();
        assert_eq!(read_images(&gzip_without_suffix).unwrap().values, pixels);
        assert_eq!(read_labels(&raw_with_gz_suffix).unwrap().values, [0, 7]);
    }

    #[test]
    fn an_empty_file_has_zero_images() {
        assert!(images_from_bytes(&idx(&[0, 28, 28], &[]), "f")
            .unwrap()
            .values
            .is_empty());
    }

    #[test]
    fn a_missing_file_is_an_input_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing-here");
        assert_input_error(
            read_labels(&missing),
            &missing.display().to_string(),
            "cannot open IDX label file",
        );
    }

    #[test]
    fn a_truncated_header_is_an_input_error() {
        assert_input_error(images_from_bytes(&[], "f.idx"), "f.idx", "truncated header");
        assert_input_error(
            images_from_bytes(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0], "f.idx"),
            "f.idx",
            "truncated header: 10 bytes, an IDX image file starts with 16",
        );
        assert_input_error(
            labels_from_bytes(&gzipped(&[0, 0, 8]), "f.gz"),
            "f.gz",
            "truncated header",
        );
    }

    #[test]
    fn a_wrong_magic_number_is_an_input_error() {
        let mut floats = idx(&[1], &[0]);
        floats[2] = 0x0d;
        assert_input_error(
            labels_from_bytes(&floats, "f"),
            "f",
            "wrong magic number 0x00000d01, an IDX label file starts with 0x00000801",
        );
    }

    #[test]
    fn a_wrong_number_of_dims_is_an_input_error() {
        assert_input_error(
            images_from_bytes(&idx(&[2], &[3, 9]), "labels-as-images"),
            "labels-as-images",
            "wrong number of dims: 1",
        );
        assert_input_error(
            labels_from_bytes(&idx(&[1, 1], &[3]), "matrix"),
            "matrix",
            "wrong number of dims: 2",
        );
    }

    #[test]
    fn images_that_are_not_28_by_28_are_an_input_error() {
        assert_input_error(
            images_from_bytes(&idx(&[1, 32, 32], &[0; 32 * 32]), "f"),
            "f",
            "images are 32×32, expected 28×28",
        );
    }

    #[test]
    fn a_payload_shorter_than_the_dims_is_an_input_error() {
        let images = idx(&[3, 28, 28], &two_images());
        for bytes in [images.clone(), gzipped(&images)] {
            assert_input_error(
                images_from_bytes(&bytes, "f"),
                "f",
                "payload is 1568 bytes but dims 3×28×28 need 2352 (truncated)",
            );
        }
    }

    #[test]
    fn trailing_bytes_are_an_input_error() {
        let labels = idx(&[2], &[1, 2, 3]);
        for bytes in [labels.clone(), gzipped(&labels)] {
            assert_input_error(
                labels_from_bytes(&bytes, "f"),
                "f",
                "trailing bytes after the 2-byte payload that dims 2 declare",
            );
        }
    }

    #[test]
    fn a_label_that_is_not_a_digit_is_an_input_error() {
        assert_input_error(
            labels_from_bytes(&idx(&[3], &[0, 9, 10]), "f"),
            "f",
            "label 10 at index 2 is not a digit 0–9",
        );
    }

    #[test]
    fn dims_over_the_limit_are_refused_before_reading_the_payload() {
        assert_input_error(
            images_from_bytes(&idx(&[300_000, 28, 28], &[]), "f"),
            "f",
            "dims 300000×28×28 declare more than the limit",
        );
        assert_input_error(
            labels_from_bytes(&idx(&[u32::MAX], &[]), "f"),
            "f",
            "more than the limit",
        );
    }

    #[test]
    fn a_gzip_bomb_is_refused_after_the_declared_payload() {
        let bomb = gzipped(&idx(&[1], &vec![0; 50 * 1024 * 1024]));
        assert!(bomb.len() < 100 * 1024);
        assert_input_error(
            labels_from_bytes(&bomb, "bomb.gz"),
            "bomb.gz",
            "trailing bytes",
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_stream_of_zeros_is_refused_at_its_header() {
        assert_input_error(
            decode_and_parse(std::io::repeat(0), Layout::Images, "zeros"),
            "zeros",
            "wrong magic number 0x00000000",
        );
        assert_input_error(
            read_images(Path::new("/dev/zero")),
            "/dev/zero",
            "not a regular file",
        );
    }

    #[test]
    fn a_corrupt_or_cut_gzip_stream_is_an_input_error() {
        let gz = gzipped(&idx(&[2, 28, 28], &two_images()));
        let mut corrupt = gz.clone();
        corrupt[3] = 0xff;
        assert_input_error(images_from_bytes(&corrupt, "f.gz"), "f.gz", "cannot read");
        let cut = &gz[..gz.len() - 4];
        assert_input_error(images_from_bytes(cut, "f.gz"), "f.gz", "cannot read");
    }
}
