"""Tests of the figure scripts on synthetic CSVs. Plain unittest, no pytest:

    plots/.venv/bin/python -m unittest discover -s plots/tests -v
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
PLOTS = HERE.parent
for path in (PLOTS, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import make_figures  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import synthetic  # noqa: E402
from hsplots import figures, optimize, rl  # noqa: E402
from hsplots.data import ROUNDOFF, is_roundoff, split_roundoff  # noqa: E402
from hsplots.figures import ROUNDOFF_MARK, per_seed_ratios  # noqa: E402
from make_figures import FIGURES  # noqa: E402
from hsplots.style import (  # noqa: E402
    METHOD_COLORS,
    METHOD_ORDER,
    REFERENCE_STYLES,
    method_color,
    method_style,
)
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

FIGURE_NAMES = [name for name, _, _ in FIGURES]
# The figures of networks measured at several training steps (none for random data).
TRAINED_FIGURES = ["fig7_trained_normalized_l1", "fig8_normalized_l1_vs_step"]
RANDOM_FIGURES = [n for n in FIGURE_NAMES if n not in TRAINED_FIGURES]
# Random networks and networks trained on mnist in one results directory (merged runs):
# data for every figure.
EVERY_GRID = [{}, synthetic.TRAINED]
SCRIPT = PLOTS / "make_figures.py"


def run_in_process(results: Path, out: Path, *options: str) -> tuple[int, str, str]:
    """make_figures.main on the given directories: (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = make_figures.main(["--results", str(results), "--out", str(out),
                                      *options])
        except SystemExit as e:  # argparse errors
            code = e.code
    return code, stdout.getvalue(), stderr.getvalue()


def drawn_figure(make, results: Path, where=None):
    """Runs a figure function with save() intercepted; returns the open figure (the
    caller closes it)."""
    kept = []

    def keep(fig, out, name):
        kept.append(fig)
        return []

    with mock.patch.object(figures, "save", keep), mock.patch.object(optimize, "save", keep), \
            mock.patch.object(rl, "save", keep):
        make(results, results / "unused", where)
    return kept[0]


def figure_text(fig) -> str:
    """Every text of a figure (titles, axis labels, tick labels, notes, legend), one per
    line."""
    return "\n".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


def slot_names(ax) -> list[str]:
    """The x tick labels of a bar panel, also when they are hidden (shared with the panel
    below)."""
    formatter = ax.xaxis.get_major_formatter()
    return [formatter(x, i) for i, x in enumerate(ax.get_xticks())]


def method_lines(ax) -> dict:
    """{label: Line2D} of the labelled data lines of a line panel."""
    return {line.get_label(): line for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def run_script(results: Path, out: Path) -> subprocess.CompletedProcess:
    """make_figures.py as a separate process, as `make figures` runs it."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--results", str(results), "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)
        self.results = self.tmp / "results"
        self.out = self.tmp / "out"
        self.results.mkdir()

    def tearDown(self):
        self._tmp.cleanup()

    def assert_figures(self, names):
        """Exactly these figures exist as non-empty PNG and PDF files."""
        expected = {f"{n}.{ext}" for n in names for ext in ("png", "pdf")}
        found = {p.name for p in self.out.iterdir()} if self.out.exists() else set()
        self.assertEqual(found, expected)
        for name in expected:
            data = (self.out / name).read_bytes()
            magic = b"\x89PNG" if name.endswith(".png") else b"%PDF"
            self.assertTrue(data.startswith(magic), name)


class AllFiguresFromSyntheticData(TempDirTest):
    def test_every_figure_is_made(self):
        synthetic.write_results(self.results, grids=EVERY_GRID)
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        self.assert_figures(FIGURE_NAMES)
        self.assertEqual(out.count("wrote "), len(FIGURE_NAMES))

    def test_pdfs_embed_truetype_fonts(self):
        synthetic.write_results(self.results, grids=EVERY_GRID)
        code, _, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        for name in FIGURE_NAMES:
            pdf = (self.out / f"{name}.pdf").read_bytes()
            self.assertIn(b"/FontFile2", pdf, name)  # embedded TrueType (pdf.fonttype 42)
            self.assertNotIn(b"/Type3", pdf, name)

    def test_one_width_skips_only_the_width_figure(self):
        synthetic.write_results(self.results, widths=(16,))
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assert_figures([n for n in RANDOM_FIGURES if n != "fig3_normalized_l1_vs_width"])
        self.assertIn("skip fig3_normalized_l1_vs_width", out)
        self.assertIn("needs two widths or more", out)

    def test_random_networks_skip_the_training_figures(self):
        # random networks are measured untrained only: one step, nothing to compare
        synthetic.write_results(self.results)
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assert_figures(RANDOM_FIGURES)
        for name in TRAINED_FIGURES:
            line = next(line for line in out.splitlines() if line.startswith(f"skip {name}"))
            self.assertIn("has only step(s) 0 per network", line)


class MissingData(TempDirTest):
    def test_empty_results_directory_gives_one_message_per_figure_and_exit_0(self):
        proc = run_script(self.results, self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("Traceback", proc.stdout + proc.stderr)
        lines = proc.stdout.strip().splitlines()
        self.assertEqual(len(lines), len(FIGURE_NAMES))
        for name, line in zip(FIGURE_NAMES, lines):
            self.assertTrue(line.startswith(f"skip {name}"), line)
            self.assertIn("not found", line)
        self.assertFalse(self.out.exists())

    def test_missing_results_directory_is_one_line_and_exit_0(self):
        proc = run_script(self.tmp / "nowhere", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("Traceback", proc.stdout + proc.stderr)
        self.assertEqual(len(proc.stdout.strip().splitlines()), 1)

    def test_each_file_alone_makes_just_its_figures(self):
        cases = [
            ("summary only", ("quality_summary.csv",),
             ["fig1_normalized_l1", "fig2_l1_per_layer", "fig3_normalized_l1_vs_width"]),
            ("runs only", ("quality_runs.csv",), []),
            ("timing only", ("quality_timing.csv",), ["fig4a_time_per_sample"]),
            ("timing cells only", ("quality_timing_cells.csv",), []),
            ("cost only", ("cost.csv",), ["fig4b_cost_ratio"]),
            ("optimize summary only", ("optimize_summary.csv",),
             ["fig6_step_size_sensitivity"]),
            ("optimize curves only", ("optimize_curves.csv",), []),
            ("optimize files", ("optimize_curves.csv", "optimize_summary.csv"),
             ["fig5_learning_curves", "fig6_step_size_sensitivity"]),
            ("rl summary only", ("rl_summary.csv",), ["fig10_rl_step_size_sensitivity"]),
            ("rl curves only", ("rl_curves.csv",), []),
            ("rl files", ("rl_curves.csv", "rl_summary.csv"),
             ["fig9_rl_learning_curves", "fig10_rl_step_size_sensitivity"]),
        ]
        for name, files, figures in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                results, self.out = Path(tmp) / "results", Path(tmp) / "out"
                synthetic.write_results(results, files=files)
                code, out, err = run_in_process(results, self.out)
                self.assertEqual(code, 0, err)
                self.assert_figures(figures)
                self.assertEqual(out.count("skip "), len(FIGURE_NAMES) - len(figures))

    def test_header_only_csvs_are_skipped(self):
        for name, header in [
            ("quality_summary.csv", synthetic.QUALITY_SUMMARY_HEADER),
            ("quality_runs.csv", synthetic.QUALITY_RUNS_HEADER),
            ("quality_timing.csv", synthetic.QUALITY_TIMING_HEADER),
            ("cost.csv", synthetic.COST_HEADER),
            ("optimize_curves.csv", synthetic.OPTIMIZE_CURVES_HEADER),
            ("optimize_summary.csv", synthetic.OPTIMIZE_SUMMARY_HEADER),
            ("rl_curves.csv", synthetic.RL_CURVES_HEADER),
            ("rl_summary.csv", synthetic.RL_SUMMARY_HEADER),
        ]:
            (self.results / name).write_text(",".join(header) + "\n")
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.count("has no data rows"), len(FIGURE_NAMES))


class UnusableData(TempDirTest):
    def test_unusable_csvs_give_one_line_errors_and_exit_1(self):
        synthetic.write_results(self.results, grids=EVERY_GRID)
        # cost.csv loses a column; quality_timing.csv gets an unparsable number.
        cost = (self.results / "cost.csv").read_text()
        (self.results / "cost.csv").write_text(cost.replace("ratio_to_gradient", "ratio", 1))
        timing = (self.results / "quality_timing.csv").read_text().splitlines()
        head, cost = timing[1].rsplit(",", 1)  # seconds_per_sample is the last field but one
        timing[1] = head.rsplit(",", 1)[0] + ",fast," + cost
        (self.results / "quality_timing.csv").write_text("\n".join(timing) + "\n")

        proc = run_script(self.results, self.out)
        self.assertEqual(proc.returncode, 1)
        self.assertNotIn("Traceback", proc.stdout + proc.stderr)
        errors = proc.stderr.strip().splitlines()
        self.assertEqual(len(errors), 2, proc.stderr)
        self.assertIn("fig4a_time_per_sample", errors[0])
        self.assertIn("line 2: column seconds_per_sample: `fast` is not a number", errors[0])
        self.assertIn("fig4b_cost_ratio", errors[1])
        self.assertIn("missing column(s) ratio_to_gradient", errors[1])
        self.assert_figures([n for n in FIGURE_NAMES if not n.startswith("fig4")])


class RoundOffValues(TempDirTest):
    """Synthetic ReLU cells have ggn at round-off level (normalized ~1e-15), like real
    runs; that must neither stretch the log axes nor vanish silently."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results, files=("quality_summary.csv",
                                                     "quality_runs.csv"))

    def summary_rows(self) -> list[dict]:
        text = (self.results / "quality_summary.csv").read_text()
        return list(csv.DictReader(text.splitlines()))

    def test_the_synthetic_data_has_round_off_errors(self):
        rows = self.summary_rows()
        tiny = [r for r in rows if r["layer"] == "all" and r["normalized_l1"]
                and 0 < float(r["normalized_l1"]) < 1e-12]
        self.assertTrue(tiny)
        self.assertEqual({(r["activation"], r["method"]) for r in tiny}, {("relu", "ggn")})

    def test_fig1_marks_round_off_instead_of_a_bar_and_keeps_the_axis(self):
        fig = drawn_figure(figures.fig_normalized_l1, self.results)
        try:
            relu_panels = 0
            for ax in fig.axes:
                self.assertGreater(ax.get_ylim()[0], 1e-6, ax.get_title())
                marks = [t for t in ax.texts if t.get_text() == ROUNDOFF_MARK]
                if ax.get_title().startswith("relu"):
                    relu_panels += 1
                    self.assertEqual(len(marks), 1, ax.get_title())
                    # the mark sits in ggn's slot, which has no bar
                    labels = slot_names(ax)
                    self.assertEqual(labels[round(marks[0].get_position()[0])], "ggn")
                    bar_xs = {round(p.get_x() + p.get_width() / 2) for p in ax.patches}
                    self.assertNotIn(labels.index("ggn"), bar_xs)
                else:
                    self.assertEqual(marks, [], ax.get_title())
            self.assertGreater(relu_panels, 0)
            self.assertEqual(len(fig.legends), 1)  # one legend, outside the panels
        finally:
            plt.close(fig)

    def test_fig2_symlog_linear_range_ignores_round_off(self):
        fig = drawn_figure(figures.fig_l1_per_layer, self.results)
        try:
            for ax in fig.axes:
                self.assertGreater(ax.yaxis.get_transform().linthresh, 1e-6, ax.get_title())
                # depth 3: Linear layers 1..4, the output layer is 4
                labels = [t.get_text() for t in ax.get_xticklabels()]
                self.assertEqual(labels, ["1", "2", "3", "4 (output)"])
        finally:
            plt.close(fig)

    def test_fig3_drops_round_off_points_and_names_them(self):
        fig = drawn_figure(figures.fig_normalized_l1_vs_width, self.results)
        try:
            for ax in fig.axes:
                self.assertGreater(ax.get_ylim()[0], 1e-6, ax.get_title())
                for line in ax.get_lines():
                    self.assertFalse(any(is_roundoff(y) for y in line.get_ydata()))
                if ax.get_title().startswith("relu"):
                    self.assertIn("not drawn", ax.get_title())
                    self.assertIn("ggn", ax.get_title())
                    self.assertNotIn("ggn", [line.get_label() for line in ax.get_lines()])
        finally:
            plt.close(fig)

    def test_a_panel_with_only_round_off_errors_still_draws(self):
        # the ReLU cells' ggn rows alone (their normalized errors were computed with
        # hesscale, which is no longer there)
        rows = [r for r in self.summary_rows()
                if r["activation"] == "relu" and r["method"] == "ggn"]
        with (self.results / "quality_summary.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        fig = drawn_figure(figures.fig_normalized_l1, self.results)
        try:
            for ax in fig.axes:
                self.assertEqual(ax.get_ylim(), (0.1, 10.0))
                self.assertEqual([t.get_text() for t in ax.texts], [ROUNDOFF_MARK])
        finally:
            plt.close(fig)


class UndefinedNormalization(TempDirTest):
    """At depth 1 with mse, hesscale is exact in every layer (like real runs), so nothing
    can be normalized by its error: fig1 and fig3 say so in the panel instead of drawing
    empty axes."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results, files=("quality_summary.csv",
                                                     "quality_runs.csv"),
                                depth=1, cells=[("tanh", "cross_entropy"), ("tanh", "mse")])

    def summary_rows(self) -> list[dict]:
        with (self.results / "quality_summary.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))

    def write_summary(self, rows: list[dict]) -> None:
        with (self.results / "quality_summary.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    def test_the_synthetic_mse_cells_have_no_normalized_errors(self):
        rows = [r for r in self.summary_rows() if r["layer"] == "all"]
        self.assertTrue(all(r["normalized_l1"] == "" for r in rows if r["loss"] == "mse"))
        self.assertTrue(all(r["normalized_l1"] != "" for r in rows
                            if r["loss"] == "cross_entropy"))

    def note(self, ax) -> str:
        return " ".join(t.get_text() for t in ax.texts).replace("\n", " ")

    def test_fig1_explains_instead_of_an_empty_panel(self):
        fig = drawn_figure(figures.fig_normalized_l1, self.results)
        try:
            self.assertEqual(len(fig.axes), 4)
            self.assertIn("depth 1", fig.get_suptitle())
            for ax in fig.axes:
                if "mse" in ax.get_title():
                    self.assertFalse(ax.axison, ax.get_title())
                    note = self.note(ax)
                    self.assertIn("undefined", note)
                    self.assertIn("hesscale is exact in every layer", note)
                    self.assertIn("Exact as well: bl89", note)
                else:
                    self.assertTrue(ax.axison, ax.get_title())
                    self.assertTrue(ax.patches)  # the bars
                    # a bar panel above a note still names its methods
                    self.assertIn("hesscale_gn",
                                  [t.get_text() for t in ax.get_xticklabels()])
            self.assertNotIn("missing", figure_text(fig))
        finally:
            plt.close(fig)

    def test_fig3_explains_instead_of_an_empty_panel(self):
        fig = drawn_figure(figures.fig_normalized_l1_vs_width, self.results)
        try:
            titles = [ax.get_title() for ax in fig.axes]
            self.assertEqual(titles, ["cross_entropy", "mse"])
            ce, mse = fig.axes
            self.assertTrue(method_lines(ce))
            self.assertFalse(mse.axison)
            self.assertEqual(method_lines(mse), {})
            self.assertIn("hesscale is exact in every layer", self.note(mse))
        finally:
            plt.close(fig)

    def test_a_missing_hesscale_is_named(self):
        rows = [dict(r, normalized_l1="", ratio_mean="", ratio_se="")
                for r in self.summary_rows() if r["method"] != "hesscale"]
        self.write_summary(rows)
        fig = drawn_figure(figures.fig_normalized_l1, self.results)
        try:
            for ax in fig.axes:
                self.assertFalse(ax.axison)
                self.assertIn("hesscale was not run", self.note(ax))
        finally:
            plt.close(fig)


class BatchWording(TempDirTest):
    """An L1 error is taken over a batch: 'per sample' only for batches of one; every
    quality figure names the batch size and the reduction."""

    def texts(self, **kwargs) -> dict[str, str]:
        synthetic.write_results(self.results, **kwargs)
        texts = {}
        for name, make, _ in FIGURES[:4]:
            fig = drawn_figure(make, self.results)
            try:
                texts[name] = figure_text(fig)
            finally:
                plt.close(fig)
        return texts

    def test_batches_of_four_are_per_batch(self):
        texts = self.texts(batch_size=4, reduction="sum")
        fig2 = texts["fig2_l1_per_layer"]
        self.assertIn("mean L1 error per batch of 4", fig2)
        self.assertNotIn("per sample", fig2)
        self.assertIn("3 seeds × 50 batches", fig2)
        self.assertIn("a batch's time ÷ 4", texts["fig4a_time_per_sample"])
        for name, text in texts.items():
            with self.subTest(name):
                self.assertIn("batch size 4", text)
                self.assertIn("sum reduction", text)

    def test_batches_of_one_are_per_sample(self):
        texts = self.texts()
        fig2 = texts["fig2_l1_per_layer"]
        self.assertIn("mean L1 error per sample", fig2)
        self.assertNotIn("per batch", fig2)
        self.assertIn("3 seeds × 50 samples", fig2)
        for name, text in texts.items():
            with self.subTest(name):
                self.assertIn("batch size 1", text)
                self.assertIn("mean reduction", text)


class TimingReferences(TempDirTest):
    """quality_timing.csv has a `gradient` and a `linearization` row per grid point."""

    def test_fig4a_draws_gradient_dashed_and_linearization_dotted(self):
        synthetic.write_results(self.results, files=("quality_timing.csv",
                                                     "quality_timing_cells.csv"))
        fig = drawn_figure(figures.fig_time_per_sample, self.results)
        try:
            for ax in fig.axes:
                lines = method_lines(ax)
                self.assertEqual(lines["gradient"].get_linestyle(), "--")
                self.assertEqual(lines["linearization"].get_linestyle(), ":")
                for ref in ("gradient", "linearization"):
                    self.assertIn(lines[ref].get_marker(), ("", "None", None))
                self.assertEqual(lines["hesscale"].get_linestyle(), "-")
                self.assertEqual(lines["hesscale"].get_marker(), "o")
                # error bars (s.e. over seeds from the cells file) on the methods only
                with_bars = {c.lines[0].get_label() for c in ax.containers
                             if isinstance(c, ErrorbarContainer)}
                self.assertIn("hesscale", with_bars)
                self.assertNotIn("gradient", with_bars)
                self.assertNotIn("linearization", with_bars)
            legend = [t.get_text() for t in fig.legends[0].get_texts()]
            self.assertIn("one plain gradient", legend)
            self.assertTrue(any(t.startswith("shared linearization") for t in legend))
            self.assertIn("s.e. over 3 seeds", fig.get_suptitle())
        finally:
            plt.close(fig)

    def test_fig4a_from_an_older_timing_file_alone(self):
        synthetic.write_results(self.results, files=("quality_timing.csv",))
        path = self.results / "quality_timing.csv"
        lines = path.read_text().splitlines()
        path.write_text("\n".join(line for line in lines
                                  if ",gradient," not in line
                                  and ",linearization," not in line) + "\n")
        fig = drawn_figure(figures.fig_time_per_sample, self.results)
        try:
            for ax in fig.axes:
                self.assertNotIn("gradient", method_lines(ax))
                self.assertIn("hesscale", method_lines(ax))
                self.assertEqual([c for c in ax.containers
                                  if isinstance(c, ErrorbarContainer)], [])
        finally:
            plt.close(fig)

    def test_fig4a_values_follow_the_cells_a_reduction_filter_keeps(self):
        synthetic.write_results(self.results, files=("quality_timing.csv",
                                                     "quality_timing_cells.csv"),
                                reduction="sum")
        code, out, err = run_in_process(self.results, self.out, "--only", "fig4a",
                                        "--where", "reduction=mean")
        self.assertEqual(code, 0, err)
        self.assertIn("skip fig4a", out)
        self.assertIn("reduction=mean", out)


class Readability(TempDirTest):
    def test_figures_fit_a_page_at_the_default_dpi(self):
        # 3 widths at depth 5: rows of three panels, and per-layer panels wide enough to
        # wrap into two columns; the trained figures from the ICML 2024 grid
        synthetic.write_results(self.results, widths=(8, 16, 32), depth=5, seeds=2,
                                samples=10)
        trained = self.tmp / "trained"
        synthetic.write_results(trained, **synthetic.TRAINED)
        for name, make, _ in FIGURES:
            with self.subTest(name):
                fig = drawn_figure(make, trained if name in TRAINED_FIGURES
                                   else self.results)
                try:
                    png = io.BytesIO()
                    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
                finally:
                    plt.close(fig)
                with Image.open(png) as image:
                    width, height = image.size
                self.assertLessEqual(width, 2400)
                self.assertGreaterEqual(width, 1000)
                self.assertLessEqual(height, 2400)

    def test_a_single_panel_is_neither_tiny_nor_huge(self):
        synthetic.write_results(self.results, widths=(16,))
        code, _, err = run_in_process(self.results, self.out, "--only", "fig1",
                                      "--where", "activation=tanh")
        self.assertEqual(code, 0, err)
        with Image.open(self.out / "fig1_normalized_l1.png") as png:
            width, height = png.size
        self.assertTrue(500 <= width <= 1200, width)
        self.assertTrue(400 <= height <= 1200, height)

    def test_one_legend_below_the_panels_and_short_titles(self):
        synthetic.write_results(self.results, grids=EVERY_GRID)
        for name, make, _ in FIGURES:
            with self.subTest(name):
                fig = drawn_figure(make, self.results)
                try:
                    self.assertEqual(len(fig.legends), 1)
                    self.assertTrue(all(ax.get_legend() is None for ax in fig.axes))
                    # a title line and a subtitle, no paragraphs
                    self.assertLessEqual(len(fig.get_suptitle().splitlines()), 3)
                    for ax in fig.axes:
                        self.assertLessEqual(len(ax.get_title().splitlines()), 3)
                finally:
                    plt.close(fig)

    def test_lines_have_the_method_colours_and_error_bars(self):
        synthetic.write_results(self.results)
        for make in (figures.fig_normalized_l1_vs_width, figures.fig_time_per_sample,
                     figures.fig_cost_ratio):
            fig = drawn_figure(make, self.results)
            try:
                for ax in fig.axes:
                    for label, line in method_lines(ax).items():
                        self.assertEqual(to_hex(line.get_color()), method_color(label))
                    if make is figures.fig_normalized_l1_vs_width:
                        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
                        self.assertGreaterEqual(len(bars), 10)
            finally:
                plt.close(fig)


class OptimizeFigures(TempDirTest):
    """fig5 and fig6 on the synthetic optimize study: 6 optimizers × {none, hesscale} ×
    5 step sizes × 3 seeds, sgd at α = 1 diverging."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results,
                                files=("optimize_curves.csv", "optimize_summary.csv"))

    def series_lines(self, ax) -> dict:
        """The labelled data lines of a panel, by label."""
        return {line.get_label(): line for line in ax.get_lines()
                if not line.get_label().startswith("_")}

    def test_learning_curves_show_every_series_at_its_best_step_size(self):
        fig = drawn_figure(optimize.fig_learning_curves, self.results)
        try:
            accuracy, loss = fig.axes[:2]
            lines = self.series_lines(accuracy)
            self.assertEqual(len(lines), 12)
            self.assertIn("adam (α 0.001)", lines)
            # scaled adam is best at the smallest step size that ties (0.001 here)
            self.assertTrue(any(label.startswith("adam + scaling (α ") for label in lines))
            self.assertEqual(lines["adam (α 0.001)"].get_linestyle(), "-")
            scaled = next(line for label, line in lines.items()
                          if label.startswith("adahesscale + scaling"))
            self.assertEqual(scaled.get_linestyle(), "--")
            self.assertEqual(to_hex(scaled.get_color()), METHOD_COLORS["hesscale"])
            # evaluations at 0, 50, …, 200; the training loss has none at step 0
            self.assertEqual(list(lines["adam (α 0.001)"].get_xdata()), [0, 50, 100, 150, 200])
            self.assertEqual(list(self.series_lines(loss)["adam (α 0.001)"].get_xdata()),
                             [50, 100, 150, 200])
            self.assertEqual(loss.get_yscale(), "log")
            self.assertEqual(len(fig.legends), 1)
        finally:
            plt.close(fig)

    def test_sensitivity_has_a_line_per_series_over_the_step_sizes(self):
        fig = drawn_figure(optimize.fig_step_size_sensitivity, self.results)
        try:
            plain, scaled = fig.axes
            self.assertEqual(plain.get_title(), "without step-size scaling")
            self.assertEqual(scaled.get_title(), "with the hesscale step-size scaling, δ 0.0001")
            ax = plain
            self.assertEqual(ax.get_xscale(), "log")
            lines = {c.get_label(): c.lines[0] for c in ax.containers}
            scaled_lines = {c.get_label(): c.lines[0] for c in scaled.containers}
            self.assertEqual(len(lines), 6)
            self.assertEqual(len(scaled_lines), 6)
            self.assertEqual(list(lines["sgd"].get_xdata()), [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
            self.assertEqual(lines["sgd"].get_linestyle(), "-")
            self.assertEqual(scaled_lines["sgd + scaling"].get_linestyle(), "--")
            self.assertEqual(to_hex(lines["sgd"].get_color()), "#000000")
            self.assertTrue(all(isinstance(c, ErrorbarContainer) for c in ax.containers))
            text = figure_text(fig)
            self.assertIn("some seeds diverged", text)
            self.assertIn("chance (10%)", text)
            # the ring marks sgd's diverged point at α = 1
            rings = [line for line in ax.get_lines()
                     if line.get_label().startswith("_") and line.get_markersize() == 9]
            self.assertEqual([list(r.get_xdata()) for r in rings], [[1.0]])
        finally:
            plt.close(fig)

    def test_where_selects_a_network_and_missing_files_skip(self):
        code, out, err = run_in_process(self.results, self.out, "--only", "fig6",
                                        "--where", "activation=relu")
        self.assertEqual(code, 0, err)
        self.assertIn("skip fig6_step_size_sensitivity", out)
        self.assertIn("no rows with activation=relu", out)
        (self.results / "optimize_curves.csv").unlink()
        code, out, err = run_in_process(self.results, self.out, "--only", "fig5")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip(), f"skip fig5_learning_curves (learning curves at each "
                                      f"optimizer's best step size): "
                                      f"{self.results / 'optimize_curves.csv'} not found")

    def test_optimizers_have_distinct_colours(self):
        colours = {optimize.optimizer_color(o) for o in optimize.OPTIMIZER_ORDER}
        self.assertEqual(len(colours), len(optimize.OPTIMIZER_ORDER))


def summary_values(results: Path, method: str) -> dict[tuple, float]:
    """{(data, activation, step, width): normalized_l1} of a method's layer=all rows."""
    with (results / "quality_summary.csv").open(newline="") as handle:
        return {(r["data"], r["activation"], int(r["step"]), int(r["width"])):
                float(r["normalized_l1"])
                for r in csv.DictReader(handle)
                if r["method"] == method and r["layer"] == "all" and r["normalized_l1"]}


def bar_heights(ax, method: str) -> list[tuple[float, float, bool]]:
    """(x, height, hatched) of the bars of a panel in a method's colour, by x."""
    return sorted((p.get_x() + p.get_width() / 2, p.get_height(), bool(p.get_hatch()))
                  for p in ax.patches if to_hex(p.get_edgecolor()) == method_color(method)
                  or to_hex(p.get_facecolor(), keep_alpha=False) == method_color(method))


class TrainedNetworks(TempDirTest):
    """The ICML 2024 protocol (SPEC §8): relu and tanh networks trained on mnist and
    measured at several steps, in the synthetic grid at steps 0, 100, 1,000 and 10,000
    (where every approximation's error grows relative to hesscale's)."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results, **synthetic.TRAINED)

    def test_fig7_pairs_the_first_and_the_last_step_per_activation(self):
        fig = drawn_figure(figures.fig_trained_normalized_l1, self.results)
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes], ["relu", "tanh"])
            values = summary_values(self.results, "bl89")
            for ax in fig.axes:
                activation = ax.get_title()
                (x0, before, hatched0), (x1, after, hatched1) = bar_heights(ax, "bl89")
                self.assertAlmostEqual(before, values[("mnist", activation, 0, 64)])
                self.assertAlmostEqual(after, values[("mnist", activation, 10000, 64)])
                self.assertTrue(hatched0)  # untrained: light and hatched, on the left
                self.assertFalse(hatched1)
                self.assertLess(x0, x1)
                self.assertGreater(after, before)  # training widened the gap here
            # ggn is exact in ReLU networks at every step: one mark in its slot, no bar
            relu = fig.axes[0]
            marks = [t for t in relu.texts if t.get_text() == ROUNDOFF_MARK]
            self.assertEqual(len(marks), 1)
            x = marks[0].get_position()[0]
            self.assertEqual(slot_names(relu)[round(x)], "ggn")
            self.assertEqual(x, round(x))
            self.assertEqual(bar_heights(relu, "ggn"), [])
            legend = [t.get_text() for t in fig.legends[0].get_texts()]
            self.assertIn("untrained", legend)
            self.assertIn("after 10,000 training steps (colour: method)", legend)
            title, *subtitle = fig.get_suptitle().splitlines()
            self.assertIn("before and after training", title)
            subtitle = " ".join(subtitle)
            for part in ("mnist", "784→64×3→10 (59,210 parameters)", "cross_entropy",
                         "3 seeds × 50 samples", "test accuracy after 10,000 steps: relu 9",
                         "%, tanh 9"):
                self.assertIn(part, subtitle)
            self.assertNotIn("width 64", subtitle)  # said by the architecture
        finally:
            plt.close(fig)

    def test_fig7_without_the_training_summary_names_no_accuracy(self):
        (self.results / "quality_training_summary.csv").unlink()
        fig = drawn_figure(figures.fig_trained_normalized_l1, self.results)
        try:
            self.assertNotIn("accuracy", fig.get_suptitle())
            self.assertIn("784→64×3→10", fig.get_suptitle())
        finally:
            plt.close(fig)

    def test_fig7_has_a_panel_and_an_accuracy_per_network(self):
        synthetic.write_results(self.results, **dict(synthetic.TRAINED, widths=(32, 64)))
        fig = drawn_figure(figures.fig_trained_normalized_l1, self.results)
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes],
                             ["relu, width 32", "relu, width 64", "tanh, width 32",
                              "tanh, width 64"])
            subtitle = " ".join(fig.get_suptitle().splitlines()[1:])
            self.assertIn("depth 3", subtitle)  # no one architecture for all panels
            self.assertNotIn("→", subtitle)
            self.assertRegex(subtitle, r"test accuracy after 10,000 steps: relu, width 32 "
                                       r"\d\d\.\d%; relu, width 64 \d\d\.\d%; tanh, width 32")
        finally:
            plt.close(fig)

    def test_fig8_draws_each_method_against_the_steps(self):
        fig = drawn_figure(figures.fig_normalized_l1_vs_step, self.results)
        try:
            self.assertEqual([ax.get_title().splitlines()[0] for ax in fig.axes],
                             ["relu", "tanh"])
            values = summary_values(self.results, "kfac:50")
            for ax in fig.axes:
                self.assertEqual(ax.get_xscale(), "symlog")
                self.assertEqual(list(ax.get_xticks()), [0, 100, 1000, 10000])
                line = method_lines(ax)["kfac:50"]
                expected = [values[("mnist", ax.get_title().splitlines()[0], step, 64)]
                            for step in (0, 100, 1000, 10000)]
                self.assertEqual(list(line.get_ydata()), expected)
            relu = fig.axes[0]
            self.assertIn("not drawn: ggn", relu.get_title())
            self.assertNotIn("ggn", method_lines(relu))
        finally:
            plt.close(fig)

    def test_fig8_is_skipped_with_two_steps(self):
        synthetic.write_results(self.results, **dict(synthetic.TRAINED, steps=(0, 10000)))
        code, out, err = run_in_process(self.results, self.out, "--only", "fig7",
                                        "--only", "fig8")
        self.assertEqual(code, 0, err)
        self.assert_figures(["fig7_trained_normalized_l1"])
        self.assertEqual(out.splitlines()[1],
                         "skip fig8_normalized_l1_vs_step (normalized L1 error against the "
                         f"training step): {self.results / 'quality_summary.csv'} has only "
                         "step(s) 0, 10000 per network: needs three training steps or more")

    def test_where_step_reduces_the_trained_grid_to_fig1(self):
        code, out, err = run_in_process(self.results, self.out, "--where", "step=10000",
                                        "--only", "fig")
        self.assertEqual(code, 0, err)
        self.assertIn("wrote", out)
        self.assertIn("skip fig7_trained_normalized_l1", out)
        self.assertIn("has only step(s) 10000 per network", out)
        fig = drawn_figure(figures.fig_normalized_l1, self.results, {"step": "10000"})
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes], ["relu", "tanh"])
            self.assertIn("mnist · cross_entropy · after 10,000 training steps",
                          fig.get_suptitle())
        finally:
            plt.close(fig)


class MixedDataAndSteps(TempDirTest):
    """Random networks and networks trained on mnist (steps 0 and 10,000) in one results
    directory: fig1–fig4a split their panels by data and step instead of mixing them."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results, grids=[
            {}, dict(synthetic.TRAINED, steps=(0, 10000))])

    def test_fig1_has_a_panel_per_data_and_step_with_its_own_values(self):
        fig = drawn_figure(figures.fig_normalized_l1, self.results)
        try:
            titles = [ax.get_title() for ax in fig.axes]
            # random: 2 cells × 2 widths; mnist: 2 activations × 2 steps
            self.assertEqual(len(titles), 8)
            self.assertEqual(len(set(titles)), 8)
            self.assertEqual(sum(t.startswith("random inputs, ") for t in titles), 4)
            values = summary_values(self.results, "bl89")
            for ax in fig.axes:
                title = ax.get_title()
                data = "mnist" if title.startswith("mnist") else "random"
                step = 10000 if "after 10,000 training steps" in title else 0
                if data == "random":
                    self.assertIn("untrained", title)
                activation = "relu" if ", relu, " in title else "tanh"
                width = int(title.rsplit("width ", 1)[1])
                (_, height, _), = bar_heights(ax, "bl89")
                self.assertAlmostEqual(height, values[(data, activation, step, width)])
                # the per-seed dots of this cell only: one per seed and drawn method
                dots = sum(len(c.get_offsets()) for c in ax.collections
                           if isinstance(c, PathCollection))
                drawn = len(ax.patches)
                self.assertEqual(dots, 3 * drawn, title)
        finally:
            plt.close(fig)

    def test_fig2_fig3_and_fig4a_split_by_data_and_step(self):
        for make, expected in ((figures.fig_l1_per_layer, 8),
                               (figures.fig_normalized_l1_vs_width, 6),
                               (figures.fig_time_per_sample, 4)):
            with self.subTest(make.__name__):
                fig = drawn_figure(make, self.results)
                try:
                    titles = [ax.get_title().splitlines()[0] for ax in fig.axes]
                    self.assertEqual(len(set(titles)), expected, titles)
                    self.assertEqual(sum(t.startswith("mnist") for t in titles),
                                     expected - (4 if expected == 8 else 2))
                    for ax in fig.axes:  # fig4a leaves out the training's time
                        self.assertNotIn("training", method_lines(ax))
                finally:
                    plt.close(fig)


