//! The checked configuration of `hesscale-cli quality` (SPEC §3): the grid of cells, the
//! methods, and how to run them (threads, out-dir, resume, shard).
//!
//! Every option comes from, in order of precedence: an explicit flag, the `--preset` JSON
//! file, the default. Each value is checked here, and an error names where the value came
//! from (`--widths: …` or `preset 'p.json', key 'widths': …`), so nothing bad reaches the
//! study.

use std::fmt::Display;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::{QualityArgs, RunArgs};
use crate::config::grid::{self, Axis};
use crate::config::memory::check_memory;
use crate::config::preset::{
    self, choose, count_option, distinct, list_option, size_axis, Origin, Whole,
};
use crate::config::run::{PresetRun, RunOptions};
use crate::config::{check_range, MAX_WIDTH};
use crate::data::{planned_bytes, DataSet, DataSource, CLASSES, IMAGE_PIXELS};
use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::init::{Architecture, Network};
use crate::nn::work::model_bytes;
use crate::nn::{Activation, Arch, Layer, LayerRules, Loss, Reduction};
use crate::train::{Optimizer, OptimizerConfig};

/// The most hidden layers a grid may ask for.
pub const MAX_DEPTH: usize = 64;
/// The largest batch of a quality cell.
pub const MAX_BATCH: usize = 10_000;
/// The most batches per seed.
pub const MAX_BATCHES: usize = 10_000_000;
/// The most seeds per grid point.
pub const MAX_SEEDS: usize = 1_000_000;
/// The most cells of a grid.
pub const MAX_CELLS: usize = 1_000_000;
/// The most training steps a network of a quality cell takes.
pub const MAX_TRAIN_STEPS: usize = 100_000_000;
/// The most images of a training minibatch.
pub const MAX_TRAIN_BATCH: usize = 100_000;

/// What is computed: the grid of cells and the methods. Two runs with equal grids write
/// the same `quality_runs.csv` and `quality_summary.csv` byte for byte. Recorded under
/// `config` in `quality.meta.json` with these field names (and read back with them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityGrid {
    pub activations: Vec<Activation>,
    pub losses: Vec<Loss>,
    pub reductions: Vec<Reduction>,
    /// Where the inputs and targets come from (SPEC §7): `random`, or a data set whose
    /// networks are trained on its training part and measured on its test part.
    pub data: Vec<DataSource>,
    /// Numbers of hidden layers.
    pub depths: Vec<usize>,
    /// Hidden widths.
    pub widths: Vec<usize>,
    pub inputs: usize,
    pub outputs: usize,
    pub batch_size: usize,
    /// Batches drawn per seed (the `--samples` option and the `samples` key, which count
    /// batches: samples at the default batch size of 1).
    #[serde(rename = "samples")]
    pub batches: usize,
    /// Seeds (random networks) per grid point; the seed column runs 0..seeds.
    pub seeds: usize,
    /// The base seed of every random stream.
    pub seed: u64,
    /// The approximations compared with the exact diagonal, in output order.
    pub methods: Vec<Method>,
    /// The training steps at which a data set's networks are measured, increasing; 0 is
    /// untrained (SPEC §8). `random` networks are measured untrained only.
    pub train_steps: Vec<usize>,
    /// The optimizer that trains a data set's networks, on mean-reduced minibatches.
    pub optimizer: Optimizer,
    /// Its step size.
    pub lr: f64,
    /// The images of a training minibatch.
    pub train_batch_size: usize,
    /// The one network of an `--arch` grid, input first (`crate::nn::arch`); its cells
    /// show depth = its layers with parameters − 1, width 0 and its first activation.
    /// `None` (not recorded) for the MLPs of the width and depth axes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

/// A checked `quality` request.
#[derive(Clone, Debug, PartialEq)]
pub struct QualitySpec {
    pub grid: QualityGrid,
    pub run: RunOptions,
}

