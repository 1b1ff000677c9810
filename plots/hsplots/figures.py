"""The figures. Each function reads the CSVs it needs from a results directory, writes
`<name>.png` and `<name>.pdf` to the output directory and returns the paths written. A
missing or empty CSV raises data.NoData; an unusable one raises data.BadData."""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory
from matplotlib.ticker import (
    EngFormatter,
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    NullLocator,
    ScalarFormatter,
)

from .data import (
    BadData,
    COST,
    QUALITY_COST,
    QUALITY_RUNS,
    ROUNDOFF,
    QUALITY_SUMMARY,
    QUALITY_TIMING,
    QUALITY_TIMING_CELLS,
    QUALITY_TRAINING_SUMMARY,
    NoData,
    group_by,
    is_roundoff,
    positive,
    read_table,
    split_roundoff,
    varying,
)
from .style import (
    grid_position,
    method_color,
    method_style,
    ordered_methods,
    panel_grid,
    save,
)

# The columns that define one quality cell (one network configuration, its data and the
# training step it was measured at).
CELL = ["data", "step", "activation", "loss", "reduction", "depth", "width", "batch_size"]

# The order in which settings are named in panel titles and figure subtitles.
_SETTING_ORDER = ["data", "activation", "loss", "step", "width", "depth", "inputs",
                  "outputs", "batch_size", "reduction"]


def data_label(data: str) -> str:
    """'random inputs', 'mnist', or for the full MNIST of a directory 'mnist:' and the
    directory's last component (the whole path would not fit a title)."""
    if data == "random":
        return "random inputs"
    name, sep, directory = data.partition(":")
    return f"{name}:{Path(directory).name}" if sep else data


def step_label(step: int) -> str:
    """'untrained' for step 0, else 'after 1,000 training steps'."""
    return "untrained" if step == 0 else f"after {step:,} training steps"


_LABELS = {
    "data": data_label,
    "step": step_label,
    "activation": lambda v: str(v),
    "loss": lambda v: str(v),
    "reduction": lambda v: f"{v} reduction",
    "depth": lambda v: f"depth {v}",
    "width": lambda v: f"width {v}",
    "batch_size": lambda v: f"batch size {v}",
    "inputs": lambda v: f"{v} inputs",
    "outputs": lambda v: f"{v} outputs",
}


def panel_title(key: dict, shown: list[str]) -> str:
    """A panel title: the settings of `shown` (those that vary between the panels), e.g.
    'relu, cross_entropy, width 8'. The settings every panel shares are in the subtitle."""
    return ", ".join(_LABELS[c](key[c]) for c in _SETTING_ORDER if c in shown and c in key)


def row_length(rows: list[dict], columns: list[str]) -> int:
    """How many values the last of `columns` that varies takes: the panels, sorted by
    `columns`, come in runs of that length (one per width, say)."""
    changing = varying(rows, columns)
    return len({r[changing[-1]] for r in rows}) if changing else 1


def shared_settings(rows: list[dict], columns: list[str]) -> list[str]:
    """The settings among `columns` that have one value in all rows, as labels, e.g.
    ['tanh', 'depth 3', 'batch size 1', 'mean reduction']. Random inputs, the default
    protocol (SPEC §3, never trained), go unnamed; so does the step of networks that were
    all untrained on random inputs."""
    random_only = {r.get("data", "random") for r in rows} == {"random"}
    parts = []
    for c in _SETTING_ORDER:
        if c in columns and not (random_only and c in ("data", "step")):
            values = {r[c] for r in rows}
            if len(values) == 1:
                parts.append(_LABELS[c](values.pop()))
    return parts


def _span(values) -> str:
    values = sorted(set(values))
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def seeds_and_samples(rows: list[dict]) -> str:
    """'5 seeds × 100 samples' (batch size 1) or '3 seeds × 30 batches' (larger batches)
    from the `seeds` and `samples` (batches per seed) columns of the summary."""
    unit = "samples" if {r["batch_size"] for r in rows} == {1} else "batches"
    return f"{_span(r['seeds'] for r in rows)} seeds × {_span(r['samples'] for r in rows)} {unit}"


def per_unit(batch_sizes) -> str:
    """What one L1 error is taken over: 'per sample' for batches of 1, else 'per batch of
    N' (or 'per batch' when the batch size differs between panels)."""
    sizes = set(batch_sizes)
    if sizes == {1}:
        return "per sample"
    if len(sizes) == 1:
        return f"per batch of {sizes.pop()}"
    return "per batch"


def figure_title(fig, title: str, settings: list[str] = ()) -> None:
    """A short figure title and, below it, the configuration every panel shares and how
    to read the marks (what a caption would say), wrapped between items to the figure's
    width."""
    chars = max(40, int(fig.get_size_inches()[0] * 14))
    lines = [textwrap.fill(title, chars)]
    line = ""
    for item in settings:
        if line and len(line) + 3 + len(item) > chars:
            lines.append(line)
            line = item
        else:
            line = f"{line} · {item}" if line else item
    if line:
        lines.append(line)
    fig.suptitle("\n".join(lines), fontsize=10, linespacing=1.4)


def method_handles(methods, kind="line", labels: dict | None = None) -> list:
    """Legend handles, one per method in canonical order, in the method's colour (bars:
    patches; lines: the method's marker and dash pattern)."""
    labels = labels or {}
    handles = []
    for m in ordered_methods(methods):
        if kind == "patch":
            handles.append(Patch(color=method_color(m), label=labels.get(m, m)))
        else:
            handles.append(Line2D([], [], label=labels.get(m, m), **method_style(m)))
    return handles


