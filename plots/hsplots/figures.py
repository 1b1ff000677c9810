"""The figures. Each function reads the CSVs it needs from a results directory, writes
`<name>.png` and `<name>.pdf` to the output directory and returns the paths written. A
missing or empty CSV raises data.NoData; an unusable one raises data.BadData."""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory
from matplotlib.ticker import (
    EngFormatter,
    FixedLocator,
    LogLocator,
    NullFormatter,
    NullLocator,
    ScalarFormatter,
)

from .data import (
    COST,
    QUALITY_RUNS,
    ROUNDOFF,
    QUALITY_SUMMARY,
    QUALITY_TIMING,
    NoData,
    group_by,
    is_roundoff,
    positive,
    read_table,
    split_roundoff,
    varying,
)
from .style import method_color, ordered_methods, panel_grid, save

# The columns that define one quality cell (one network configuration).
CELL = ["activation", "loss", "reduction", "depth", "width", "batch_size"]

_LABELS = {
    "activation": lambda v: str(v),
    "loss": lambda v: str(v),
    "reduction": lambda v: f"{v} reduction",
    "depth": lambda v: f"depth {v}",
    "width": lambda v: f"width {v}",
    "batch_size": lambda v: f"batch {v}",
    "inputs": lambda v: f"{v} inputs",
    "outputs": lambda v: f"{v} outputs",
}


def describe(key: dict, always: list[str], rows: list[dict], maybe: list[str]) -> str:
    """A panel title: the `always` columns, then those of `maybe` that vary in rows."""
    shown = always + [c for c in varying(rows, maybe) if c not in always]
    return ", ".join(_LABELS[c](key[c]) for c in shown)


def method_handles(methods, kind="line") -> list:
    """Legend handles, one per method in canonical order, in the method's colour."""
    handles = []
    for m in ordered_methods(methods):
        if kind == "patch":
            handles.append(Patch(color=method_color(m), label=m))
        else:
            dashed = m == "gradient"
            handles.append(Line2D([], [], color=method_color(m), marker="o", markersize=3.5,
                                  ls="--" if dashed else "-", label=m))
    return handles