/// The grid of `hesscale-cli quality` with no options: the defaults of the flags (SPEC §3,
/// the 2022 paper's protocol).
impl Default for QualityGrid {
    fn default() -> Self {
        let args = QualityArgs {
            run: RunArgs {
                threads: Some(1),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        };
        QualitySpec::try_from(args)
            .expect("the defaults are a valid grid")
            .grid
    }
}

impl QualityGrid {
    /// The grid's axes, in canonical order (the seed varying fastest).
    pub fn axes(&self) -> [Axis; 7] {
        [
            Axis::new(&["activations"], self.activations.len()),
            Axis::new(&["losses"], self.losses.len()),
            Axis::new(&["reductions"], self.reductions.len()),
            Axis::new(&["data"], self.data.len()),
            Axis::new(&["depths"], self.depths.len()),
            Axis::new(&["widths"], self.widths.len()),
            Axis::new(&["seeds"], self.seeds),
        ]
    }

    /// The number of cells (saturating: a checked grid has at most [`MAX_CELLS`]).
    pub fn n_cells(&self) -> usize {
        grid::count(&self.axes())
    }

    /// Check every value against the limits the command line has (`origin` names where
    /// the grid came from): the grid of a preset, of the flags or of a recorded run is
    /// refused before anything is allocated for it.
    pub fn check(&self, origin: &str) -> Result<()> {
        let field = |key: &str| format!("{origin}{key}");
        match &self.arch {
            Some(arch) => check_arch_grid(origin, arch, self)?,
            None => {
                for &width in &self.widths {
                    check_range(field("widths"), "a width", width, MAX_WIDTH)?;
                }
                for &depth in &self.depths {
                    check_range(field("depths"), "a depth", depth, MAX_DEPTH)?;
                }
            }
        }
        check_range(field("inputs"), "a width", self.inputs, MAX_WIDTH)?;
        check_range(field("outputs"), "a width", self.outputs, MAX_WIDTH)?;
        check_range(
            field("batch_size"),
            "a batch size",
            self.batch_size,
            MAX_BATCH,
        )?;
        check_range(
            field("samples"),
            "a sample count",
            self.batches,
            MAX_BATCHES,
        )?;
        check_range(field("seeds"), "a seed count", self.seeds, MAX_SEEDS)?;
        let cells = self.n_cells();
        if cells == 0 || cells > MAX_CELLS {
            return Err(Error::input(format!(
                "{origin}the grid has {cells} cells; it must have between 1 and {MAX_CELLS}"
            )));
        }
        if self.methods.is_empty() {
            return Err(Error::input(format!("{}: no method", field("methods"))));
        }
        self.check_training(origin)
    }

    /// Check the data and training values: a data set fixes the input and output widths;
    /// the steps increase; training needs a data set and a sound optimizer.
    fn check_training(&self, origin: &str) -> Result<()> {
        let field = |key: &str| format!("{origin}{key}");
        if let Some(set) = self.data.iter().find(|d| d.data_set().is_some()) {
            for (key, value, needed, what) in [
                ("inputs", self.inputs, IMAGE_PIXELS, "pixels per image"),
                ("outputs", self.outputs, CLASSES, "classes"),
            ] {
                if value != needed {
                    return Err(Error::input(format!(
                        "{}: {value}, but data {set} has {needed} {what}",
                        field(key)
                    )));
                }
            }
        }
        check_steps(field("train_steps"), &self.train_steps, &self.data)?;
        check_range(
            field("train_batch_size"),
            "a batch size",
            self.train_batch_size,
            MAX_TRAIN_BATCH,
        )?;
        check_lr(field("lr"), self.optimizer, self.lr)
    }

    /// The training steps a cell on `data` is measured at: the grid's for a data set,
    /// only the untrained network (step 0) for `random`.
    pub fn steps_of(&self, data: &DataSource) -> &[usize] {
        match data {
            DataSource::Random => &[0],
            DataSource::Set(_) => &self.train_steps,
        }
    }

    /// The trainer's settings, from which each cell's training run is made.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        OptimizerConfig::new(self.optimizer, self.lr)
    }

