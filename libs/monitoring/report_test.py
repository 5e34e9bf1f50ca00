from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from libs.monitoring.drift import DriftSummary, compare
from libs.monitoring.report import format_psi, format_pvalue, render_report, write_report

HOSTILE = '<script>alert("x")</script>&'


def _summary() -> tuple[DriftSummary, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {"stable": rng.normal(0, 1, 2000), HOSTILE: rng.normal(0, 1, 2000), "output": rng.normal(0, 1, 2000)}
    )
    current = pd.DataFrame(
        {"stable": rng.normal(0, 1, 2000), HOSTILE: rng.normal(2, 1, 2000), "output": rng.normal(0, 1, 2000)}
    )
    summary = compare(
        reference,
        current,
        features=["stable", HOSTILE],
        prediction_column="output",
        psi_threshold=0.2,
        ks_pvalue_threshold=0.01,
    )
    return summary, reference, current


class Cells(HTMLParser):
    """Collects the text of every element with a class, per feature row, as a browser would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.ids: dict[str, str] = {}
        self._row: str | None = None
        self._cell: str | None = None
        self._id: str | None = None
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") != "application/json":
            self.scripts += 1
        if tag == "tr" and "feature" in (attributes.get("class") or "").split():
            self._row = attributes["data-feature"] or ""
            self.rows[self._row] = {}
        elif tag == "td" and self._row is not None:
            self._cell = attributes.get("class")
        self._id = attributes.get("id")
        if self._id:
            self.ids[self._id] = attributes.get("class") or ""

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell:
            self.rows[self._row][self._cell] = self.rows[self._row].get(self._cell, "") + data
        if self._id:
            self.ids[self._id + ":text"] = self.ids.get(self._id + ":text", "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "td":
            self._cell = None
        self._id = None


def test_report_shows_every_features_numbers_and_the_verdict() -> None:
    summary, reference, current = _summary()
    html = render_report(summary, reference, current, agent="agent2")
    cells = Cells()
    cells.feed(html)

    assert cells.ids["verdict"] == "drifted" and cells.ids["verdict:text"] == "drifted"
    for result in [*summary.features, summary.prediction]:
        assert result is not None
        row = cells.rows[result.feature]
        assert row["psi"] == format_psi(result.psi)
        assert row["ks-pvalue"] == format_pvalue(result.ks_pvalue)
        assert row["status"] == ("drifted" if result.drifted else "stable")
        assert row.get("flagged-by", "") == ", ".join(result.flagged_by)
    assert html.count('<figure class="plot"') == 3 and html.count("<svg") == 3


def test_report_is_self_contained() -> None:
    summary, reference, current = _summary()
    html = render_report(summary, reference, current, agent="agent2")
    assert "http" not in html.lower()
    assert not re.search(r"""(src|href)\s*=""", html), "nothing may be loaded from elsewhere"
    assert "@import" not in html and "url(" not in html


def test_every_string_is_escaped() -> None:
    summary, reference, current = _summary()
    html = render_report(summary, reference, current, agent="<b>agent</b>")
    cells = Cells()
    cells.feed(html)

    assert HOSTILE not in html and "<b>agent</b>" not in html
    assert cells.scripts == 0, "a feature name must never become a script"
    assert HOSTILE in cells.rows and cells.ids["agent:text"] == "<b>agent</b>"
    embedded = html.split('id="summary-json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded) == json.loads(json.dumps(summary.to_dict(), sort_keys=True))


def test_write_report_writes_one_file(tmp_path: Path) -> None:
    summary, reference, current = _summary()
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    path = write_report(
        tmp_path / "agent2" / "drift.html", summary, reference, current, agent="agent2", generated_at=moment
    )
    assert path.read_text(encoding="utf-8") == render_report(
        summary, reference, current, agent="agent2", generated_at=moment
    )
    assert [entry.name for entry in path.parent.iterdir()] == ["drift.html"]
