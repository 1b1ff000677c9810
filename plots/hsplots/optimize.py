"""The figures of `hesscale-cli optimize` (SPEC §9): learning curves at each optimizer's
best step size, and the step-size sensitivity of every optimizer with and without the
hesscale step-size scaling. Each function reads the CSVs it needs from a results
directory, writes `<name>.png` and `<name>.pdf` and returns the paths written; a missing
or empty CSV raises data.NoData, an unusable one data.BadData."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, NullFormatter, PercentFormatter

from .data import OPTIMIZE_CURVES, OPTIMIZE_SUMMARY, NoData, group_by, read_table
from .style import method_color, panel_grid, save

# The columns that define one network (and data set) of an optimize study.
NETWORK = ["data", "activation", "depth", "width", "batch_size"]

# The optimizers in legend order, each in the colour of the diagonal it squares (adam's
# g² is grad_squared's colour; sgd, which squares nothing, is black).
OPTIMIZER_ORDER = ["sgd", "adam", "adahessian", "adaggnmc", "adahesscale", "adahesscale_gn"]
_CURVATURE = {"adam": "grad_squared", "adahessian": "hutchinson:1", "adaggnmc": "ggn_mc:50",
              "adahesscale": "hesscale", "adahesscale_gn": "hesscale_gn"}
_MARKERS = {"sgd": "o", "adam": "s", "adahessian": "X", "adaggnmc": "v", "adahesscale": "D",
            "adahesscale_gn": "^"}

# The accuracy a diverged run counts at from its divergence on (as in the summary).
CHANCE = 0.1


def optimizer_color(optimizer: str) -> str:
    """The colour of an optimizer: that of the method whose diagonal it squares."""
    return "#000000" if optimizer == "sgd" else method_color(_CURVATURE.get(optimizer,
                                                                            optimizer))


def series_style(optimizer: str, scaling: str) -> dict:
    """Keyword arguments of Axes.plot for a series: the optimizer's colour and marker;
    the scaled variant dashed with hollow markers."""
    color = optimizer_color(optimizer)
    style = {"color": color, "marker": _MARKERS.get(optimizer, "o"), "markersize": 4,
             "lw": 1.3, "ls": "-", "markeredgecolor": color, "markerfacecolor": color}
    if scaling != "none":
        style.update(ls=(0, (4, 1.6)), markerfacecolor="white", markeredgewidth=1.0)
    return style


def series_label(optimizer: str, scaling: str, delta: float | None, deltas: int) -> str:
    """'adam' or 'adam + scaling' ('… (δ 1e-4)' when the study has several δ)."""
    if scaling == "none":
        return optimizer
    return f"{optimizer} + scaling" + (f" (δ {delta:g})" if deltas > 1 else "")


def _series_key(key: tuple) -> tuple:
    """Sorts (optimizer, scaling) by optimizer (in OPTIMIZER_ORDER), unscaled first."""
    optimizer, scaling = key
    order = OPTIMIZER_ORDER.index(optimizer) if optimizer in OPTIMIZER_ORDER else 99
    return (order, optimizer, scaling != "none")


def _network_title(key: dict) -> str:
    """'mnist · tanh 784→64×3→10 · batch 32'."""
    return (f"{key['data']} · {key['activation']} 784→{key['width']}×{key['depth']}→10"
            f" · batch {key['batch_size']}")


def _mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (NaN for fewer than two values)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan
    return mean, float(np.std(values, ddof=1) / math.sqrt(len(values)))


def _legend(fig, axes) -> None:
    """One legend below the panels: the first panel's series."""
    handles, labels = axes[0].get_legend_handles_labels()
    columns = max(1, min(len(handles), int(fig.get_size_inches()[0] / 1.9)))
    fig.legend(handles, labels, loc="outside lower center", ncols=columns,
               handlelength=2.6, columnspacing=1.2)


def _subtitle(summary: list[dict]) -> str:
    """What every panel shares: seeds and steps per run."""
    seeds = sorted({r["seeds"] for r in summary})
    steps = sorted({r["steps"] for r in summary})
    span = lambda v: str(v[0]) if len(v) == 1 else f"{v[0]}–{v[-1]}"  # noqa: E731
    return f"{span(seeds)} seeds × {span(steps)} steps; mean over seeds"


