"""Serving benchmark: agent2's BentoML service against `mlflow models serve` and in-process predict.

    python3 bench/serving/run.py [--duration 30] [--warmup 5] [--concurrency 1,8,64] [--no-build]

Builds agents/agent2:serve (the production PEX) and bench/serving:model-tools with Pants; saves
the champion's fitted estimator as an MLflow model; times in-process predict (the ceiling); then
serves the champion both ways on 127.0.0.1, each with its own default number of worker processes
(the service: one per CPU; MLflow: one), and drives each with wrk at
every concurrency, alternating servers level by level so machine noise hits both alike. Writes
bench/results/serving.{md,json}, with a verdict on each of the issue's targets in the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from bench.report import project_root
from bench.serving import agreement, pexes, results
from bench.serving.measurement import Measurement
from bench.serving.processes import Server, free_port, quiet_env, serving
from bench.serving.wrk import ensure_wrk, load, wrk_version

SERVICE = "services.agent2.service:DemandForecaster"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of wrk before each run, discarded")
    parser.add_argument("--concurrency", default="1,8,64", help="wrk connections, comma-separated")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (client and servers share 2 cores)"
    )
    parser.add_argument(
        "--rows", type=int, default=28, help="rows per request (the coordinator's max horizon)"
    )
    parser.add_argument(
        "--inprocess-seconds", type=float, default=10.0, help="seconds of each in-process loop"
    )
    parser.add_argument(
        "--omp-threads",
        type=int,
        help="OMP_NUM_THREADS for every contender (default: unset, as production runs: one per core)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="BentoML's worker processes (default: the CPUs this process may use, as the service)",
    )
    parser.add_argument(
        "--mlflow-workers",
        type=int,
        default=1,
        help="`mlflow models serve --workers` (default: 1, MLflow's own; with 2, 18.6 against 114.9 req/s"
        " at concurrency 1 here)",
    )
    parser.add_argument("--champion", type=Path, help="champion bundle (default: agents/agent2/champion)")
    parser.add_argument("--no-build", action="store_true", help="reuse the PEXes already in dist/")
    return parser.parse_args(argv)


def check_champion(directory: Path) -> None:
    if not (directory / "model.skops").is_file() or not (directory / "champion.json").is_file():
        raise SystemExit(
            f"no agent2 champion bundle in {directory} (model.skops + champion.json): "
            "run `./lifecycle --no-serve` first"
        )


def model_tool(tools: Path, module: str, *args: str, cwd: Path) -> str:
    """Runs one module of the model-tools PEX in place of its MLflow entry point; returns its stdout."""
    finished = subprocess.run(
        ["python3.11", str(tools), *args],
        env=quiet_env(PEX_MODULE=module),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"{module} failed:\n{finished.stdout[-2000:]}\n{finished.stderr[-4000:]}")
    return finished.stdout


def in_process(tools: Path, champion: Path, scratch: Path, args: argparse.Namespace) -> list[Measurement]:
    print(f"==> in-process loops ({args.inprocess_seconds:g} s each)", flush=True)
    output = model_tool(
        tools,
        "bench.serving.ceiling",
        f"--champion={champion}",
        f"--body={scratch / 'bentoml-body.json'}",
        f"--seconds={args.inprocess_seconds}",
        f"--warmup={args.warmup}",
        cwd=scratch,
    )
    measured = [
        Measurement(
            contender=loop["contender"],
            concurrency=None,
            rows_per_request=loop["rows"],
            requests=loop["requests"],
            seconds=loop["seconds"],
            p50_ms=loop["p50_ms"],
            p99_ms=loop["p99_ms"],
        )
        for loop in json.loads(output.strip().splitlines()[-1])
    ]
    for measurement in measured:
        print(f"    {measurement.summary()}", flush=True)
    return measured


@contextmanager
def bentoml_server(serve_pex: Path, champion: Path, scratch: Path, workers: int) -> Iterator[Server]:
    """The production command (see ./lifecycle), run from a scratch folder so the PEX's own sources serve."""
    port = free_port()
    command = ["python3.11", str(serve_pex), "serve", SERVICE, "--host", "127.0.0.1", "--port", str(port)]
    env = quiet_env(MLOPS_CHAMPION_DIR=str(champion), MLOPS_SERVE_WORKERS=str(workers))
    with serving(
        "BentoML", command, port=port, ready_path="/readyz", env=env, log=scratch / "bentoml.log", cwd=scratch
    ) as server:
        yield server


