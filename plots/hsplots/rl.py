"""The figures of `hesscale-cli rl` (issue 15, the ICML 2024 RL study): learning curves of
each agent at each optimizer's best step size, and the step-size sensitivity per task and
averaged over tasks. Each function reads the CSVs it needs from a results directory,
writes `<name>.png` and `<name>.pdf` and returns the paths written; a missing or empty CSV
raises data.NoData, an unusable one data.BadData."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, NullFormatter

from .data import RL_CURVES, RL_SUMMARY, NoData, group_by, read_table
from .optimize import _mean_se, _series_key, series_label, series_style
from .style import panel_grid, save

# The columns of a task and agent (one panel).
PANEL = ["env", "agent"]
# The points of a learning curve: the run is cut into this many windows of steps.
WINDOWS = 20


def _legend(fig, handles) -> None:
    """One legend below the panels."""
    columns = max(1, min(len(handles), int(fig.get_size_inches()[0] / 1.9)))
    fig.legend(handles=handles, loc="outside lower center", ncols=columns,
               handlelength=2.6, columnspacing=1.2)


def _subtitle(summary: list[dict]) -> str:
    """What every panel shares: seeds and environment steps per run."""
    seeds = sorted({r["seeds"] for r in summary})
    steps = sorted({r["steps"] for r in summary})
    span = lambda v: str(v[0]) if len(v) == 1 else f"{v[0]}–{v[-1]}"  # noqa: E731
    return f"{span(seeds)} seeds × {span(steps)} environment steps"


def window_means(episodes: list[dict], steps: int, windows: int = WINDOWS) -> dict:
    """{window end: mean return of the episodes that ended in that window} for one run;
    windows without an episode are absent."""
    width = steps / windows
    sums: dict[float, list[float]] = {}
    for row in episodes:
        index = min(windows - 1, max(0, math.ceil(row["step"] / width) - 1))
        sums.setdefault((index + 1) * width, []).append(row["episode_return"])
    return {end: float(np.mean(v)) for end, v in sorted(sums.items())}


def fig_rl_learning_curves(results: Path, out: Path, where: dict | None = None) -> list[Path]:
    """Episode return against environment steps, one panel per task and agent, every
    optimizer unscaled (solid) and scaled (dashed) at its own best step size (the
    summary's best_lr): per seed the mean return of the episodes ending in each of
    WINDOWS windows of the run, then the mean over seeds with a band of ± one standard
    error."""
    summary = read_table(results / "rl_summary.csv", RL_SUMMARY, where)
    curves = read_table(results / "rl_curves.csv", RL_CURVES, where)
    best = {(r["env"], r["agent"], r["optimizer"], r["scaling"]): r["lr"]
            for r in summary if r["best_lr"] == "true"}
    if not best:
        raise NoData(f"{results / 'rl_summary.csv'} marks no best step size")
    steps = max(r["steps"] for r in summary)
    panels = group_by(curves, PANEL)
    fig, axes = panel_grid(len(panels), panel_size=(4.4, 3.2), max_cols=2, extra_height=1.9)
    handles = {}
    for ax, (panel, rows) in zip(axes, panels.items()):
        for (optimizer, scaling), series in sorted(
                group_by(rows, ["optimizer", "scaling"]).items(),
                key=lambda kv: _series_key(kv[0])):
            lr = best.get(panel + (optimizer, scaling))
            if lr is None:
                continue
            per_seed = [window_means(seed_rows, steps)
                        for seed_rows in group_by([r for r in series if r["lr"] == lr],
                                                  ["seed"]).values()]
            ends = sorted({end for run in per_seed for end in run})
            points = [(end, *_mean_se([run[end] for run in per_seed if end in run]))
                      for end in ends]
            if not points:
                continue
            x = np.array([p[0] for p in points])
            y = np.array([p[1] for p in points])
            e = np.nan_to_num(np.array([p[2] for p in points]))
            style = series_style(optimizer, scaling)
            label = series_label(optimizer, scaling, None, 1)
            ax.plot(x, y, label=f"{label} (α {lr:g})", markevery=max(1, len(x) // 8),
                    **style)
            ax.fill_between(x, y - e, y + e, color=style["color"], alpha=0.12, lw=0)
            handles.setdefault(label, Line2D([], [], label=label, **style))
        ax.set_title(f"{panel[0]} · {panel[1]}")
        ax.set_xlabel("environment step")
        ax.set_ylabel("episode return")
    _legend(fig, list(handles.values()))
    fig.suptitle("Learning curves at each optimizer's best step size α (best_lr of "
                 f"rl_summary.csv)\n{_subtitle(summary)}; mean over seeds ± standard error; "
                 "dashed: step-size scaling", fontsize=10, linespacing=1.4)
    return save(fig, out, "fig9_rl_learning_curves")


def fig_rl_step_size_sensitivity(results: Path, out: Path,
                                 where: dict | None = None) -> list[Path]:
    """The normalised return (the run's mean episode return, scaled per task so that the
    study's best run is 1 and its worst 0; diverged runs count 0), mean over seeds ±
    standard error, against the step size α on a log axis: a panel per task and agent and,
    per agent, one averaged over the tasks. Solid: without step-size scaling; dashed:
    with it. Points where some seed diverged are ringed in red."""
    summary = read_table(results / "rl_summary.csv", RL_SUMMARY, where)
    agents = sorted({r["agent"] for r in summary})
    envs = sorted({r["env"] for r in summary})
    columns = envs + (["all tasks"] if len(envs) > 1 else [])
    fig, axes = panel_grid(len(agents) * len(columns), panel_size=(3.6, 3.0),
                           max_cols=len(columns), extra_height=1.9,
                           row_length=len(columns), sharey=True)
    lrs = sorted({r["lr"] for r in summary})
    diverged_any = False
    panels = iter(axes)
    for agent in agents:
        for env in columns:
            ax = next(panels)
            rows = [r for r in summary if r["agent"] == agent
                    and (env == "all tasks" or r["env"] == env)]
            for (optimizer, scaling), series in sorted(
                    group_by(rows, ["optimizer", "scaling"]).items(),
                    key=lambda kv: _series_key(kv[0])):
                by_lr = group_by(series, ["lr"])
                x = np.array(sorted(lr for (lr,) in by_lr))
                y = np.array([np.mean([r["normalized_return"] for r in by_lr[(lr,)]])
                              for lr in x])
                if env == "all tasks":
                    e = np.zeros_like(y)
                else:
                    e = np.nan_to_num(np.array([by_lr[(lr,)][0]["normalized_return_se"]
                                                for lr in x]))
                ax.errorbar(x, y, yerr=e, capsize=1.8, elinewidth=0.7, capthick=0.7,
                            label=series_label(optimizer, scaling, None, 1),
                            **series_style(optimizer, scaling))
                bad = [lr for lr in x if any(int(r["diverged"]) > 0 for r in by_lr[(lr,)])]
                if bad:
                    diverged_any = True
                    ax.plot(bad, [y[list(x).index(lr)] for lr in bad], ls="", marker="o",
                            markersize=9, markerfacecolor="none", markeredgecolor="#d62728",
                            markeredgewidth=1.1)
            ax.set_xscale("log")
            ax.set_xlim(lrs[0] / 2, lrs[-1] * 2)
            if lrs[-1] / lrs[0] >= 100:
                ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
            else:
                # Fewer than two decades may hold no power of ten: mark the grid's α.
                ax.set_xticks(lrs, labels=[f"{lr:g}" for lr in lrs])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("step size α")
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{env} · {agent}")
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("normalised return")
    handles, labels = axes[0].get_legend_handles_labels()
    handles = list(handles)
    if diverged_any:
        handles.append(Line2D([], [], ls="", marker="o", markersize=9, markerfacecolor="none",
                              markeredgecolor="#d62728", label="some seeds diverged"))
    _legend(fig, handles)
    fig.suptitle("Step-size sensitivity: normalised return against α (per task, and the mean "
                 f"over tasks)\n{_subtitle(summary)}; mean over seeds ± standard error",
                 fontsize=10, linespacing=1.4)
    return save(fig, out, "fig10_rl_step_size_sensitivity")


# (file name, function, what it shows) in the order they are made.
FIGURES = [
    ("fig9_rl_learning_curves", fig_rl_learning_curves,
     "RL learning curves at each optimizer's best step size"),
    ("fig10_rl_step_size_sensitivity", fig_rl_step_size_sensitivity,
     "RL normalised return against the step size"),
]
