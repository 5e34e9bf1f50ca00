"""The README figure check fails on a figure without a source, a stale number and an unfinished step.

python3 .ci/readme_figures_test.py      (run by .ci/run before the check itself)
"""

from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

from readme_figures import check

RESULTS = {
    "rows": [
        {"step": "tests", "seconds": 1210.0, "status": "ok"},
        {"step": "cold", "seconds": 4077.0, "status": "stopped before it finished (a lower bound)"},
        {"step": "ratio", "share": 0.364, "vs ceiling": "0.428x"},
    ]
}


class ReadmeFigures(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.results = Path(scratch.name) / "results.json"
        self.results.write_text(json.dumps(RESULTS))

    def row(self, text: str, step: str) -> dict[str, object]:
        return {
            "text": text,
            "results": str(self.results),
            "where": {"step": step},
            "field": "seconds",
            "convert": "minutes",
        }

    def test_a_figure_that_matches_its_file_passes(self) -> None:
        readme = "The tests take about 20 minutes on 2 cores.\n"
        self.assertEqual(check(readme, [self.row("about 20 minutes", "tests")]), [])

    def test_a_stale_number_fails_with_the_files_figure(self) -> None:
        problems = check("takes about 12 minutes\n", [self.row("about 12 minutes", "tests")])
        self.assertEqual(len(problems), 1)
        self.assertIn("says 20", problems[0])

    def test_a_figure_without_a_row_fails_naming_its_line(self) -> None:
        readme = "intro\nabout 20 minutes, and 45 MiB per image\n"
        problems = check(readme, [self.row("about 20 minutes", "tests")])
        self.assertEqual(problems, ["README.md:2: `45 MiB` has no row in docs/figures.toml"])

    def test_an_unfinished_step_is_no_figure(self) -> None:
        problems = check("about 68 minutes\n", [self.row("about 68 minutes", "cold")])
        self.assertEqual(len(problems), 1)
        self.assertIn("did not finish", problems[0])

    def test_halves_round_up_and_ranges_are_refused(self) -> None:
        self.results.write_text(json.dumps({"rows": [{"step": "tests", "seconds": 1230.0}]}))
        self.assertEqual(check("about 21 minutes\n", [self.row("about 21 minutes", "tests")]), [])
        problems = check("4-7 minutes\n", [self.row("4-7 minutes", "tests")])
        self.assertEqual(
            problems, ["docs/figures.toml: `4-7 minutes` must hold exactly one number (no ranges)"]
        )

    def test_a_row_whose_text_left_the_readme_fails(self) -> None:
        problems = check("nothing here\n", [self.row("about 20 minutes", "tests")])
        self.assertEqual(problems, ["docs/figures.toml: `about 20 minutes` is not in README.md"])

    def test_a_share_reads_as_a_percentage_and_a_ratio_cell_as_its_number(self) -> None:
        readme = "Images are 36% of the monolith; the service reaches 0.43x of its ceiling.\n"
        share = {**self.row("Images are 36% of", "ratio"), "field": "share", "convert": "percent"}
        ceiling = {
            **self.row("reaches 0.43x of", "ratio"),
            "field": "vs ceiling",
            "convert": "same",
            "digits": 2,
        }
        self.assertEqual(check(readme, [share, ceiling]), [])
        stale = readme.replace("0.43x", "0.5x")
        self.assertEqual(len(check(stale, [share, {**ceiling, "text": "reaches 0.5x of"}])), 1)

    def test_a_share_of_a_half_percent_rounds_up_exactly(self) -> None:
        self.results.write_text(json.dumps({"rows": [{"step": "ratio", "share": 0.285}]}))
        share = {**self.row("is 29% of", "ratio"), "field": "share", "convert": "percent"}
        self.assertEqual(check("It is 29% of it.\n", [share]), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
