//! The checked configuration of `hesscale-cli quality` (SPEC §3): the grid of cells, the
//! methods, and how to run them (threads, out-dir, resume, shard).
//!
//! Every option comes from, in order of precedence: an explicit flag, the `--preset` JSON
//! file, the default. Each value is checked here, and an error names where the value came
//! from (`--widths: …` or `preset 'p.json', key 'widths': …`), so nothing bad reaches the
//! runner.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{json, Map, Value};

use crate::cli::QualityArgs;
use crate::config::memory::check_memory;
use crate::config::{check_range, MAX_WIDTH};
use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::init::Architecture;
use crate::nn::work::model_bytes;
use crate::nn::{Activation, Loss, Reduction};

/// The most hidden layers a grid may ask for.
pub const MAX_DEPTH: usize = 64;
/// The largest batch of a quality cell.
pub const MAX_BATCH: usize = 10_000;
/// The most samples per seed.
pub const MAX_SAMPLES: usize = 10_000_000;
/// The most seeds per grid point.
pub const MAX_SEEDS: usize = 1_000_000;
/// The most worker threads.
pub const MAX_THREADS: usize = 1024;

/// The keys a preset file may set: every option except `--preset` and `--resume` (which
/// belong to one invocation, not to a study), spelled with underscores, plus a free-text
/// `description`.
pub const PRESET_KEYS: [&str; 16] = [
    "description",
    "widths",
    "depth",
    "inputs",
    "outputs",
    "activations",
    "losses",
    "reduction",
    "batch_size",
    "samples",
    "seeds",
    "seed",
    "methods",
    "threads",
    "out_dir",
    "shard",
];

/// What is computed: the grid of cells and the methods. Two runs with equal grids write
/// the same `quality_runs.csv` and `quality_summary.csv` byte for byte.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityGrid {
    pub activations: Vec<Activation>,
    pub losses: Vec<Loss>,
    pub reductions: Vec<Reduction>,
    /// Numbers of hidden layers.
    pub depths: Vec<usize>,
    /// Hidden widths.
    pub widths: Vec<usize>,
    pub inputs: usize,
    pub outputs: usize,
    pub batch_size: usize,
    /// Batches drawn per seed.
    pub samples: usize,
    /// Seeds (random networks) per grid point; the seed column runs 0..seeds.
    pub seeds: usize,
    /// The base seed of every random stream.
    pub seed: u64,
    /// The approximations compared with the exact diagonal, in output order.
    pub methods: Vec<Method>,
}

/// One of N disjoint slices of the cells (`--shard I/N`, 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// I, from 1 to `count`.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether the cell at `position` of the canonical order belongs to this shard
    /// (round-robin: position mod N = I − 1).
    pub fn contains(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    /// The shard as recorded in `quality.meta.json`.
    pub fn to_json(self) -> Value {
        json!({"index": self.index, "count": self.count})
    }
}

impl Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A checked `quality` request.
#[derive(Clone, Debug, PartialEq)]
pub struct QualitySpec {
    pub grid: QualityGrid,
    pub threads: usize,
    pub out_dir: PathBuf,
    pub resume: bool,
    pub shard: Shard,
    /// The preset file the options were read from, if any (recorded in the metadata).
    pub preset: Option<PathBuf>,
}

impl QualityGrid {
    /// The number of cells: activations × losses × reductions × depths × widths × seeds.
    pub fn n_cells(&self) -> usize {
        self.activations.len()
            * self.losses.len()
            * self.reductions.len()
            * self.depths.len()
            * self.widths.len()
            * self.seeds
    }

    /// The samples each cell draws, and each method is timed over: `samples` batches of
    /// `batch_size`.
    pub fn samples_per_cell(&self) -> usize {
        self.samples * self.batch_size
    }

    /// The MLP of a grid point: `inputs → width × depth → outputs`.
    pub fn architecture(&self, activation: Activation, depth: usize, width: usize) -> Architecture {
        Architecture {
            inputs: self.inputs,
            hidden: vec![width; depth],
            outputs: self.outputs,
            activation,
        }
    }