@contextmanager
def mlflow_server(tools: Path, model: Path, scratch: Path, workers: int) -> Iterator[Server]:
    """`mlflow models serve` in the local environment: it installs nothing and reaches no network."""
    port = free_port()
    command = ["python3.11", str(tools), "models", "serve", "--model-uri", str(model)]
    command += [
        "--env-manager",
        "local",
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = quiet_env(
        PEX_VENV_BIN_PATH="prepend",  # MLflow execs `uvicorn` by name: the PEX venv's bin must be on PATH
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",  # MLflow 3.17 refuses to load skops models without it
        MLFLOW_TRACKING_URI=f"sqlite:///{scratch / 'mlflow.db'}",  # nothing lands in the repository
    )
    with serving(
        "MLflow", command, port=port, ready_path="/ping", env=env, log=scratch / "mlflow.log", cwd=scratch
    ) as server:
        yield server


def over_http(
    servers: dict[str, tuple[Server, Path]], wrk: str, args: argparse.Namespace, rows: int
) -> list[Measurement]:
    measured = []
    for connections in (int(text) for text in args.concurrency.split(",") if text):
        for contender, (server, body) in servers.items():
            path = "/forecast" if contender == results.BENTOML else "/invocations"
            print(f"==> {contender}, concurrency {connections}", flush=True)
            result = load(
                wrk,
                contender,
                server.url + path,
                body,
                rows=rows,
                connections=connections,
                threads=args.threads,
                seconds=args.duration,
                warmup=args.warmup,
            )
            print(f"    {result.summary()}", flush=True)
            measured.append(result)
    return measured


def setup_notes(args: argparse.Namespace, load_before: float, load_after: float, seconds: float) -> list[str]:
    threads = (
        f"OMP_NUM_THREADS={args.omp_threads} for every contender"
        if args.omp_threads
        else "OMP_NUM_THREADS unset for every contender, as in production: the estimator's predict "
        "uses an OpenMP thread per core"
    )
    return [
        f"Each server at its default worker count, on 127.0.0.1: BentoML {args.workers} (one per CPU), MLflow"
        f" {args.mlflow_workers}; wrk {args.threads} thread(s), "
        f"keep-alive connections in a closed loop, {args.warmup:g} s warm-up then {args.duration:g} s "
        "per run; servers alternate level by level. Client and server share the machine's 2 cores.",
        f"Every request carries the same {args.rows} rows (a forecast horizon). BentoML gets "
        '`{"rows": [...]}` at /forecast (pydantic-validated DemandFeatures, answers with model name and '
        "version); MLflow gets `dataframe_split` at /invocations (schema-checked against the saved "
        "signature). Both answers were checked against the estimator's own predictions before load.",
        "Ceiling: the champion's predict (plus clip) on a prebuilt feature matrix, one thread, no HTTP. "
        "'in-process predict' at bigger batches shows what merging requests gains: agent2's service "
        "batches adaptively (BentoML merges concurrent requests into one predict call), MLflow's "
        "server predicts per request; 'in-process handler' is the service's own validate + forecast + "
        "serialise of one request without HTTP.",
        f"{threads}.",
        f"Shared machine: 1-minute load average {load_before:.2f} before and {load_after:.2f} after; "
        f"the whole run took {seconds:.0f} s.",
    ]


def terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the servers' context managers still stop them."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    terminate_on_sigterm()
    if args.omp_threads:
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)  # inherited by every process started below
    root = project_root()
    champion = (args.champion or root / "agents" / "agent2" / "champion").resolve()
    check_champion(champion)
    wrk = ensure_wrk()
    built = pexes.build(root, package=not args.no_build)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        scratch = Path(folder)
        print("==> saving the champion as an MLflow model", flush=True)
        model_tool(
            built.tools,
            "bench.serving.export_model",
            f"--champion={champion}",
            f"--out={scratch}",
            f"--rows={args.rows}",
            cwd=scratch,
        )
        versions = json.loads((scratch / "versions.json").read_text(encoding="utf-8"))
        expected = json.loads((scratch / "expected.json").read_text(encoding="utf-8"))
        measured = in_process(built.tools, champion, scratch, args)
        with ExitStack() as stack:
            print("==> starting BentoML and MLflow", flush=True)
            bento = stack.enter_context(bentoml_server(built.serve, champion, scratch, args.workers))
            mlflow = stack.enter_context(
                mlflow_server(built.tools, scratch / "mlflow-model", scratch, args.mlflow_workers)
            )
            agreement.check_bentoml(bento.url, scratch / "bentoml-body.json", expected)
            agreement.check_mlflow(mlflow.url, scratch / "mlflow-body.json", expected)
            servers = {
                results.BENTOML: (bento, scratch / "bentoml-body.json"),
                results.MLFLOW: (mlflow, scratch / "mlflow-body.json"),
            }
            measured += over_http(servers, wrk, args, args.rows)
    levels = [int(text) for text in args.concurrency.split(",") if text]
    results.report(
        measured,
        peak=max(levels),
        interactive=8 if 8 in levels else min(levels),
        setup=setup_notes(args, load_before, os.getloadavg()[0], time.monotonic() - started),
        tool_versions={**versions, "wrk": wrk_version(wrk)},
    )
    return 0