def figure_legend(fig, handles, column_width: float = 1.5) -> None:
    """One legend below all panels: as many columns as fit in the figure's width (about
    column_width inches each), spread evenly over the fewest rows."""
    width_in = fig.get_size_inches()[0]
    fit = max(1, int(width_in / column_width))
    rows = -(-len(handles) // fit)
    fig.legend(handles=handles, loc="outside lower center", ncols=-(-len(handles) // rows),
               handlelength=2.6, columnspacing=1.2)


def _param_count_axis(ax):
    """Log x axis of parameter counts with ticks at 1, 2, 5 × 10^k labelled 20k, 1M, ..."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def dodge_offsets(methods, spread: float = 0.24) -> dict[str, float]:
    """A small horizontal offset per method (in octaves of the x axis, the methods in
    canonical order spread over `spread`), so that lines and error bars at equal values
    stand side by side instead of on top of each other."""
    methods = ordered_methods(methods)
    if len(methods) < 2:
        return {m: 0.0 for m in methods}
    step = spread / (len(methods) - 1)
    return {m: (i - (len(methods) - 1) / 2) * step for i, m in enumerate(methods)}


def _line(ax, xs, ys, method, errors=None, dodge: float = 0.0):
    """One method's line in its style, with error bars (± errors, clipped above 0 on a
    log axis) when given; points with non-positive or missing y are dropped; x is moved
    by `dodge` octaves. Returns whether anything was drawn."""
    errors = errors if errors is not None else [math.nan] * len(xs)
    pts = sorted((x, y, e) for x, y, e in zip(xs, ys, errors) if positive(y))
    if not pts:
        return False
    x = np.array([p[0] for p in pts], dtype=float) * 2.0 ** dodge
    y = np.array([p[1] for p in pts], dtype=float)
    e = np.array([p[2] for p in pts], dtype=float)
    style = method_style(method)
    if len(x) == 1 and not style.get("marker"):
        # a reference line (no markers) at a single x: a short level segment
        x, y, e = x[0] * 2.0 ** np.array([-0.25, 0.25]), np.repeat(y, 2), np.repeat(e, 2)
    if np.isfinite(e).any():
        e = np.where(np.isfinite(e), e, 0.0)
        low = np.minimum(e, 0.9 * y)  # a log axis cannot show y − e ≤ 0
        bars = ax.errorbar(x, y, yerr=[low, e], capsize=1.6, elinewidth=0.7,
                           capthick=0.7, **style)
        bars.lines[0].set_label(method)
    else:
        ax.plot(x, y, label=method, **style)
    return True


def _log2_width_axis(ax, widths):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(widths)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    lo, hi = min(widths), max(widths)
    ax.set_xlim(lo / 2 ** 0.3, hi * 2 ** 0.3)  # room for the dodged points


def note_panel(ax, text: str) -> None:
    """A panel that explains why it has nothing to draw, instead of empty axes."""
    ax.set_axis_off()
    chars = max(24, int(ax.get_position().width * ax.figure.get_size_inches()[0] * 15))
    ax.text(0.5, 0.5, textwrap.fill(text, chars, break_on_hyphens=False), ha="center",
            va="center", transform=ax.transAxes, fontsize=8, color="0.2", linespacing=1.35,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "0.95", "edgecolor": "0.75"})


def lowest_in_column(axes) -> list:
    """Of the given panels, those with none of the given panels right below them in their
    grid column: where shared x tick labels and x labels go."""
    at = {grid_position(ax)[:2] for ax in axes}
    return [ax for ax in axes
            if (grid_position(ax)[0] + 1, grid_position(ax)[1]) not in at]


def _exact_here(row: dict) -> bool:
    """An error that is 0 or round-off relative to the exact diagonal's L1 size."""
    return row["mean_l1"] == 0 or is_roundoff(row["relative_l1"])


def undefined_normalization(by_method: dict) -> str:
    """Why the normalized errors of one cell are missing (by_method: its layer=all summary
    rows by method): hesscale was not run, or hesscale is exact there (at depth 1 with
    mse it is exact in every layer), so that dividing by its error means nothing."""
    hesscale = by_method.get("hesscale")
    if hesscale is None:
        return ("Normalized errors undefined: hesscale was not run here, so there is no "
                "error to divide by.")
    if not _exact_here(hesscale):
        return "No normalized errors in the summary (normalized_l1 is empty)."
    also = [m for m in ordered_methods(by_method)
            if m not in ("exact", "hesscale") and _exact_here(by_method[m])]
    text = (f"Normalized errors undefined: hesscale is exact in every layer here (its L1 "
            f"error, {hesscale['mean_l1']:.0e}, is round-off), so there is nothing to "
            f"divide by.")
    if also:
        text += f" Exact as well: {', '.join(also)}."
    return text + " fig2 shows the absolute errors."


# ---------------------------------------------------------------------------------------
# Figure 1: normalized L1 error per method
# ---------------------------------------------------------------------------------------

def per_seed_ratios(runs: list[dict]) -> dict[tuple, dict[str, list[float]]]:
    """Per cell and method, each seed's total error divided by hesscale's for that seed
    (rows with layer=all, param=all). Seeds where hesscale's error is 0 are skipped."""
    totals: dict[tuple, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in runs:
        if r["layer"] == "all" and r["param"] == "all":
            totals[tuple(r[c] for c in CELL)][r["seed"]][r["method"]] = r["l1"]
    ratios: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for cell, seeds in totals.items():
        for seed in sorted(seeds):
            by_method = seeds[seed]
            base = by_method.get("hesscale", math.nan)
            if not positive(base):
                continue
            for method, l1 in by_method.items():
                ratios[cell][method].append(l1 / base)
    return ratios


ROUNDOFF_MARK = "≈0"
_ROUNDOFF_TEXT = f"{ROUNDOFF:.0e}".replace("e-0", "e-")


def _bar_series(ax, slot: dict[str, int], by_method: dict, ratios: dict[str, list[float]],
                offset: float = 0.0, width: float = 0.7, faded: bool = False) -> dict:
    """One series of normalized-L1 bars in a panel (log y axis) whose methods sit in fixed
    slots: each method's bar (colour: method; `faded`: light with hatching) at slot +
    offset, the per-seed ratios as dots, the mean ± s.e. of those ratios as error bars; a
    method without a value gets "n/a". A method at round-off level gets no bar (the log
    axis spans only the drawable errors) but is listed under `roundoff` in the result, for
    _roundoff_marks. by_method: the layer=all summary rows of the cell; ratios: its
    per-seed ratios by method. Returns which marks were drawn (keys bars, dots,
    errorbars) and the round-off methods (key roundoff)."""
    ax.set_yscale("log", nonpositive="clip")
    errors = {m: by_method[m]["normalized_l1"] for m in slot if m in by_method}
    drawable, roundoff = split_roundoff(errors)
    bars = list(drawable)
    drew = {"bars": bool(bars), "dots": False, "errorbars": False, "roundoff": roundoff}
    xs = np.array([slot[m] + offset for m in bars])
    if bars:
        colors = [method_color(m) for m in bars]
        if faded:
            ax.bar(xs, [drawable[m] for m in bars], width=width, zorder=2, linewidth=0,
                   color=[to_rgba(c, 0.28) for c in colors], edgecolor=colors,
                   hatch="////")  # the hatching takes the edge colour
        else:
            ax.bar(xs, [drawable[m] for m in bars], width=width, color=colors,
                   edgecolor="none", zorder=2)

    means = np.array([by_method[m]["ratio_mean"] for m in bars], dtype=float)
    ses = np.array([by_method[m]["ratio_se"] for m in bars], dtype=float)
    ok = np.isfinite(means) & np.isfinite(ses) & (means >= ROUNDOFF)
    if ok.any():
        ax.errorbar(xs[ok], means[ok], yerr=ses[ok], fmt="none", ecolor="0.15",
                    elinewidth=0.8, capsize=2.0 * width / 0.7, zorder=4)
        drew["errorbars"] = True

    for m, x in zip(bars, xs):
        r = [v for v in ratios.get(m, []) if positive(v) and not is_roundoff(v)]
        if r:
            spread = 0.2 * width / 0.7
            offsets = np.linspace(-spread, spread, len(r)) if len(r) > 1 else np.zeros(1)
            ax.scatter(x + offsets, r, s=5, color="0.1", alpha=0.5, linewidths=0,
                       zorder=3)
            drew["dots"] = True

    at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
    for m in slot:
        if m not in drawable and m not in roundoff:
            ax.text(slot[m] + offset, 0.02, "n/a", transform=at_bottom, ha="center",
                    va="bottom", fontsize=6, color="0.45", rotation=90)
    return drew


def _roundoff_marks(ax, at: dict[str, float]) -> None:
    """A "≈0" mark in the method's colour at the bottom of the panel at x (at: {method:
    x}) for each method whose error is round-off, in place of its bar."""
    at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
    for m, x in at.items():
        ax.text(x, 0.02, ROUNDOFF_MARK, transform=at_bottom, ha="center", va="bottom",
                fontsize=8, fontweight="bold", color=method_color(m))


def _bar_axes(ax, methods: list[str], drew: dict) -> None:
    """The axes of a normalized-L1 bar panel (after its _bar_series; drew: their marks
    together): the dashed hesscale line at 1 and the methods named in their slots."""
    ax.axhline(1.0, color=method_color("hesscale"), ls="--", lw=0.9, zorder=1)
    if not drew["bars"]:  # only round-off errors: show a decade around the hesscale line
        ax.set_ylim(0.1, 10)
    elif drew["roundoff"]:  # room for the marks below the hesscale line and the lowest bar
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 1.0) / 3, high)
    ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right",
                  rotation_mode="anchor", fontsize=7.5)
    ax.set_xlim(-0.6, len(methods) - 0.4)


