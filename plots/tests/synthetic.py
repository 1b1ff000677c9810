#!/usr/bin/env python3
"""Synthetic results CSVs in the exact formats of `hesscale-cli quality`, `cost`,
`optimize` and `rl`, with the expected shape of the 2022 paper (exact = 0 < hesscale = 1 <
bl89 < ggn < ... ≪ hutchinson:1), of the ICML 2024 quality figure (networks trained on
mnist, where the gaps to hesscale grow with training) and of its step-size study (unscaled
optimizers fail at large step sizes, sgd diverges at the largest, scaled ones keep
learning), for testing the figure scripts. Standard library only.

    python3 plots/tests/synthetic.py DIR            # writes DIR/quality_runs.csv etc.
    python3 plots/tests/synthetic.py DIR --trained  # quality on mnist at steps 0–10,000
"""

from __future__ import annotations

import csv
import math
import random
import statistics
import sys
from pathlib import Path

# The leading columns of quality_runs.csv and quality_summary.csv: the network, its data
# and sizes, and the training step it was measured at.
QUALITY_POINT = ["activation", "loss", "reduction", "data", "depth", "width", "inputs",
                 "outputs", "n_params", "batch_size", "step"]
QUALITY_RUNS_HEADER = [*QUALITY_POINT, "seed", "method", "layer", "param", "l1",
                       "sum_abs_exact"]
QUALITY_SUMMARY_HEADER = [*QUALITY_POINT, "method", "layer", "seeds", "samples", "mean_l1",
                          "se_l1", "normalized_l1", "ratio_mean", "ratio_se", "relative_l1"]
QUALITY_TIMING_HEADER = ["activation", "loss", "data", "depth", "width", "batch_size",
                         "method", "samples", "seconds_per_sample", "backward_equivalents"]
QUALITY_TIMING_CELLS_HEADER = ["activation", "loss", "reduction", "data", "depth", "width",
                               "batch_size", "seed", "method", "samples", "seconds"]
QUALITY_TRAINING_HEADER = ["activation", "loss", "reduction", "data", "depth", "width",
                           "seed", "step", "train_loss", "test_loss", "test_accuracy"]
QUALITY_TRAINING_SUMMARY_HEADER = ["activation", "loss", "reduction", "data", "depth",
                                   "width", "step", "seeds", "train_loss", "test_loss",
                                   "test_accuracy", "test_accuracy_se"]
# The sizes of each data set's networks (random: the defaults of `quality`).
DATA_SIZES = {"random": (6, 10), "mnist": (784, 10)}
COST_HEADER = ["sweep", "depth", "width", "inputs", "outputs", "batch_size", "n_params",
               "method", "reps", "median_seconds", "ratio_to_gradient"]

# Error of each method relative to hesscale's (0 for exact).
ERROR_FACTOR = {
    "exact": 0.0, "hesscale": 1.0, "hesscale_gn": 1.7, "bl89": 1.3, "ggn": 1.6,
    "ggn_mc:1": 3.1, "ggn_mc:50": 1.8, "kfac:1": 3.3, "kfac:50": 2.0,
    "hutchinson:1": 310.0, "hutchinson:50": 45.0, "hutchinson_signed:1": 260.0,
    "grad_squared": 3.0, "zero": 3.05,
}
METHODS = list(ERROR_FACTOR)
# Methods that equal exact in the output layer (so their error there is 0).
EXACT_LAST_LAYER = {"exact", "hesscale", "hesscale_gn", "ggn"}
# For mse, bl89 equals hesscale, and both equal exact in the layer below the output layer
# too (so that at depth 1 they are exact in every layer and hesscale's normalized errors
# are undefined), as in real runs: their error there is round-off.
EXACT_LAST_LAYER_MSE = EXACT_LAST_LAYER | {"bl89"}
EXACT_SECOND_LAST_LAYER_MSE = {"hesscale", "bl89"}
# Methods that equal exact in ReLU networks: their error there is round-off (1e-16 of the
# diagonal's size, normalized ~1e-15), as ggn's is in real runs.
EXACT_IN_RELU = {"ggn"}
ROUNDOFF_ERROR = 1e-16
# Cost of each method (and of the quality runs' shared linearization) relative to one
# gradient, before its growth with size.
COST_FACTOR = {
    "gradient": 1.0, "linearization": 1.4, "exact": 6.0, "hesscale": 1.3,
    "hesscale_gn": 1.25, "bl89": 1.3,
    "ggn": 4.0, "ggn_mc:1": 1.4, "kfac:1": 1.6, "hutchinson:1": 2.6, "grad_squared": 1.05,
}