class OlderFiles(TempDirTest):
    """Files written before quality had the data, sizes and step columns read as random
    networks at initialisation, and random-only results look as they did."""

    def strip_new_columns(self) -> None:
        for path in self.results.glob("quality_*.csv"):
            with path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            old = [c for c in rows[0] if c not in ("data", "inputs", "outputs", "n_params",
                                                     "step")]
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=old, extrasaction="ignore",
                                        lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)

    def test_older_files_give_the_same_figures(self):
        synthetic.write_results(self.results, files=synthetic.ALL_FILES[:4])
        code, _, err = run_in_process(self.results, self.out / "new", "--dpi", "40")
        self.assertEqual(code, 0, err)
        self.strip_new_columns()
        self.assertNotIn("step", (self.results / "quality_runs.csv").read_text())
        code, out, err = run_in_process(self.results, self.out / "old", "--dpi", "40")
        self.assertEqual(code, 0, err)
        # fig11 needs the cost column, which older timing files lack.
        made = sorted(p.name for p in (self.out / "new").glob("*.png")
                      if not p.name.startswith("fig11"))
        self.assertEqual(made, [f"{n}.png" for n in RANDOM_FIGURES[:4]])
        for name in made:
            with Image.open(self.out / "new" / name) as new, \
                    Image.open(self.out / "old" / name) as old:
                self.assertEqual(new.tobytes(), old.tobytes(), name)

    def test_random_networks_name_neither_data_nor_step(self):
        synthetic.write_results(self.results)
        for make in (figures.fig_normalized_l1, figures.fig_l1_per_layer,
                     figures.fig_normalized_l1_vs_width, figures.fig_time_per_sample):
            fig = drawn_figure(make, self.results)
            try:
                text = figure_text(fig)
                for word in ("random", "untrained", "step", "mnist"):
                    self.assertNotIn(word, text, make.__name__)
            finally:
                plt.close(fig)


