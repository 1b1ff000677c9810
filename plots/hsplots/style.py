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
    "hutchinson_signed:50",
    "grad_squared",
    "cp:1",
    "cp:50",
    "gnb:1",
    "gnb:50",
    "xdiag:50",
    "zero",
    "gradient",
    "linearization",
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
    "hutchinson_signed:50": "#8e0152",
    "cp:1": "#9ecae1",
    "cp:50": "#08306b",
    "gnb:1": "#fdd0a2",
    "gnb:50": "#a63603",
    "xdiag:50": "#3f007d",
    "grad_squared": "#8c564b",
    "zero": "#9a9a9a",
    "gradient": "#404040",
    "linearization": "#8a8a5c",
}

# Reference lines (timing figures), not methods: no markers, their own dash patterns.
REFERENCE_STYLES = {
    "gradient": {"ls": "--", "lw": 1.6, "marker": ""},
    "linearization": {"ls": ":", "lw": 1.8, "marker": ""},
}

# One marker per method family, so that lines that share a colour family (or cross) can
# be told apart: a family's one-draw variant (`:1`) has hollow markers and a dashed line,
# its many-draw variants (`:50`) filled markers and a solid line.
FAMILY_MARKERS = {
    "exact": "d",
    "hesscale": "o",
    "hesscale_gn": "s",
    "bl89": "D",
    "ggn": "^",
    "ggn_mc": "v",
    "kfac": "P",
    "hutchinson": "X",
    "hutchinson_signed": "*",
    "cp": "<",
    "gnb": ">",
    "xdiag": "H",
    "grad_squared": "h",
    "zero": "p",
}
_FALLBACK_MARKERS = ["<", ">", "H", "8", "d", "p"]

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


def method_style(method: str) -> dict:
    """Keyword arguments of Axes.plot / errorbar for a method's line: its colour, its
    family's marker (hollow for a one-draw `family:1`), a dashed line for `family:1`;
    `gradient` and `linearization` are reference lines without markers."""
    color = method_color(method)
    if method in REFERENCE_STYLES:
        return {"color": color, **REFERENCE_STYLES[method]}
    family, _, draws = method.partition(":")
    marker = FAMILY_MARKERS.get(
        family, _FALLBACK_MARKERS[zlib.crc32(family.encode()) % len(_FALLBACK_MARKERS)])
    style = {"color": color, "marker": marker, "markersize": 5 if marker == "*" else 4,
             "lw": 1.2, "ls": "-", "markeredgecolor": color, "markerfacecolor": color}
    if draws == "1":
        style.update(ls=(0, (4, 1.5)), markerfacecolor="white", markeredgewidth=1.0)
    return style


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


# The widest figure (inches): 11 in is 2200 px at the default 200 dpi. Grids of more
# panels wrap into more rows rather than widen the figure.
MAX_FIGURE_WIDTH = 11.0


def panel_grid(n_panels: int, panel_size=(3.4, 2.6), max_cols=3, extra_height=1.3,
               row_length: int | None = None, **kwargs):
    """A figure with n_panels axes in a grid of at most max_cols columns (fewer if the
    panels would make it wider than MAX_FIGURE_WIDTH), as few rows as that allows and the
    columns spread evenly over them (4 panels: 2 × 2), constrained layout; unused axes are
    removed. extra_height (inches) is room for the title and the legend. row_length, the
    number of panels that belong together (e.g. one per width), makes the columns a
    divisor of it where one fits, so that each row starts a new group. Returns (figure,
    list of axes)."""
    max_cols = max(1, min(max_cols, int(MAX_FIGURE_WIDTH // panel_size[0])))
    nrows = -(-n_panels // max_cols)
    ncols = -(-n_panels // nrows)
    if row_length and 1 < row_length < n_panels:
        fitting = [d for d in range(min(row_length, max_cols), 1, -1) if row_length % d == 0]
        if fitting:
            ncols = fitting[0]
            nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(min(panel_size[0] * ncols, MAX_FIGURE_WIDTH),
                 panel_size[1] * nrows + extra_height),
        layout="constrained",
        squeeze=False,
        **kwargs,
    )
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def grid_position(ax) -> tuple[int, int, int, int]:
    """(row, column, rows, columns) of a panel made by panel_grid."""
    spec = ax.get_subplotspec()
    grid = spec.get_gridspec()
    return spec.rowspan.start, spec.colspan.start, grid.nrows, grid.ncols


def save(fig, out_dir: Path, name: str) -> list[Path]:
    """Writes the figure as out_dir/name.png and out_dir/name.pdf, closes it, and returns
    the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return paths