    /// The methods each cell times, in output order: `exact` (the reference, always
    /// computed) first unless `--methods` lists it, then the approximations.
    pub fn timed_methods(&self) -> Vec<Method> {
        let mut methods = self.methods.clone();
        if !methods.contains(&Method::exact()) {
            methods.insert(0, Method::exact());
        }
        methods
    }

    /// The subjects each cell times, in the order of its timing rows: the plain gradient,
    /// the shared linearization, then [`QualityGrid::timed_methods`].
    pub fn timed_subjects(&self) -> Vec<String> {
        ["gradient".to_string(), "linearization".to_string()]
            .into_iter()
            .chain(self.timed_methods().iter().map(Method::to_string))
            .collect()
    }

    /// The grid as recorded under `config` in `quality.meta.json`; `--resume` and `merge`
    /// compare it key by key.
    pub fn to_json(&self) -> Value {
        let names = |items: Vec<String>| Value::from(items);
        json!({
            "activations": names(self.activations.iter().map(|a| a.to_string()).collect()),
            "losses": names(self.losses.iter().map(|l| l.to_string()).collect()),
            "reductions": names(self.reductions.iter().map(|r| r.to_string()).collect()),
            "depths": self.depths,
            "widths": self.widths,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "batch_size": self.batch_size,
            "samples": self.samples,
            "seeds": self.seeds,
            "seed": self.seed,
            "methods": names(self.methods.iter().map(|m| m.to_string()).collect()),
        })
    }

    /// The grid recorded by [`QualityGrid::to_json`], read back (for `--resume` and
    /// `merge`). The error says which key is missing or wrong.
    pub fn from_json(config: &Value) -> std::result::Result<QualityGrid, String> {
        let field = |key: &str| config.get(key).ok_or(format!("no '{key}'"));
        let whole = |key: &str| -> std::result::Result<u64, String> {
            field(key)?
                .as_u64()
                .ok_or(format!("'{key}' is not a whole number"))
        };
        let count = |key: &str| whole(key).map(|v| v as usize);
        let names = |key: &str| -> std::result::Result<Vec<String>, String> {
            field(key)?
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .ok_or(format!("'{key}' is not a list of names"))
        };
        fn each<T: FromStr>(key: &str, items: Vec<String>) -> std::result::Result<Vec<T>, String>
        where
            T::Err: Display,
        {
            items
                .iter()
                .map(|item| item.parse::<T>().map_err(|e| format!("'{key}': {e}")))
                .collect()
        }
        let counts = |key: &str| -> std::result::Result<Vec<usize>, String> {
            field(key)?
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|v| v.as_u64().map(|v| v as usize))
                        .collect()
                })
                .ok_or(format!("'{key}' is not a list of whole numbers"))
        };
        Ok(QualityGrid {
            activations: each("activations", names("activations")?)?,
            losses: each("losses", names("losses")?)?,
            reductions: each("reductions", names("reductions")?)?,
            depths: counts("depths")?,
            widths: counts("widths")?,
            inputs: count("inputs")?,
            outputs: count("outputs")?,
            batch_size: count("batch_size")?,
            samples: count("samples")?,
            seeds: count("seeds")?,
            seed: whole("seed")?,
            methods: each("methods", names("methods")?)?,
        })
    }

    /// The memory one worker needs for the largest cell of this grid, in bytes, and that
    /// cell's (width, depth): the model and its batch plus the largest method's arrays
    /// (the exact diagonal always runs), by [`Method::memory`].
    pub fn bytes_per_worker(&self) -> (f64, usize, usize) {
        let mut largest = (0.0, 0, 0);
        for &depth in &self.depths {
            for &width in &self.widths {
                let mut widths = vec![self.inputs];
                widths.extend(std::iter::repeat_n(width, depth));
                widths.push(self.outputs);
                let methods = self.methods.iter().copied().chain([Method::exact()]);
                let bytes = model_bytes(&widths, self.batch_size)
                    + methods
                        .map(|m| m.memory(&widths, self.batch_size))
                        .fold(0.0, f64::max);
                if bytes > largest.0 {
                    largest = (bytes, width, depth);
                }
            }
        }
        largest
    }
}