def _name_slots_below(with_bars: list) -> None:
    """Every bar panel has the methods in the same slots: name them only under a panel
    that has no bar panel right below it."""
    lowest = lowest_in_column(with_bars)
    for ax in with_bars:
        if ax not in lowest:
            ax.tick_params(labelbottom=False)


def _bar_legend(drew: dict, bars: list) -> list:
    """Legend handles of normalized-L1 bar panels: `bars` (what a bar is), then the marks
    that were drawn (drew: the marks of every panel's _bar_series)."""
    handles = list(bars)
    if drew["dots"]:
        handles.append(Line2D([], [], ls="none", marker="o", markersize=3, color="0.1",
                              alpha=0.5, label="per-seed ratio"))
    if drew["errorbars"]:
        handles.append(Line2D([], [], ls="none", marker="|", markersize=8, color="0.15",
                              label="mean ± s.e. over seeds of the ratios"))
    handles.append(Line2D([], [], ls="--", lw=0.9, color=method_color("hesscale"),
                          label="hesscale = 1"))
    if drew["roundoff"]:
        handles.append(Line2D([], [], ls="none", marker="$≈0$", markersize=11,
                              color="0.2", label=f"below {_ROUNDOFF_TEXT} × hesscale's "
                                                 "(round-off): equals exact"))
    return handles


def _any_marks(marks: list[dict]) -> dict:
    """The marks drawn by any of several _bar_series."""
    return {k: any(d[k] for d in marks) for k in ("bars", "dots", "errorbars", "roundoff")}


def _normalized_rows(results: Path, where: dict | None) -> tuple[list[dict], dict]:
    """The layer=all rows of quality_summary.csv and the per-seed ratios of
    quality_runs.csv (empty without that file), for the normalized-L1 bar figures."""
    summary = read_table(results / "quality_summary.csv", QUALITY_SUMMARY, where)
    rows = [r for r in summary if r["layer"] == "all"]
    if not rows:
        raise NoData(f"{results / 'quality_summary.csv'} has no layer=all rows")
    try:
        ratios = per_seed_ratios(read_table(results / "quality_runs.csv", QUALITY_RUNS,
                                            where))
    except NoData:
        ratios = {}
    return rows, ratios