def figure_legend(fig, handles, column_width: float = 1.45) -> None:
    """A legend below all panels: as many columns as fit in the figure's width (about
    column_width inches each), spread evenly over the fewest rows."""
    width_in = fig.get_size_inches()[0]
    fit = max(1, int(width_in / column_width))
    rows = -(-len(handles) // fit)
    fig.legend(handles=handles, loc="outside lower center", ncols=-(-len(handles) // rows))


def suptitle(fig, title: str, note: str = "") -> None:
    """The figure title (what a caption would say first) and, in a smaller font below it,
    a note on how to read it; both wrapped to the figure's width."""
    chars = max(40, int(fig.get_size_inches()[0] * 13))
    text = textwrap.fill(title, chars)
    if note:
        text += "\n" + textwrap.fill(note, int(chars * 1.1))
    fig.suptitle(text, fontsize=10)


def _param_count_axis(ax):
    """Log x axis of parameter counts with ticks at 1, 2, 5 × 10^k labelled 20k, 1M, ..."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _line(ax, xs, ys, method, **kwargs):
    """One method's line (points with non-positive or missing y are dropped)."""
    pts = sorted((x, y) for x, y in zip(xs, ys) if positive(y))
    if not pts:
        return
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color=method_color(method),
            marker="o", markersize=3.5, lw=1.2, ls="--" if method == "gradient" else "-",
            label=method, **kwargs)


def _log2_width_axis(ax, widths):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(widths)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())


def _no_data(ax, text="no drawable values"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


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


def fig_normalized_l1(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Bars: normalized L1 error (mean error / hesscale's) per method; dots: per-seed
    ratios; error bars: mean ± s.e. of the per-seed ratio. One panel per cell. A method
    whose normalized error is at round-off level gets a "≈0" mark at the bottom of its
    slot instead of a bar, so that the log axis spans only the drawable errors."""
    summary = read_table(results / "quality_summary.csv", QUALITY_SUMMARY, where)
    rows = [r for r in summary if r["layer"] == "all"]
    if not rows:
        raise NoData(f"{results / 'quality_summary.csv'} has no layer=all rows")
    try:
        ratios = per_seed_ratios(read_table(results / "quality_runs.csv", QUALITY_RUNS,
                                            where))
    except NoData:
        ratios = {}

    groups = group_by(rows, CELL)
    fig, axes = panel_grid(len(groups), panel_size=(5.0, 4.0))
    drew = {"dots": False, "errorbars": False, "roundoff": False}
    for ax, (cell, group) in zip(axes, groups.items()):
        key = dict(zip(CELL, cell))
        by_method = {r["method"]: r for r in group}
        # exact is the reference (error 0 by definition) and is left out.
        errors = {m: by_method[m]["normalized_l1"] for m in ordered_methods(by_method)
                  if m != "exact"}
        drawable, roundoff = split_roundoff(errors)
        methods = [m for m in errors if m in drawable or m in roundoff]
        ax.set_title(describe(key, ["activation", "loss", "width"], rows, CELL))
        ax.set_yscale("log", nonpositive="clip")
        ax.set_ylabel("normalized L1 error\n(hesscale = 1)")
        if not methods:
            _no_data(ax, "no normalized errors (is hesscale missing?)")
            continue
        x = np.arange(len(methods))
        slot = {m: i for i, m in enumerate(methods)}
        bars = list(drawable)
        if bars:
            ax.bar([slot[m] for m in bars], [drawable[m] for m in bars], width=0.7,
                   color=[method_color(m) for m in bars], edgecolor="none", zorder=2)

        means = np.array([by_method[m]["ratio_mean"] for m in bars], dtype=float)
        ses = np.array([by_method[m]["ratio_se"] for m in bars], dtype=float)
        ok = np.isfinite(means) & np.isfinite(ses) & (means >= ROUNDOFF)
        if ok.any():
            ax.errorbar(np.array([slot[m] for m in bars])[ok], means[ok], yerr=ses[ok],
                        fmt="none", ecolor="0.15", elinewidth=0.9, capsize=2.5, zorder=4)
            drew["errorbars"] = True

        cell_ratios = ratios.get(cell, {})
        for m in bars:
            r = [v for v in cell_ratios.get(m, []) if positive(v) and not is_roundoff(v)]
            if r:
                offsets = np.linspace(-0.2, 0.2, len(r)) if len(r) > 1 else np.zeros(1)
                ax.scatter(slot[m] + offsets, r, s=7, color="0.1", alpha=0.5,
                           linewidths=0, zorder=3)
                drew["dots"] = True

        at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for m in roundoff:
            ax.text(slot[m], 0.02, ROUNDOFF_MARK, transform=at_bottom, ha="center",
                    va="bottom", fontsize=8, fontweight="bold", color=method_color(m))
            drew["roundoff"] = True

        ax.axhline(1.0, color=method_color("hesscale"), ls="--", lw=0.9, zorder=1)
        if not bars:  # only round-off errors: show a decade around the hesscale line
            ax.set_ylim(0.1, 10)
        elif roundoff:  # room for the marks below the hesscale line and the lowest bar
            low, high = ax.get_ylim()
            ax.set_ylim(min(low, 1.0) / 3, high)
        ax.set_xticks(x, methods, rotation=55, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(methods) - 0.4)

    handles = [Patch(color="0.6", label="mean L1 error ÷ hesscale's (bar colour: method)")]
    if drew["dots"]:
        handles.append(Line2D([], [], ls="none", marker="o", markersize=3, color="0.1",
                              alpha=0.5, label="per-seed ratio"))
    if drew["errorbars"]:
        handles.append(Line2D([], [], ls="none", marker="|", markersize=8, color="0.15",
                              label="mean ± s.e. of per-seed ratios"))
    handles.append(Line2D([], [], ls="--", lw=0.9, color=method_color("hesscale"),
                          label="hesscale = 1"))
    if drew["roundoff"]:
        handles.append(Line2D([], [], ls="none", marker="$≈0$", markersize=11,
                              color="0.2", label="round-off level: equals exact"))
    figure_legend(fig, handles, column_width=2.9)
    suptitle(fig, "Normalized L1 error of Hessian-diagonal approximations relative to "
             "HesScale (log scale)",
             f"exact, the reference, is left out; ≈0 marks an error below "
             f"{_ROUNDOFF_TEXT} × HesScale's (floating-point round-off: the method equals "
             "the exact diagonal there, e.g. ggn in ReLU networks)")
    return save(fig, out, "fig1_normalized_l1")


# ---------------------------------------------------------------------------------------
# Figure 2: L1 error per layer
# ---------------------------------------------------------------------------------------

def _layer_roundoff(row: dict) -> bool:
    """A per-layer error that is 0 or round-off relative to the exact diagonal's size."""
    return row["mean_l1"] == 0 or is_roundoff(row["relative_l1"])


def fig_l1_per_layer(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Grouped bars of the mean L1 error per sample of each layer (weight + bias) for
    every method, symlog y axis, error bars = s.e. over seeds. One panel per cell. An
    error that is 0 or round-off relative to the exact diagonal is a flat bar at 0, and
    the symlog's linear range is set by the other errors."""
    summary = read_table(results / "quality_summary.csv", QUALITY_SUMMARY, where)
    rows = [dict(r, layer=int(r["layer"])) for r in summary
            if r["layer"] != "all" and r["layer"].isdigit()]
    if not rows:
        raise NoData(f"{results / 'quality_summary.csv'} has no per-layer rows")
    groups = group_by(rows, CELL)
    all_methods = ordered_methods(r["method"] for r in rows)
    n_methods = len(all_methods)
    n_layers = max(len({r["layer"] for r in g}) for g in groups.values())
    fig, axes = panel_grid(len(groups), panel_size=(max(4.2, 1.3 * n_layers + 1.3), 3.3))
    for ax, (cell, group) in zip(axes, groups.items()):
        key = dict(zip(CELL, cell))
        layers = sorted({r["layer"] for r in group})
        values = {(r["method"], r["layer"]): r for r in group}
        bar_w = 0.84 / n_methods
        finite = [r["mean_l1"] for r in group
                  if positive(r["mean_l1"]) and not _layer_roundoff(r)]
        for j, m in enumerate(all_methods):
            xs, ys, es, flat = [], [], [], []
            for li, layer in enumerate(layers):
                r = values.get((m, layer))
                if r is None or not math.isfinite(r["mean_l1"]):
                    continue
                x = li - 0.42 + bar_w * (j + 0.5)
                if _layer_roundoff(r):
                    flat.append(x)
                    continue
                xs.append(x)
                ys.append(r["mean_l1"])
                es.append(r["se_l1"] if math.isfinite(r["se_l1"]) else 0.0)
            if xs:
                ax.bar(xs, ys, width=bar_w, color=method_color(m), edgecolor="none",
                       yerr=es, error_kw={"elinewidth": 0.6, "capsize": 1.0,
                                          "ecolor": "0.25"})
            if flat:
                ax.hlines([0.0] * len(flat), [x - bar_w / 2 for x in flat],
                          [x + bar_w / 2 for x in flat], colors=method_color(m), lw=2.5,
                          zorder=3, clip_on=False)
        linthresh = 10 ** math.floor(math.log10(min(finite))) if finite else 1e-6
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.set_ylim(bottom=0)
        last = key["depth"] + 1 if isinstance(key["depth"], int) else max(layers)
        ax.set_xticks(range(len(layers)),
                      [f"{layer}\n(output)" if layer == last else str(layer)
                       for layer in layers])
        ax.set_xlabel("layer (weight + bias)")
        ax.set_ylabel(f"mean L1 error per sample\n(linear below {linthresh:.0e})")
        ax.set_title(describe(key, ["activation", "loss", "width"], rows, CELL))
    figure_legend(fig, method_handles(all_methods, kind="patch"))
    suptitle(fig, "Mean L1 error per sample of each Hessian-diagonal approximation, layer by "
             "layer (symlog scale; error bars: s.e. over seeds)",
             f"a flat bar at 0: error 0 or below {_ROUNDOFF_TEXT} of the exact diagonal's "
             "L1 size (round-off), i.e. the method is exact in that layer")
    return save(fig, out, "fig2_l1_per_layer")


# ---------------------------------------------------------------------------------------
# Figure 3: normalized L1 error against width
# ---------------------------------------------------------------------------------------

def fig_normalized_l1_vs_width(results: Path, out: Path,
                               where: dict | None = None) -> list[Path]:
    """Normalized L1 error (layer=all) against hidden width, one line per method (exact
    left out of the log axis). One panel per activation/loss (and other varying settings).
    Points at round-off level are dropped; the panel title names their methods."""
    path = results / "quality_summary.csv"
    summary = read_table(path, QUALITY_SUMMARY, where)
    rows = [r for r in summary if r["layer"] == "all" and r["method"] != "exact"]
    panel_cols = ["activation", "loss", "reduction", "depth", "batch_size"]
    groups = group_by(rows, panel_cols)
    if not any(len({r["width"] for r in g}) > 1 for g in groups.values()):
        widths = sorted({r["width"] for r in rows})
        raise NoData(f"{path} has only width {', '.join(map(str, widths))}: "
                     "needs two widths or more")
    fig, axes = panel_grid(len(groups), panel_size=(4.2, 3.6))
    drawn = set()
    for ax, (panel, group) in zip(axes, groups.items()):
        key = dict(zip(panel_cols, panel))
        dropped = []
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            kept = [r for r in mr if not is_roundoff(r["normalized_l1"])]
            gone = [str(r["width"]) for r in mr if is_roundoff(r["normalized_l1"])]
            if gone:
                dropped.append(f"{m} at width {', '.join(gone)}" if kept else m)
            if any(positive(r["normalized_l1"]) for r in kept):
                drawn.add(m)
            _line(ax, [r["width"] for r in kept], [r["normalized_l1"] for r in kept], m)
        ax.axhline(1.0, color=method_color("hesscale"), ls=":", lw=0.8, zorder=0)
        ax.set_yscale("log")
        _log2_width_axis(ax, {r["width"] for r in group})
        ax.set_xlabel("hidden width (units per layer)")
        ax.set_ylabel("normalized L1 error\n(hesscale = 1)")
        title = describe(key, ["activation", "loss"], rows, panel_cols)
        if dropped:
            note = f"not drawn, {ROUNDOFF_MARK} (round-off): {'; '.join(dropped)}"
            title += "\n" + textwrap.fill(note, 48)
        ax.set_title(title)
    figure_legend(fig, method_handles(drawn))
    suptitle(fig, "Normalized L1 error of each approximation against network width "
             "(log–log)",
             f"exact, the reference, is left out; points below {_ROUNDOFF_TEXT} × "
             f"HesScale's error (round-off: the method equals the exact diagonal) are not "
             f"drawn, and the panel title names them ({ROUNDOFF_MARK})")
    return save(fig, out, "fig3_normalized_l1_vs_width")


# ---------------------------------------------------------------------------------------
# Figure 4: cost
# ---------------------------------------------------------------------------------------

def fig_time_per_sample(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Mean seconds per sample of each method against hidden width (log-log), from
    quality_timing.csv, which has no parameter counts. One panel per activation/loss."""
    rows = read_table(results / "quality_timing.csv", QUALITY_TIMING, where)
    panel_cols = ["activation", "loss", "depth", "batch_size"]
    groups = group_by(rows, panel_cols)
    fig, axes = panel_grid(len(groups), panel_size=(4.2, 3.6))
    for ax, (panel, group) in zip(axes, groups.items()):
        key = dict(zip(panel_cols, panel))
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            _line(ax, [r["width"] for r in mr], [r["seconds_per_sample"] for r in mr], m)
        ax.set_yscale("log")
        _log2_width_axis(ax, {r["width"] for r in group})
        ax.set_xlabel("hidden width (units per layer)")
        ax.set_ylabel("seconds per sample")
        ax.set_title(describe(key, ["activation", "loss", "depth"], rows, panel_cols))
    figure_legend(fig, method_handles(r["method"] for r in rows))
    suptitle(fig, "Time per sample of each method in the quality runs against hidden width "
             "(log–log)",
             "quality_timing.csv has no parameter counts, so width stands in for network "
             "size; fig4b (cost runs) is the controlled measurement")
    return save(fig, out, "fig4a_time_per_sample")


def _sweep_title(sweep: str, group: list[dict]) -> str:
    """E.g. 'depth sweep: depth 1–16 (width 512, 64 inputs, 100 outputs, batch 1)'."""
    fixed = []
    swept = ""
    for c in ["depth", "width", "inputs", "outputs", "batch_size"]:
        values = sorted({r[c] for r in group})
        if len(values) > 1:
            swept = swept or f"{c} {values[0]}–{values[-1]}"
        else:
            fixed.append(_LABELS[c](values[0]))
    return f"{sweep} sweep" + (f": {swept}" if swept else "") + f"\n({', '.join(fixed)})"


def fig_cost_ratio(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Per sweep of cost.csv (columns): median seconds (top) and ratio to one gradient
    (bottom) against the number of parameters, log-log, one line per method."""
    rows = read_table(results / "cost.csv", COST, where)
    order = {"depth": 0, "width": 1, "outputs": 2}
    sweeps = sorted({r["sweep"] for r in rows}, key=lambda s: (order.get(s, 9), s))
    fig, axes = panel_grid(2 * len(sweeps), panel_size=(4.0, 3.0), max_cols=len(sweeps))
    for col, sweep in enumerate(sweeps):
        group = [r for r in rows if r["sweep"] == sweep]
        top, bottom = axes[col], axes[len(sweeps) + col]
        for m in ordered_methods(r["method"] for r in group):
            mr = [r for r in group if r["method"] == m]
            xs = [r["n_params"] for r in mr]
            _line(top, xs, [r["median_seconds"] for r in mr], m)
            _line(bottom, xs, [r["ratio_to_gradient"] for r in mr], m)
        for ax in (top, bottom):
            _param_count_axis(ax)
            ax.set_yscale("log")
        top.set_title(_sweep_title(sweep, group))
        top.set_ylabel("median seconds per step")
        bottom.set_ylabel("time ÷ one gradient")
        bottom.set_xlabel("number of parameters")
    figure_legend(fig, method_handles(r["method"] for r in rows))
    suptitle(fig, "Computational cost of each method against network size (log–log)",
             "top: median time per step; bottom: that time divided by one gradient "
             "computation measured in the same run (gradient = 1, dashed)")
    return save(fig, out, "fig4b_cost_ratio")


# (file name, function, what it shows) in the order they are made.
FIGURES = [
    ("fig1_normalized_l1", fig_normalized_l1, "normalized L1 error per method"),
    ("fig2_l1_per_layer", fig_l1_per_layer, "L1 error per layer"),
    ("fig3_normalized_l1_vs_width", fig_normalized_l1_vs_width,
     "normalized L1 error against width"),
    ("fig4a_time_per_sample", fig_time_per_sample, "time per sample against width"),
    ("fig4b_cost_ratio", fig_cost_ratio, "cost ratio to the gradient"),
]
