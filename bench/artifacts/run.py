"""Artifact minimality: each agent's image and PEX against a monolith, and container start to /readyz.

    python3 bench/artifacts/run.py [--starts 3] [--no-build]     (after ./lifecycle --no-serve)

The monolith (bench/artifacts:monolith) is the one image a team would ship for every job: every
agent's and the coordinator's runtime and training requirements (DVC included, no linters, type
checkers or test runners) in one environment, on the same base image, with the same layering,
sources and champions as the agents' images. The largest packages in agent2's image are listed
too, with their installed sizes: what a smaller image would have to drop or replace.
Sizes come from the artifacts themselves
(`docker image inspect`, the PEX files, their PEX-INFO). Start to ready is `docker run` until
/readyz answers 200 on loopback, each sample a fresh container, images alternating; the monolith
serves agent2's service, so it is compared with agent2's image. Needs a Docker engine
(`source .ci/docker-up` starts one and builds the local base image). Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import commands  # noqa: E402
from bench.report import median, ratio, write_results  # noqa: E402
from bench.serving.processes import answers, free_port  # noqa: E402

TARGET_SHARE = 0.35  # every agent image at most 35% of the monolith's size
MIB = 1024**2
SITE_PACKAGES = "/app/venv/lib/python3.11/site-packages"


@dataclass(frozen=True)
class Artifact:
    name: str
    image_target: str
    repository: str
    deps_pex: str  # the requirements-only PEX its image installs
    run_args: tuple[str, ...] = ()  # what `docker run` needs besides the image to serve
    serves: str = ""  # the agent whose service answers /readyz (start-to-ready pairs)


AGENT2_SERVICE = "services.agent2.service:DemandForecaster"
MONOLITH = Artifact(
    "monolith (everything)",
    "bench/artifacts:monolith",
    "mlops/monolith",
    "bench.artifacts/monolith-deps.pex",
    run_args=("-e", "MLOPS_CHAMPION_DIR=/app/agent2/champion"),
    serves="agent2",
)
AGENTS = [
    Artifact(
        f"{agent}", f"agents/{agent}:image", f"mlops/{agent}", f"agents.{agent}/serve-deps.pex", serves=agent
    )
    for agent in ("agent1", "agent2", "agent3")
]
COORDINATOR = Artifact(
    "coordinator", "services/coordinator:image", "mlops/coordinator", "services.coordinator/serve-deps.pex"
)
SHIPPED = [*AGENTS, COORDINATOR]
# The monolith, run as agent2's service: same command as agent2's image (all interfaces inside the
# container; the port is published on the host's loopback only).
MONOLITH_COMMAND = ("serve", AGENT2_SERVICE, "--host", "0.0.0.0", "--port", "3000")  # noqa: S104


def run(*command: str) -> str:
    return commands.run(ROOT, *command)


def require_engine_and_champions() -> None:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise SystemExit("no Docker engine answers: `source .ci/docker-up` first (it sets DOCKER_HOST)")
    missing = [
        a.serves for a in AGENTS if not (ROOT / "agents" / a.serves / "champion" / "model.skops").is_file()
    ]
    if missing:
        raise SystemExit(f"no champion bundle for {', '.join(missing)}: run ./lifecycle --no-serve first")


def build(base_image: str | None) -> None:
    artifacts = (*SHIPPED, MONOLITH)
    # The images' own PEXes too: packaging an image builds them into its context, not into dist/.
    targets = [a.image_target for a in artifacts] + [pex_target(a.deps_pex) for a in artifacts]
    build_args = [f'--docker-build-args=["BASE_IMAGE={base_image}"]'] if base_image else []
    print(f"==> ./pants package {' '.join(targets)}", flush=True)
    run("./pants", *build_args, "package", *targets)


def pex_target(relative: str) -> str:
    """`agents.agent2/serve-deps.pex` is what `./pants package agents/agent2:serve-deps` writes."""
    folder, name = relative.removesuffix(".pex").split("/")
    return f"{folder.replace('.', '/')}:{name}"


def image_bytes(image: str) -> int:
    reference = image if ":" in image else f"{image}:latest"
    return int(run("docker", "image", "inspect", "--format", "{{.Size}}", reference).strip())


def pex_facts(relative: str) -> tuple[int, int]:
    """A PEX file's size in bytes and how many distributions its PEX-INFO lists."""
    path = ROOT / "dist" / relative
    if not path.is_file():
        raise SystemExit(f"missing {path}: run without --no-build")
    with zipfile.ZipFile(path) as archive:
        info = json.loads(archive.read("PEX-INFO"))
    return path.stat().st_size, len(info.get("distributions", {}))


def start_to_ready(artifact: Artifact, timeout_s: float = 180) -> float:
    """Seconds from `docker run` to the first 200 from /readyz; the container is removed after."""
    port = free_port()
    name = f"bench-artifacts-{os.getpid()}-{port}"
    command = [
        "docker",
        "run",
        "-d",
        "--rm",
        "--name",
        name,
        "-p",
        f"127.0.0.1:{port}:3000",
        *artifact.run_args,
    ]
    command.append(f"{artifact.repository}:latest")
    if artifact is MONOLITH:
        command += MONOLITH_COMMAND
    started = time.perf_counter()
    run(*command)
    try:
        while not answers(f"http://127.0.0.1:{port}/readyz"):
            if time.perf_counter() - started > timeout_s:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
                tail = logs.stdout[-2000:] + logs.stderr[-2000:]
                raise SystemExit(f"{artifact.name} not ready in {timeout_s:.0f} s:\n{tail}")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@dataclass(frozen=True)
