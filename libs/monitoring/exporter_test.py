"""The exporter turns each agent's summary.json, as the monitor writes it, into Prometheus gauges."""

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from libs.monitoring import exporter
from libs.monitoring.drift import compare


def _write_summary(directory: Path, agent: str, *, shift: float) -> None:
    """A summary.json with the fields run_monitor writes, from a real comparison."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"price": rng.normal(10, 1, 500), "output": rng.normal(5, 1, 500)})
    current = pd.DataFrame({"price": rng.normal(10 + shift, 1, 200), "output": rng.normal(5, 1, 200)})
    summary = compare(
        reference,
        current,
        features=["price"],
        psi_threshold=0.2,
        ks_pvalue_threshold=0.0,
        prediction_column="output",
    )
    document = {
        "agent": agent,
        "generated_at": "2026-01-02T03:04:05+00:00",
        "current_rows": 200,
        "exit_code": 3 if summary.drifted else 0,
        **summary.to_dict(),
    }
    (directory / agent).mkdir(parents=True)
    (directory / agent / "summary.json").write_text(json.dumps(document))


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"
    }


def test_drifted_and_stable_agents_each_get_their_verdict_and_psi(tmp_path: Path) -> None:
    _write_summary(tmp_path, "agent2", shift=3.0)
    _write_summary(tmp_path, "agent3", shift=0.0)
    samples = _samples(exporter.render(tmp_path))
    assert samples['monitor_drifted{agent="agent2"}'] == 1.0
    assert samples['monitor_drifted{agent="agent3"}'] == 0.0
    assert samples['monitor_exit_code{agent="agent2"}'] == 3.0
    assert samples['monitor_psi_threshold{agent="agent2"}'] == 0.2
    assert samples['monitor_last_run_timestamp_seconds{agent="agent2"}'] == 1767323045.0
    assert samples['monitor_feature_psi{agent="agent2",feature="price",kind="feature"}'] > 0.2
    assert samples['monitor_feature_psi{agent="agent3",feature="price",kind="feature"}'] < 0.2
    assert samples['monitor_feature_drifted{agent="agent2",feature="price",kind="feature"}'] == 1.0
    assert 'monitor_feature_psi{agent="agent2",feature="output",kind="prediction"}' in samples


def test_an_unreadable_summary_is_reported_not_fatal(tmp_path: Path) -> None:
    _write_summary(tmp_path, "agent2", shift=0.0)
    (tmp_path / "agent9").mkdir()
    (tmp_path / "agent9" / "summary.json").write_text("{half a fi")
    samples = _samples(exporter.render(tmp_path))
    assert samples['monitor_result_readable{agent="agent9"}'] == 0.0
    assert samples['monitor_result_readable{agent="agent2"}'] == 1.0
    assert not any('agent="agent9"' in key and "readable" not in key for key in samples)


def test_label_values_are_escaped_and_missing_psi_is_nan(tmp_path: Path) -> None:
    (tmp_path / "agent2").mkdir()
    document = {"drifted": False, "features": [{"feature": 'a"b\\c\nd', "psi": None, "drifted": False}]}
    (tmp_path / "agent2" / "summary.json").write_text(json.dumps(document))
    text = exporter.render(tmp_path)
    assert 'monitor_feature_psi{agent="agent2",feature="a\\"b\\\\c\\nd",kind="feature"} NaN' in text


def test_no_monitor_run_yet_is_an_empty_page(tmp_path: Path) -> None:
    assert exporter.render(tmp_path) == ""


def test_serves_metrics_and_nothing_else(tmp_path: Path) -> None:
    _write_summary(tmp_path, "agent2", shift=3.0)
    server = exporter.make_server(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310  loopback http
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert 'monitor_drifted{agent="agent2"} 1.0' in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/agent2/summary.json", timeout=5)  # noqa: S310  loopback http
        assert refused.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