/// Where a value came from, for error messages: `--widths` or
/// `preset 'p.json', key 'widths'`.
#[derive(Clone, Debug)]
struct Origin(String);

impl Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A preset file: its path and each key's value as option text (`[16, 32]` → `16,32`).
#[derive(Clone, Debug, Default)]
struct Preset {
    path: PathBuf,
    values: Map<String, Value>,
}

impl Preset {
    /// Read and check a preset: a JSON object whose keys are all in [`PRESET_KEYS`].
    fn read(path: &Path) -> Result<Preset> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("--preset: cannot read '{shown}': {e}")))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(format!("--preset '{shown}': invalid JSON: {e}")))?;
        let Value::Object(values) = value else {
            return Err(Error::input(format!(
                "--preset '{shown}': must be a JSON object of option names and values"
            )));
        };
        if values.contains_key("resume") {
            return Err(Error::input(format!(
                "--preset '{shown}': 'resume' is not a preset key (it belongs to one \
                 invocation, not to a study): pass --resume on the command line instead"
            )));
        }
        if let Some(key) = values.keys().find(|k| !PRESET_KEYS.contains(&k.as_str())) {
            return Err(Error::input(format!(
                "--preset '{shown}': unknown key '{key}' (known keys: {})",
                PRESET_KEYS.join(", ")
            )));
        }
        Ok(Preset {
            path: path.to_path_buf(),
            values,
        })
    }

    fn origin(&self, key: &str) -> Origin {
        Origin(format!("preset '{}', key '{key}'", self.path.display()))
    }

    /// The value of `key` as the text a flag would carry: strings as they are, numbers
    /// written as whole numbers (`10`, `10.0` and `1e1` all give `10`; every numeric option
    /// counts something), booleans printed, lists joined with commas.
    fn text(&self, key: &str) -> Result<Option<String>> {
        let Some(value) = self.values.get(key) else {
            return Ok(None);
        };
        let wrong = |why: String| Error::input(format!("{}: {why}", self.origin(key)));
        let scalar = |item: &Value| match item {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => whole_number(number)
                .ok_or_else(|| wrong(format!("expected a whole number, got {number}"))),
            Value::Bool(flag) => Ok(flag.to_string()),
            _ => Err(wrong(format!(
                "expected a string, a number, a boolean or a list of them, got {value}"
            ))),
        };
        let text = match value {
            Value::Array(items) => items
                .iter()
                .map(scalar)
                .collect::<Result<Vec<_>>>()?
                .join(","),
            other => scalar(other)?,
        };
        Ok(Some(text))
    }
}

/// A JSON number as the digits of a whole number, if it is one: integers as they are,
/// floats only when they have no fractional part (`10.0`, `1e1`).
fn whole_number(number: &serde_json::Number) -> Option<String> {
    if let Some(whole) = number.as_u64() {
        return Some(whole.to_string());
    }
    if let Some(whole) = number.as_i64() {
        return Some(whole.to_string());
    }
    number
        .as_f64()
        .filter(|v| v.is_finite() && v.fract() == 0.0)
        .map(|v| format!("{v:.0}"))
}

/// The value of one option: the flag if given, else the preset's, else `default`; with
/// where it came from.
fn choose<T>(
    flag: Option<T>,
    flag_name: &str,
    preset: &Preset,
    key: &str,
    default: impl FnOnce() -> T,
) -> Result<(T, Origin)>
where
    T: FromStr,
    T::Err: Display,
{
    let flag_origin = Origin(format!("--{flag_name}"));
    if let Some(value) = flag {
        return Ok((value, flag_origin));
    }
    match preset.text(key)? {
        Some(text) => {
            let origin = preset.origin(key);
            let value = text
                .trim()
                .parse::<T>()
                .map_err(|e| Error::input(format!("{origin}: '{text}': {e}")))?;
            Ok((value, origin))
        }
        None => Ok((default(), flag_origin)),
    }
}

