"""One self-contained HTML drift report per agent: opens offline, from a file, in any browser.

API::

    html = render_report(summary, reference, current, agent="agent2")   # a str
    write_report(path, summary, reference, current, agent="agent2")     # atomic write, returns path

Plots are inline SVG drawn from numpy histograms rather than matplotlib: a bar chart needs no
plotting stack in three agent lockfiles, and the output is small and byte-for-byte reproducible.
Bins span the reference's range, with an underflow bin and an overflow bin at either end holding
the current values beyond it (their counts printed), so a few hostile values (near 1e308) cannot
stretch the axis until every other value shares one bar. The table shows each feature's median
and 5th-95th percentiles beside its mean, and how many current values fell outside the
reference's range.
No external URL (scripts, fonts, styles, even the SVG namespace, which HTML does not need), so
the page renders where the retrain loop leaves it, without a network.

Stable hooks for tests and scrapers: ``#verdict`` (class ``drifted`` or ``stable``), ``#features``
with one ``tr.feature[data-feature=NAME]`` per feature holding ``td.psi``, ``td.ks-statistic``,
``td.ks-pvalue``, ``td.current-median``, ``td.current-below``, ``td.current-above`` and
``td.status``; ``#out-of-range-rows``; ``#prediction`` and ``#quality`` when present; every
``figure.plot`` has ``data-underflow`` and ``data-overflow`` (current values beyond the reference's
range); every number
cell carries its exact value in ``data-value``; ``#summary-json`` holds ``summary.to_dict()``.
Every string from data (feature names, agent, metric) is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from libs.atomicfiles import atomic_write_text
from libs.monitoring.drift import DriftSummary, FeatureDrift, Quality

HISTOGRAM_BINS = 20
WIDTH, HEIGHT, MARGIN = 360, 150, 22
REFERENCE_COLOUR, CURRENT_COLOUR = "#4c72b0", "#dd8452"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.drifted td { background: #fde2e1; }
#verdict { font-size: 1.4rem; font-weight: bold; padding: 0.5rem 1rem; display: inline-block; }
#verdict.drifted { background: #f8c9c6; }
#verdict.stable { background: #cfeccf; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; border: 1px solid #ddd; padding: 0.5rem; }
.legend span { display: inline-block; width: 0.8rem; height: 0.8rem; margin: 0 0.3rem 0 1rem; }
"""


