from __future__ import annotations

import pytest

from bench.ci_run import UnfinishedRunError, step_times

LOG = """\

=== bootstrap Pants (0s)
pants 2.17.1
=== tests: ./pants test :: (496s)
✓ libs/tracking/cli_test.py:tests succeeded in 24.00s.
=== images: ./pants package (1706s)
=== done in 2737s (2737s)
"""


def test_each_step_lasts_until_the_next_and_the_total_closes_the_table() -> None:
    assert step_times(LOG) == [
        {"step": "bootstrap Pants", "started_s": 0, "seconds": 496},
        {"step": "tests: ./pants test ::", "started_s": 496, "seconds": 1210},
        {"step": "images: ./pants package", "started_s": 1706, "seconds": 1031},
        {"step": "total", "started_s": 0, "seconds": 2737},
    ]


def test_a_run_that_did_not_finish_has_no_figures() -> None:
    unfinished = LOG.replace("=== done in 2737s (2737s)\n", "")
    with pytest.raises(UnfinishedRunError):
        step_times(unfinished)
