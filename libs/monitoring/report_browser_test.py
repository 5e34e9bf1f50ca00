"""The drift report as a browser shows it: headless Chromium renders the file, offline.

Skips only when Chromium is not installed (Debian: ``apt-get install -y chromium``).
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from libs.monitoring.drift import compare
from libs.monitoring.report import format_psi, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = ["--user-data-dir=" + str(tmp_path / "profile"), "--no-first-run", "--hide-scrollbars"]
    return subprocess.run(
        [CHROMIUM, *FLAGS, *profile, *args], capture_output=True, text=True, timeout=120, check=True
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"price": rng.normal(10, 1, 2000), "visits": rng.poisson(3, 2000).astype(float)})
    current = pd.DataFrame({"price": rng.normal(13, 1, 800), "visits": rng.poisson(3, 800).astype(float)})
    summary = compare(
        reference, current, features=["price", "visits"], psi_threshold=0.2, ks_pvalue_threshold=0.0
    )
    path = write_report(
        tmp_path_factory.mktemp("report") / "report.html", summary, reference, current, agent="agent2"
    )
    return path, summary.to_dict()


def test_the_report_renders_to_a_screenshot(report: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    path, _ = report
    screenshot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1280,1600", path.as_uri())
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_rendered_dom_holds_the_verdict_and_the_numbers(
    report: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path, summary = report
    dom = _chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    assert '<div id="verdict" class="drifted">drifted</div>' in dom
    assert 'id="drifted-features">price<' in dom
    features = {item["feature"]: item for item in summary["features"]}  # type: ignore[attr-defined]
    for name in ("price", "visits"):
        assert f'data-feature="{name}"' in dom
        assert format_psi(features[name]["psi"]) in dom
    embedded = dom.split('id="summary-json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded)["drifted_features"] == ["price"]