/// A comma-separated list with at least one item and no repeats, each item parsed.
fn parse_grid_list<T>(origin: &Origin, text: &str) -> Result<Vec<T>>
where
    T: FromStr + PartialEq + Display,
    T::Err: Display,
{
    let mut items: Vec<T> = Vec::new();
    for item in text.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(Error::input(format!(
                "{origin}: '{text}' has an empty item (give a comma-separated list)"
            )));
        }
        let value = item
            .parse::<T>()
            .map_err(|e| Error::input(format!("{origin}: '{item}': {e}")))?;
        if items.contains(&value) {
            return Err(Error::input(format!("{origin}: {value} is listed twice")));
        }
        items.push(value);
    }
    Ok(items)
}

/// Parse `I/N` (1 ≤ I ≤ N).
pub fn parse_shard(text: &str) -> std::result::Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not of the form I/N (e.g. 2/8)"))?;
    let number = |part: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}' is not of the form I/N with whole numbers (e.g. 2/8)"))
    };
    let (index, count) = (number(index)?, number(count)?);
    if count == 0 {
        return Err(format!(
            "'{text}': the number of shards N must be at least 1"
        ));
    }
    if index == 0 || index > count {
        return Err(format!(
            "'{text}': the shard index I must be between 1 and N = {count} (shards are 1-based)"
        ));
    }
    Ok(Shard { index, count })
}

/// Format bytes as GiB with two decimals.
fn gibibytes(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
}

impl TryFrom<QualityArgs> for QualitySpec {
    type Error = Error;

    fn try_from(args: QualityArgs) -> Result<Self> {
        let preset = match &args.preset {
            Some(path) => Preset::read(path)?,
            None => Preset::default(),
        };
        let list_text = |flag: Option<String>, name: &str, key: &str, default: &str| {
            choose(flag, name, &preset, key, || default.to_string())
        };

        let (text, origin) = list_text(args.widths, "widths", "widths", "16")?;
        let widths = parse_grid_list::<usize>(&origin, &text)?
            .into_iter()
            .map(|w| check_range(&origin, "a width", w, MAX_WIDTH))
            .collect::<Result<Vec<_>>>()?;
        let (text, origin) = list_text(args.depth, "depth", "depth", "3")?;
        let depths = parse_grid_list::<usize>(&origin, &text)?
            .into_iter()
            .map(|d| check_range(&origin, "a depth", d, MAX_DEPTH))
            .collect::<Result<Vec<_>>>()?;
        let (text, origin) = list_text(args.activations, "activations", "activations", "tanh")?;
        let activations = parse_grid_list::<Activation>(&origin, &text)?;
        let (text, origin) = list_text(args.losses, "losses", "losses", "cross_entropy")?;
        let losses = parse_grid_list::<Loss>(&origin, &text)?;
        let (text, origin) = list_text(args.reduction, "reduction", "reduction", "mean")?;
        let reductions = parse_grid_list::<Reduction>(&origin, &text)?;
        let (text, origin) = list_text(args.methods, "methods", "methods", "all")?;
        let methods =
            Method::parse_list(&text).map_err(|e| Error::input(format!("{origin}: {e}")))?;

        let (inputs, origin) = choose(args.inputs, "inputs", &preset, "inputs", || 6)?;
        let inputs = check_range(&origin, "a width", inputs, MAX_WIDTH)?;
        let (outputs, origin) = choose(args.outputs, "outputs", &preset, "outputs", || 10)?;
        let outputs = check_range(&origin, "a width", outputs, MAX_WIDTH)?;
        let (batch, origin) = choose(args.batch_size, "batch-size", &preset, "batch_size", || 1)?;
        let batch_size = check_range(&origin, "a batch size", batch, MAX_BATCH)?;
        let (samples, origin) = choose(args.samples, "samples", &preset, "samples", || 1000)?;
        let samples = check_range(&origin, "a sample count", samples, MAX_SAMPLES)?;
        let (seeds, origin) = choose(args.seeds, "seeds", &preset, "seeds", || 40)?;
        let seeds = check_range(&origin, "a seed count", seeds, MAX_SEEDS)?;
        let (seed, _) = choose(args.seed, "seed", &preset, "seed", || 0u64)?;
        let default_threads = || std::thread::available_parallelism().map_or(1, |n| n.get());
        let (threads, origin) =
            choose(args.threads, "threads", &preset, "threads", default_threads)?;
        let threads = check_range(&origin, "a thread count", threads, MAX_THREADS)?;
        let (out_dir, _) = choose(args.out_dir, "out-dir", &preset, "out_dir", || {
            PathBuf::from("results")
        })?;

        let grid = QualityGrid {
            activations,
            losses,
            reductions,
            depths,
            widths,
            inputs,
            outputs,
            batch_size,
            samples,
            seeds,
            seed,
            methods,
        };
        let (shard_text, origin) = list_text(args.shard, "shard", "shard", "1/1")?;
        let shard =
            parse_shard(shard_text.trim()).map_err(|e| Error::input(format!("{origin}: {e}")))?;
        if shard.count > grid.n_cells() {
            return Err(Error::input(format!(
                "{origin}: {} shards for a grid of only {} cells (some shards would be empty)",
                shard.count,
                grid.n_cells()
            )));
        }
        let spec = QualitySpec {
            grid,
            threads,
            out_dir,
            resume: args.resume,
            shard,
            preset: args.preset,
        };
        check_grid_memory(&spec)?;
        Ok(spec)
    }
}

