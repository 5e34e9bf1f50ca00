"""The ./pants bootstrap must fail fast and clearly when it cannot run Pants.

The happy path (install, warm start) is exercised by every other Pants command this repo runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("pants")


@pytest.fixture
def buildroot(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(SCRIPT, root / "pants")
    (root / "pants.toml").write_text('[GLOBAL]\npants_version = "2.17.1"\n')
    return root


def run_bootstrap(buildroot: Path, tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Runs ./pants with an empty cache and no CPython 3.9 reachable unless one is given."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "PANTS_SETUP_CACHE": str(tmp_path / "cache"),
        **extra_env,
    }
    return subprocess.run(
        ["bash", str(buildroot / "pants"), "--version"],
        cwd=buildroot,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_python39_fails_with_one_line_naming_the_fix(buildroot: Path, tmp_path: Path) -> None:
    if shutil.which("python3.9", path="/usr/bin:/bin"):
        pytest.skip("this machine has a system CPython 3.9")
    result = run_bootstrap(buildroot, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "CPython 3.9" in lines[0]
    assert "PANTS_BOOTSTRAP_PYTHON" in lines[0]
    assert not (tmp_path / "cache" / "bootstrap-2.17.1-cp39").exists()


def test_wrong_interpreter_in_variable_is_rejected(buildroot: Path, tmp_path: Path) -> None:
    result = run_bootstrap(buildroot, tmp_path, PANTS_BOOTSTRAP_PYTHON=sys.executable)
    assert result.returncode == 1
    assert f"PANTS_BOOTSTRAP_PYTHON={sys.executable} is not a working CPython 3.9" in result.stderr


def test_missing_pants_version_is_reported(buildroot: Path, tmp_path: Path) -> None:
    (buildroot / "pants.toml").write_text("[GLOBAL]\n")
    result = run_bootstrap(buildroot, tmp_path)
    assert result.returncode == 1
    assert "no pants_version" in result.stderr
