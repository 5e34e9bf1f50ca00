"""Each service ships only what it runs: checked in the PEXes themselves and in the built images.

Serving needs neither the training tools (DVC, MLflow), nor test tools, nor any other agent's
code; if one creeps in through an import, these tests name it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.images.shipped import Shipped, packaged_here

DATA_ENGINES = {"duckdb", "pyarrow"}
# Services build float64 matrices (libs.serving.features); pandas is for training and monitoring.
DATA_FRAMES = {"pandas"}
FORBIDDEN_DISTRIBUTIONS = {"pytest", "pluggy", "dvc", "dvc-data", "mlflow", "mlflow-skinny", "mlflow-tracing"}
PROJECT_TOPS = ("agents/", "services/")


def test_this_target_packaged_a_service() -> None:
    assert packaged_here(), "no serve-deps.pex in the sandbox: check tests/images/BUILD"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pex_info(pex: Path) -> dict[str, object]:
    with zipfile.ZipFile(pex) as archive:
        return json.loads(archive.read("PEX-INFO"))


def pex_distributions(pex: Path) -> set[str]:
    """Project names of the wheels inside the PEX, from PEX-INFO's `distributions` map."""
    distributions = pex_info(pex).get("distributions", {})
    assert isinstance(distributions, dict)
    return {normalize(re.split(r"-\d", wheel, maxsplit=1)[0]) for wheel in distributions}


def pex_sources(pex: Path) -> list[str]:
    with zipfile.ZipFile(pex) as archive:
        return [name for name in archive.namelist() if name.endswith(".py") and not name.startswith(".")]


def forbidden_code(paths: list[str], shipped: Shipped) -> list[str]:
    """Paths inside another agent's or service's folder (any agent, including ones added later)."""
    own = tuple(f"{folder}/" for folder in shipped.own_code)
    # A folder's own entry (`agents/agent2`, from an image's file list) is inside that folder too.
    inside = [path for path in paths if path.startswith(PROJECT_TOPS)]
    return sorted(path for path in inside if not f"{path.rstrip('/')}/".startswith(own))


@pytest.mark.parametrize("shipped", packaged_here(), ids=lambda shipped: shipped.repository)
def test_requirements_pex_holds_no_training_or_test_tools(shipped: Shipped) -> None:
    distributions = pex_distributions(Path(shipped.pex_prefix) / "serve-deps.pex")
    assert "bentoml" in distributions
    assert not distributions & FORBIDDEN_DISTRIBUTIONS, sorted(distributions & FORBIDDEN_DISTRIBUTIONS)
    # Services write prediction logs with the standard library and never read them back: no DuckDB
    # (monitors, tests) and no pyarrow (Parquet), the two largest distributions of an agent resolve.
    assert not distributions & DATA_ENGINES, sorted(distributions & DATA_ENGINES)
    assert not distributions & DATA_FRAMES, sorted(distributions & DATA_FRAMES)
    if shipped.repository == "mlops/coordinator":
        # numpy comes with bentoml itself; the agents' modelling stack must not.
        modelling = {"scikit-learn", "scipy", "pandas", "skops", "duckdb"}
        assert not distributions & modelling, sorted(distributions & modelling)


@pytest.mark.parametrize("shipped", packaged_here(), ids=lambda shipped: shipped.repository)
def test_sources_pex_holds_only_its_own_code(shipped: Shipped) -> None:
    sources = pex_sources(Path(shipped.pex_prefix) / "serve-srcs.pex")
    assert any(path.startswith(f"{shipped.own_code[0]}/") for path in sources), sources
    assert forbidden_code(sources, shipped) == []
    assert not [path for path in sources if path.endswith("_test.py")]
    assert pex_distributions(Path(shipped.pex_prefix) / "serve-srcs.pex") == set()


def image_files(repository: str) -> list[str]:
    docker = shutil.which("docker")
    assert docker, "docker client not on PATH"
    container = subprocess.run(
        [docker, "create", f"{repository}:latest"], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        exported = subprocess.run([docker, "export", container], capture_output=True, check=True).stdout
    finally:
        subprocess.run([docker, "rm", container], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as archive:
        return archive.getnames()


@pytest.mark.skipif(
    os.environ.get("MLOPS_IMAGE_TEST") != "1",
    reason="needs the built images: .ci/run sets MLOPS_IMAGE_TEST=1",
)
@pytest.mark.parametrize("shipped", packaged_here(), ids=lambda shipped: shipped.repository)
def test_image_file_list_holds_only_the_service(shipped: Shipped) -> None:
    files = image_files(shipped.repository)
    site_packages = [path for path in files if "/site-packages/" in path]
    top_level = {path.split("/site-packages/", 1)[1].split("/", 1)[0].lower() for path in site_packages}
    installed = {normalize(name.split("-", 1)[0]) for name in top_level if name.endswith(".dist-info")}
    assert "bentoml" in installed
    assert not installed & FORBIDDEN_DISTRIBUTIONS, sorted(installed & FORBIDDEN_DISTRIBUTIONS)
    assert not installed & DATA_ENGINES, sorted(installed & DATA_ENGINES)
    code = [path.split("/site-packages/", 1)[1] for path in site_packages]
    assert forbidden_code(code, shipped) == []
    project = [path for path in code if path.startswith(("agents/", "services/", "libs/"))]
    assert project, "no project code in the image"
    assert not [path for path in project if path.endswith("_test.py")]
    if shipped.repository != "mlops/coordinator":
        assert "app/champion/model.skops" in files and "app/champion/champion.json" in files
        assert "app/MODEL_CARD.md" in files