    /// The samples each method is timed over in a cell on `data`: `batches` batches of
    /// `batch_size` at each step the cell is measured at.
    pub fn samples_per_cell(&self, data: &DataSource) -> usize {
        self.batches * self.batch_size * self.steps_of(data).len()
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

    /// The network of a grid point: the grid's `--arch`, or the MLP of the point.
    pub fn network(&self, activation: Activation, depth: usize, width: usize) -> Network {
        match &self.arch {
            Some(arch) => Network::Arch(arch.clone()),
            None => Network::Mlp(self.architecture(activation, depth, width)),
        }
    }

    /// The methods each cell runs, in output order: `exact` (the reference, always
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

    /// The grid as recorded under `config` in `quality.meta.json`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a grid serialises")
    }

    /// A grid recorded by [`QualityGrid::to_json`], read back and checked against the
    /// same limits as the command line ([`QualityGrid::check`]); the error says what is
    /// wrong.
    pub fn from_json(config: &Value) -> Result<QualityGrid> {
        let grid: QualityGrid = serde_json::from_value(config.clone())
            .map_err(|e| Error::input(format!("config: {e}")))?;
        grid.check("config: ")?;
        Ok(grid)
    }

    /// The memory one worker needs for the largest cell of this grid, in bytes, and that
    /// cell's (width, depth): the model and its batch plus the largest method's arrays
    /// (the exact diagonal always runs), by [`Method::memory`].
    pub fn bytes_per_worker(&self) -> (f64, usize, usize) {
        let mut largest = (0.0, 0, 0);
        for &depth in &self.depths {
            for &width in &self.widths {
                let widths = self.network(self.activations[0], depth, width).widths();
                let methods = self.methods.iter().copied().chain([Method::exact()]);
                let measuring = model_bytes(&widths, self.batch_size)
                    + methods
                        .map(|m| m.memory(&widths, self.batch_size))
                        .fold(0.0, f64::max);
                let trains = self.data.iter().any(|d| d.data_set().is_some());
                let training = if trains {
                    model_bytes(&widths, self.train_batch_size)
                } else {
                    0.0
                };
                let bytes = measuring.max(training);
                if bytes > largest.0 {
                    largest = (bytes, width, depth);
                }
            }
        }
        largest
    }
}

/// The point an `--arch` grid must be: one depth (its layers with parameters − 1), width
/// 0, its first activation (identity if none); its input and output widths those of the
/// architecture, whose layers chain.
fn check_arch_grid(origin: &str, arch: &Arch, grid: &QualityGrid) -> Result<()> {
    let layers = arch
        .layers()
        .map_err(|e| Error::input(format!("{origin}{e}")))?;
    let expected = arch_point(arch, &layers);
    let found = (
        grid.activations.clone(),
        grid.depths.clone(),
        grid.widths.clone(),
        grid.inputs,
        grid.outputs,
    );
    if found != expected {
        return Err(Error::input(format!(
            "{origin}arch: the grid's activations, depths, widths, inputs and outputs must be those of '{arch}'"
        )));
    }
    Ok(())
}

/// The grid point of an architecture: (activations, depths, widths, inputs, outputs).
fn arch_point(
    arch: &Arch,
    layers: &[Layer],
) -> (Vec<Activation>, Vec<usize>, Vec<usize>, usize, usize) {
    let (activation, depth) = arch.grid_point();
    (
        vec![activation],
        vec![depth],
        vec![0],
        layers.first().map_or(0, LayerRules::inputs),
        layers.last().map_or(0, LayerRules::outputs),
    )
}

/// Check the training steps of a grid on `data`: at least one, increasing, each at most
/// [`MAX_TRAIN_STEPS`], and 0 only unless there is a data set to train on.
fn check_steps(origin: impl Display, steps: &[usize], data: &[DataSource]) -> Result<()> {
    if steps.is_empty() {
        return Err(Error::input(format!("{origin}: no step")));
    }
    if let Some(step) = steps.iter().find(|&&step| step > MAX_TRAIN_STEPS) {
        return Err(Error::input(format!(
            "{origin}: {step} steps is over the limit of {MAX_TRAIN_STEPS}"
        )));
    }
    if let Some(pair) = steps.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(Error::input(format!(
            "{origin}: the steps must increase, but {} comes after {}",
            pair[1], pair[0]
        )));
    }
    if steps.iter().any(|&step| step > 0) && data.iter().all(|d| d.data_set().is_none()) {
        return Err(Error::input(format!(
            "{origin}: training needs a data set to train on (--data mnist or mnist:DIR)"
        )));
    }
    Ok(())
}

