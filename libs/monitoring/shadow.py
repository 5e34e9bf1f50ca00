"""The monitor's shadow section: how the shadow model's answers compare with the champion's.

Rows come from the shadow's prediction log (``libs.serving.shadow``: each row holds the shadow's
output and the champion's answer to the same request), or, with ``--current labelled.parquet``, from
both bundles predicting the labelled rows, where the agent's metric also scores each of them.

Thresholds live under ``monitor: shadow:`` in the agent's params.yaml:

- ``decision_threshold``: outputs at or above it are a positive decision (classifiers, the anomaly
  agent); the comparison is then the share of rows where both models decide alike, and
  ``min_agreement`` is the share the shadow must reach;
- without it (the forecaster) the comparison is the distribution of ``shadow - champion``, and
  ``max_mean_abs_difference`` bounds its mean absolute value;
- ``min_rows``: fewer compared rows than this is no verdict.

The verdict is ``agrees``, ``disagrees``, ``too few rows``, or ``no shadow`` when nothing was scored.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from libs.modelfiles.bundle import IDENTITY_FILE, read_champion_bundle
from libs.monitoring.prediction_reader import read_predictions

CHAMPION_OUTPUT = "input_champion_output"  # libs.serving.shadow's field, as the log reader names it
CHAMPION_VERSION = "input_champion_version"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class ShadowThresholds:
    decision_threshold: float | None = None
    min_agreement: float = 0.95
    max_mean_abs_difference: float | None = None
    min_rows: int = 50

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ShadowThresholds:
        section = (params.get("monitor") or {}).get("shadow") or {}
        threshold = section.get("decision_threshold")
        difference = section.get("max_mean_abs_difference")
        return cls(
            decision_threshold=None if threshold is None else float(threshold),
            min_agreement=float(section.get("min_agreement", cls.min_agreement)),
            max_mean_abs_difference=None if difference is None else float(difference),
            min_rows=int(section.get("min_rows", cls.min_rows)),
        )


def logged_pairs(log_dir: Path, agent: str, since: Any = None) -> pd.DataFrame:
    """champion, shadow (outputs) and the shadow's version from the shadow log; empty when none."""
    logged = read_predictions(log_dir, f"{agent}-shadow", since=since)
    if logged.empty or CHAMPION_OUTPUT not in logged:
        return pd.DataFrame({"champion": [], "shadow": [], "shadow_version": []})
    return pd.DataFrame(
        {
            "champion": pd.to_numeric(logged[CHAMPION_OUTPUT], errors="coerce"),
            "shadow": pd.to_numeric(logged["output"], errors="coerce"),
            "shadow_version": logged["model_version"].astype(str),
        }
    ).dropna(subset=["champion", "shadow"])


def compare_shadow(
    pairs: pd.DataFrame,
    thresholds: ShadowThresholds,
    *,
    labels: pd.Series | None = None,
    metric: Callable[[Any, Any], float] | None = None,
    metric_name: str | None = None,
) -> dict[str, Any]:
    """The shadow section of summary.json, with its verdict."""
    rows = len(pairs)
    section: dict[str, Any] = {
        "rows": rows,
        "shadow_versions": sorted(set(pairs.get("shadow_version", pd.Series(dtype=str)).astype(str))),
    }
    if rows == 0:
        return {**section, "verdict": "no shadow", "passed": None}
    champion, shadow = pairs["champion"].to_numpy(float), pairs["shadow"].to_numpy(float)
    if thresholds.decision_threshold is not None:
        equal = (champion >= thresholds.decision_threshold) == (shadow >= thresholds.decision_threshold)
        agreement = float(equal.mean())
        section["agreement"] = {
            "share_equal_decisions": agreement,
            "decision_threshold": thresholds.decision_threshold,
            "min_agreement": thresholds.min_agreement,
        }
        passed = agreement >= thresholds.min_agreement
    else:
        difference = shadow - champion
        mean_abs = float(np.mean(np.abs(difference)))
        section["difference"] = {
            "mean": float(np.mean(difference)),
            "mean_abs": mean_abs,
            "quantiles": {f"p{round(q * 100):02d}": float(np.quantile(difference, q)) for q in QUANTILES},
            "max_mean_abs_difference": thresholds.max_mean_abs_difference,
        }
        passed = thresholds.max_mean_abs_difference is None or mean_abs <= thresholds.max_mean_abs_difference
    if labels is not None and metric is not None:
        truth = labels.to_numpy()
        section["quality"] = {
            "metric": metric_name or "metric",
            "champion": float(metric(truth, champion)),
            "shadow": float(metric(truth, shadow)),
        }
    if rows < thresholds.min_rows:
        return {**section, "verdict": "too few rows", "passed": None}
    return {**section, "verdict": "agrees" if passed else "disagrees", "passed": bool(passed)}


