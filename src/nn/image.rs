//! Images between the layers of a convolutional network (SPEC §11): a sample's values are
//! one row of a batch, `C × H × W` in PyTorch's order (channel, then row, then column), so
//! that value `(c, y, x)` is at `(c·H + y)·W + x`. What flows between two layers is either
//! such an image or a flat vector ([`Form`]); the layers that need an image say which.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The largest side or channel count of an image.
pub const MAX_IMAGE_SIDE: usize = 1 << 16;

/// The shape of one image: channels × height × width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageShape {
    /// An image shape with no zero side.
    pub fn new(channels: usize, height: usize, width: usize) -> Result<ImageShape> {
        for (what, value) in [("channels", channels), ("height", height), ("width", width)] {
            if value == 0 || value > MAX_IMAGE_SIDE {
                return Err(Error::input(format!(
                    "an image's {what} must be between 1 and {MAX_IMAGE_SIDE}, not {value}"
                )));
            }
        }
        Ok(ImageShape {
            channels,
            height,
            width,
        })
    }

    /// The values of one image, C·H·W.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True for an image without values (never, for a checked shape).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The positions of one channel, H·W.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }
}

/// Written `CxHxW`, as on the command line (`1x28x28`).
impl fmt::Display for ImageShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

impl FromStr for ImageShape {
    type Err = Error;

    /// `CxHxW`, each a whole number from 1.
    fn from_str(text: &str) -> Result<ImageShape> {
        let parts: Vec<&str> = text.split('x').collect();
        let bad = || {
            Error::input(format!(
                "'{text}' is not an image shape CxHxW (channels x height x width, e.g. 1x28x28)"
            ))
        };
        let [channels, height, width] = parts[..] else {
            return Err(bad());
        };
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse::<usize>().map_err(|_| bad())
        };
        ImageShape::new(number(channels)?, number(height)?, number(width)?)
    }
}

/// What flows between two layers: a flat vector of a width, or an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    Flat(usize),
    Image(ImageShape),
}

impl Form {
    /// The values per sample.
    pub fn len(&self) -> usize {
        match self {
            Form::Flat(width) => *width,
            Form::Image(shape) => shape.len(),
        }
    }

    /// True for a form without values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `a flat vector of W` or `a CxHxW image`, for error messages.
impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Form::Flat(width) => write!(f, "a flat vector of {width}"),
            Form::Image(shape) => write!(f, "a {shape} image"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_and_write_as_c_x_h_x_w() {
        let shape: ImageShape = "1x28x28".parse().unwrap();
        assert_eq!(shape, ImageShape::new(1, 28, 28).unwrap());
        assert_eq!(shape.to_string(), "1x28x28");
        assert_eq!((shape.len(), shape.pixels()), (784, 784));
        for bad in [
            "",
            "28x28",
            "1x28x28x1",
            "0x28x28",
            "1x-2x3",
            "1x+2x3",
            "ax2x3",
            "1x2x",
        ] {
            assert!(bad.parse::<ImageShape>().is_err(), "{bad}");
        }
        assert_eq!(
            "0x28x28".parse::<ImageShape>().unwrap_err().to_string(),
            "an image's channels must be between 1 and 65536, not 0"
        );
    }
}
