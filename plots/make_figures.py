#!/usr/bin/env python3
"""Render every figure that a hesscale-cli results directory has data for.

    plots/make_figures.py [--results DIR] [--out DIR]

Reads only the CSVs of DIR (default results/) and writes PNG and PDF files to
plots/out/ (or --out). A figure whose CSV is missing or empty is skipped with a one-line
message. Exit code 0 when every figure was made or skipped, 1 when a CSV was unusable
(a missing column, an unparsable value) or a figure failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hsplots.data import BadData, NoData  # noqa: E402
from hsplots.figures import FIGURES  # noqa: E402
from hsplots.style import apply_style  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments, makes every figure, and returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="directory holding the CSVs (default: results)")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "out",
                        help="directory for the PNG and PDF files (default: plots/out)")
    args = parser.parse_args(argv)

    if not args.results.is_dir():
        print(f"no results directory {args.results}: no figures made")
        return 0
    apply_style()
    failed = False
    for name, make, what in FIGURES:
        try:
            paths = make(args.results, args.out)
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