/// Check the training optimizer's step size.
fn check_lr(origin: impl Display, optimizer: Optimizer, lr: f64) -> Result<()> {
    OptimizerConfig::new(optimizer, lr)
        .check()
        .map_err(|e| Error::input(format!("{origin}: {e}")))
}

/// A preset of `quality`: any option but `--preset` and `--resume`, plus a description.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QualityPreset {
    /// Free text for the reader of the file.
    #[serde(rename = "description")]
    _description: Option<String>,
    widths: Option<Value>,
    #[serde(alias = "depth")]
    depths: Option<Value>,
    inputs: Option<Whole>,
    outputs: Option<Whole>,
    activations: Option<Value>,
    losses: Option<Value>,
    #[serde(alias = "reduction")]
    reductions: Option<Value>,
    batch_size: Option<Whole>,
    samples: Option<Whole>,
    seeds: Option<Whole>,
    seed: Option<Whole>,
    methods: Option<Value>,
    data: Option<Value>,
    train_steps: Option<Value>,
    optimizer: Option<String>,
    lr: Option<f64>,
    train_batch_size: Option<Whole>,
    arch: Option<String>,
    threads: Option<Whole>,
    out_dir: Option<PathBuf>,
    shard: Option<String>,
}

impl TryFrom<QualityArgs> for QualitySpec {
    type Error = Error;

