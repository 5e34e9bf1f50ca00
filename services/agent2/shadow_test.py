"""A served agent with a shadow: the champion answers, the shadow is scored and logged beside it,
and an approved shadow becomes the answering champion by hot reload with no failed request."""

from __future__ import annotations

import functools
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.agent2.model import build_model
from agents.agent2.tiny_champion import MODEL_NAME, tiny_demand, train_tiny_champion
from libs.modelfiles.bundle import SHADOW_SUBDIR, Champion, read_champion_bundle, write_champion
from libs.monitoring.prediction_reader import read_predictions
from libs.serving.shadow import shadow_log_name
from tests.support.serving import Server, check_hot_reload, niceness_of_descendants, wait_for

SERVICE = "services.agent2.service:DemandForecaster"
TRAIN_CHAMPION = functools.partial(train_tiny_champion, version="5")
FRAME, _ = tiny_demand(6, seed=21)
INTEGER_FIELDS = ("store_id", "product_id", "day_of_week", "month")
ROWS = [{**row, **{key: int(row[key]) for key in INTEGER_FIELDS}} for row in FRAME.to_dict("records")]


def _write_shadow(directory: Path, version: str) -> Champion:
    """A challenger unlike the champion (fewer, bolder boosting steps), bundled as the export stage would."""
    frame, quantity = tiny_demand(seed=4)
    params = {"learning_rate": 0.3, "max_iter": 8, "max_leaf_nodes": 7, "random_state": 0}
    model = build_model(params).fit(frame, quantity)
    write_champion(model, model_name=MODEL_NAME, model_version=version, directory=directory)
    return read_champion_bundle(directory)


def _metric(server: Server, reason: str) -> float | None:
    text = str(server.get("/metrics").body)
    found = re.search(
        rf'^shadow_scores_dropped_total\{{[^}}]*reason="{reason}"[^}}]*\}} (\S+)$', text, re.MULTILINE
    )
    return None if found is None else float(found.group(1))


def _shadow_rows(scratch: Path, at_least: int) -> pd.DataFrame | None:
    frame = read_predictions(scratch / "predictions", shadow_log_name("agent2"))
    return frame if len(frame) >= at_least else None


def test_the_champion_answers_while_the_shadow_is_scored_and_logged_beside_it(
    server: Server, scratch: Path
) -> None:
    assert server.post("/forecast", {"rows": ROWS}).status == 200
    assert wait_for(lambda: _metric(server, "queue_full"), what="shadow drop counter") is not None
    assert _metric(server, "queue_full") == 0.0 and _metric(server, "error") == 0.0

    shadow = _write_shadow(scratch / "champion" / SHADOW_SUBDIR, "6")
    wait_for(lambda: "shadow loaded" in server.logs(), what="the shadow's hot reload")
    answers = []
    for _ in range(5):
        reply = server.post("/forecast", {"rows": ROWS})
        assert reply.status == 200, reply.text
        answers.append(reply.body)
    assert {item["model_version"] for body in answers for item in body} == {"5"}  # the champion only

    logged = wait_for(lambda: _shadow_rows(scratch, 5 * len(ROWS)), what="the shadow's prediction log")
    assert set(logged["model_version"]) == {"6"}
    assert set(logged["input_champion_version"].astype(str)) == {"5"}
    answered = [item["predicted_quantity"] for item in answers[-1]]
    expected_shadow = np.clip(shadow.model.predict(FRAME), 0, None)  # type: ignore[attr-defined]
    last = logged.tail(len(ROWS))
    assert sorted(last["input_champion_output"]) == pytest.approx(sorted(answered))
    assert sorted(last["output"]) == pytest.approx(sorted(expected_shadow))
    assert not np.allclose(sorted(answered), sorted(expected_shadow))  # two different models compared

    champion_log = read_predictions(scratch / "predictions", "agent2")
    assert set(champion_log["model_version"]) == {"5"}  # shadow scores never pass for traffic
    # Scored in a child process at the lowest priority, not beside the answers (libs.serving.shadow_child).
    assert 19 in niceness_of_descendants(server.process).values(), niceness_of_descendants(server.process)


def test_an_approved_shadow_becomes_the_answering_champion_with_no_failed_request(
    server: Server, scratch: Path
) -> None:
    champion_dir, shadow_dir = scratch / "champion", scratch / "champion" / SHADOW_SUBDIR
    if not shadow_dir.exists():
        _write_shadow(shadow_dir, "6")

    def publish_approved(version: str) -> None:
        """What the export stage does after `cli approve`: the champion bundle, then no shadow."""
        _write_shadow(champion_dir, version)
        (shadow_dir / "champion.json").unlink()
        shutil.rmtree(shadow_dir)

    statuses = check_hot_reload(server, "/forecast", {"rows": ROWS}, publish_approved, version="6")
    assert set(statuses) == {200}
    wait_for(lambda: "shadow agent2-demand-forecaster v6 removed" in server.logs(), what="shadow removal")
    removed = pd.Timestamp.now(tz="UTC")
    for _ in range(3):
        assert server.post("/forecast", {"rows": ROWS}).status == 200
    time.sleep(6)  # longer than the shadow log's flush interval: a score made now would be on disk
    logged = read_predictions(scratch / "predictions", shadow_log_name("agent2"))
    assert not (logged["timestamp"] > removed).any()