def format_psi(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_pvalue(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render_report(
    summary: DriftSummary,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    agent: str,
    generated_at: datetime | None = None,
) -> str:
    """The page as one string; ``reference`` and ``current`` are the frames ``summary`` was computed on."""
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    verdict = "drifted" if summary.drifted else "stable"
    drifted = ", ".join(summary.drifted_features) or "none"
    results = [*summary.features, *([summary.prediction] if summary.prediction else [])]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Drift report: {escape(agent)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f'<h1>Drift report: <span id="agent">{escape(agent)}</span></h1>',
        f'<p>Generated <time id="generated-at">{escape(moment)}</time>.</p>',
        f'<div id="verdict" class="{verdict}">{verdict}</div>',
        f'<p>Drifted features: <span id="drifted-features">{escape(drifted)}</span>. Thresholds: PSI &ge; '
        f'<span id="psi-threshold">{summary.psi_threshold:g}</span> or KS p-value &lt; '
        f'<span id="ks-pvalue-threshold">{summary.ks_pvalue_threshold:g}</span>.</p>',
        f'<p>Current rows with a value outside the reference\'s range: <span id="out-of-range-rows">'
        f"{summary.out_of_range_rows}</span> of {len(current)}.</p>",
        "<h2>Features</h2>",
        _table("features", summary.features),
    ]
    if summary.prediction is not None:
        parts += ["<h2>Predictions</h2>", _table("prediction", [summary.prediction])]
    if summary.quality is not None:
        parts += ["<h2>Model quality</h2>", _quality(summary.quality)]
    parts += [
        "<h2>Distributions</h2>",
        f'<p class="legend"><span style="background:{REFERENCE_COLOUR}"></span>reference'
        f'<span style="background:{CURRENT_COLOUR}"></span>current</p>',
        '<div class="plots">',
        *(_figure(result.feature, reference, current) for result in results),
        "</div>",
        '<script type="application/json" id="summary-json">',
        # "<" escaped so no value can close the script element early.
        json.dumps(summary.to_dict(), sort_keys=True).replace("<", "\\u003c"),
        "</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(
    path: Path,
    summary: DriftSummary,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    agent: str,
    generated_at: datetime | None = None,
) -> Path:
    html = render_report(summary, reference, current, agent=agent, generated_at=generated_at)
    return atomic_write_text(html, Path(path))


def _table(table_id: str, results: list[FeatureDrift]) -> str:
    head = (
        "<tr><th>feature</th><th>PSI</th><th>KS statistic</th><th>KS p-value</th>"
        "<th>reference n</th><th>current n</th><th>reference mean</th><th>current mean</th>"
        "<th>reference median</th><th>current median</th><th>reference p5&ndash;p95</th>"
        "<th>current p5&ndash;p95</th><th>current below range</th><th>current above range</th>"
        "<th>status</th><th>flagged by</th></tr>"
    )
    rows = [
        f'<tr class="feature{" drifted" if result.drifted else ""}" data-feature="{escape(result.feature)}">'
        f'<td class="name">{escape(result.feature)}</td>'
        f"{_number('psi', result.psi, format_psi)}"
        f"{_number('ks-statistic', result.ks_statistic, format_psi)}"
        f"{_number('ks-pvalue', result.ks_pvalue, format_pvalue)}"
        f"{_number('reference-count', result.reference_count, str)}"
        f"{_number('current-count', result.current_count, str)}"
        f"{_number('reference-mean', result.reference_mean, format_pvalue)}"
        f"{_number('current-mean', result.current_mean, format_pvalue)}"
        f"{_number('reference-median', result.reference_median, format_pvalue)}"
        f"{_number('current-median', result.current_median, format_pvalue)}"
        f"{_span('reference-range', result.reference_p05, result.reference_p95)}"
        f"{_span('current-range', result.current_p05, result.current_p95)}"
        f"{_number('current-below', result.current_below_reference, str)}"
        f"{_number('current-above', result.current_above_reference, str)}"
        f'<td class="status">{"drifted" if result.drifted else "stable"}</td>'
        f'<td class="flagged-by">{escape(", ".join(result.flagged_by))}</td></tr>'
        for result in results
    ]
    return f'<table id="{table_id}">{head}{"".join(rows)}</table>'


def _number(css_class: str, value: float | int | None, text: Callable[[Any], str]) -> str:
    shown = text(value)
    exact = "" if value is None else f' data-value="{escape(repr(value))}"'
    return f'<td class="{css_class}"{exact}>{escape(shown)}</td>'


def _span(css_class: str, low: float | None, high: float | None) -> str:
    shown = "n/a" if low is None or high is None else f"{format_pvalue(low)} to {format_pvalue(high)}"
    return f'<td class="{css_class}">{escape(shown)}</td>'


def _quality(quality: Quality) -> str:
    return (
        f'<table id="quality"><tr><th>metric</th><th>reference</th><th>current</th><th>current n</th></tr>'
        f'<tr><td class="metric">{escape(quality.metric)}</td>'
        f"{_number('reference', quality.reference, format_pvalue)}"
        f"{_number('current', quality.current, format_pvalue)}"
        f"{_number('current-count', quality.current_count, str)}</tr></table>"
    )


def _figure(name: str, reference: pd.DataFrame, current: pd.DataFrame) -> str:
    ref = _values(reference, name)
    cur = _values(current, name)
    low, high = _range(ref if ref.size else cur)
    underflow, overflow = int(np.sum(cur < low)), int(np.sum(cur > high))
    return (
        f'<figure class="plot" data-feature="{escape(name)}" data-underflow="{underflow}" '
        f'data-overflow="{overflow}">{_histogram_svg(name, ref, cur, low, high)}'
        f"<figcaption>{escape(name)}</figcaption></figure>"
    )


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.array([], dtype="float64")
    array = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return array[np.isfinite(array)]


def _range(values: np.ndarray) -> tuple[float, float]:
    """The axis: the reference's range (the current sample's when there is no reference)."""
    if values.size == 0:
        return -0.5, 0.5
    low, high = float(values.min()), float(values.max())
    return (low - 0.5, high + 0.5) if low == high else (low, high)


def _histogram_svg(name: str, reference: np.ndarray, current: np.ndarray, low: float, high: float) -> str:
    """Both samples as shares (so different sample sizes compare) over equal-width bins from ``low``
    to ``high``, plus an underflow bin first and an overflow bin last for values beyond them."""
    label = f"<title>{escape(name)}: reference vs current</title>"
    svg_open = f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
    if reference.size + current.size == 0:
        return f'{svg_open}{label}<text x="10" y="{HEIGHT // 2}">no values</text></svg>'
    # low * (1 - t) + high * t: no overflow even when high - low would exceed the largest float.
    steps = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    edges = low * (1 - steps) + high * steps
    shares = [_shares(sample, edges) for sample in (reference, current)]
    tallest = max(float(np.max(share)) for share in shares) or 1.0
    slots = HISTOGRAM_BINS + 2
    plot_width, plot_height = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    bar = plot_width / slots / 2
    bars = []
    for offset, (share, colour) in enumerate(zip(shares, (REFERENCE_COLOUR, CURRENT_COLOUR), strict=True)):
        for index, value in enumerate(share):
            height = plot_height * float(value) / tallest
            x = MARGIN + index * 2 * bar + offset * bar
            bars.append(
                f'<rect x="{x:.2f}" y="{MARGIN + plot_height - height:.2f}" width="{bar:.2f}" '
                f'height="{height:.2f}" fill="{colour}"/>'
            )
    below, above = int(np.sum(current < low)), int(np.sum(current > high))
    axis_y = MARGIN + plot_height
    first, last = MARGIN + 2 * bar, WIDTH - MARGIN - 2 * bar
    dashed = f'y1="{MARGIN}" y2="{axis_y}" stroke="#999" stroke-dasharray="2"'
    low_text, high_text = escape(f"{low:.4g}"), escape(f"{high:.4g}")
    axes = (
        f'<line x1="{MARGIN}" y1="{axis_y}" x2="{WIDTH - MARGIN}" y2="{axis_y}" stroke="#333"/>'
        f'<line x1="{first:.2f}" x2="{first:.2f}" {dashed}/><line x1="{last:.2f}" x2="{last:.2f}" {dashed}/>'
        f'<text x="{first:.2f}" y="{HEIGHT - 6}" font-size="10">{low_text}</text>'
        f'<text x="{last:.2f}" y="{HEIGHT - 6}" font-size="10" text-anchor="end">{high_text}</text>'
        f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="10">max share {tallest:.3f}</text>'
        f'<text class="underflow" x="{MARGIN}" y="{axis_y + 10}" font-size="9">&lt; {below}</text>'
        f'<text class="overflow" x="{WIDTH - MARGIN}" y="{axis_y + 10}" font-size="9" text-anchor="end">'
        f"&gt; {above}</text>"
    )
    return f'{svg_open}{label}{"".join(bars)}{axes}</svg>'


def _shares(sample: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``sample`` in: below the first edge, each bin, above the last edge."""
    if sample.size == 0:
        return np.zeros(edges.size + 1)
    inside = sample[(sample >= edges[0]) & (sample <= edges[-1])]
    counts, _ = np.histogram(inside, bins=edges)
    below, above = np.sum(sample < edges[0]), np.sum(sample > edges[-1])
    return np.concatenate([[below], counts, [above]]) / sample.size