def fig_normalized_l1(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Bars: normalized L1 error (mean error / hesscale's) per method; dots: per-seed
    ratios; error bars: mean ± s.e. of the per-seed ratio. One panel per cell (data and
    training step included), every panel with the methods in the same slots. A method
    whose normalized error is at round-off level gets a "≈0" mark at the bottom of its
    slot instead of a bar, so that the log axis spans only the drawable errors; a cell
    whose normalized errors are undefined (hesscale exact there, e.g. mse at depth 1) gets
    a note saying so."""
    rows, ratios = _normalized_rows(results, where)
    groups = group_by(rows, CELL)
    shown = varying(rows, CELL)
    # exact is the reference (error 0 by definition) and is left out.
    methods = [m for m in ordered_methods(r["method"] for r in rows) if m != "exact"]
    slot = {m: i for i, m in enumerate(methods)}
    fig, axes = panel_grid(len(groups), panel_size=(3.5, 2.3), extra_height=1.6,
                           row_length=row_length(rows, CELL))
    marks = []
    with_bars = []
    for ax, (cell, group) in zip(axes, groups.items()):
        by_method = {r["method"]: r for r in group}
        ax.set_title(panel_title(dict(zip(CELL, cell)), shown))
        if not any(math.isfinite(by_method[m]["normalized_l1"])
                   for m in methods if m in by_method):
            note_panel(ax, undefined_normalization(by_method))
            continue
        with_bars.append(ax)
        marks.append(_bar_series(ax, slot, by_method, ratios.get(cell, {})))
        _roundoff_marks(ax, {m: slot[m] for m in marks[-1]["roundoff"]})
        _bar_axes(ax, methods, marks[-1])
    _name_slots_below(with_bars)
    if with_bars:
        fig.supylabel("normalized L1 error\n(hesscale = 1, log scale)", fontsize=9)
    bars = Patch(color="0.6", label="mean L1 error ÷ hesscale's (colour: method)")
    figure_legend(fig, _bar_legend(_any_marks(marks), [bars]), column_width=3.0)
    settings = shared_settings(rows, CELL) + [seeds_and_samples(rows)]
    figure_title(fig, "L1 error of each method relative to HesScale's", settings)
    return save(fig, out, "fig1_normalized_l1")


# ---------------------------------------------------------------------------------------
# Figure 2: L1 error per layer
# ---------------------------------------------------------------------------------------

def fig_l1_per_layer(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Grouped bars of the mean L1 error per sample (per batch when batches have more
    than one sample) of each layer (weight + bias) for every method but exact, symlog y
    axis, error bars = s.e. over seeds. One panel per cell. An error that is 0 or
    round-off relative to the exact diagonal is a flat bar at 0, and the symlog's linear
    range is set by the other errors."""
    summary = read_table(results / "quality_summary.csv", QUALITY_SUMMARY, where)
    rows = [dict(r, layer=int(r["layer"])) for r in summary
            if r["layer"] != "all" and r["layer"].isdigit() and r["method"] != "exact"]
    if not rows:
        raise NoData(f"{results / 'quality_summary.csv'} has no per-layer rows")
    groups = group_by(rows, CELL)
    shown = varying(rows, CELL)
    all_methods = ordered_methods(r["method"] for r in rows)
    n_methods = len(all_methods)
    n_layers = max(len({r["layer"] for r in g}) for g in groups.values())
    fig, axes = panel_grid(len(groups), panel_size=(max(3.4, 0.55 * n_layers + 0.9), 2.3),
                           extra_height=1.6, row_length=row_length(rows, CELL))
    bar_w = 0.84 / n_methods
    for ax, (cell, group) in zip(axes, groups.items()):
        key = dict(zip(CELL, cell))
        layers = sorted({r["layer"] for r in group})
        values = {(r["method"], r["layer"]): r for r in group}
        finite = [r["mean_l1"] for r in group
                  if positive(r["mean_l1"]) and not _exact_here(r)]
        for j, m in enumerate(all_methods):
            xs, ys, es, flat = [], [], [], []
            for li, layer in enumerate(layers):
                r = values.get((m, layer))
                if r is None or not math.isfinite(r["mean_l1"]):
                    continue
                x = li - 0.42 + bar_w * (j + 0.5)
                if _exact_here(r):
                    flat.append(x)
                    continue
                xs.append(x)
                ys.append(r["mean_l1"])
                es.append(r["se_l1"] if math.isfinite(r["se_l1"]) else 0.0)
            if xs:
                ax.bar(xs, ys, width=bar_w, color=method_color(m), edgecolor="none",
                       yerr=es, error_kw={"elinewidth": 0.5, "capsize": 0.8,
                                          "ecolor": "0.25"})
            if flat:
                ax.hlines([0.0] * len(flat), [x - bar_w / 2 for x in flat],
                          [x + bar_w / 2 for x in flat], colors=method_color(m), lw=2.5,
                          zorder=3, clip_on=False)
        linthresh = 10 ** math.floor(math.log10(min(finite))) if finite else 1e-6
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.set_ylim(bottom=0)
        for li in range(1, len(layers)):  # separate the layers' groups
            ax.axvline(li - 0.5, color="0.88", lw=0.6, zorder=0)
        last = key["depth"] + 1 if isinstance(key["depth"], int) else max(layers)
        ax.set_xticks(range(len(layers)),
                      [f"{layer} (output)" if layer == last else str(layer)
                       for layer in layers])
        ax.set_xlim(-0.5, len(layers) - 0.5)
        ax.set_title(panel_title(key, shown))
    for ax in lowest_in_column(axes):
        ax.set_xlabel("layer (weight + bias)")
    unit = per_unit(r["batch_size"] for r in rows)
    fig.supylabel(f"mean L1 error {unit} (symlog scale)", fontsize=9)
    handles = method_handles(all_methods, kind="patch")
    handles.append(Line2D([], [], color="0.3", lw=2.5,
                          label="flat bar at 0: exact in that layer"))
    figure_legend(fig, handles, column_width=1.55)
    settings = shared_settings(rows, CELL) + [seeds_and_samples(rows),
                                              "error bars: s.e. over seeds"]
    figure_title(fig, f"L1 error of each method, layer by layer ({unit})", settings)
    return save(fig, out, "fig2_l1_per_layer")


# ---------------------------------------------------------------------------------------
# Figure 3: normalized L1 error against width
# ---------------------------------------------------------------------------------------

def _normalized_l1_lines(axes, groups: dict, all_rows: list[dict], panel_cols: list[str],
                         x: str, x_axis) -> tuple[set, list]:
    """The panels of a normalized L1 error against `x` (fig3: width, fig8: step): in each
    (groups: its layer=all rows but exact's, by panel_cols) one line per method with
    error bars ± the s.e. over seeds of the per-seed ratio, the methods' points dodged
    sideways, and the dotted hesscale line at 1; x_axis(ax, values) sets the x axis.
    Points at round-off level are dropped and named under the panel title, as are the
    values of x where the normalization is undefined (hesscale exact; all_rows: every
    layer=all row); where it is undefined at every x the panel is a note. Returns (the
    methods drawn, the panels with lines)."""
    shown = varying([r for g in groups.values() for r in g], panel_cols)
    dodge = dodge_offsets(r["method"] for g in groups.values() for r in g)
    drawn, plotted = set(), []
    for ax, (panel, group) in zip(axes, groups.items()):
        key = dict(zip(panel_cols, panel))
        title = panel_title(key, shown)
        # values of x where hesscale's error is round-off (or hesscale is missing):
        # nothing can be normalized by it there
        at_x = {v: {r["method"]: r for r in all_rows
                    if r[x] == v and all(r[c] == key[c] for c in panel_cols)}
                for v in sorted({r[x] for r in group})}
        undefined = [v for v, by_method in at_x.items()
                     if not any(math.isfinite(by_method[m]["normalized_l1"])
                                for m in by_method if m != "exact")]
        if len(undefined) == len(at_x):
            ax.set_title(title)
            note_panel(ax, undefined_normalization(at_x[undefined[0]]))
            continue
        dropped = []
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            kept = [r for r in mr if not is_roundoff(r["normalized_l1"])]
            gone = [str(r[x]) for r in mr if is_roundoff(r["normalized_l1"])]
            if gone:
                dropped.append(f"{m} ({x} {', '.join(gone)})" if kept else m)
            if _line(ax, [r[x] for r in kept], [r["normalized_l1"] for r in kept], m,
                     [r["ratio_se"] for r in kept], dodge[m]):
                drawn.add(m)
        ax.axhline(1.0, color=method_color("hesscale"), ls=":", lw=0.8, zorder=0)
        ax.set_yscale("log")
        x_axis(ax, {r[x] for r in group})
        notes = []
        if dropped:
            notes.append(f"{ROUNDOFF_MARK}, not drawn: {', '.join(dropped)}")
        if undefined:
            notes.append(f"undefined at {x} {', '.join(map(str, undefined))} "
                         "(hesscale exact)")
        if notes:
            note = textwrap.fill("; ".join(notes), 52)
            title = f"{title}\n{note}" if title else note
        ax.set_title(title, fontsize=9 if not notes else 8.5)
        plotted.append(ax)
    return drawn, plotted


def fig_normalized_l1_vs_width(results: Path, out: Path,
                               where: dict | None = None) -> list[Path]:
    """Normalized L1 error (layer=all) against hidden width, one line per method (exact
    left out of the log axis) with error bars ± the s.e. over seeds of the per-seed
    ratio, the methods' points dodged sideways. One panel per activation/loss (and other
    varying settings, data and training step included). Points at round-off level are
    dropped and named under the panel title; where the normalization is undefined
    (hesscale exact) the panel says so."""
    path = results / "quality_summary.csv"
    summary = read_table(path, QUALITY_SUMMARY, where)
    all_rows = [r for r in summary if r["layer"] == "all"]
    rows = [r for r in all_rows if r["method"] != "exact"]
    panel_cols = [c for c in CELL if c != "width"]
    groups = group_by(rows, panel_cols)
    if not any(len({r["width"] for r in g}) > 1 for g in groups.values()):
        widths = sorted({r["width"] for r in rows})
        raise NoData(f"{path} has only width {', '.join(map(str, widths))}: "
                     "needs two widths or more")
    fig, axes = panel_grid(len(groups), panel_size=(3.5, 2.6), extra_height=1.7,
                           row_length=row_length(rows, panel_cols))
    drawn, plotted = _normalized_l1_lines(axes, groups, all_rows, panel_cols, "width",
                                          _log2_width_axis)
    for ax in lowest_in_column(plotted):
        ax.set_xlabel("hidden width")
    fig.supylabel("normalized L1 error (hesscale = 1)", fontsize=9)
    figure_legend(fig, method_handles(drawn))
    settings = shared_settings(rows, panel_cols) + [
        seeds_and_samples(rows), "error bars: s.e. over seeds"]
    figure_title(fig, "L1 error relative to HesScale's against network width", settings)
    return save(fig, out, "fig3_normalized_l1_vs_width")


# ---------------------------------------------------------------------------------------
# Figure 4: cost
# ---------------------------------------------------------------------------------------

# What the two reference rows of quality_timing.csv are called in the legend.
_TIMING_REFERENCES = {
    "gradient": "one plain gradient",
    "linearization": "shared linearization (not in the methods' times)",
}

# The key of a row of quality_timing.csv.
TIMING_KEY = ["activation", "loss", "data", "depth", "width", "batch_size", "method"]

# The timing subject of the training runs (per training image), not a method's
# measurement: fig4a leaves it out.
TRAINING = "training"


def timing_from_cells(cells: list[dict]) -> tuple[dict[tuple, tuple[float, float]],
                                                  list[str], list[int]]:
    """From quality_timing_cells.csv rows: per (activation, loss, depth, width,
    batch_size, method) the seconds per sample over all its cells (total seconds ÷ total
    samples, as quality_timing.csv has it) and the standard error over the cells (seeds ×
    reductions) of each cell's seconds per sample (NaN for one cell); also the reductions
    and the numbers of seeds seen."""
    per_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in cells:
        if r["samples"] > 0 and math.isfinite(r["seconds"]):
            per_key[tuple(r[c] for c in TIMING_KEY)].append(r)
    stats = {}
    for key, group in per_key.items():
        rates = [r["seconds"] / r["samples"] for r in group]
        mean = sum(r["seconds"] for r in group) / sum(r["samples"] for r in group)
        se = (float(np.std(rates, ddof=1) / math.sqrt(len(rates))) if len(rates) > 1
              else math.nan)
        stats[key] = (mean, se)
    reductions = sorted({r["reduction"] for r in cells})
    seeds = sorted({len({r["seed"] for r in g}) for g in per_key.values()})
    return stats, reductions, seeds


def fig_time_per_sample(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Mean seconds per sample of each method against hidden width (log-log), from
    quality_timing.csv, which has no parameter counts. One panel per activation/loss.
    The reference rows are lines of their own: `gradient` (one plain gradient, dashed)
    and `linearization` (the work all methods share per batch, dotted), which the
    methods' own times do not include. Error bars (s.e. over the cells: seeds and
    reductions) come from quality_timing_cells.csv when it is there. Trained networks'
    times are pooled over their steps (the files have no step column); the training
    itself is left out."""
    rows = [r for r in read_table(results / "quality_timing.csv", QUALITY_TIMING, where)
            if r["method"] != TRAINING]
    try:
        cells = read_table(results / "quality_timing_cells.csv", QUALITY_TIMING_CELLS,
                           where)
    except NoData as e:
        if "reduction" in (where or {}):  # quality_timing.csv pools the reductions
            raise NoData(f"{e} (quality_timing.csv pools the reductions)") from None
        cells = []
    stats, reductions, seeds = timing_from_cells(cells)
    if stats:  # the cells are the finer record (and --where reduction=... filters them)
        rows = [dict(r, seconds_per_sample=stats[k][0]) for r in rows
                if (k := tuple(r[c] for c in TIMING_KEY)) in stats]
        if not rows:
            raise NoData(f"{results / 'quality_timing_cells.csv'} has none of the rows of "
                         "quality_timing.csv")
    errors = {k: se for k, (_, se) in stats.items() if math.isfinite(se)}
    panel_cols = ["data", "activation", "loss", "depth", "batch_size"]
    groups = group_by(rows, panel_cols)
    shown = varying(rows, panel_cols)
    methods = ordered_methods(r["method"] for r in rows)
    dodge = dodge_offsets(m for m in methods if m not in _TIMING_REFERENCES)
    fig, axes = panel_grid(len(groups), panel_size=(3.5, 2.8), extra_height=1.7,
                           row_length=row_length(rows, panel_cols))
    drawn = set()
    for ax, (panel, group) in zip(axes, groups.items()):
        key = dict(zip(panel_cols, panel))
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            es = [errors.get(tuple(r[c] for c in TIMING_KEY), math.nan) for r in mr]
            if m in _TIMING_REFERENCES:  # a reference line: no error bars, no dodge
                es = None
            if _line(ax, [r["width"] for r in mr], [r["seconds_per_sample"] for r in mr],
                     m, es, dodge.get(m, 0.0)):
                drawn.add(m)
        ax.set_yscale("log")
        _log2_width_axis(ax, {r["width"] for r in group})
        ax.set_title(panel_title(key, shown))
    for ax in lowest_in_column(axes):
        ax.set_xlabel("hidden width")
    sizes = {r["batch_size"] for r in rows}
    ylabel = "seconds per sample"
    if sizes != {1}:
        ylabel += (f" (a batch's time ÷ {sizes.pop()})" if len(sizes) == 1
                   else " (a batch's time ÷ batch size)")
    fig.supylabel(ylabel, fontsize=9)
    handles = method_handles([m for m in drawn if m not in _TIMING_REFERENCES])
    handles += method_handles([m for m in drawn if m in _TIMING_REFERENCES],
                              labels=_TIMING_REFERENCES)
    figure_legend(fig, handles, column_width=1.7)
    settings = shared_settings(rows, panel_cols)
    if len(reductions) == 1:
        settings.append(f"{reductions[0]} reduction")
    else:  # quality_timing.csv pools the reductions of a grid point
        settings.append(f"{' and '.join(reductions) or 'all'} reductions pooled")
    if errors:
        settings.append(f"error bars: s.e. over {_span(seeds)} seeds"
                        + (f" × {len(reductions)} reductions" if len(reductions) > 1
                           else ""))
    figure_title(fig, "Time per sample of each method in the quality runs", settings)
    return save(fig, out, "fig4a_time_per_sample")


def _sweep_title(sweep: str, group: list[dict]) -> str:
    """E.g. 'depth sweep: depth 1–16\n(width 512, 64 inputs, 100 outputs)'; the batch size,
    one per cost run, is in the figure's subtitle."""
    fixed = []
    swept = ""
    for c in ["depth", "width", "inputs", "outputs", "batch_size"]:
        values = sorted({r[c] for r in group})
        if len(values) > 1:
            swept = swept or f"{c} {values[0]}–{values[-1]}"
        elif c != "batch_size":
            fixed.append(_LABELS[c](values[0]))
    return f"{sweep} sweep" + (f": {swept}" if swept else "") + f"\n({', '.join(fixed)})"


def fig_cost_ratio(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Per sweep of cost.csv (columns): median seconds (top) and ratio to one gradient
    (bottom) against the number of parameters, log-log, one line per method."""
    rows = read_table(results / "cost.csv", COST, where)
    order = {"depth": 0, "width": 1, "outputs": 2}
    sweeps = sorted({r["sweep"] for r in rows}, key=lambda s: (order.get(s, 9), s))
    fig, axes = panel_grid(2 * len(sweeps), panel_size=(3.5, 2.5), max_cols=len(sweeps),
                           extra_height=1.8)
    drawn = set()
    for col, sweep in enumerate(sweeps):
        group = [r for r in rows if r["sweep"] == sweep]
        top, bottom = axes[col], axes[len(sweeps) + col]
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            xs = [r["n_params"] for r in mr]
            if _line(top, xs, [r["median_seconds"] for r in mr], m):
                drawn.add(m)
            _line(bottom, xs, [r["ratio_to_gradient"] for r in mr], m)
        for ax in (top, bottom):
            _param_count_axis(ax)
            ax.set_yscale("log")
        top.set_title(_sweep_title(sweep, group), fontsize=8.5)
        bottom.set_xlabel("number of parameters")
        if col == 0:
            top.set_ylabel("median seconds per step")
            bottom.set_ylabel("time ÷ one gradient")
    handles = method_handles([m for m in drawn if m != "gradient"])
    if "gradient" in drawn:
        handles += method_handles(["gradient"], labels={"gradient": "gradient (= 1)"})
    figure_legend(fig, handles)
    reps = sorted({r["reps"] for r in rows if r["reps"] > 0})
    settings = [f"batch size {_span(r['batch_size'] for r in rows)}", "mean reduction",
                 f"median of {_span(reps)} timed rounds" if reps else "nothing timed",
                 "bottom: each round's time ÷ the gradient's in the same round"]
    figure_title(fig, "Cost of each method against network size", settings)
    return save(fig, out, "fig4b_cost_ratio")


# ---------------------------------------------------------------------------------------
# Figure 7: normalized L1 error per method before and after training (ICML 2024)
# ---------------------------------------------------------------------------------------

# The columns that define one trained network, measured at several steps.
NETWORK = [c for c in CELL if c != "step"]


def trained_networks(rows: list[dict], at_least: int) -> dict[tuple, list[dict]]:
    """rows (of quality_summary.csv) by NETWORK, only the networks measured at `at_least`
    training steps or more."""
    return {key: group for key, group in group_by(rows, NETWORK).items()
            if len({r["step"] for r in group}) >= at_least}


def steps_present(rows: list[dict]) -> str:
    """'0, 1000' (the distinct steps of rows), for a skip message."""
    return ", ".join(map(str, sorted({r["step"] for r in rows})))


def network_settings(rows: list[dict]) -> list[str]:
    """shared_settings of the NETWORK columns, with the network as one item
    '784→64×3→10 (59,210 parameters)' after the data set's name in place of width and
    depth when every row has the same recorded sizes."""
    sizes = {(r["inputs"], r["width"], r["depth"], r["outputs"], r["n_params"])
             for r in rows}
    if len(sizes) != 1 or None in next(iter(sizes)):
        return shared_settings(rows, NETWORK)
    inputs, width, depth, outputs, n_params = sizes.pop()
    settings = shared_settings(rows, [c for c in NETWORK if c not in ("width", "depth")])
    data_named = len({r["data"] for r in rows}) == 1
    settings.insert(1 if data_named else 0,
                    f"{inputs}→{width}×{depth}→{outputs} ({n_params:,} parameters)")
    return settings


def accuracies_reached(results: Path, where: dict | None, networks: dict,
                    shown: list[str]) -> str | None:
    """'test accuracy after 1,000 steps: relu 93.1%, tanh 92.4%' (with several settings
    per panel: 'relu, width 32 93.5%; …') from quality_training_summary.csv: each
    network's mean over seeds at its last step, named by its panel title; None without
    that file (or when it has none of the networks)."""
    try:
        training = read_table(results / "quality_training_summary.csv",
                              QUALITY_TRAINING_SUMMARY, where)
    except NoData:
        return None
    columns = [c for c in QUALITY_TRAINING_SUMMARY[0] if c in NETWORK]
    accuracy = {tuple(r[c] for c in columns) + (r["step"],): r["test_accuracy"]
                for r in training}
    parts, last_steps = [], set()
    for key, group in networks.items():
        network = dict(zip(NETWORK, key))
        last = max(r["step"] for r in group)
        value = accuracy.get(tuple(network[c] for c in columns) + (last,))
        if value is not None and math.isfinite(value):
            name = panel_title(network, shown)
            parts.append(f"{name} {value:.1%}" if name else f"{value:.1%}")
            last_steps.add(last)
    if not parts:
        return None
    at = f"after {last_steps.pop():,} steps" if len(last_steps) == 1 else "at the last step"
    # panel titles with several settings ('relu, width 32') are set apart by semicolons
    separator = "; " if any("," in part for part in parts) else ", "
    return f"test accuracy {at}: {separator.join(parts)}"


def fig_trained_normalized_l1(results: Path, out: Path,
                              where: dict | None = None) -> list[Path]:
    """The ICML 2024 paper's quality figure: per method, the normalized L1 error (mean
    error / hesscale's, layer=all) of the network at its first measured step (normally
    untrained; light, hatched bars) and at its last (solid bars) side by side, with the
    per-seed ratios as dots and error bars ± the s.e. over seeds of the ratio; one panel
    per network (activation, and any other setting that varies). Only networks measured
    at two steps or more are drawn. Round-off errors get a "≈0" mark as in fig1. The
    subtitle gives the data, the architecture, seeds × samples and, from
    quality_training_summary.csv when present, the test accuracy reached."""
    rows, ratios = _normalized_rows(results, where)
    networks = trained_networks(rows, 2)
    if not networks:
        raise NoData(f"{results / 'quality_summary.csv'} has only step(s) "
                     f"{steps_present(rows)} per network: needs two training steps or more")
    rows = [r for group in networks.values() for r in group]
    shown = varying(rows, NETWORK)
    methods = [m for m in ordered_methods(r["method"] for r in rows) if m != "exact"]
    slot = {m: i for i, m in enumerate(methods)}
    fig, axes = panel_grid(len(networks), panel_size=(5.2, 2.8), max_cols=2,
                           extra_height=1.8, row_length=row_length(rows, NETWORK))
    marks, with_bars, pairs = [], [], set()
    for ax, (key, group) in zip(axes, networks.items()):
        steps = sorted({r["step"] for r in group})
        pair = (steps[0], steps[-1])
        pairs.add(pair)
        ax.set_title(panel_title(dict(zip(NETWORK, key)), shown))
        by_step = {s: {r["method"]: r for r in group if r["step"] == s} for s in pair}
        if not any(math.isfinite(by_method[m]["normalized_l1"])
                   for by_method in by_step.values() for m in methods if m in by_method):
            note_panel(ax, undefined_normalization(by_step[pair[-1]]))
            continue
        with_bars.append(ax)
        cell = {s: tuple({**dict(zip(NETWORK, key)), "step": s}[c] for c in CELL)
                for s in pair}
        panel = [_bar_series(ax, slot, by_step[s], ratios.get(cell[s], {}),
                             offset=offset, width=0.4, faded=faded)
                 for s, offset, faded in ((pair[0], -0.2, True), (pair[1], 0.2, False))]
        # one mark in the middle of the slot where both are round-off
        before, after = (set(series["roundoff"]) for series in panel)
        _roundoff_marks(ax, {m: slot[m] + (0.0 if m in before and m in after
                                           else -0.2 if m in before else 0.2)
                             for m in before | after})
        _bar_axes(ax, methods, _any_marks(panel))
        marks += panel
    _name_slots_below(with_bars)
    if with_bars:
        fig.supylabel("normalized L1 error\n(hesscale = 1, log scale)", fontsize=9)
    if len(pairs) == 1:
        first, last = (step_label(s) for s in pairs.pop())
    else:
        first, last = "first step measured", "last step measured"
    bars = [Patch(facecolor=to_rgba("0.45", 0.28), edgecolor="0.45", hatch="////",
                  linewidth=0, label=first),
            Patch(color="0.45", label=f"{last} (colour: method)")]
    figure_legend(fig, _bar_legend(_any_marks(marks), bars), column_width=2.6)
    settings = network_settings(rows) + [seeds_and_samples(rows)]
    accuracy = accuracies_reached(results, where, networks, shown)
    if accuracy:
        settings.append(accuracy)
    figure_title(fig, "L1 error of each method relative to HesScale's, before and after "
                      "training", settings)
    return save(fig, out, "fig7_trained_normalized_l1")


# ---------------------------------------------------------------------------------------
# Figure 8: normalized L1 error against the training step
# ---------------------------------------------------------------------------------------

def _step_axis(ax, steps) -> None:
    """A symlog x axis of training steps: linear up to the first step after 0,
    logarithmic above it, ticks at the steps measured."""
    steps = sorted(steps)
    first = min([s for s in steps if s > 0], default=1)
    ax.set_xscale("symlog", linthresh=first, linscale=0.6)
    ax.xaxis.set_major_locator(FixedLocator(steps))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(-0.3 * first if steps[0] == 0 else steps[0] / 1.5, steps[-1] * 1.5)


def fig_normalized_l1_vs_step(results: Path, out: Path,
                              where: dict | None = None) -> list[Path]:
    """Normalized L1 error (layer=all) against the training step, one line per method
    (exact left out of the log axis) with error bars ± the s.e. over seeds of the
    per-seed ratio, on a symlog step axis; one panel per network measured at more than
    two steps (activation, and any other setting that varies). Round-off points and
    undefined normalizations are named under the panel title as in fig3."""
    path = results / "quality_summary.csv"
    all_rows = [r for r in read_table(path, QUALITY_SUMMARY, where) if r["layer"] == "all"]
    networks = trained_networks([r for r in all_rows if r["method"] != "exact"], 3)
    if not networks:
        raise NoData(f"{path} has only step(s) {steps_present(all_rows)} per network: "
                     "needs three training steps or more")
    rows = [r for group in networks.values() for r in group]
    fig, axes = panel_grid(len(networks), panel_size=(4.2, 3.0), max_cols=2,
                           extra_height=1.8, row_length=row_length(rows, NETWORK))
    drawn, plotted = _normalized_l1_lines(axes, networks, all_rows, NETWORK, "step",
                                          _step_axis)
    for ax in lowest_in_column(plotted):
        ax.set_xlabel("training steps")
    fig.supylabel("normalized L1 error (hesscale = 1)", fontsize=9)
    figure_legend(fig, method_handles(drawn))
    settings = network_settings(rows) + [seeds_and_samples(rows),
                                         "error bars: s.e. over seeds"]
    figure_title(fig, "L1 error relative to HesScale's as the network trains", settings)
    return save(fig, out, "fig8_normalized_l1_vs_step")


# (file name, function, what it shows) in the order they are made.
# ---------------------------------------------------------------------------------------
# Figure 11: error against cost (the estimators at equal cost)
# ---------------------------------------------------------------------------------------

def error_vs_cost_points(summary: list[dict], cost: list[dict]) -> dict[tuple, dict]:
    """Per grid point (CELL without the reduction) and method: (cost, error) for the
    `layer = all` summary rows with a cost in backward-pass equivalents at the same grid
    point (quality_timing.csv has no reduction or step: one cost serves them all). The
    error is the normalized L1 (÷ hesscale's) where there is one, else the relative L1."""
    costs = {tuple(r[c] for c in TIMING_KEY): r["backward_equivalents"] for r in cost
             if positive(r["backward_equivalents"])}
    normalized = any(positive(r["normalized_l1"]) for r in summary)
    points: dict[tuple, dict] = defaultdict(dict)
    for r in summary:
        if r["layer"] != "all":
            continue
        key = tuple(r[c] for c in TIMING_KEY)
        error = r["normalized_l1"] if normalized else r["relative_l1"]
        if key in costs and positive(error):
            panel = tuple(r[c] for c in CELL)
            points[panel][r["method"]] = (costs[key], error)
    return points


def fig_error_vs_cost(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Each method's error (normalized L1, layer all) against its cost in backward-pass
    equivalents (quality_timing.csv), log-log, one panel per grid point: one point per
    deterministic method, one line per stochastic family over its sample counts M (the
    points labelled with M). The exact diagonal (error 0) is left out. Lower left is
    better; a family's line shows what more draws buy."""
    summary = read_table(results / "quality_summary.csv", QUALITY_SUMMARY, where)
    try:
        cost = read_table(results / "quality_timing.csv", QUALITY_COST, where)
    except BadData as e:
        raise NoData(f"{e} (written before quality measured costs)") from None
    points = error_vs_cost_points(summary, cost)
    if not points:
        raise NoData(f"{results} has no method with both an error and a cost")
    normalized = any(positive(r["normalized_l1"]) for r in summary)
    panels = sorted(points)
    shown = varying([dict(zip(CELL, p)) for p in panels], CELL)
    fig, axes = panel_grid(len(panels), panel_size=(4.2, 3.0), max_cols=2, extra_height=1.8)
    drawn = set()
    for ax, panel in zip(axes, panels):
        by_method = points[panel]
        families: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for m in by_method:
            family, _, draws = m.partition(":")
            families[family].append((int(draws) if draws else 0, m))
        for family, members in families.items():
            members.sort()
            xs = [by_method[m][0] for _, m in members]
            ys = [by_method[m][1] for _, m in members]
            label = members[-1][1] if len(members) > 1 else members[0][1]
            style = method_style(label)
            if len(members) > 1:
                style = dict(style, ls="-", markerfacecolor=style["color"])
            ax.plot(xs, ys, **style, label=family)
            drawn.add(label)
            if len(members) > 1:
                for (draws, _), x, y in zip(members, xs, ys):
                    ax.annotate(str(draws), (x, y), textcoords="offset points",
                                xytext=(3, 2), fontsize=6, color=style["color"])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(panel_title(dict(zip(CELL, panel)), shown))
        ax.set_xlabel("cost (backward-pass equivalents)")
    fig.supylabel("normalized L1 error (hesscale = 1)" if normalized
                  else "relative L1 error", fontsize=9)
    families = {}
    for m in ordered_methods(drawn):
        families.setdefault(m.partition(":")[0], m)
    handles = method_handles(list(families.values()),
                             labels={m: (f"{f}:M" if ":" in m else f)
                                     for f, m in families.items()})
    figure_legend(fig, handles, column_width=1.7)
    settings = shared_settings([dict(zip(CELL, p)) for p in panels], CELL)
    settings.append(seeds_and_samples([r for r in summary if r["layer"] == "all"]))
    settings.append("cost: median over cells of a method's time on its own ÷ the gradient's")
    figure_title(fig, "Error against cost of every method",
                 settings)
    return save(fig, out, "fig11_error_vs_cost")


FIGURES = [
    ("fig1_normalized_l1", fig_normalized_l1, "normalized L1 error per method"),
    ("fig2_l1_per_layer", fig_l1_per_layer, "L1 error per layer"),
    ("fig3_normalized_l1_vs_width", fig_normalized_l1_vs_width,
     "normalized L1 error against width"),
    ("fig4a_time_per_sample", fig_time_per_sample, "time per sample against width"),
    ("fig4b_cost_ratio", fig_cost_ratio, "cost ratio to the gradient"),
    ("fig7_trained_normalized_l1", fig_trained_normalized_l1,
     "normalized L1 error before and after training"),
    ("fig8_normalized_l1_vs_step", fig_normalized_l1_vs_step,
     "normalized L1 error against the training step"),
    ("fig11_error_vs_cost", fig_error_vs_cost, "error against cost, every method"),
]