/// Refuse a grid whose workers would need more than [`crate::config::memory::MAX_MEMORY`] together.
fn check_grid_memory(spec: &QualitySpec) -> Result<()> {
    let (per_worker, width, depth) = spec.grid.bytes_per_worker();
    check_memory(
        per_worker * spec.threads as f64,
        &format!(
            "the grid ({} per worker at width {width}, depth {depth}, batch {}, times {} threads; \
             use smaller --widths, --depth or --batch-size, or fewer --threads)",
            gibibytes(per_worker),
            spec.grid.batch_size,
            spec.threads
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(args: QualityArgs) -> Result<QualitySpec> {
        QualitySpec::try_from(args)
    }

    #[test]
    fn defaults_are_the_papers_protocol() {
        let spec = spec(QualityArgs {
            threads: Some(2),
            ..QualityArgs::default()
        })
        .unwrap();
        let grid = &spec.grid;
        assert_eq!(grid.widths, vec![16]);
        assert_eq!(grid.depths, vec![3]);
        assert_eq!((grid.inputs, grid.outputs), (6, 10));
        assert_eq!(grid.activations, vec![Activation::Tanh]);
        assert_eq!(grid.losses, vec![Loss::CrossEntropy]);
        assert_eq!(grid.reductions, vec![Reduction::Mean]);
        assert_eq!(
            (grid.batch_size, grid.samples, grid.seeds, grid.seed),
            (1, 1000, 40, 0)
        );
        assert_eq!(grid.methods, Method::all());
        assert_eq!(spec.shard, Shard::WHOLE);
        assert_eq!(spec.out_dir, PathBuf::from("results"));
        assert!(!spec.resume);
        assert_eq!(grid.n_cells(), 40);
    }

    #[test]
    fn shards_parse_and_slice_round_robin() {
        assert_eq!(parse_shard("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "x/y", "3", "1/0", "-1/2", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let shard = Shard { index: 2, count: 3 };
        let positions: Vec<usize> = (0..8).filter(|&p| shard.contains(p)).collect();
        assert_eq!(positions, vec![1, 4, 7]);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cases = [
            (
                QualityArgs {
                    widths: Some("16,0".into()),
                    ..QualityArgs::default()
                },
                "--widths: a width of 0",
            ),
            (
                QualityArgs {
                    widths: Some("16,16".into()),
                    ..QualityArgs::default()
                },
                "--widths: 16 is listed twice",
            ),
            (
                QualityArgs {
                    depth: Some("0".into()),
                    ..QualityArgs::default()
                },
                "--depth: a depth of 0",
            ),
            (
                QualityArgs {
                    activations: Some("tanh,swish".into()),
                    ..QualityArgs::default()
                },
                "--activations: 'swish': unknown activation",
            ),
            (
                QualityArgs {
                    methods: Some("hesscale,magic".into()),
                    ..QualityArgs::default()
                },
                "--methods: unknown method 'magic'",
            ),
            (
                QualityArgs {
                    shard: Some("5/4".into()),
                    ..QualityArgs::default()
                },
                "--shard: '5/4'",
            ),
            (
                QualityArgs {
                    widths: Some("4096".into()),
                    batch_size: Some(64),
                    threads: Some(2),
                    ..QualityArgs::default()
                },
                "GiB of memory",
            ),
        ];
        for (args, expected) in cases {
            let message = spec(args).unwrap_err().to_string();
            assert!(message.contains(expected), "'{message}' lacks '{expected}'");
        }
    }

    #[test]
    fn flags_override_the_preset_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"widths": [8, 4], "seeds": 3, "activations": "relu,tanh", "description": "x"}"#,
        )
        .unwrap();
        let spec = spec(QualityArgs {
            preset: Some(path.clone()),
            seeds: Some(2),
            ..QualityArgs::default()
        })
        .unwrap();
        assert_eq!(spec.grid.widths, vec![8, 4]);
        assert_eq!(spec.grid.seeds, 2);
        assert_eq!(
            spec.grid.activations,
            vec![Activation::Relu, Activation::Tanh]
        );
        assert_eq!(spec.grid.samples, 1000);
        assert_eq!(spec.preset, Some(path));
    }

    #[test]
    fn preset_numbers_written_as_whole_floats_are_whole_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"seeds": 1e1, "samples": 20.0, "widths": [4.0, 8], "seed": 3e0}"#,
        )
        .unwrap();
        let spec = spec(QualityArgs {
            preset: Some(path),
            threads: Some(1),
            ..QualityArgs::default()
        })
        .unwrap();
        assert_eq!(spec.grid.seeds, 10);
        assert_eq!(spec.grid.samples, 20);
        assert_eq!(spec.grid.widths, vec![4, 8]);
        assert_eq!(spec.grid.seed, 3);
    }

    #[test]
    fn resume_is_only_a_flag() {
        assert!(!PRESET_KEYS.contains(&"resume"));
        let resumed = spec(QualityArgs {
            resume: true,
            threads: Some(1),
            ..QualityArgs::default()
        })
        .unwrap();
        assert!(resumed.resume);
    }

    #[test]
    fn preset_errors_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let cases = [
            (write("a.json", r#"{"widht": 16}"#), "unknown key 'widht'"),
            (write("b.json", r#"{"widths": "#), "invalid JSON"),
            (write("c.json", r#"[16]"#), "must be a JSON object"),
            (
                write("d.json", r#"{"seeds": 0}"#),
                "key 'seeds': a seed count of 0",
            ),
            (
                write("e.json", r#"{"seeds": "many"}"#),
                "key 'seeds': 'many'",
            ),
            (
                write("f.json", r#"{"widths": {"a": 1}}"#),
                "key 'widths': expected",
            ),
            (
                write("g.json", r#"{"seeds": 10.5}"#),
                "key 'seeds': expected a whole number, got 10.5",
            ),
            (
                write("h.json", r#"{"widths": [8, 2.5]}"#),
                "key 'widths': expected a whole number, got 2.5",
            ),
            (
                write("i.json", r#"{"resume": true}"#),
                "'resume' is not a preset key",
            ),
            (dir.path().join("missing.json"), "--preset: cannot read"),
        ];
        for (path, expected) in cases {
            let message = spec(QualityArgs {
                preset: Some(path),
                ..QualityArgs::default()
            })
            .unwrap_err()
            .to_string();
            assert!(message.contains(expected), "'{message}' lacks '{expected}'");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
}
