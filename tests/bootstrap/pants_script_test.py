"""The ./pants bootstrap must fail fast and clearly when it cannot run Pants, and must hand Pants the
shell linters from PyPI wheels, never a GitHub download.

The happy path of Pants itself (install, warm start) is exercised by every other Pants command this
repo runs.
"""

from __future__ import annotations

import hashlib
import json
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


# Stands in for Pants in a prepared cache: prints the tool settings the script hands to Pants.
FAKE_PANTS = """
import json, os
tools = ("PANTS_SHELLCHECK", "PANTS_SHFMT")
print(json.dumps({key: value for key, value in os.environ.items() if key.startswith(tools)}))
"""


def test_shellcheck_and_shfmt_come_from_their_pypi_wheels(buildroot: Path, tmp_path: Path) -> None:
    """With Pants and pex already cached, the script takes shellcheck and shfmt out of their PyPI
    wheels and points Pants at those files, with the sha256 and size Pants checks them against."""
    cache = tmp_path / "cache"
    venv = cache / "bootstrap-2.17.1-cp39"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (venv / "bin" / "pants-ready").touch(mode=0o755)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "pants").mkdir()
    (Path(purelib) / "pants" / "__main__.py").write_text(FAKE_PANTS)
    (cache / "pex-cli" / "v2.1.137").mkdir(parents=True)
    (cache / "pex-cli" / "v2.1.137" / "pex").write_text("a cached pex CLI\n")

    result = run_bootstrap(buildroot, tmp_path)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)

    for tool, version_line in (("SHELLCHECK", "version: 0.8.0"), ("SHFMT", "v3.13.0")):
        version = settings[f"PANTS_{tool}_VERSION"]
        template = settings[f"PANTS_{tool}_URL_TEMPLATE"]
        assert template.startswith("file://"), template
        binary = Path(template.removeprefix("file://").format(version=version))
        (known,) = json.loads(settings[f"PANTS_{tool}_KNOWN_VERSIONS"])
        known_version, _platform, sha256, size = known.split("|")
        assert known_version == version
        assert sha256 == hashlib.sha256(binary.read_bytes()).hexdigest()
        assert int(size) == binary.stat().st_size
        ran = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
        assert version_line in ran.stdout