CELLS = [("tanh", "cross_entropy"), ("relu", "mse")]
# The ICML 2024 protocol's cells (SPEC §8).
TRAINED_CELLS = [("relu", "cross_entropy"), ("tanh", "cross_entropy")]

OPTIMIZE_KEY = ["data", "activation", "depth", "width", "batch_size", "optimizer",
                "scaling", "delta", "lr", "seed"]
OPTIMIZE_CURVES_HEADER = [*OPTIMIZE_KEY, "step", "train_loss", "test_loss",
                          "test_accuracy", "diverged"]
OPTIMIZE_SUMMARY_HEADER = ["data", "activation", "depth", "width", "batch_size",
                           "optimizer", "scaling", "delta", "lr", "seeds", "diverged",
                           "steps", "final_test_loss", "final_test_loss_se",
                           "final_test_accuracy", "final_test_accuracy_se",
                           "mean_test_accuracy", "mean_test_accuracy_se", "best_lr"]
OPTIMIZERS = ["sgd", "adam", "adahessian", "adaggnmc", "adahesscale", "adahesscale_gn"]
# The step size each optimizer learns fastest at, unscaled.
BEST_LR = {"sgd": 0.1, "adam": 1e-3, "adahessian": 0.1, "adaggnmc": 1e-3,
           "adahesscale": 1e-3, "adahesscale_gn": 1e-3}


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _se(values: list[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0


# The rows of quality_timing.csv: the plain gradient and the shared linearization first,
# then every method (exact included), as `quality` writes them; trained cells also time
# their training (per training image).
TIMED = ["gradient", "linearization", *METHODS]
TRAINING = "training"


def trained(step: int) -> float:
    """How far a network is trained at a step, 0 (untrained) … 1 (10,000 steps)."""
    return math.log10(1 + step) / 4


def quality_rows(widths=(8, 16), depth=3, seeds=3, batch_size=1, samples=50, rng_seed=7,
                 reduction="mean", cells=CELLS, data="random", steps=(0,)):
    """The rows of quality_runs.csv, quality_summary.csv, quality_timing.csv,
    quality_timing_cells.csv, quality_training.csv and quality_training_summary.csv as
    lists of dicts (strings), for every (activation, loss) of `cells` × widths × steps on
    `data` (the training files are empty for random data, which is never trained). Layers
    run 1 … depth + 1 (the Linear layers; the last is the output layer). Training makes
    every approximation's error grow relative to hesscale's (by up to 1.5× at 10,000
    steps) and the test accuracy rise from chance."""
    rng = random.Random(rng_seed)
    runs, summary, timing, timing_cells = [], [], [], []
    training, training_summary = [], []
    inputs, outputs = DATA_SIZES[data]
    for activation, loss, width, step in ((a, l, w, s) for a, l in cells for w in widths
                                          for s in steps):
        network = {"activation": activation, "loss": loss, "reduction": reduction,
                   "data": data, "depth": str(depth), "width": str(width)}
        cell = {**network, "inputs": str(inputs), "outputs": str(outputs),
                "n_params": str(n_params(inputs, width, depth, outputs)),
                "batch_size": str(batch_size), "step": str(step)}
        # totals[method][layer] = per-seed errors; exact_sum[layer] = per-seed Σ|exact|
        n_layers = depth + 1
        totals = {m: {layer: [] for layer in [*range(1, n_layers + 1), "all"]}
                  for m in METHODS}
        exact_sum = {layer: [] for layer in [*range(1, n_layers + 1), "all"]}
        for seed in range(seeds):
            base = [0.02 * width / 8 * (0.5 + rng.random()) * 2.0 ** -layer
                    for layer in range(1, n_layers + 1)]
            exact = [b * 3 for b in base]
            for m in METHODS:
                sums = {"weight": 0.0, "bias": 0.0, "all": 0.0}
                exact_all = 0.0
                for layer in range(1, n_layers + 1):
                    if layer == n_layers and m in (EXACT_LAST_LAYER_MSE if loss == "mse"
                                                   else EXACT_LAST_LAYER):
                        err = 0.0
                    elif (layer == n_layers - 1 and loss == "mse"
                          and m in EXACT_SECOND_LAST_LAYER_MSE):
                        err = 3 * base[layer - 1] * ROUNDOFF_ERROR * (1 + rng.random())
                    elif activation == "relu" and m in EXACT_IN_RELU:
                        err = 3 * base[layer - 1] * ROUNDOFF_ERROR * (1 + rng.random())
                    else:
                        factor = (1 + (1 - 1 / ERROR_FACTOR[m]) * 0.5 * trained(step)
                                  if ERROR_FACTOR[m] else 0.0)
                        err = (base[layer - 1] * ERROR_FACTOR[m] * factor
                               * math.exp(rng.gauss(0.0, 0.15)))
                    parts = {"weight": 0.8 * err, "bias": 0.2 * err, "all": err}
                    ex = exact[layer - 1]
                    ex_parts = {"weight": 0.8 * ex, "bias": 0.2 * ex, "all": ex}
                    for param in ["weight", "bias", "all"]:
                        runs.append({**cell, "seed": str(seed), "method": m,
                                     "layer": str(layer), "param": param,
                                     "l1": _fmt(parts[param]),
                                     "sum_abs_exact": _fmt(ex_parts[param])})
                        sums[param] += parts[param]
                    totals[m][layer].append(err)
                    exact_all += ex
                    if m == "exact":
                        exact_sum[layer].append(ex)
                for param in ["weight", "bias", "all"]:
                    factor = {"weight": 0.8, "bias": 0.2, "all": 1.0}[param]
                    runs.append({**cell, "seed": str(seed), "method": m, "layer": "all",
                                 "param": param, "l1": _fmt(sums[param]),
                                 "sum_abs_exact": _fmt(factor * exact_all)})
                totals[m]["all"].append(sums["all"])
                if m == "exact":
                    exact_sum["all"].append(exact_all)
        for m in METHODS:
            for layer in [*range(1, n_layers + 1), "all"]:
                errs, hs = totals[m][layer], totals["hesscale"][layer]
                mean, mean_h = statistics.fmean(errs), statistics.fmean(hs)
                scale = statistics.fmean(exact_sum[layer])
                # like `quality`: nothing is normalized by a hesscale error that is
                # round-off (at most 1e-12 of the exact diagonal's size)
                defined = mean_h > 1e-12 * scale
                ratios = ([e / h for e, h in zip(errs, hs)]
                          if all(h > 1e-12 * x for h, x in zip(hs, exact_sum[layer]))
                          else None)
                summary.append({
                    **cell, "method": m, "layer": str(layer), "seeds": str(seeds),
                    "samples": str(samples), "mean_l1": _fmt(mean), "se_l1": _fmt(_se(errs)),
                    "normalized_l1": _fmt(mean / mean_h if defined else None),
                    "ratio_mean": _fmt(statistics.fmean(ratios) if ratios else None),
                    "ratio_se": _fmt(_se(ratios) if ratios else None),
                    "relative_l1": _fmt(mean / scale),
                })
        if step == steps[-1]:  # a cell's timings pool its steps
            cell_samples = samples * batch_size * len(steps)
            timed = TIMED + ([TRAINING] if data != "random" else [])
            for m in timed:
                rate = 1e-5 * (1 + COST_FACTOR.get(m, 1.5)) * (width / 8) ** 2
                seconds = [cell_samples * rate * (1 + 0.1 * rng.random())
                           for _ in range(seeds)]
                timed_cell = {k: cell[k] for k in QUALITY_TIMING_CELLS_HEADER
                              if k in cell}
                for seed, sec in enumerate(seconds):
                    timing_cells.append({**timed_cell, "seed": str(seed), "method": m,
                                         "samples": str(cell_samples),
                                         "seconds": _fmt(sec)})
                timing.append({
                    **{k: cell[k] for k in QUALITY_TIMING_HEADER if k in cell},
                    "method": m, "samples": str(cell_samples * seeds),
                    "seconds_per_sample": _fmt(sum(seconds) / (cell_samples * seeds)),
                    "backward_equivalents": _fmt(
                        None if m in ("linearization", TRAINING)
                        else COST_FACTOR.get(m, 1.5) * (1 + 0.1 * rng.random())),
                })
        if data != "random":
            accuracies = []
            for seed in range(seeds):
                accuracy = 0.1 + 0.85 * trained(step) * (1 - 0.02 * rng.random())
                accuracies.append(accuracy)
                loss_value = 2.3 * (1 - 0.9 * trained(step))
                training.append({**network, "seed": str(seed), "step": str(step),
                                 "train_loss": _fmt(0.95 * loss_value),
                                 "test_loss": _fmt(loss_value),
                                 "test_accuracy": _fmt(accuracy)})
            training_summary.append({
                **network, "step": str(step), "seeds": str(seeds),
                "train_loss": _fmt(0.95 * loss_value), "test_loss": _fmt(loss_value),
                "test_accuracy": _fmt(statistics.fmean(accuracies)),
                "test_accuracy_se": _fmt(_se(accuracies) if seeds > 1 else None)})
    return runs, summary, timing, timing_cells, training, training_summary


def n_params(inputs: int, width: int, depth: int, outputs: int) -> int:
    """Parameters of an MLP inputs → width × depth → outputs with biases."""
    return inputs * width + width + (depth - 1) * (width * width + width) \
        + width * outputs + outputs


def cost_rows(rng_seed=11):
    """The rows of cost.csv: depth, outputs and width sweeps, `gradient` included."""
    rng = random.Random(rng_seed)
    configs = [("depth", k, 512, 64, 100) for k in range(1, 7)]
    configs += [("outputs", 1, 256, 64, out) for out in (10, 50, 100, 200)]
    configs += [("width", 3, w, 64, 100) for w in (64, 128, 256, 512)]
    rows = []
    for sweep, depth, width, inputs, outputs in configs:
        n = n_params(inputs, width, depth, outputs)
        gradient = 2e-9 * n * (1 + 0.05 * rng.random())
        for m, factor in COST_FACTOR.items():
            if m == "linearization":  # a quality-run timing row only
                continue
            if m == "gradient":
                ratio = 1.0
            elif m == "exact":
                ratio = factor * depth * width / 64
            elif m == "ggn":
                ratio = factor * outputs / 50
            else:
                ratio = factor * (1 + 0.1 * rng.random())
            rows.append({"sweep": sweep, "depth": str(depth), "width": str(width),
                         "inputs": str(inputs), "outputs": str(outputs), "batch_size": "1",
                         "n_params": str(n), "method": m, "reps": "21",
                         "median_seconds": _fmt(gradient * ratio),
                         "ratio_to_gradient": _fmt(ratio)})
    return rows


def optimize_rows(lrs=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), seeds=3, steps=200, eval_every=50,
                  delta=1e-4, networks=(("tanh", 64),), rng_seed=5):
    """The rows of optimize_curves.csv and optimize_summary.csv as lists of dicts
    (strings): every optimizer with and without scaling at every step size, on each
    (activation, width) of `networks`. An unscaled optimizer's final accuracy falls off a
    decade away from its best step size, and sgd at α = 1 diverges after 60 steps; a scaled
    one stays near its best at larger step sizes. The summary follows the rules of
    `optimize` (chance accuracy after a divergence, the best α by mean accuracy)."""
    rng = random.Random(rng_seed)
    schedule = list(range(0, steps + 1, eval_every))
    curves, summary = [], []
    for activation, width in networks:
        network = {"data": "mnist", "activation": activation, "depth": "3",
                   "width": str(width), "batch_size": "32"}
        for optimizer in OPTIMIZERS:
            for scaling in ("none", "hesscale"):
                family = []
                for lr in lrs:
                    distance = abs(math.log10(lr / BEST_LR[optimizer]))
                    if scaling == "hesscale" and lr > BEST_LR[optimizer]:
                        distance = 0.3
                    final = max(0.1, 0.92 - 0.25 * distance ** 1.5)
                    key = {**network, "optimizer": optimizer, "scaling": scaling,
                           "delta": _fmt(delta if scaling == "hesscale" else None),
                           "lr": _fmt(lr)}
                    outcomes = []
                    for seed in range(seeds):
                        diverges = optimizer == "sgd" and scaling == "none" and lr >= 1.0
                        accuracies = []
                        for step in schedule:
                            if diverges and step > 60:
                                curves.append({**key, "seed": str(seed), "step": "61",
                                               "train_loss": "", "test_loss": "",
                                               "test_accuracy": "", "diverged": "true"})
                                break
                            progress = 1 - math.exp(-4 * step / steps)
                            accuracy = 0.1 + (final - 0.1) * progress + 0.01 * rng.random()
                            loss = 2.3 * (1 - progress) + 0.3 + 0.02 * rng.random()
                            accuracies.append(accuracy)
                            curves.append({**key, "seed": str(seed), "step": str(step),
                                           "train_loss": _fmt(loss if step else None),
                                           "test_loss": _fmt(loss),
                                           "test_accuracy": _fmt(accuracy),
                                           "diverged": "false"})
                        reached = accuracies[1:]
                        missing = len(schedule) - 1 - len(reached)
                        outcomes.append((diverges, accuracies[-1] if not diverges else 0.1,
                                         (sum(reached) + 0.1 * missing)
                                         / (len(schedule) - 1)))
                    finals = [o[1] for o in outcomes]
                    means = [o[2] for o in outcomes]
                    losses = [] if outcomes[0][0] else [2.3 - 2 * f for f in finals]
                    row = {**{k: key[k] for k in OPTIMIZE_SUMMARY_HEADER if k in key},
                           "seeds": str(seeds),
                           "diverged": str(sum(o[0] for o in outcomes)), "steps": str(steps),
                           "final_test_loss": _fmt(statistics.fmean(losses) if losses
                                                   else None),
                           "final_test_loss_se": _fmt(_se(losses) if losses else None),
                           "final_test_accuracy": _fmt(statistics.fmean(finals)),
                           "final_test_accuracy_se": _fmt(_se(finals)),
                           "mean_test_accuracy": _fmt(statistics.fmean(means)),
                           "mean_test_accuracy_se": _fmt(_se(means)), "best_lr": "false"}
                    family.append((statistics.fmean(means), -lr, row))
                max(family, key=lambda f: (f[0], f[1]))[2]["best_lr"] = "true"
                summary.extend(f[2] for f in family)
    return curves, summary


RL_KEY = ["env", "agent", "optimizer", "scaling", "lr", "seed"]
RL_CURVES_HEADER = [*RL_KEY, "step", "episode_return"]
RL_SUMMARY_HEADER = ["env", "agent", "optimizer", "scaling", "lr", "seeds", "diverged",
                     "steps", "mean_return", "mean_return_se", "normalized_return",
                     "normalized_return_se", "best_lr"]
RL_OPTIMIZERS = ["adam", "adahessian", "adahesscale", "adahesscale_gn"]


def rl_rows(envs=(("pendulum", 200, -1500.0, -200.0), ("cartpole", 100, 20.0, 500.0)),
            agents=("a2c", "ppo"), lrs=(1e-4, 1e-3, 1e-2), seeds=2, steps=2000,
            rng_seed=3):
    """The rows of rl_curves.csv and rl_summary.csv as lists of dicts (strings): every
    optimizer with and without scaling at every step size on each (task, episode length,
    worst, best return) of `envs`. Returns climb from worst towards a level that falls off
    away from α = 1e-3, less so with the scaling; unscaled runs at α = 1e-2 of adahessian
    diverge after half the run. The summary follows the rules of `rl` (a diverged run at
    the task's lowest run return, normalised per task over the study)."""
    rng = random.Random(rng_seed)
    curves, runs = [], []
    for env, length, worst, best in envs:
        for agent in agents:
            for optimizer in RL_OPTIMIZERS:
                for scaling in ("none", "hesscale"):
                    for lr in lrs:
                        distance = abs(math.log10(lr / 1e-3))
                        if scaling == "hesscale":
                            distance /= 3
                        level = worst + (best - worst) * max(0.0, 0.9 - 0.4 * distance)
                        diverges = optimizer == "adahessian" and scaling == "none" \
                            and lr >= 1e-2
                        key = {"env": env, "agent": agent, "optimizer": optimizer,
                               "scaling": scaling, "lr": _fmt(lr)}
                        for seed in range(seeds):
                            returns = []
                            for end in range(length, steps + 1, length):
                                if diverges and end > steps // 2:
                                    break
                                progress = 1 - math.exp(-3 * end / steps)
                                value = worst + (level - worst) * progress \
                                    + 0.02 * (best - worst) * rng.random()
                                returns.append(value)
                                curves.append({**key, "seed": str(seed), "step": str(end),
                                               "episode_return": _fmt(value)})
                            runs.append((env, key, diverges,
                                         None if diverges else statistics.fmean(returns)))
    summary = []
    ranges = {env: (min(r[3] for r in runs if r[0] == env and r[3] is not None),
                    max(r[3] for r in runs if r[0] == env and r[3] is not None))
              for env, *_ in envs}
    for index in range(0, len(runs), seeds):
        group = runs[index:index + seeds]
        env, key = group[0][0], group[0][1]
        lo, hi = ranges[env]
        raw = [r[3] if r[3] is not None else lo for r in group]
        normalized = [(r - lo) / (hi - lo) for r in raw]
        summary.append({**key, "seeds": str(seeds),
                        "diverged": str(sum(r[2] for r in group)), "steps": str(steps),
                        "mean_return": _fmt(statistics.fmean(raw)),
                        "mean_return_se": _fmt(_se(raw)),
                        "normalized_return": _fmt(statistics.fmean(normalized)),
                        "normalized_return_se": _fmt(_se(normalized)), "best_lr": "false"})
    for index in range(0, len(summary), len(lrs)):
        family = summary[index:index + len(lrs)]
        max(family, key=lambda r: (float(r["normalized_return"]),
                                   -float(r["lr"])))["best_lr"] = "true"
    return curves, summary


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


ALL_FILES = ("quality_runs.csv", "quality_summary.csv", "quality_timing.csv",
             "quality_timing_cells.csv", "quality_training.csv",
             "quality_training_summary.csv", "cost.csv", "optimize_curves.csv",
             "optimize_summary.csv", "rl_curves.csv", "rl_summary.csv")


def write_results(directory: Path, files=ALL_FILES, grids: list[dict] | None = None,
                  **quality_kwargs) -> list[Path]:
    """Writes the chosen synthetic CSVs into directory (created if needed) and returns
    their paths. quality_kwargs go to quality_rows (widths, depth, seeds, data, steps,
    ...); grids, a list of such keyword sets, writes the quality rows of each one after
    the other, as `hesscale-cli merge` would of separate runs. The training files have
    rows only for a data set."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    quality = [quality_rows(**kwargs) for kwargs in (grids or [quality_kwargs])]
    runs, summary, timing, timing_cells, training, training_summary = (
        [row for tables in quality for row in tables[i]] for i in range(6))
    curves, optimize_summary = optimize_rows()
    rl_curves, rl_summary = rl_rows()
    tables = {
        "quality_runs.csv": (QUALITY_RUNS_HEADER, runs),
        "quality_summary.csv": (QUALITY_SUMMARY_HEADER, summary),
        "quality_timing.csv": (QUALITY_TIMING_HEADER, timing),
        "quality_timing_cells.csv": (QUALITY_TIMING_CELLS_HEADER, timing_cells),
        "quality_training.csv": (QUALITY_TRAINING_HEADER, training),
        "quality_training_summary.csv": (QUALITY_TRAINING_SUMMARY_HEADER, training_summary),
        "cost.csv": (COST_HEADER, cost_rows()),
        "optimize_curves.csv": (OPTIMIZE_CURVES_HEADER, curves),
        "optimize_summary.csv": (OPTIMIZE_SUMMARY_HEADER, optimize_summary),
        "rl_curves.csv": (RL_CURVES_HEADER, rl_curves),
        "rl_summary.csv": (RL_SUMMARY_HEADER, rl_summary),
    }
    written = []
    for name in files:
        header, rows = tables[name]
        _write(directory / name, header, rows)
        written.append(directory / name)
    return written


# The ICML 2024 protocol's grid (SPEC §8) at four training steps: mnist, relu and tanh,
# cross_entropy, 784 → 64 × 3 → 10.
TRAINED = {"data": "mnist", "cells": TRAINED_CELLS, "widths": (64,),
           "steps": (0, 100, 1000, 10000)}


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--trained"]):
        sys.exit(__doc__)
    for p in write_results(Path(sys.argv[1]), **(TRAINED if sys.argv[2:] else {})):
        print(f"wrote {p}")
