//! Preset files: a JSON object whose keys are a command's option names with underscores
//! and a free-text `description`. Each command reads its presets into its own serde type
//! with `deny_unknown_fields`, so an unknown key, a repeated key or a value of the wrong
//! type (`"out_dir": true`) is an error naming the file; the values are then checked like
//! the flags, with errors naming the file and key. The values follow the flags' rules: a
//! value the command line would refuse is refused with the reason it gives there
//! (`number too large to fit in target type`), and `null` is no value (the key is left out
//! for the default). Counts are whole numbers (in JSON `10`, `10.0` and `1e1` are all the
//! number 10); a list is a JSON list or one comma-separated string.

use std::fmt::Display;
use std::path::Path;
use std::str::FromStr;

use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::config::check_range;
use crate::config::shard::Shard;
use crate::error::{Error, Result};
use crate::io::output::{read_bounded, MAX_PRESET_BYTES};

/// Read a preset file into `P`: bounded in size, a JSON object of known keys, each once.
/// `resume` gets its own message: resuming belongs to one invocation, not to a study.
pub fn read<P: DeserializeOwned>(path: &Path) -> Result<P> {
    let shown = path.display();
    let bytes =
        read_bounded(path, MAX_PRESET_BYTES).map_err(|e| Error::input(format!("--preset: {e}")))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::input(format!("--preset '{shown}': invalid JSON: {e}")))?;
    let Value::Object(keys) = &value else {
        return Err(Error::input(format!(
            "--preset '{shown}': must be a JSON object of option names and values"
        )));
    };
    if keys.contains_key("resume") {
        return Err(Error::input(format!(
            "--preset '{shown}': 'resume' is not a preset key (it belongs to one invocation, \
             not to a study): pass --resume on the command line instead"
        )));
    }
    if let Some((key, _)) = keys.iter().find(|(_, value)| value.is_null()) {
        return Err(Error::input(format!(
            "--preset '{shown}', key '{key}': null is not a value (leave the key out for the \
             default)"
        )));
    }
    if let Some((key, _)) = keys
        .iter()
        .find(|(key, value)| *key == "out_dir" && value.as_str() == Some(""))
    {
        return Err(Error::input(format!(
            "--preset '{shown}', key '{key}': a value is required (an empty path names no \
             directory)"
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        if key == "." || key.is_empty() {
            Error::input(format!("--preset '{shown}': {inner}"))
        } else {
            Error::input(format!("--preset '{shown}', key '{key}': {inner}"))
        }
    })
}

/// Where a value came from, for messages: `--widths` or `preset 'p.json', key 'widths'`.
#[derive(Clone, Debug)]
pub struct Origin(pub String);

impl Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Origin {
    /// A flag.
    pub fn flag(name: &str) -> Origin {
        Origin(format!("--{name}"))
    }

    /// A key of a preset file.
    pub fn preset(path: &Path, key: &str) -> Origin {
        Origin(format!("preset '{}', key '{key}'", path.display()))
    }
}

/// A whole number in a preset: an integer, or a float with no fractional part (in JSON,
/// `10.0` and `1e1` are the number 10), at most `u64::MAX`. Anything else is refused with
/// the reason the command line gives for the same number
/// (`invalid value '-1': invalid digit found in string`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole(pub u64);

/// The whole number a JSON number is, or the command line's reason to refuse its text.
fn whole_number(number: &serde_json::Number) -> std::result::Result<u64, String> {
    let text = number_text(number);
    text.parse::<u64>()
        .map_err(|e| format!("invalid value '{text}': {e}"))
}

/// A JSON number as a user would type it on the command line: its digits when it is a
/// whole number (`1e1` is `10`), else its decimal form.
fn number_text(number: &serde_json::Number) -> String {
    if number.is_u64() || number.is_i64() {
        return number.to_string();
    }
    match number.as_f64() {
        Some(v) if v.is_finite() && v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => v.to_string(),
        None => number.to_string(),
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Whole, D::Error> {
        struct WholeVisitor;
        impl Visitor<'_> for WholeVisitor {
            type Value = Whole;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Whole, E> {
                Ok(Whole(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Whole, E> {
                whole_number(&v.into()).map(Whole).map_err(E::custom)
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Whole, E> {
                match serde_json::Number::from_f64(v) {
                    Some(number) => whole_number(&number).map(Whole).map_err(E::custom),
                    None => Err(E::custom(format!("invalid value '{v}'"))),
                }
            }
        }
        deserializer.deserialize_any(WholeVisitor)
    }
}

/// The items of a list value: a JSON list of numbers or strings, or one string of
/// comma-separated items; each item parsed as `T`. An error names `origin`.
pub fn list<T>(origin: &Origin, value: &Value) -> Result<Vec<T>>
where
    T: FromStr,
    T::Err: Display,
{
    let items: Vec<String> = match value {
        Value::String(text) => text
            .split(',')
            .map(|item| item.trim().to_string())
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number_text(number)),
                other => Err(Error::input(format!(
                    "{origin}: expected numbers or names in the list, got {other}"
                ))),
            })
            .collect::<Result<_>>()?,
        Value::Number(number) => vec![number_text(number)],
        other => {
            return Err(Error::input(format!(
                "{origin}: expected a list or a comma-separated string, got {other}"
            )))
        }
    };
    items
        .iter()
        .map(|item| {
            if item.is_empty() {
                return Err(Error::input(format!(
                    "{origin}: the list has an empty item"
                )));
            }
            item.parse::<T>()
                .map_err(|e| Error::input(format!("{origin}: invalid value '{item}': {e}")))
        })
        .collect()
}

/// The value of one option: the flag if given, else the preset's, else the default; with
/// where it came from.
pub fn choose<T>(
    flag: Option<T>,
    flag_name: &str,
    preset: Option<(T, Origin)>,
    default: impl FnOnce() -> T,
) -> (T, Origin) {
    match (flag, preset) {
        (Some(value), _) => (value, Origin::flag(flag_name)),
        (None, Some(preset)) => preset,
        (None, None) => (default(), Origin::flag(flag_name)),
    }
}

/// A list option's value: the flag's, else the preset's (parsed), else the default.
pub fn list_option<T>(
    flag: Option<Vec<T>>,
    name: &str,
    preset: Option<&Value>,
    path: Option<&Path>,
    key: &str,
    default: Vec<T>,
) -> Result<(Vec<T>, Origin)>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let preset = match (preset, path) {
        (Some(value), Some(path)) => {
            let origin = Origin::preset(path, key);
            Some((list(&origin, value)?, origin))
        }
        _ => None,
    };
    Ok(choose(flag, name, preset, || default))
}

/// A count option's value: the flag's, else the preset's, else the default.
pub fn count_option(
    flag: Option<usize>,
    name: &str,
    preset: Option<Whole>,
    path: Option<&Path>,
    key: &str,
    default: usize,
) -> (usize, Origin) {
    let preset = preset.zip(path).map(|(Whole(value), path)| {
        (
            usize::try_from(value).unwrap_or(usize::MAX),
            Origin::preset(path, key),
        )
    });
    choose(flag, name, preset, || default)
}

/// The items of a list of numbers (step sizes, constants), not necessarily whole: a JSON
/// list of numbers or numeric strings, one number, or one string of comma-separated
/// numbers. An error names `origin`; the values are checked by the caller.
pub fn numbers(origin: &Origin, value: &Value) -> Result<Vec<f64>> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut values = Vec::new();
    for item in items {
        match item {
            Value::Number(number) => values.push(
                number
                    .as_f64()
                    .ok_or_else(|| Error::input(format!("{origin}: {number} is not a number")))?,
            ),
            Value::String(text) => {
                for piece in text.split(',').map(str::trim) {
                    if piece.is_empty() {
                        return Err(Error::input(format!(
                            "{origin}: the list has an empty item"
                        )));
                    }
                    values.push(piece.parse::<f64>().map_err(|e| {
                        Error::input(format!("{origin}: invalid value '{piece}': {e}"))
                    })?);
                }
            }
            other => {
                return Err(Error::input(format!(
                    "{origin}: expected numbers in the list, got {other}"
                )))
            }
        }
    }
    Ok(values)
}

