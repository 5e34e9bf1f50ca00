"""The monitor command: one agent's live traffic against what its champion was trained on.

Run as ``./pants run agents/<agent>:monitor -- [--since 2024-06-01] [--current labelled.parquet]``
(or ``pipelines/stage agents/<agent>:monitor ...``, which runs the packaged PEX when
``MLOPS_STAGE_PEX_DIR`` is set), from the repository root, like the pipeline stages:

- reference: the train split of ``data/<agent>/features.parquet`` (what the pipeline trained on),
  the agent's model input columns, plus the champion's predictions on those rows;
- current: the logged inputs and outputs of the service (``Settings().prediction_log_dir``), or a
  labelled frame given with ``--current``, which the champion is asked to predict;
- quality: the agent's metric where the current rows carry the label (logged rows never do;
  labels arrive later than predictions).

Thresholds come from the ``monitor:`` section of ``pipelines/<agent>/params.yaml``. It writes
``summary.json`` and ``report.html`` to ``--out`` (default ``.local/monitoring/<agent>/``) and
exits 0 when stable, 3 when drifted, 4 when there are too few current rows to judge.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow  # noqa: F401  # pandas' Parquet engine for read_parquet; the import is what Pants infers
import yaml

from libs.atomicfiles import atomic_write_json, atomic_write_text
from libs.modelfiles.bundle import SHADOW_SUBDIR, champion_dir, read_champion_bundle
from libs.monitoring.drift import DriftSummary, Metric, compare
from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from libs.monitoring.report import write_report
from libs.monitoring.shadow import add_to_report, shadow_section
from libs.settings import Settings

EXIT_STABLE, EXIT_DRIFTED, EXIT_TOO_FEW_ROWS = 0, 3, 4
OUTPUT = "output"
Predict = Callable[[Any, pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class AgentMonitor:
    """What differs between agents: their inputs, how their model answers, how quality is scored."""

    agent: str
    features: list[str]
    predict: Predict
    label: str | None = None
    metric: Metric | None = None
    metric_name: str | None = None


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.2
    ks_pvalue: float = 0.0
    min_rows: int = 50
    exclude: list[str] = field(default_factory=list)  # e.g. calendar features, which drift by design

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Thresholds:
        section = params.get("monitor") or {}
        return cls(
            psi=float(section.get("psi_threshold", cls.psi)),
            ks_pvalue=float(section.get("ks_pvalue_threshold", cls.ks_pvalue)),
            min_rows=int(section.get("min_rows", cls.min_rows)),
            exclude=[str(name) for name in section.get("exclude", [])],
        )


@dataclass(frozen=True)
class MonitorResult:
    summary: DriftSummary
    exit_code: int
    summary_path: Path
    report_path: Path
    current_rows: int


def reference_frame(spec: AgentMonitor, features_path: Path, model: Any) -> pd.DataFrame:
    """The champion's training rows with its own answers on them (the reference for prediction drift)."""
    frame = pd.read_parquet(features_path)
    if "split" in frame:
        frame = frame[frame["split"] == "train"]
    columns = [*spec.features, *([spec.label] if spec.label and spec.label in frame else [])]
    frame = frame[columns].reset_index(drop=True)
    return frame.assign(**{OUTPUT: spec.predict(model, frame[spec.features].astype("float64"))})


def current_frame(
    spec: AgentMonitor, model: Any, *, log_dir: Path, since: datetime | None, labelled: Path | None
) -> pd.DataFrame:
    """Logged traffic, or a labelled frame the champion answers now."""
    if labelled is not None:
        frame = pd.read_parquet(labelled).reset_index(drop=True)
        return frame.assign(**{OUTPUT: spec.predict(model, frame[spec.features].astype("float64"))})
    logged = read_predictions(log_dir, spec.agent, since=since)
    inputs = logged_inputs(logged)
    for name in spec.features:  # an agent that has logged nothing yet has no input columns
        if name not in inputs:
            inputs[name] = pd.Series(dtype="float64")
    return inputs.assign(**{OUTPUT: logged[OUTPUT].to_numpy()})


def load_params(path: Path) -> dict[str, Any]:
    """The agent's params.yaml (read directly: libs.pipeline would pull MLflow into the monitor)."""
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"params file {path} must hold a mapping")
    return loaded


