"""A CycloneDX SBOM per image, of the Python distributions the image really holds.

Each image's third-party layer is a venv made from its requirements PEX (`<dir>:serve-deps`); the
same venv is made here and `cyclonedx-py environment` describes it. The SBOM is then checked against
the built image itself: the distributions the image's own interpreter lists must be exactly the
SBOM's components, with the same versions. Writes dist/sbom/<image>.cdx.json (CycloneDX 1.6 JSON),
the image as the SBOM's main component. Needs the images built and DOCKER_HOST set.

    python3 .ci/sbom.py agents/agent2:image services/coordinator:image ...
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from tools_venv import tools_bin

ROOT = Path(__file__).resolve().parent.parent
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json;"
    "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions()})))"
)
VALIDATE = """
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
validator = JsonStrictValidator(SchemaVersion.V1_6)
error = validator.validate_str(open(sys.argv[1]).read())
sys.exit(f"{sys.argv[1]}: {error}" if error else 0)
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return str(result.stdout)


def image_repository(address: str) -> str:
    """The image's repository, from the Pants metadata its build wrote (dist/<dir>/image.docker-info.json)."""
    directory = address.split(":", 1)[0]
    info = json.loads((ROOT / "dist" / directory.replace("/", ".") / "image.docker-info.json").read_text())
    return str(info["registries"][0]["repository"])


def sbom(address: str, out: Path) -> Path:
    directory = address.split(":", 1)[0]
    repository = image_repository(address)
    pex = ROOT / "dist" / directory.replace("/", ".") / "serve-deps.pex"
    target = out / f"{repository.split('/')[-1]}.cdx.json"
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        run(
            ["python3.11", str(pex), "venv", "--scope=deps", str(venv)],
            env={"PEX_TOOLS": "1", "PATH": "/usr/bin:/bin"},
        )
        run(
            [
                str(tools_bin() / "cyclonedx-py"),
                "environment",
                "--spec-version",
                "1.6",
                "--output-format",
                "JSON",
                "--output-reproducible",
                "--output-file",
                str(target),
                str(venv / "bin" / "python"),
            ]
        )
    document = json.loads(target.read_text())
    image_id = run(["docker", "image", "inspect", "--format", "{{.Id}}", f"{repository}:latest"]).strip()
    document.setdefault("metadata", {})["component"] = {
        "type": "container",
        "bom-ref": f"image:{repository}",
        "name": repository,
        "version": image_id,
    }
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    run([str(tools_bin() / "python"), "-c", VALIDATE, str(target)])
    check_against_image(repository, document, target)
    return target


def check_against_image(repository: str, document: dict[str, Any], target: Path) -> None:
    components = {
        canonical(str(component["name"])): str(component.get("version", ""))
        for component in document.get("components", [])
    }
    listed = run(
        [
            "docker",
            "run",
            "--rm",
            "--read-only",
            "--entrypoint",
            "/app/venv/bin/python",
            f"{repository}:latest",
            "-c",
            LIST_DISTRIBUTIONS,
        ]
    )
    shipped = {canonical(name): version for name, version in json.loads(listed)}
    # The project's own code is in the image's sources layer as files, not as a distribution.
    if components != shipped:
        missing = sorted(set(shipped.items()) - set(components.items()))
        extra = sorted(set(components.items()) - set(shipped.items()))
        raise SystemExit(
            f"{target}: SBOM and image differ; in the image only: {missing}; in the SBOM only: {extra}"
        )
    if "bentoml" not in components or not all(components.values()):
        raise SystemExit(f"{target}: expected bentoml and a version on every component")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images", nargs="+", help="Pants addresses of docker_image targets")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "sbom")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for address in args.images:
        target = sbom(address, args.out)
        components = json.loads(target.read_text())["components"]
        names = {canonical(component["name"]): component["version"] for component in components}
        shown = ", ".join(
            f"{name} {names[name]}" for name in ("bentoml", "scikit-learn", "pandas") if name in names
        )
        print(
            f"{address}: {target.relative_to(ROOT)}: {len(components)} components, as in the image ({shown})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