class Options(TempDirTest):
    def test_only_where_and_dpi_make_the_compact_example(self):
        synthetic.write_results(self.results)
        code, out, err = run_in_process(self.results, self.out, "--only", "fig1",
                                        "--where", "loss=cross_entropy",
                                        "--where", "width=16", "--dpi", "50")
        self.assertEqual(code, 0, err)
        self.assert_figures(["fig1_normalized_l1"])
        self.assertEqual(out.count("wrote "), 1)
        fig = drawn_figure(figures.fig_normalized_l1, self.results,
                           {"loss": "cross_entropy", "width": "16"})
        try:
            # one panel: its settings are all in the subtitle, none in the panel title
            self.assertEqual([ax.get_title() for ax in fig.axes], [""])
            subtitle = fig.get_suptitle()
            for setting in ("tanh", "cross_entropy", "width 16", "depth 3", "batch size 1",
                            "mean reduction", "3 seeds × 50 samples"):
                self.assertIn(setting, subtitle)
        finally:
            plt.close(fig)

    def test_where_matching_nothing_skips(self):
        synthetic.write_results(self.results, files=("quality_timing.csv",))
        code, out, err = run_in_process(self.results, self.out, "--only", "fig4a",
                                        "--where", "width=12345")
        self.assertEqual(code, 0, err)
        self.assertIn("has no rows with width=12345", out)

    def test_bad_options_are_usage_errors(self):
        for options in (["--where", "colour=red"], ["--where", "width"],
                        ["--only", "fig99"], ["--dpi", "0"]):
            with self.subTest(options=options):
                code, _, err = run_in_process(self.results, self.out, *options)
                self.assertEqual(code, 2)
                self.assertIn("error:", err)