def shadow_html(section: Mapping[str, Any]) -> str:
    """The report's shadow section: a heading, the verdict, and the numbers it rests on."""
    lines = [
        f"<li>verdict: <strong>{html.escape(str(section['verdict']))}</strong> on {section['rows']} rows"
    ]
    versions = ", ".join(f"v{version}" for version in section.get("shadow_versions", []))
    if versions:
        lines.append(f"<li>shadow {html.escape(versions)}")
    if "agreement" in section:
        agreement = section["agreement"]
        lines.append(
            f"<li>equal decisions: {agreement['share_equal_decisions']:.1%} (threshold "
            f"{agreement['decision_threshold']:g}; needed {agreement['min_agreement']:.1%})"
        )
    if "difference" in section:
        difference = section["difference"]
        spread = ", ".join(f"{name} {value:.4g}" for name, value in difference["quantiles"].items())
        lines.append(
            f"<li>shadow minus champion: mean {difference['mean']:.4g}, mean absolute "
            f"{difference['mean_abs']:.4g}; {spread}"
        )
    if "quality" in section:
        quality = section["quality"]
        lines.append(
            f"<li>{html.escape(quality['metric'])} on labelled rows: champion {quality['champion']:.4g}, "
            f"shadow {quality['shadow']:.4g}"
        )
    return '<section id="shadow"><h2>Shadow against champion</h2><ul>' + "".join(lines) + "</ul></section>"


def add_to_report(report: str, section: Mapping[str, Any]) -> str:
    """The report's HTML with the shadow section placed before its end."""
    fragment = shadow_html(section)
    return report.replace("</body>", fragment + "</body>", 1) if "</body>" in report else report + fragment


def shadow_section(
    params: Mapping[str, Any],
    *,
    agent: str,
    shadow_bundle: Path,
    log_dir: Path,
    since: Any,
    labelled: pd.DataFrame | None,
    predict: Callable[[Any, pd.DataFrame], np.ndarray],
    features: list[str],
    label: str | None,
    metric: Callable[[Any, Any], float] | None,
    metric_name: str | None,
) -> dict[str, Any]:
    """The section for the monitor: from the shadow log, or from both models on the labelled rows
    (``labelled`` holds the champion's answers in ``output``) when the shadow bundle is there."""
    thresholds = ShadowThresholds.from_params(params)
    if labelled is None:
        return compare_shadow(logged_pairs(log_dir, agent, since), thresholds)
    if not (shadow_bundle / IDENTITY_FILE).is_file():
        return compare_shadow(pd.DataFrame({"champion": [], "shadow": []}), thresholds)
    shadow = read_champion_bundle(shadow_bundle)
    pairs = pd.DataFrame(
        {
            "champion": labelled["output"].to_numpy(float),
            "shadow": predict(shadow.model, labelled[features].astype("float64")),
            "shadow_version": shadow.model_version,
        }
    )
    with_label = label is not None and label in labelled and metric is not None
    return compare_shadow(
        pairs,
        thresholds,
        labels=labelled[label] if with_label and label is not None else None,
        metric=metric if with_label else None,
        metric_name=metric_name,
    )
