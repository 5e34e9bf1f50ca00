"""The cached venv holding the pinned CI tools (.ci/tools-requirements.txt) for CI scripts.

Keyed on the requirements file's hash, so a pin bump builds a new venv and an unchanged file costs
nothing on the second run. Standard library only: it runs on the CI host's python3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("tools-requirements.txt")


def tools_bin() -> Path:
    """The venv's bin directory, built on first use; pip-audit, cyclonedx-py and uv live there."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-ci" / f"tools-{key}"
    marker = cache / ".complete"
    if not marker.is_file():
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(cache)], check=True)
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        install = subprocess.run(
            [str(cache / "bin" / "pip"), "install", "-q", "-r", str(REQUIREMENTS)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise SystemExit(f"installing {REQUIREMENTS.name} failed:\n{install.stdout}\n{install.stderr}")
        marker.touch()
    return cache / "bin"
