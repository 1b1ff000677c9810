#!/usr/bin/env python3
"""Render every figure that a hesscale-cli results directory has data for.

    plots/make_figures.py [--results DIR] [--out DIR] [--only NAME]... [--where COL=VALUE]...
                          [--dpi N]

Reads only the CSVs of DIR (default results/) and writes PNG and PDF files to
plots/out/ (or --out). A figure whose CSV is missing or empty is skipped with a one-line
message. Exit code 0 when every figure was made or skipped, 1 when a CSV was unusable
(a missing column, an unparsable value) or a figure failed. --only, --where and --dpi
make a smaller figure, e.g. the README's example:

    plots/make_figures.py --only fig1 --where loss=cross_entropy --where width=32 --dpi 80
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hsplots.data import ALL_COLUMNS, BadData, NoData  # noqa: E402
from hsplots import figures, optimize, rl  # noqa: E402
from hsplots.style import apply_style  # noqa: E402

# Every figure: (file name, function, what it shows), made in the order of their numbers.
FIGURES = sorted(figures.FIGURES + optimize.FIGURES + rl.FIGURES,
                 key=lambda f: (int(re.match(r"fig(\d+)", f[0]).group(1)), f[0]))


def _condition(text: str) -> tuple[str, str]:
    """COLUMN=VALUE of --where, checked against the columns the figures read."""
    column, sep, value = text.partition("=")
    if not sep or not value:
        raise argparse.ArgumentTypeError(f"`{text}` is not COLUMN=VALUE")
    if column not in ALL_COLUMNS:
        raise argparse.ArgumentTypeError(
            f"unknown column `{column}` (one of: {', '.join(ALL_COLUMNS)})")
    return column, value


def _selects(name: str, prefix: str) -> bool:
    """Whether --only PREFIX selects the figure `name`: its name starts with PREFIX, and
    not as the start of a longer number (fig1 selects fig1_… but not fig10_…)."""
    cuts_a_number = prefix[-1:].isdigit() and name[len(prefix):len(prefix) + 1].isdigit()
    return name.startswith(prefix) and not cuts_a_number


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments, makes every figure, and returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="directory holding the CSVs (default: results)")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "out",
                        help="directory for the PNG and PDF files (default: plots/out)")
    parser.add_argument("--only", action="append", metavar="NAME", default=[],
                        help="make only the figures whose name starts with NAME (e.g. fig1, "
                             "fig4b_cost_ratio); repeatable")
    parser.add_argument("--where", action="append", type=_condition, default=[],
                        metavar="COLUMN=VALUE",
                        help="use only the CSV rows whose COLUMN is VALUE (e.g. width=32); "
                             "repeatable; files without that column are not filtered")
    parser.add_argument("--dpi", type=int, default=200,
                        help="resolution of the PNG files (default: 200)")
    args = parser.parse_args(argv)
    figures = [f for f in FIGURES
               if not args.only or any(_selects(f[0], n) for n in args.only)]
    if not figures:
        parser.error(f"--only {' '.join(args.only)} matches no figure "
                     f"(figures: {', '.join(f[0] for f in FIGURES)})")
    if args.dpi <= 0:
        parser.error("--dpi must be positive")

    if not args.results.is_dir():
        print(f"no results directory {args.results}: no figures made")
        return 0
    apply_style(dpi=args.dpi)
    where = dict(args.where)
    failed = False
    for name, make, what in figures:
        try:
            paths = make(args.results, args.out, where)
        except NoData as e:
            print(f"skip {name} ({what}): {e}")
        except BadData as e:
            print(f"error {name} ({what}): {e}", file=sys.stderr)
            failed = True
        except Exception as e:  # a figure bug must not hide the other figures
            print(f"error {name} ({what}): {type(e).__name__}: {e}", file=sys.stderr)
            failed = True
        else:
            print(f"wrote {', '.join(str(p) for p in paths)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