/// A list of numbers' value ([`numbers`]): the flag's, else the preset's, else the
/// default.
pub fn numbers_option(
    flag: Option<Vec<f64>>,
    name: &str,
    preset: Option<&Value>,
    path: Option<&Path>,
    key: &str,
    default: Vec<f64>,
) -> Result<(Vec<f64>, Origin)> {
    let preset = match (preset, path) {
        (Some(value), Some(path)) => {
            let origin = Origin::preset(path, key);
            Some((numbers(&origin, value)?, origin))
        }
        _ => None,
    };
    Ok(choose(flag, name, preset, || default))
}

/// The `--shard` option: the flag's, else the preset's, else `1/1`; checked to leave no
/// shard of a grid of `cells` cells empty.
pub fn shard_option(
    flag: Option<String>,
    preset: Option<String>,
    path: Option<&Path>,
    cells: usize,
) -> Result<Shard> {
    let (shard, origin) = match (flag, preset, path) {
        (Some(text), _, _) => (text, Origin::flag("shard")),
        (None, Some(text), Some(path)) => (text, Origin::preset(path, "shard")),
        _ => ("1/1".to_string(), Origin::flag("shard")),
    };
    let shard: Shard = shard
        .trim()
        .parse()
        .map_err(|e| Error::input(format!("{origin}: {e}")))?;
    if shard.count > cells {
        return Err(Error::input(format!(
            "{origin}: {} shards for a grid of only {cells} cells (some shards would be empty)",
            shard.count
        )));
    }
    Ok(shard)
}

