"""Shared look of every figure: method order and colours, matplotlib settings, saving."""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402

# The methods in the order they appear in every legend and bar chart.
METHOD_ORDER = [
    "exact",
    "hesscale",
    "hesscale_gn",
    "bl89",
    "ggn",
    "ggn_mc:1",
    "ggn_mc:50",
    "kfac:1",
    "kfac:50",
    "hutchinson:1",
    "hutchinson:50",
    "hutchinson_signed:1",
    "grad_squared",
    "zero",
    "gradient",
]

# One fixed colour per method, so that all figures agree. Families share a hue:
# light for one Monte-Carlo sample, dark for fifty.
METHOD_COLORS = {
    "exact": "#000000",
    "hesscale": "#1f77b4",
    "hesscale_gn": "#6baed6",
    "bl89": "#ff7f0e",
    "ggn": "#2ca02c",
    "ggn_mc:1": "#98df8a",
    "ggn_mc:50": "#00682a",
    "kfac:1": "#c5b0d5",
    "kfac:50": "#6a3d9a",
    "hutchinson:1": "#ff9896",
    "hutchinson:50": "#b2182b",
    "hutchinson_signed:1": "#e377c2",
    "grad_squared": "#8c564b",
    "zero": "#9a9a9a",
    "gradient": "#404040",
}

_FALLBACK = ["#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#8c6d31", "#843c39"]


def method_color(method: str) -> str:
    """The colour of a method; an unknown `family:M` takes its family's `:1` colour, any
    other unknown name a colour picked deterministically from its name."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    family = method.split(":", 1)[0]
    if f"{family}:1" in METHOD_COLORS:
        return METHOD_COLORS[f"{family}:1"]
    return _FALLBACK[zlib.crc32(method.encode()) % len(_FALLBACK)]


def method_sort_key(method: str) -> tuple:
    """Sorts methods in METHOD_ORDER, unknown ones after them by name."""
    if method in METHOD_ORDER:
        return (0, METHOD_ORDER.index(method), "")
    return (1, 0, method)


def ordered_methods(methods) -> list[str]:
    """The distinct methods of an iterable in the canonical order."""
    return sorted(set(methods), key=method_sort_key)


def apply_style(dpi: int = 200) -> None:
    """The HesScale papers' look: no top/right spines, TrueType fonts in PDFs, small type;
    PNGs at `dpi`."""
    plt.rcParams.update(
        {
            "axes.spines.top": False,
            "axes.spines.right": False,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "font.size": 9,
            "axes.titlesize": 9,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "legend.frameon": False,
            "figure.titlesize": 10,
            "figure.dpi": 100,
            "savefig.dpi": dpi,
            "axes.grid": False,
        }
    )


def panel_grid(n_panels: int, panel_size=(4.2, 3.2), max_cols=3, **kwargs):
    """A figure with n_panels axes in a grid of at most max_cols columns, as few rows as
    that allows and the columns spread evenly over them (4 panels: 2 × 2), constrained
    layout; unused axes are removed. Returns (figure, list of axes)."""
    nrows = -(-n_panels // max_cols)
    ncols = -(-n_panels // nrows)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        layout="constrained",
        squeeze=False,
        **kwargs,
    )
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def save(fig, out_dir: Path, name: str) -> list[Path]:
    """Writes the figure as out_dir/name.png and out_dir/name.pdf, closes it, and returns
    the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return paths
