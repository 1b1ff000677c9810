"""Reading the CSVs of a results directory (written by `hesscale-cli quality`, `cost`,
`optimize` and `rl`)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

# Exact column names of each file: (text columns, numeric columns[, columns added later]).
# Extra columns are ignored; missing ones are an error, but for the columns added later.

# The columns that `quality` gained with trained networks (SPEC §8), and what a file
# written before them means: random inputs at initialisation (SPEC §3), sizes not
# recorded (None). A quality file without such a column reads as if every row had that
# value.
QUALITY_ADDED = {"data": "random", "step": 0, "inputs": None, "outputs": None,
                 "n_params": None}
QUALITY_RUNS = (
    ["activation", "loss", "reduction", "data", "depth", "width", "batch_size", "step",
     "seed", "method", "layer", "param"],
    ["l1", "sum_abs_exact"],
    QUALITY_ADDED,
)
QUALITY_SUMMARY = (
    ["activation", "loss", "reduction", "data", "depth", "width", "inputs", "outputs",
     "n_params", "batch_size", "step", "method", "layer", "seeds", "samples"],
    ["mean_l1", "se_l1", "normalized_l1", "ratio_mean", "ratio_se", "relative_l1"],
    QUALITY_ADDED,
)
QUALITY_TIMING = (
    ["activation", "loss", "data", "depth", "width", "batch_size", "method", "samples"],
    ["seconds_per_sample"],
    QUALITY_ADDED,
)
QUALITY_TIMING_CELLS = (
    ["activation", "loss", "reduction", "data", "depth", "width", "batch_size", "seed",
     "method", "samples"],
    ["seconds"],
    QUALITY_ADDED,
)
# quality_timing.csv with each method's cost in backward-pass equivalents (a column files
# written before the cost rounds lack: the figure that needs it has no data then).
QUALITY_COST = (
    ["activation", "loss", "data", "depth", "width", "batch_size", "method"],
    ["backward_equivalents"],
    QUALITY_ADDED,
)
QUALITY_TRAINING_SUMMARY = (
    ["activation", "loss", "reduction", "data", "depth", "width", "step", "seeds"],
    ["train_loss", "test_loss", "test_accuracy", "test_accuracy_se"],
)
COST = (
    ["sweep", "depth", "width", "inputs", "outputs", "batch_size", "method", "reps"],
    ["n_params", "median_seconds", "ratio_to_gradient"],
)

OPTIMIZE_CURVES = (
    ["data", "activation", "depth", "width", "batch_size", "optimizer", "scaling", "seed",
     "step", "diverged"],
    ["delta", "lr", "train_loss", "test_loss", "test_accuracy"],
)
OPTIMIZE_SUMMARY = (
    ["data", "activation", "depth", "width", "batch_size", "optimizer", "scaling", "seeds",
     "diverged", "steps", "best_lr"],
    ["delta", "lr", "final_test_loss", "final_test_loss_se", "final_test_accuracy",
     "final_test_accuracy_se", "mean_test_accuracy", "mean_test_accuracy_se"],
)
RL_CURVES = (
    ["env", "agent", "optimizer", "scaling", "seed", "step"],
    ["lr", "episode_return"],
)
RL_SUMMARY = (
    ["env", "agent", "optimizer", "scaling", "seeds", "diverged", "steps", "best_lr"],
    ["lr", "mean_return", "mean_return_se", "normalized_return", "normalized_return_se"],
)

# Columns that hold integers (compared and sorted as numbers).
INTEGER_COLUMNS = {"depth", "width", "batch_size", "seed", "seeds", "samples", "inputs",
                   "outputs", "n_params", "reps", "step", "steps"}


class NoData(Exception):
    """The file is missing or has no data rows: its figures are skipped quietly."""


class BadData(Exception):
    """The file exists but cannot be used: a missing column or an unparsable value."""


# Every column some figure reads (what --where may filter on).
ALL_COLUMNS = sorted({c for schema in (QUALITY_RUNS, QUALITY_SUMMARY, QUALITY_TIMING, QUALITY_COST,
                                     QUALITY_TIMING_CELLS, QUALITY_TRAINING_SUMMARY, COST,
                                     OPTIMIZE_CURVES, OPTIMIZE_SUMMARY, RL_CURVES, RL_SUMMARY)
                      for c in schema[0] + schema[1]})

# An error below this (normalized to hesscale's, or relative to the exact diagonal's L1
# size) is floating-point round-off: the method equals the exact diagonal there, e.g. ggn
# in ReLU networks (SPEC §2.2). Such values are marked, not drawn, on log axes.
ROUNDOFF = 1e-9


def read_table(path: Path, schema, where: dict[str, str] | None = None) -> list[dict]:
    """Reads a CSV with the given (text columns, numeric columns[, columns added later])
    schema into a list of dicts. Numeric cells become floats (empty -> NaN); integer-like
    key columns (depth, width, ...) become ints; a column added later that an older file
    lacks takes the value the schema gives it. `where` ({column: value}) keeps only the
    rows whose column reads as that value; columns the schema lacks are ignored. Raises
    NoData for a missing or empty file (or no row left by `where`), BadData for a missing
    column or a cell that does not parse."""
    text_columns, number_columns, *later = schema
    added = later[0] if later else {}
    if not path.is_file():
        raise NoData(f"{path} not found")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if not header:
            raise NoData(f"{path} is empty")
        defaulted = {c: added[c] for c in text_columns if c not in header and c in added}
        missing = [c for c in text_columns + number_columns
                   if c not in header and c not in defaulted]
        if missing:
            raise BadData(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for row in reader:
            line = reader.line_num
            out = dict(defaulted)
            for column in text_columns:
                if column in defaulted:
                    continue
                value = (row[column] or "").strip()
                if column in INTEGER_COLUMNS:
                    value = _parse_int(value, path, line, column)
                out[column] = value
            for column in number_columns:
                out[column] = _parse_float((row[column] or "").strip(), path, line, column)
            rows.append(out)
    if not rows:
        raise NoData(f"{path} has no data rows")
    selected = {c: v for c, v in (where or {}).items() if c in text_columns + number_columns}
    if selected:
        rows = [r for r in rows if all(_matches(r[c], v) for c, v in selected.items())]
        if not rows:
            condition = ", ".join(f"{c}={v}" for c, v in selected.items())
            raise NoData(f"{path} has no rows with {condition}")
    return rows


def _matches(cell, value: str) -> bool:
    """Whether a parsed cell equals the text value (numbers compared as numbers)."""
    if isinstance(cell, str):
        return cell == value
    if cell is None:  # not recorded in an older file
        return False
    try:
        return cell == type(cell)(value)
    except ValueError:
        return False


def _parse_int(text: str, path: Path, line: int, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadData(f"{path}: line {line}: column {column}: `{text}` is not an integer") \
            from None


def _parse_float(text: str, path: Path, line: int, column: str) -> float:
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise BadData(f"{path}: line {line}: column {column}: `{text}` is not a number") \
            from None


def group_by(rows, columns) -> dict[tuple, list[dict]]:
    """Groups rows by the values of the given columns, keys sorted."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in columns), []).append(row)
    return dict(sorted(groups.items(), key=lambda kv: tuple(map(_sortable, kv[0]))))


def _sortable(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def varying(rows, columns) -> list[str]:
    """The columns among `columns` that take more than one value in rows."""
    return [c for c in columns if len({row[c] for row in rows}) > 1]


def positive(value: float) -> bool:
    """True for a finite value > 0 (drawable on a log axis)."""
    return math.isfinite(value) and value > 0


def is_roundoff(value: float) -> bool:
    """True for a finite error below ROUNDOFF (0 included): exact up to round-off."""
    return math.isfinite(value) and value < ROUNDOFF


def split_roundoff(values: dict) -> tuple[dict, list]:
    """Splits {name: error} into ({name: error} drawable on a log axis, [names at
    round-off level]), both in the input order; NaN and infinite values are in neither."""
    drawable = {k: v for k, v in values.items() if positive(v) and not is_roundoff(v)}
    return drawable, [k for k, v in values.items() if is_roundoff(v)]