/// A grid axis of sizes (widths, depths) under `key` (the flag's name with dashes): the
/// flag's list, else the preset's, else `default`; at least one value, none twice, each
/// `what` in `1..=max`.
pub fn size_axis(
    flag: Option<Vec<usize>>,
    key: &str,
    preset: Option<&Value>,
    path: Option<&Path>,
    default: Vec<usize>,
    (what, max): (&str, usize),
) -> Result<Vec<usize>> {
    let (values, origin) = list_option(flag, key, preset, path, key, default)?;
    distinct(&origin, values)?
        .into_iter()
        .map(|value| check_range(&origin, what, value, max))
        .collect()
}

/// Check a list of grid values: at least one, none twice.
pub fn distinct<T: PartialEq + Display>(origin: &Origin, items: Vec<T>) -> Result<Vec<T>> {
    if items.is_empty() {
        return Err(Error::input(format!("{origin}: give at least one value")));
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(Error::input(format!("{origin}: {item} is listed twice")));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_json_lists_or_comma_separated_strings_of_whole_numbers() {
        let origin = Origin::flag("widths");
        assert_eq!(
            list::<usize>(&origin, &json!([16, 32.0])).unwrap(),
            vec![16, 32]
        );
        assert_eq!(
            list::<usize>(&origin, &json!("16, 32")).unwrap(),
            vec![16, 32]
        );
        assert_eq!(list::<usize>(&origin, &json!(8)).unwrap(), vec![8]);
        let error = list::<usize>(&origin, &json!([8, 2.5])).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("invalid value '2.5': invalid digit found in string"),
            "{error}"
        );
        let error = list::<usize>(&origin, &json!([1e30])).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("number too large to fit in target type"),
            "{error}"
        );
        let error = list::<usize>(&origin, &json!({"a": 1})).unwrap_err();
        assert!(error.to_string().contains("expected a list"), "{error}");
        let error = list::<usize>(&origin, &json!("16,,32")).unwrap_err();
        assert!(error.to_string().contains("empty item"), "{error}");
        let error = distinct(&origin, vec![16, 16]).unwrap_err();
        assert!(error.to_string().contains("16 is listed twice"), "{error}");
    }

    #[test]
    fn number_lists_take_fractions_and_name_bad_items() {
        let origin = Origin::flag("lrs");
        assert_eq!(
            numbers(&origin, &json!([1e-3, "0.5", 1])).unwrap(),
            vec![1e-3, 0.5, 1.0]
        );
        assert_eq!(
            numbers(&origin, &json!("3e-6, 1")).unwrap(),
            vec![3e-6, 1.0]
        );
        assert_eq!(numbers(&origin, &json!(0.25)).unwrap(), vec![0.25]);
        let error = numbers(&origin, &json!(["x"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--lrs: invalid value 'x': invalid float literal"
        );
        let error = numbers(&origin, &json!("1,,2")).unwrap_err();
        assert!(error.to_string().contains("empty item"), "{error}");
        let error = numbers(&origin, &json!([true])).unwrap_err();
        assert!(error.to_string().contains("expected numbers"), "{error}");
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let parse = |text: &str| serde_json::from_str::<Whole>(text);
        assert_eq!(parse("10").unwrap(), Whole(10));
        assert_eq!(parse("1e1").unwrap(), Whole(10));
        assert_eq!(parse("10.0").unwrap(), Whole(10));
        assert_eq!(
            parse("18446744073709551615").unwrap(),
            Whole(18446744073709551615)
        );
        for (text, reason) in [
            (
                "10.5",
                "invalid value '10.5': invalid digit found in string",
            ),
            ("-1", "invalid value '-1': invalid digit found in string"),
            (
                "18446744073709551616",
                "invalid value '18446744073709551616': number too large to fit in target type",
            ),
            ("1e300", "number too large to fit in target type"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
        assert!(parse("\"10\"").is_err());
    }
}