def run_monitor(
    spec: AgentMonitor,
    *,
    params_path: Path,
    features_path: Path,
    log_dir: Path,
    bundle_dir: Path,
    out_dir: Path,
    since: datetime | None = None,
    labelled: Path | None = None,
) -> MonitorResult:
    params = load_params(params_path)
    thresholds = Thresholds.from_params(params)
    champion = read_champion_bundle(bundle_dir)
    reference = reference_frame(spec, features_path, champion.model)
    current = current_frame(spec, champion.model, log_dir=log_dir, since=since, labelled=labelled)
    with_label = spec.label if spec.label and spec.label in current and spec.metric else None
    summary = compare(
        reference,
        current,
        features=[name for name in spec.features if name not in thresholds.exclude],
        psi_threshold=thresholds.psi,
        ks_pvalue_threshold=thresholds.ks_pvalue,
        prediction_column=OUTPUT,
        label_column=with_label,
        metric=spec.metric if with_label else None,
        metric_name=spec.metric_name if with_label else None,
    )
    if len(current) < thresholds.min_rows:
        code = EXIT_TOO_FEW_ROWS
    else:
        code = EXIT_DRIFTED if summary.drifted else EXIT_STABLE
    document = {
        "agent": spec.agent,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "champion": {"model_name": champion.model_name, "model_version": champion.model_version},
        "current_rows": len(current),
        "reference_rows": len(reference),
        "exit_code": code,
        **summary.to_dict(),
        "shadow": shadow_section(
            params,
            agent=spec.agent,
            shadow_bundle=bundle_dir / SHADOW_SUBDIR,
            log_dir=log_dir,
            since=since,
            labelled=current if labelled is not None else None,
            predict=spec.predict,
            features=spec.features,
            label=with_label,
            metric=spec.metric,
            metric_name=spec.metric_name,
        ),
    }
    summary_path = atomic_write_json(document, out_dir / "summary.json")
    report_path = write_report(out_dir / "report.html", summary, reference, current, agent=spec.agent)
    atomic_write_text(add_to_report(report_path.read_text(encoding="utf-8"), document["shadow"]), report_path)
    return MonitorResult(summary, code, summary_path, report_path, len(current))


def _since(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main(spec: AgentMonitor, argv: Sequence[str] | None = None) -> int:
    agent = spec.agent
    parser = argparse.ArgumentParser(prog=f"{agent} monitor", description="Drift of live traffic.")
    parser.add_argument("--since", type=_since, help="only logged predictions from then on (ISO date)")
    parser.add_argument("--current", type=Path, help="a labelled frame to judge instead of the logs")
    parser.add_argument("--params", type=Path, default=Path("pipelines") / agent / "params.yaml")
    parser.add_argument("--features", type=Path, default=Path("data") / agent / "features.parquet")
    parser.add_argument("--log-dir", type=Path, help="default: Settings().prediction_log_dir")
    parser.add_argument("--champion-dir", type=Path, help="default: the served bundle")
    parser.add_argument("--out", type=Path, help="default: .local/monitoring/<agent>")
    args = parser.parse_args(argv)
    settings = Settings()
    result = run_monitor(
        spec,
        params_path=args.params,
        features_path=args.features,
        log_dir=args.log_dir or Path(str(settings.prediction_log_dir)),
        bundle_dir=args.champion_dir or champion_dir(agent),
        out_dir=args.out or settings.home / "monitoring" / agent,
        since=args.since,
        labelled=args.current,
    )
    verdict = {EXIT_STABLE: "stable", EXIT_DRIFTED: "DRIFTED", EXIT_TOO_FEW_ROWS: "too few rows"}
    print(
        json.dumps(
            {
                "agent": agent,
                "verdict": verdict[result.exit_code],
                "current_rows": result.current_rows,
                "drifted_features": result.summary.drifted_features,
                "prediction_drifted": bool(result.summary.prediction and result.summary.prediction.drifted),
                "summary": str(result.summary_path),
                "report": str(result.report_path),
            }
        )
    )
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover - agents call main() with their spec
    sys.exit("run an agent's monitor: python -m agents.<agent>.monitor")
