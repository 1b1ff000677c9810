//! CSV tables of typed rows, through serde and the `csv` crate. A row type derives
//! `Serialize`/`Deserialize`; its field names are the header, in order. Floats are written
//! in shortest round-trip form ([`crate::io::format::number`]: `3.0`, `5.68e-17`) through
//! the field adapters [`float`] and [`optional_float`], so that a row read back and
//! written again gives the same bytes; an undefined value is an empty field.
//!
//! Every field of the project's tables is an identifier or a number: no commas, quotes or
//! newlines, so each row is exactly one line.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A row type of a table.
pub trait Row: Serialize + DeserializeOwned {
    /// Checks a row read back from a file beyond its types (finite numbers, times that are
    /// not negative…); the message says what is wrong.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The header line of a row type (its field names, comma-separated, no newline), from
/// serialising one row.
pub fn header<R: Row>(example: &R) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    writer
        .serialize(example)
        .expect("a row serialises to memory");
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    let text = String::from_utf8(bytes).expect("rows are UTF-8");
    text.lines()
        .next()
        .expect("a header line comes first")
        .to_string()
}

/// The rows as CSV lines, each ending in a newline, without a header.
pub fn lines<R: Row>(rows: &[R]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("a row serialises to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("rows are UTF-8")
}

/// Parse CSV lines without a header into rows, each validated; an error names the line
/// (`first_line` is the file's line number of the first row, for messages).
pub fn parse<R: Row>(text: &str, first_line: usize) -> Result<Vec<R>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .deserialize::<R>()
        .enumerate()
        .map(|(i, row)| {
            let line = first_line + i;
            let row = row.map_err(|e| format!("line {line}: {}", csv_error(&e)))?;
            row.validate().map_err(|e| format!("line {line}: {e}"))?;
            Ok(row)
        })
        .collect()
}

/// A csv error's message without its own position (the caller gives the line).
fn csv_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("field {}: {}", field + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, expected {expected_len}"),
        _ => error.to_string(),
    }
}

/// A whole file's text: the header line, then the lines.
pub fn file_text(header: &str, lines: &str) -> String {
    format!("{header}\n{lines}")
}

/// serde adapter for an `f64` field: shortest round-trip text; reading accepts any
/// number Rust parses (finiteness is checked by [`Row::validate`]).
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::io::format::number;

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&number(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a number")))
    }
}

/// serde adapter for an `Option<f64>` field: an empty field is `None`.
pub mod optional_float {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::io::format::optional_number;

    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&optional_number(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a number")))
    }
}

/// Whether `value` is a finite number, for [`Row::validate`]: else a message naming
/// `column`.
pub fn finite(column: &str, value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("{column} '{value}' is not a finite number"))
    }
}

/// Whether `value` is a finite number ≥ 0, for [`Row::validate`].
pub fn non_negative(column: &str, value: f64) -> Result<(), String> {
    finite(column, value)?;
    if value < 0.0 {
        Err(format!("{column} {value} is negative"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Example {
        name: String,
        count: usize,
        #[serde(with = "float")]
        value: f64,
        #[serde(with = "optional_float")]
        maybe: Option<f64>,
    }

    impl Row for Example {
        fn validate(&self) -> Result<(), String> {
            non_negative("value", self.value)
        }
    }

    #[test]
    fn rows_round_trip_with_the_old_float_text() {
        let rows = vec![
            Example {
                name: "a".into(),
                count: 3,
                value: 3.0,
                maybe: None,
            },
            Example {
                name: "b".into(),
                count: 0,
                value: 5.682215792024162e-17,
                maybe: Some(1e300),
            },
        ];
        assert_eq!(header(&rows[0]), "name,count,value,maybe");
        let text = lines(&rows);
        assert_eq!(text, "a,3,3.0,\nb,0,5.682215792024162e-17,1e300\n");
        assert_eq!(parse::<Example>(&text, 2).unwrap(), rows);
        assert_eq!(lines(&parse::<Example>(&text, 2).unwrap()), text);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let error = parse::<Example>("a,3,3.0,\nb,x,1.0,\n", 2).unwrap_err();
        assert!(error.starts_with("line 3: field 2"), "{error}");
        let error = parse::<Example>("a,3,-1.0,\n", 7).unwrap_err();
        assert_eq!(error, "line 7: value -1 is negative");
        let error = parse::<Example>("a,3\n", 2).unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
        let error = parse::<Example>("a,3,NaN,\n", 2).unwrap_err();
        assert!(error.contains("not a finite number"), "{error}");
    }
}