class RlFigures(TempDirTest):
    """fig9 and fig10 on the synthetic rl study: pendulum and cartpole × a2c and ppo × 4
    optimizers × {none, hesscale} × 3 step sizes × 2 seeds, unscaled adahessian at
    α = 1e-2 diverging."""

    def setUp(self):
        super().setUp()
        synthetic.write_results(self.results, files=("rl_curves.csv", "rl_summary.csv"))

    def test_window_means_by_hand(self):
        episodes = [{"step": 100, "episode_return": 1.0},
                    {"step": 450, "episode_return": 3.0},
                    {"step": 500, "episode_return": 5.0},
                    {"step": 1000, "episode_return": 7.0}]
        self.assertEqual(rl.window_means(episodes, 1000, windows=4),
                         {250.0: 1.0, 500.0: 4.0, 1000.0: 7.0})

    def test_learning_curves_have_a_panel_per_task_and_agent(self):
        fig = drawn_figure(rl.fig_rl_learning_curves, self.results)
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes],
                             ["cartpole · a2c", "cartpole · ppo", "pendulum · a2c",
                              "pendulum · ppo"])
            lines = method_lines(fig.axes[2])
            self.assertEqual(len(lines), 8)
            self.assertIn("adam (α 0.001)", lines)
            scaled = next(line for label, line in lines.items()
                          if label.startswith("adahesscale + scaling"))
            self.assertEqual(scaled.get_linestyle(), "--")
            self.assertEqual(to_hex(scaled.get_color()), METHOD_COLORS["hesscale"])
            # 20 windows of 100 steps; pendulum episodes (200 steps) end in every other one
            self.assertEqual(list(lines["adam (α 0.001)"].get_xdata()),
                             [float(s) for s in range(200, 2001, 200)])
            self.assertEqual(len(fig.legends[0].get_texts()), 8)
        finally:
            plt.close(fig)

    def test_sensitivity_per_task_and_over_tasks(self):
        fig = drawn_figure(rl.fig_rl_step_size_sensitivity, self.results)
        try:
            titles = [ax.get_title() for ax in fig.axes]
            self.assertEqual(titles, ["cartpole · a2c", "pendulum · a2c", "all tasks · a2c",
                                      "cartpole · ppo", "pendulum · ppo", "all tasks · ppo"])
            cartpole, pendulum, both = fig.axes[:3]
            series = [{c.get_label(): c.lines[0] for c in ax.containers}
                      for ax in (cartpole, pendulum, both)]
            self.assertEqual(len(series[2]), 8)
            self.assertEqual(list(series[0]["adam"].get_xdata()), [1e-4, 1e-3, 1e-2])
            mean = (series[0]["adam"].get_ydata() + series[1]["adam"].get_ydata()) / 2
            self.assertEqual(list(series[2]["adam"].get_ydata()), list(mean))
            self.assertEqual(series[0]["adam + scaling"].get_linestyle(), "--")
            rings = [line for line in cartpole.get_lines()
                     if line.get_label().startswith("_") and line.get_markersize() == 9]
            self.assertEqual([list(r.get_xdata()) for r in rings], [[1e-2]])
            self.assertIn("some seeds diverged", figure_text(fig))
        finally:
            plt.close(fig)


