"""Prometheus' own checks of the repository's config and rules (scaling/prometheus.d), run by promtool.

- the config ``scaling/prometheus`` writes is valid, with one target per service ``./lifecycle``
  serves, a newly scaffolded agent included;
- the rules are valid, and ``promtool test rules`` passes, with a case where each alert fires and
  one where it does not (checked here, so a new alert without its tests fails);
- the drift exporter's page passes ``promtool check metrics``.

Skips only when promtool is missing (Debian: ``apt-get install -y prometheus``; ``.ci/run``
installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from libs.monitoring.exporter import render

PROMTOOL = shutil.which("promtool")
CONFIG = Path("scaling/prometheus.d")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install -y prometheus)"
)


def _promtool(*args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _copy_repo_parts(root: Path) -> Path:
    """lifecycle, scaling/ and the agents' BUILD files: all `scaling/prometheus config` reads."""
    root.mkdir()
    shutil.copy2("lifecycle", root / "lifecycle")
    shutil.copytree("scaling", root / "scaling")
    for build in Path("agents").glob("*/BUILD"):
        (root / build.parent).mkdir(parents=True)
        shutil.copy2(build, root / build)
    return root


def test_the_written_config_scrapes_every_lifecycle_service_a_new_agent_too(tmp_path: Path) -> None:
    root = _copy_repo_parts(tmp_path / "repo")
    (root / "agents" / "fraud_scorer").mkdir()
    (root / "agents" / "fraud_scorer" / "BUILD").write_text(
        'agent(name="fraud_scorer", service_class="Fraud")\n'
    )
    state = tmp_path / "state"
    subprocess.run([str(root / "scaling" / "prometheus"), "config", str(state)], check=True, timeout=60)
    _promtool("check", "config", str(state / "prometheus.yml"))
    targets = {
        group["labels"]["service"]: group["targets"]
        for group in json.loads((state / "targets" / "services.json").read_text())
    }
    assert targets == {
        "agent1": ["127.0.0.1:3001"],
        "agent2": ["127.0.0.1:3002"],
        "agent3": ["127.0.0.1:3003"],
        "fraud_scorer": ["127.0.0.1:3004"],
        "coordinator": ["127.0.0.1:3000"],
    }


def test_given_targets_and_interval_replace_the_defaults_and_bad_ones_are_refused(tmp_path: Path) -> None:
    script = str(_copy_repo_parts(tmp_path / "repo") / "scaling" / "prometheus")
    state = tmp_path / "state"
    env = {"PATH": "/usr/bin:/bin", "MLOPS_PROMETHEUS_TARGETS": "a=127.0.0.1:1 b=127.0.0.1:2"}
    subprocess.run([script, "config", str(state)], env={**env, "MLOPS_PROMETHEUS_INTERVAL": "1s"}, check=True)
    config = yaml.safe_load((state / "prometheus.yml").read_text())
    assert config["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    groups = json.loads((state / "targets" / "services.json").read_text())
    assert [group["labels"]["service"] for group in groups] == ["a", "b"]
    for bad in ({"MLOPS_PROMETHEUS_TARGETS": "a=nowhere"}, {"MLOPS_PROMETHEUS_INTERVAL": "soon"}):
        refused = subprocess.run(
            [script, "config", str(tmp_path / "refused")], env={**env, **bad}, capture_output=True, text=True
        )
        assert refused.returncode == 2 and "scaling/prometheus:" in refused.stderr, refused.stderr


def test_rules_are_valid() -> None:
    output = _promtool("check", "rules", *map(str, sorted(CONFIG.glob("rules/*.yml"))))
    assert "SUCCESS" in output


def test_rule_unit_tests_pass() -> None:
    tests = sorted(path.relative_to(CONFIG) for path in CONFIG.glob("tests/*.yml"))
    assert tests, "no promtool rule tests found"
    output = _promtool("test", "rules", *map(str, tests), cwd=CONFIG)
    assert "FAILED" not in output


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {
        rule["alert"]
        for path in CONFIG.glob("rules/*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in CONFIG.glob("tests/*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts, "no alert rules found"
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested quiet"


def test_the_drift_exporter_page_passes_promtool(tmp_path: Path) -> None:
    (tmp_path / "agent2").mkdir()
    summary = {
        "generated_at": "2026-01-02T03:04:05+00:00",
        "exit_code": 3,
        "current_rows": 80,
        "drifted": True,
        "psi_threshold": 0.2,
        "features": [{"feature": "price", "psi": 0.7, "drifted": True}],
        "prediction": {"feature": "output", "psi": None, "drifted": False},
    }
    (tmp_path / "agent2" / "summary.json").write_text(json.dumps(summary))
    page = render(tmp_path)
    assert 'monitor_drifted{agent="agent2"} 1.0' in page
    _promtool("check", "metrics", stdin=page)