    fn try_from(args: QualityArgs) -> Result<Self> {
        let preset: QualityPreset = match &args.run.preset {
            Some(path) => preset::read(path)?,
            None => QualityPreset::default(),
        };
        let path = args.run.preset.as_deref();
        // What --arch replaces, given by a flag or the preset.
        let architecture_given = [
            ("widths", args.widths.is_some() || preset.widths.is_some()),
            ("depths", args.depths.is_some() || preset.depths.is_some()),
            (
                "activations",
                args.activations.is_some() || preset.activations.is_some(),
            ),
            ("inputs", args.inputs.is_some() || preset.inputs.is_some()),
            (
                "outputs",
                args.outputs.is_some() || preset.outputs.is_some(),
            ),
        ];

        let widths = size_axis(
            args.widths,
            "widths",
            preset.widths.as_ref(),
            path,
            vec![16],
            ("a width", MAX_WIDTH),
        )?;
        let depths = size_axis(
            args.depths,
            "depths",
            preset.depths.as_ref(),
            path,
            vec![3],
            ("a depth", MAX_DEPTH),
        )?;
        let (activations, origin) = list_option(
            args.activations,
            "activations",
            preset.activations.as_ref(),
            path,
            "activations",
            vec![Activation::Tanh],
        )?;
        let activations = distinct(&origin, activations)?;
        let (losses, origin) = list_option(
            args.losses,
            "losses",
            preset.losses.as_ref(),
            path,
            "losses",
            vec![Loss::CrossEntropy],
        )?;
        let losses = distinct(&origin, losses)?;
        let (reductions, origin) = list_option(
            args.reductions,
            "reductions",
            preset.reductions.as_ref(),
            path,
            "reductions",
            vec![Reduction::Mean],
        )?;
        let reductions = distinct(&origin, reductions)?;
        let (method_names, origin) = list_option(
            args.methods.map(|text| vec![text]),
            "methods",
            preset.methods.as_ref(),
            path,
            "methods",
            vec!["all".to_string()],
        )?;
        let methods = Method::parse_list(&method_names.join(","))
            .map_err(|e| Error::input(format!("{origin}: {e}")))?;

        let (names, origin) = list_option(
            args.data,
            "data",
            preset.data.as_ref(),
            path,
            "data",
            vec!["random".to_string()],
        )?;
        let data = names
            .iter()
            .map(|name| {
                name.parse::<DataSource>()
                    .map_err(|e| Error::input(format!("{origin}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let data = distinct(&origin, data)?;
        let data_set = data.iter().find_map(DataSource::data_set);
        let (train_steps, origin) = list_option(
            args.train_steps,
            "train-steps",
            preset.train_steps.as_ref(),
            path,
            "train_steps",
            vec![0],
        )?;
        check_steps(&origin, &train_steps, &data)?;
        let (optimizer, origin) = choose(
            args.optimizer,
            "optimizer",
            preset
                .optimizer
                .zip(path)
                .map(|(name, path)| (name, Origin::preset(path, "optimizer"))),
            || "adam".to_string(),
        );
        let optimizer: Optimizer = optimizer
            .parse()
            .map_err(|e| Error::input(format!("{origin}: {e}")))?;
        let (lr, origin) = choose(
            args.lr,
            "lr",
            preset
                .lr
                .zip(path)
                .map(|(lr, path)| (lr, Origin::preset(path, "lr"))),
            || 1e-3,
        );
        check_lr(&origin, optimizer, lr)?;
        let (train_batch_size, origin) = count_option(
            args.train_batch_size,
            "train-batch-size",
            preset.train_batch_size,
            path,
            "train_batch_size",
            32,
        );
        let train_batch_size =
            check_range(&origin, "a batch size", train_batch_size, MAX_TRAIN_BATCH)?;

        // A data set fixes the widths of the input and output layers.
        let (default_inputs, default_outputs) = match data_set {
            Some(_) => (IMAGE_PIXELS, CLASSES),
            None => (6, 10),
        };
        let (inputs, origin) = count_option(
            args.inputs,
            "inputs",
            preset.inputs,
            path,
            "inputs",
            default_inputs,
        );
        let inputs = check_range(&origin, "a width", inputs, MAX_WIDTH)?;
        if let Some(set) = data_set.filter(|_| inputs != IMAGE_PIXELS) {
            return Err(Error::input(format!(
                "{origin}: {inputs}, but data {set} has {IMAGE_PIXELS} pixels per image"
            )));
        }
        let (outputs, origin) = count_option(
            args.outputs,
            "outputs",
            preset.outputs,
            path,
            "outputs",
            default_outputs,
        );
        let outputs = check_range(&origin, "a width", outputs, MAX_WIDTH)?;
        if let Some(set) = data_set.filter(|_| outputs != CLASSES) {
            return Err(Error::input(format!(
                "{origin}: {outputs}, but data {set} has {CLASSES} classes"
            )));
        }
        let (batch, origin) = count_option(
            args.batch_size,
            "batch-size",
            preset.batch_size,
            path,
            "batch_size",
            1,
        );
        let batch_size = check_range(&origin, "a batch size", batch, MAX_BATCH)?;
        let (batches, origin) = count_option(
            args.samples,
            "samples",
            preset.samples,
            path,
            "samples",
            1000,
        );
        let batches = check_range(&origin, "a sample count", batches, MAX_BATCHES)?;
        let (seeds, origin) = count_option(args.seeds, "seeds", preset.seeds, path, "seeds", 40);
        let seeds = check_range(&origin, "a seed count", seeds, MAX_SEEDS)?;
        let seed = args
            .seed
            .or(preset.seed.map(|Whole(seed)| seed))
            .unwrap_or(0);
        let arch = match args.arch.map(|text| (text, Origin::flag("arch"))).or(preset
            .arch
            .clone()
            .zip(path)
            .map(|(text, path)| (text, Origin::preset(path, "arch"))))
        {
            Some((text, origin)) => {
                if let Some((name, _)) = architecture_given.iter().find(|(_, given)| *given) {
                    return Err(Error::input(format!(
                        "{origin}: --arch replaces --{name} (the architecture says it); give one or the other"
                    )));
                }
                let arch: Arch = text.parse().map_err(|e: Error| {
                    Error::input(format!(
                        "{origin}: {}",
                        e.to_string().trim_start_matches("--arch: ")
                    ))
                })?;
                let arch = match data_set {
                    Some(_) => arch.for_mnist(&origin.to_string())?,
                    None => arch,
                };
                let layers = arch.layers().map_err(|e| {
                    Error::input(format!(
                        "{origin}: {}",
                        e.to_string().trim_start_matches("--arch: ")
                    ))
                })?;
                Some((arch, layers))
            }
            None => None,
        };
        let (activations, depths, widths, inputs, outputs) = match &arch {
            Some((arch, layers)) => arch_point(arch, layers),
            None => (activations, depths, widths, inputs, outputs),
        };
        let grid = QualityGrid {
            arch: arch.map(|(arch, _)| arch),
            activations,
            losses,
            reductions,
            data,
            depths,
            widths,
            inputs,
            outputs,
            batch_size,
            batches,
            seeds,
            seed,
            methods,
            train_steps,
            optimizer,
            lr,
            train_batch_size,
        };
        grid.check("")?;
        let run = RunOptions::from_args(
            args.run,
            PresetRun {
                threads: preset.threads,
                out_dir: preset.out_dir,
                shard: preset.shard,
            },
            grid.n_cells(),
        )?;
        let spec = QualitySpec { grid, run };
        check_grid_memory(&spec)?;
        Ok(spec)
    }
}

/// Format bytes as GiB with two decimals.
fn gibibytes(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
}

/// Refuse a grid whose workers and data sets would need more than
/// [`crate::config::memory::MAX_MEMORY`] together (the data sets' sizes from their files'
/// headers, which are checked on the way: a missing file or an empty split is refused
/// here, before any work).
fn check_grid_memory(spec: &QualitySpec) -> Result<()> {
    let (per_worker, width, depth) = spec.grid.bytes_per_worker();
    let sets: Vec<DataSet> = spec
        .grid
        .data
        .iter()
        .filter_map(DataSource::data_set)
        .cloned()
        .collect();
    let data = planned_bytes(&sets)? as f64;
    check_memory(
        per_worker * spec.run.threads as f64 + data,
        &format!(
            "the grid ({} per worker at width {width}, depth {depth}, batch {}, times {} threads; \
             {} of data sets; use smaller --widths, --depths or --batch-size, fewer --threads \
             or smaller data sets)",
            gibibytes(per_worker),
            spec.grid.batch_size,
            spec.run.threads,
            gibibytes(data)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::shard::Shard;

    fn spec(args: QualityArgs) -> Result<QualitySpec> {
        QualitySpec::try_from(args)
    }

    #[test]
    fn defaults_are_the_papers_protocol() {
        let spec = spec(QualityArgs {
            run: RunArgs {
                threads: Some(2),
                ..RunArgs::default()
            },
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
            (grid.batch_size, grid.batches, grid.seeds, grid.seed),
            (1, 1000, 40, 0)
        );
        assert_eq!(grid.methods, Method::all());
        assert_eq!(spec.run.shard, Shard::WHOLE);
        assert_eq!(spec.run.out_dir, PathBuf::from("results"));
        assert!(!spec.run.resume);
        assert_eq!(grid.n_cells(), 40);
    }

    #[test]
    fn the_grid_round_trips_through_its_json_record() {
        let grid = spec(QualityArgs::default()).unwrap().grid;
        let json = grid.to_json();
        assert_eq!(json["samples"], 1000);
        assert_eq!(json["methods"][5], "ggn_mc:1");
        assert_eq!(QualityGrid::from_json(&json).unwrap(), grid);
        let mut unknown = json.clone();
        unknown["extra"] = Value::from(1);
        assert!(QualityGrid::from_json(&unknown).is_err());
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cases = [
            (
                QualityArgs {
                    widths: Some(vec![16, 0]),
                    ..QualityArgs::default()
                },
                "--widths: a width of 0",
            ),
            (
                QualityArgs {
                    widths: Some(vec![16, 16]),
                    ..QualityArgs::default()
                },
                "--widths: 16 is listed twice",
            ),
            (
                QualityArgs {
                    depths: Some(vec![0]),
                    ..QualityArgs::default()
                },
                "--depths: a depth of 0",
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
                    run: RunArgs {
                        shard: Some("5/4".into()),
                        ..RunArgs::default()
                    },
                    ..QualityArgs::default()
                },
                "--shard: '5/4'",
            ),
            (
                QualityArgs {
                    widths: Some(vec![4096]),
                    batch_size: Some(64),
                    run: RunArgs {
                        threads: Some(2),
                        ..RunArgs::default()
                    },
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
            r#"{"widths": [8, 4], "seeds": 3, "activations": "relu,tanh", "depth": [2], "reduction": "sum", "description": "x"}"#,
        )
        .unwrap();
        let spec = spec(QualityArgs {
            seeds: Some(2),
            run: RunArgs {
                preset: Some(path.clone()),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        })
        .unwrap();
        assert_eq!(spec.grid.widths, vec![8, 4]);
        assert_eq!(spec.grid.seeds, 2);
        assert_eq!(
            spec.grid.activations,
            vec![Activation::Relu, Activation::Tanh]
        );
        assert_eq!(spec.grid.depths, vec![2]);
        assert_eq!(spec.grid.reductions, vec![Reduction::Sum]);
        assert_eq!(spec.grid.batches, 1000);
        assert_eq!(spec.run.preset, Some(path));
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
            run: RunArgs {
                preset: Some(path),
                threads: Some(1),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        })
        .unwrap();
        assert_eq!(spec.grid.seeds, 10);
        assert_eq!(spec.grid.batches, 20);
        assert_eq!(spec.grid.widths, vec![4, 8]);
        assert_eq!(spec.grid.seed, 3);
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
            (write("a.json", r#"{"widht": 16}"#), "unknown field `widht`"),
            (write("b.json", r#"{"widths": "#), "invalid JSON"),
            (write("c.json", r#"[16]"#), "must be a JSON object"),
            (
                write("d.json", r#"{"seeds": 0}"#),
                "key 'seeds': a seed count of 0",
            ),
            (
                write("e.json", r#"{"seeds": "many"}"#),
                "expected a whole number",
            ),
            (
                write("f.json", r#"{"widths": {"a": 1}}"#),
                "key 'widths': expected",
            ),
            (
                write("g.json", r#"{"seeds": 10.5}"#),
                "key 'seeds': invalid value '10.5': invalid digit found in string",
            ),
            (
                write("h.json", r#"{"widths": [8, 2.5]}"#),
                "key 'widths': invalid value '2.5': invalid digit found in string",
            ),
            (
                write("i.json", r#"{"resume": true}"#),
                "'resume' is not a preset key",
            ),
            (
                write("j.json", r#"{"seeds": 2, "seeds": 3}"#),
                "duplicate field `seeds`",
            ),
            (
                write("k.json", r#"{"out_dir": true}"#),
                "invalid type: boolean `true`",
            ),
            (
                write("l.json", r#"{"depth": [2], "depths": [3]}"#),
                "duplicate field `depths`",
            ),
            (dir.path().join("missing.json"), "--preset: cannot read"),
        ];
        for (path, expected) in cases {
            let message = spec(QualityArgs {
                run: RunArgs {
                    preset: Some(path),
                    ..RunArgs::default()
                },
                ..QualityArgs::default()
            })
            .unwrap_err()
            .to_string();
            assert!(message.contains(expected), "'{message}' lacks '{expected}'");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }

    #[test]
    fn a_data_set_fixes_the_input_and_output_widths() {
        let spec = spec(QualityArgs {
            data: Some(vec!["random".into(), "mnist".into()]),
            train_steps: Some(vec![0, 100]),
            run: RunArgs {
                threads: Some(1),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        })
        .unwrap();
        let grid = &spec.grid;
        assert_eq!((grid.inputs, grid.outputs), (784, 10));
        assert_eq!(grid.n_cells(), 2 * 40);
        assert_eq!(grid.steps_of(&DataSource::Random), [0]);
        assert_eq!(grid.steps_of(&grid.data[1]), [0, 100]);
        assert_eq!(grid.samples_per_cell(&grid.data[1]), 2000);
        assert_eq!(
            (grid.optimizer, grid.lr, grid.train_batch_size),
            (Optimizer::Adam, 1e-3, 32)
        );
        let json = grid.to_json();
        assert_eq!(json["data"], serde_json::json!(["random", "mnist"]));
        assert_eq!(json["train_steps"], serde_json::json!([0, 100]));
        assert_eq!(json["optimizer"], "adam");
        assert_eq!(&QualityGrid::from_json(&json).unwrap(), grid);
    }

    #[test]
    fn bad_training_values_name_the_flag() {
        let mnist = || Some(vec!["mnist".to_string()]);
        let cases = [
            (
                QualityArgs {
                    data: mnist(),
                    inputs: Some(6),
                    ..QualityArgs::default()
                },
                "--inputs: 6, but data mnist has 784 pixels per image",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    outputs: Some(3),
                    ..QualityArgs::default()
                },
                "--outputs: 3, but data mnist has 10 classes",
            ),
            (
                QualityArgs {
                    data: Some(vec!["cifar".into()]),
                    ..QualityArgs::default()
                },
                "--data: unknown data 'cifar'",
            ),
            (
                QualityArgs {
                    data: Some(vec!["mnist".into(), "mnist".into()]),
                    ..QualityArgs::default()
                },
                "--data: mnist is listed twice",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    train_steps: Some(vec![100, 10]),
                    ..QualityArgs::default()
                },
                "--train-steps: the steps must increase, but 10 comes after 100",
            ),
            (
                QualityArgs {
                    train_steps: Some(vec![0, 10]),
                    ..QualityArgs::default()
                },
                "--train-steps: training needs a data set",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    train_steps: Some(vec![MAX_TRAIN_STEPS + 1]),
                    ..QualityArgs::default()
                },
                "is over the limit",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    lr: Some(0.0),
                    ..QualityArgs::default()
                },
                "--lr: learning rate 0 must be a finite number > 0",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    optimizer: Some("lbfgs".into()),
                    ..QualityArgs::default()
                },
                "--optimizer: unknown optimizer 'lbfgs'",
            ),
            (
                QualityArgs {
                    data: mnist(),
                    train_batch_size: Some(0),
                    ..QualityArgs::default()
                },
                "--train-batch-size: a batch size of 0",
            ),
        ];
        for (args, expected) in cases {
            let message = spec(args).unwrap_err().to_string();
            assert!(message.contains(expected), "'{message}' lacks '{expected}'");
        }
    }

    #[test]
    fn training_keys_of_a_preset_and_their_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"data": "mnist", "train_steps": [0, 10000], "optimizer": "sgd", "lr": 0.01, "train_batch_size": 64}"#,
        )
        .unwrap();
        let grid = spec(QualityArgs {
            run: RunArgs {
                preset: Some(path.clone()),
                threads: Some(1),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        })
        .unwrap()
        .grid;
        assert_eq!(grid.train_steps, [0, 10000]);
        assert_eq!(
            (grid.optimizer, grid.lr, grid.train_batch_size),
            (Optimizer::Sgd, 0.01, 64)
        );
        std::fs::write(&path, r#"{"data": "mnist", "lr": -1}"#).unwrap();
        let message = spec(QualityArgs {
            run: RunArgs {
                preset: Some(path),
                ..RunArgs::default()
            },
            ..QualityArgs::default()
        })
        .unwrap_err()
        .to_string();
        assert!(message.contains("key 'lr': learning rate -1"), "{message}");
    }

    #[test]
    fn a_recorded_grid_is_checked_like_the_flags() {
        let mut json = QualityGrid::default().to_json();
        json["train_steps"] = serde_json::json!([0, 5]);
        let message = QualityGrid::from_json(&json).unwrap_err().to_string();
        assert!(
            message.contains("config: train_steps: training needs a data set"),
            "{message}"
        );
    }
}