class SitePackages:
    """What an image's site-packages holds: bytes per top-level entry, and bytecode bytes."""

    sizes: dict[str, int]
    bytecode: int

    def largest(self, count: int = 8) -> list[tuple[str, int]]:
        return sorted(self.sizes.items(), key=lambda item: item[1], reverse=True)[:count]


def site_packages(repository: str) -> SitePackages:
    """Read from the image itself (`docker cp` of the folder as a tar stream: the images have no shell
    to run `du` in)."""
    container = run("docker", "create", f"{repository}:latest").strip()
    sizes: dict[str, int] = collections.Counter()
    bytecode = 0
    try:
        with (
            subprocess.Popen(
                ["docker", "cp", f"{container}:{SITE_PACKAGES}", "-"], stdout=subprocess.PIPE
            ) as copy,
            tarfile.open(fileobj=copy.stdout, mode="r|") as archive,
        ):
            for member in archive:
                parts = member.name.split("/")
                if len(parts) > 1:
                    sizes[parts[1]] += member.size
                bytecode += member.size if member.name.endswith(".pyc") else 0
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    return SitePackages(dict(sizes), bytecode)


def measure_starts(starts: int) -> dict[str, list[float]]:
    """Alternates the images sample by sample so machine noise hits all alike."""
    contenders = [*AGENTS, MONOLITH]
    samples: dict[str, list[float]] = {artifact.name: [] for artifact in contenders}
    for index in range(starts):
        for artifact in contenders if index % 2 == 0 else reversed(contenders):
            seconds = start_to_ready(artifact)
            samples[artifact.name].append(seconds)
            print(f"  {artifact.name:22} start {index + 1}/{starts}: ready in {seconds:.2f} s", flush=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=3, help="container starts per image (median reported)")
    parser.add_argument("--no-build", action="store_true", help="measure the images and PEXes already built")
    parser.add_argument("--base-image", default=os.environ.get("BASE_IMAGE"), help="default: $BASE_IMAGE")
    args = parser.parse_args(argv)
    require_engine_and_champions()
    if not args.no_build:
        build(args.base_image)
    monolith_image = image_bytes(MONOLITH.repository)
    monolith_pex, monolith_dists = pex_facts(MONOLITH.deps_pex)
    starts = measure_starts(args.starts)
    rows, verdicts = [], []
    for artifact in (*SHIPPED, MONOLITH):
        size = image_bytes(artifact.repository)
        pex_size, distributions = pex_facts(artifact.deps_pex)
        share = ratio(size, monolith_image)
        ready = starts.get(artifact.name)
        rows.append(
            {
                "artifact": artifact.name,
                "image MiB": round(size / MIB),
                "image / monolith": share,
                "requirements PEX MiB": round(pex_size / MIB),
                "PEX / monolith": ratio(pex_size, monolith_pex),
                "distributions": distributions,
                "start to /readyz s": round(median(ready), 2) if ready else "",
            }
        )
        if artifact is not MONOLITH:
            verdicts.append(f"{artifact.name} {share:.0%} ({'met' if share <= TARGET_SHARE else 'NOT met'})")
    agent2, monolith = median(starts["agent2"]), median(starts[MONOLITH.name])
    agent2_site, monolith_site = site_packages("mlops/agent2"), site_packages(MONOLITH.repository)
    base = args.base_image or "python:3.11-slim"
    notes = [
        f"Target: every shipped image at most {TARGET_SHARE:.0%} of the monolith's size: "
        + "; ".join(verdicts)
        + ".",
        f"Monolith: what a one-image team ships ({monolith_dists} distributions: every agent's and the "
        "coordinator's runtime and training requirements, DVC, MLflow, BentoML; no linters, type "
        "checkers, stubs or test runners) in one venv, plus all agents' sources and champions, "
        f"on the same base image ({base}, {round(image_bytes(base) / MIB)} MiB, counted in every size) "
        "with the same two-layer build.",
        f"Start to ready: `docker run -d` until /readyz answers 200 on loopback, {args.starts} fresh "
        f"containers per image, alternating; medians. agent2's image {agent2:.2f} s against the monolith "
        f"serving the same service {monolith:.2f} s ({ratio(monolith, agent2)}x).",
        "Requirements PEX: the requirements-only PEX each image installs (`serve-deps`); distributions: "
        "its PEX-INFO.",
        f"Bytecode: the monolith holds every module's, as pip installs it ({monolith_site.bytecode / MIB:.0f}"
        f" MiB); an agent image only that of the modules its start imports, found by starting it once at"
        f" build time (libs/serving/bytecode.py): {agent2_site.bytecode / MIB:.0f} MiB in agent2's. Neither"
        " is needed to run; without any, each start compiles its imports (bench/results/image_ways.md).",
        "Largest installed packages in agent2's image (MiB): "
        + ", ".join(f"{name} {size / MIB:.0f}" for name, size in agent2_site.largest())
        + f"; the target needs agent2's image at or under {TARGET_SHARE * monolith_image / MIB:.0f} MiB.",
    ]
    write_results(
        "artifacts",
        "Artifacts: each agent's image and PEX against a monolith image",
        list(rows[0]),
        rows,
        notes=notes,
        tool_versions={"docker": run("docker", "version", "--format", "{{.Server.Version}}").strip()},
        extra={"start_samples_s": starts},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