def fig_learning_curves(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Test error, 1 − accuracy (left, log axis, so that the last points of accuracy
    stand apart), and training loss (right) against steps for every optimizer,
    unscaled (solid) and scaled (dashed), each at its own best step size (the summary's
    best_lr: the highest mean test accuracy over the run), mean over seeds with a band of
    ± one standard error. A diverged run counts at chance accuracy after its divergence
    and leaves the loss means."""
    summary = read_table(results / "optimize_summary.csv", OPTIMIZE_SUMMARY, where)
    curves = read_table(results / "optimize_curves.csv", OPTIMIZE_CURVES, where)
    best = {tuple(r[c] for c in NETWORK + ["optimizer", "scaling"]) + (_delta(r),): r["lr"]
            for r in summary if r["best_lr"] == "true"}
    if not best:
        raise NoData(f"{results / 'optimize_summary.csv'} marks no best step size")
    networks = group_by(curves, NETWORK)
    fig, axes = panel_grid(2 * len(networks), panel_size=(4.6, 3.2), max_cols=2,
                           extra_height=1.9)
    deltas = len({_delta(r) for r in summary if r["scaling"] != "none"})
    for index, (network, rows) in enumerate(networks.items()):
        acc_ax, loss_ax = axes[2 * index], axes[2 * index + 1]
        for (optimizer, scaling), series_rows in sorted(
                group_by(rows, ["optimizer", "scaling"]).items(),
                key=lambda kv: _series_key(kv[0])):
            for delta, delta_rows in _by_delta(series_rows).items():
                lr = best.get(network + (optimizer, scaling, delta))
                if lr is None:
                    continue
                runs = [r for r in delta_rows if r["lr"] == lr]
                _draw_curves(acc_ax, loss_ax, runs, optimizer, scaling,
                             f"{series_label(optimizer, scaling, delta, deltas)} "
                             f"(α {lr:g})")
        title = _network_title(dict(zip(NETWORK, network)))
        acc_ax.set_title(f"{title}\ntest error" if len(networks) > 1 else "test error")
        loss_ax.set_title("training loss (mean minibatch loss since the last evaluation)")
        acc_ax.set_ylabel("test error (1 − accuracy)")
        acc_ax.set_yscale("log")
        acc_ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        acc_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        acc_ax.yaxis.set_minor_formatter(NullFormatter())
        loss_ax.set_ylabel("cross-entropy")
        loss_ax.set_yscale("log")
        for ax in (acc_ax, loss_ax):
            ax.set_xlabel("step")
    _legend(fig, axes)
    shared = _network_title(dict(zip(NETWORK, next(iter(networks))))) \
        if len(networks) == 1 else "several networks"
    fig.suptitle(f"Learning curves at each optimizer's best step size α\n{shared} · "
                 f"{_subtitle(summary)} ± standard error; dashed: step-size scaling",
                 fontsize=10, linespacing=1.4)
    return save(fig, out, "fig5_learning_curves")


def _delta(row: dict) -> float | None:
    """The δ of a row, None without scaling (an empty field, read as NaN)."""
    return None if math.isnan(row["delta"]) else row["delta"]


def _by_delta(rows: list[dict]) -> dict[float | None, list[dict]]:
    """Rows grouped by δ, in increasing order (None, the unscaled runs, first)."""
    groups: dict[float | None, list[dict]] = {}
    for row in rows:
        groups.setdefault(_delta(row), []).append(row)
    return dict(sorted(groups.items(), key=lambda kv: -1.0 if kv[0] is None else kv[0]))


def _draw_curves(acc_ax, loss_ax, runs: list[dict], optimizer: str, scaling: str,
                 label: str) -> None:
    """Mean accuracy and training loss over the seeds of `runs` (curve rows of one step
    size) against the step, with ± one standard error bands."""
    seeds = group_by(runs, ["seed"])
    steps = sorted({r["step"] for r in runs if r["diverged"] != "true"})
    accuracy: dict[int, list[float]] = {s: [] for s in steps}
    loss: dict[int, list[float]] = {s: [] for s in steps}
    for seed_rows in seeds.values():
        diverged_at = min((r["step"] for r in seed_rows if r["diverged"] == "true"),
                          default=None)
        by_step = {r["step"]: r for r in seed_rows if r["diverged"] != "true"}
        for step in steps:
            row = by_step.get(step)
            if row is not None:
                accuracy[step].append(row["test_accuracy"])
                if math.isfinite(row["train_loss"]):
                    loss[step].append(row["train_loss"])
            elif diverged_at is not None and step >= diverged_at:
                accuracy[step].append(CHANCE)
    style = series_style(optimizer, scaling)
    error = {s: [1.0 - a for a in v] for s, v in accuracy.items()}
    for ax, values in ((acc_ax, error), (loss_ax, loss)):
        points = [(s, *_mean_se(v)) for s, v in values.items() if v]
        if not points:
            continue
        x = np.array([p[0] for p in points], dtype=float)
        y = np.array([p[1] for p in points])
        e = np.nan_to_num(np.array([p[2] for p in points]))
        ax.plot(x, y, label=label, markevery=max(1, len(x) // 8), **style)
        ax.fill_between(x, y - e, y + e, color=style["color"], alpha=0.12, lw=0)


def _variant_title(scaling: str, delta: float | None) -> str:
    """'without step-size scaling' or 'with the hesscale scaling, δ 0.0001'."""
    if scaling == "none":
        return "without step-size scaling"
    return f"with the {scaling} step-size scaling, δ {delta:g}"


def fig_step_size_sensitivity(results: Path, out: Path,
                              where: dict | None = None) -> list[Path]:
    """The mean test accuracy over the run (the area under the accuracy curve per
    evaluation, mean over seeds ± standard error) against the step size α on a log axis,
    one line per optimizer: a panel without the step-size scaling (solid lines) and one
    per δ with it (dashed), side by side on one y axis, a row per network. Points where
    some seed diverged are ringed in red; chance accuracy is dotted."""
    summary = read_table(results / "optimize_summary.csv", OPTIMIZE_SUMMARY, where)
    networks = group_by(summary, NETWORK)
    variants = sorted({(r["scaling"], _delta(r)) for r in summary},
                      key=lambda v: (v[0] != "none", v[1] or 0.0))
    fig, axes = panel_grid(len(networks) * len(variants), panel_size=(4.4, 3.6),
                           max_cols=len(variants), extra_height=1.9,
                           row_length=len(variants), sharey=True)
    lrs = sorted({r["lr"] for r in summary})
    diverged_any = False
    panels = iter(axes)
    for network, rows in networks.items():
        for scaling, delta in variants:
            ax = next(panels)
            chosen = [r for r in rows if r["scaling"] == scaling and _delta(r) == delta]
            for (optimizer, _), series in sorted(
                    group_by(chosen, ["optimizer", "scaling"]).items(),
                    key=lambda kv: _series_key(kv[0])):
                points = sorted(series, key=lambda r: r["lr"])
                x = np.array([r["lr"] for r in points])
                y = np.array([r["mean_test_accuracy"] for r in points])
                e = np.nan_to_num(np.array([r["mean_test_accuracy_se"] for r in points]))
                ax.errorbar(x, y, yerr=e, capsize=1.8, elinewidth=0.7, capthick=0.7,
                            label=series_label(optimizer, scaling, delta, 1),
                            **series_style(optimizer, scaling))
                bad = [r for r in points if int(r["diverged"]) > 0]
                if bad:
                    diverged_any = True
                    ax.plot([r["lr"] for r in bad], [r["mean_test_accuracy"] for r in bad],
                            ls="", marker="o", markersize=9, markerfacecolor="none",
                            markeredgecolor="#d62728", markeredgewidth=1.1)
            ax.axhline(CHANCE, color="0.5", ls=":", lw=1.0)
            ax.set_xscale("log")
            ax.set_xlim(lrs[0] / 2, lrs[-1] * 2)
            ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("step size α")
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            title = _variant_title(scaling, delta)
            if len(networks) > 1:
                title = f"{_network_title(dict(zip(NETWORK, network)))}\n{title}"
            ax.set_title(title)
    for ax in axes[::len(variants)]:
        ax.set_ylabel("mean test accuracy over the run")
    # One entry per optimizer (its colour and marker; the panel titles say which lines
    # are scaled), then the reference marks.
    optimizers = sorted({r["optimizer"] for r in summary},
                        key=lambda o: _series_key((o, "none")))
    handles = [Line2D([], [], label=o, **series_style(o, "none")) for o in optimizers]
    handles.append(Line2D([], [], color="0.5", ls=":", lw=1.0, label="chance (10%)"))
    if diverged_any:
        handles.append(Line2D([], [], ls="", marker="o", markersize=9,
                              markerfacecolor="none", markeredgecolor="#d62728",
                              label="some seeds diverged"))
    columns = -(-len(handles) // 2)
    fig.legend(handles=handles, loc="outside lower center", ncols=columns,
               handlelength=2.6, columnspacing=1.2)
    shared = _network_title(dict(zip(NETWORK, next(iter(networks))))) \
        if len(networks) == 1 else "several networks"
    fig.suptitle(f"Step-size sensitivity: mean test accuracy over the run against α\n"
                 f"{shared} · {_subtitle(summary)} ± standard error",
                 fontsize=10, linespacing=1.4)
    return save(fig, out, "fig6_step_size_sensitivity")


# (file name, function, what it shows) in the order they are made.
FIGURES = [
    ("fig5_learning_curves", fig_learning_curves,
     "learning curves at each optimizer's best step size"),
    ("fig6_step_size_sensitivity", fig_step_size_sensitivity,
     "mean test accuracy against the step size"),
]