class RlMujocoFigures(TempDirTest):
    """fig9 and fig10 on a study shaped like experiments/rl-mujoco-small.json: four MuJoCo
    tasks, PPO only, one step size (3e-4), 3 seeds."""

    ENVS = (("half_cheetah", 1000, -400.0, 1500.0), ("hopper", 100, 10.0, 1000.0),
            ("walker2d", 100, 0.0, 800.0), ("inverted_pendulum", 50, 5.0, 1000.0))

    def setUp(self):
        super().setUp()
        curves, summary = synthetic.rl_rows(envs=self.ENVS, agents=("ppo",), lrs=(3e-4,),
                                            seeds=3, steps=20000)
        synthetic._write(self.results / "rl_curves.csv", synthetic.RL_CURVES_HEADER, curves)
        synthetic._write(self.results / "rl_summary.csv", synthetic.RL_SUMMARY_HEADER,
                         summary)

    def test_learning_curves_have_a_panel_per_task(self):
        fig = drawn_figure(rl.fig_rl_learning_curves, self.results)
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes],
                             ["half_cheetah · ppo", "hopper · ppo",
                              "inverted_pendulum · ppo", "walker2d · ppo"])
            self.assertEqual(len(method_lines(fig.axes[0])), 8)
            self.assertIn("adam (α 0.0003)", method_lines(fig.axes[0]))
        finally:
            plt.close(fig)

    def test_a_single_step_size_is_marked_on_the_axis(self):
        """Less than two decades of α may hold no power of ten: the grid's α are the
        ticks; every row's first panel carries the y label."""
        fig = drawn_figure(rl.fig_rl_step_size_sensitivity, self.results)
        try:
            self.assertEqual([ax.get_title() for ax in fig.axes],
                             ["half_cheetah · ppo", "hopper · ppo", "inverted_pendulum · ppo",
                              "walker2d · ppo", "all tasks · ppo"])
            for ax in fig.axes:
                self.assertEqual(list(ax.get_xticks()), [3e-4])
                self.assertEqual([t.get_text() for t in ax.get_xticklabels()], ["0.0003"])
                first = ax.get_subplotspec().is_first_col()
                self.assertEqual(ax.get_ylabel(), "normalised return" if first else "")
        finally:
            plt.close(fig)


