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

HERE = Path(__file__).resolve().parent
PLOTS = HERE.parent
for path in (PLOTS, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import make_figures  # noqa: E402
import synthetic  # noqa: E402
from hsplots.figures import FIGURES, per_seed_ratios  # noqa: E402
from hsplots.style import METHOD_COLORS, METHOD_ORDER, method_color  # noqa: E402

FIGURE_NAMES = [name for name, _, _ in FIGURES]
SCRIPT = PLOTS / "make_figures.py"


def run_in_process(results: Path, out: Path) -> tuple[int, str, str]:
    """make_figures.main on the given directories: (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = make_figures.main(["--results", str(results), "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue()


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
        synthetic.write_results(self.results)
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        self.assert_figures(FIGURE_NAMES)
        self.assertEqual(out.count("wrote "), len(FIGURE_NAMES))

    def test_pdfs_embed_truetype_fonts(self):
        synthetic.write_results(self.results, files=("cost.csv",))
        code, _, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        pdf = (self.out / "fig4b_cost_ratio.pdf").read_bytes()
        self.assertIn(b"/FontFile2", pdf)  # embedded TrueType (pdf.fonttype 42)
        self.assertNotIn(b"/Type3", pdf)

    def test_one_width_skips_only_the_width_figure(self):
        synthetic.write_results(self.results, widths=(16,))
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assert_figures([n for n in FIGURE_NAMES if n != "fig3_normalized_l1_vs_width"])
        self.assertIn("skip fig3_normalized_l1_vs_width", out)
        self.assertIn("needs two widths or more", out)


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
            ("cost only", ("cost.csv",), ["fig4b_cost_ratio"]),
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
        ]:
            (self.results / name).write_text(",".join(header) + "\n")
        code, out, err = run_in_process(self.results, self.out)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.count("has no data rows"), len(FIGURE_NAMES))


class UnusableData(TempDirTest):
    def test_unusable_csvs_give_one_line_errors_and_exit_1(self):
        synthetic.write_results(self.results)
        # cost.csv loses a column; quality_timing.csv gets an unparsable number.
        cost = (self.results / "cost.csv").read_text()
        (self.results / "cost.csv").write_text(cost.replace("ratio_to_gradient", "ratio", 1))
        timing = (self.results / "quality_timing.csv").read_text().splitlines()
        timing[1] = timing[1].rsplit(",", 1)[0] + ",fast"
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
        self.assert_figures(FIGURE_NAMES[:3])


class Helpers(unittest.TestCase):
    def test_every_method_has_its_own_colour(self):
        self.assertEqual(set(METHOD_ORDER), set(METHOD_COLORS))
        self.assertEqual(len(set(METHOD_COLORS.values())), len(METHOD_COLORS))
        for method in METHOD_ORDER:
            self.assertEqual(method_color(method), METHOD_COLORS[method])

    def test_unknown_methods_get_stable_colours(self):
        self.assertEqual(method_color("ggn_mc:10"), METHOD_COLORS["ggn_mc:1"])
        self.assertEqual(method_color("newfangled"), method_color("newfangled"))

    def test_per_seed_ratios_divide_by_hesscale_of_the_same_seed(self):
        cell = {"activation": "tanh", "loss": "mse", "reduction": "mean", "depth": 2,
                "width": 4, "batch_size": 1, "layer": "all", "param": "all"}
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
        key = ("tanh", "mse", "mean", 2, 4, 1)
        self.assertEqual(ratios[key]["ggn"], [1.5, 1.0])
        self.assertEqual(ratios[key]["hesscale"], [1.0, 1.0])

    def test_synthetic_summary_has_the_exact_header_check_expects(self):
        with tempfile.TemporaryDirectory() as tmp:
            (path,) = synthetic.write_results(Path(tmp), files=("quality_summary.csv",))
            with path.open(newline="") as handle:
                header = next(csv.reader(handle))
        self.assertEqual(
            ",".join(header),
            "activation,loss,reduction,depth,width,batch_size,method,layer,seeds,samples,"
            "mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1",
        )


if __name__ == "__main__":
    unittest.main()