class Helpers(unittest.TestCase):
    def test_split_roundoff(self):
        values = {"hesscale": 1.0, "ggn": 1e-15, "exact": 0.0, "bl89": 2.0 * ROUNDOFF,
                  "missing": float("nan"), "kfac:1": 25.0}
        drawable, roundoff = split_roundoff(values)
        self.assertEqual(list(drawable), ["hesscale", "bl89", "kfac:1"])
        self.assertEqual(roundoff, ["ggn", "exact"])
        self.assertFalse(is_roundoff(float("nan")))

    def test_every_method_has_its_own_colour(self):
        self.assertEqual(set(METHOD_ORDER), set(METHOD_COLORS))
        self.assertEqual(len(set(METHOD_COLORS.values())), len(METHOD_COLORS))
        for method in METHOD_ORDER:
            self.assertEqual(method_color(method), METHOD_COLORS[method])

    def test_methods_can_be_told_apart_by_marker_and_fill(self):
        # a family shares a hue, so within it the marker fill and the dashes differ;
        # across families the markers differ
        seen = {}
        for method in METHOD_ORDER:
            style = method_style(method)
            if method in REFERENCE_STYLES:
                self.assertIn(style["marker"], ("", None))
                continue
            key = (style["marker"], style["markerfacecolor"] == "white")
            self.assertNotIn(key, seen, f"{method} looks like {seen.get(key)}")
            seen[key] = method
        self.assertEqual(method_style("ggn_mc:1")["markerfacecolor"], "white")
        self.assertNotEqual(method_style("ggn_mc:1")["ls"], method_style("ggn_mc:50")["ls"])
        self.assertEqual(method_style("kfac:10")["marker"], method_style("kfac:50")["marker"])

    def test_unknown_methods_get_stable_colours(self):
        self.assertEqual(method_color("ggn_mc:10"), METHOD_COLORS["ggn_mc:1"])
        self.assertEqual(method_color("newfangled"), method_color("newfangled"))

    def test_per_seed_ratios_divide_by_hesscale_of_the_same_seed(self):
        cell = {"data": "random", "step": 0, "activation": "tanh", "loss": "mse",
                "reduction": "mean", "depth": 2, "width": 4, "batch_size": 1,
                "layer": "all", "param": "all"}
        runs = [
            {**cell, "seed": 0, "method": "hesscale", "l1": 2.0},
            {**cell, "seed": 0, "method": "ggn", "l1": 3.0},
            {**cell, "seed": 1, "method": "hesscale", "l1": 4.0},
            {**cell, "seed": 1, "method": "ggn", "l1": 4.0},
            {**cell, "seed": 1, "method": "ggn", "l1": 99.0, "param": "weight"},
            {**cell, "seed": 2, "method": "hesscale", "l1": 0.0},  # skipped: no ratio
            {**cell, "seed": 2, "method": "ggn", "l1": 1.0},
        ]
        ratios = per_seed_ratios(runs)
        key = ("random", 0, "tanh", "mse", "mean", 2, 4, 1)
        self.assertEqual(ratios[key]["ggn"], [1.5, 1.0])
        self.assertEqual(ratios[key]["hesscale"], [1.0, 1.0])

    def test_synthetic_summary_has_the_exact_header_check_expects(self):
        with tempfile.TemporaryDirectory() as tmp:
            (path,) = synthetic.write_results(Path(tmp), files=("quality_summary.csv",))
            with path.open(newline="") as handle:
                header = next(csv.reader(handle))
        self.assertEqual(
            ",".join(header),
            "activation,loss,reduction,data,depth,width,inputs,outputs,n_params,batch_size,"
            "step,method,layer,seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,"
            "relative_l1",
        )

    def test_synthetic_training_files_have_the_headers_quality_writes(self):
        self.assertEqual(
            ",".join(synthetic.QUALITY_TRAINING_SUMMARY_HEADER),
            "activation,loss,reduction,data,depth,width,step,seeds,train_loss,test_loss,"
            "test_accuracy,test_accuracy_se",
        )
        self.assertEqual(
            ",".join(synthetic.QUALITY_TIMING_HEADER),
            "activation,loss,data,depth,width,batch_size,method,samples,seconds_per_sample,"
            "backward_equivalents",
        )

    def test_labels_of_data_and_steps(self):
        self.assertEqual(figures.data_label("random"), "random inputs")
        self.assertEqual(figures.data_label("mnist:/data/full-mnist"), "mnist:full-mnist")
        self.assertEqual(figures.step_label(0), "untrained")
        self.assertEqual(figures.step_label(10000), "after 10,000 training steps")

    def test_synthetic_optimize_files_have_the_headers_optimize_writes(self):
        self.assertEqual(
            ",".join(synthetic.OPTIMIZE_CURVES_HEADER),
            "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seed,step,"
            "train_loss,test_loss,test_accuracy,diverged",
        )
        self.assertEqual(
            ",".join(synthetic.OPTIMIZE_SUMMARY_HEADER),
            "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seeds,"
            "diverged,steps,final_test_loss,final_test_loss_se,final_test_accuracy,"
            "final_test_accuracy_se,mean_test_accuracy,mean_test_accuracy_se,best_lr",
        )


if __name__ == "__main__":
    unittest.main()
