"""Serving benchmark: agent2's BentoML service against what a team would run instead, and a ceiling.

    python3 bench/serving/run.py [--duration 30] [--warmup 5] [--concurrency 8,64] [--no-build]

Builds agents/agent2:serve (the production PEX) and bench/serving:model-tools with Pants; saves
the champion's fitted estimator as an MLflow model; times the explanatory in-process loops; then
serves the same champion four ways on 127.0.0.1: the service, a hand-written FastAPI endpoint under
uvicorn and BentoML as its quickstart writes it (no adaptive batching), each on the same number of
worker processes, and `mlflow models serve` (its default single worker). wrk drives each at every
concurrency, alternating servers level by level so machine noise hits all alike, and BentoML's own
counters say how many requests it merged per call at each level. Last, the equal-resource ceiling:
the service's handler in process on those merged batches, one process per worker, at the same time.
Writes bench/results/serving.{md,json}, with a verdict on each of the issue's targets in the notes.
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
from bench.serving import agreement, batching, pexes, results
from bench.serving.measurement import Measurement
from bench.serving.processes import Server, free_port, quiet_env, serving
from bench.serving.wrk import ensure_wrk, load, wrk_version

SERVICE = "services.agent2.service:DemandForecaster"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of wrk before each run, discarded")
    parser.add_argument("--concurrency", default="8,64", help="wrk connections, comma-separated")
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
        help="OMP_NUM_THREADS for every contender (default: unset, as production runs: the service gives"
        " each worker its share of the cores, the others start a thread per core)",
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
    env = quiet_env(
        MLOPS_CHAMPION_DIR=str(champion),
        MLOPS_SERVE_WORKERS=str(workers),
        # Its own home: BentoML clears its Prometheus folder when a server starts, which would erase
        # this server's counters when the next BentoML contender starts.
        BENTOML_HOME=str(scratch / "bentoml-home-service"),
    )
    with serving(
        "BentoML", command, port=port, ready_path="/readyz", env=env, log=scratch / "bentoml.log", cwd=scratch
    ) as server:
        yield server


@contextmanager
def fastapi_server(tools: Path, champion: Path, scratch: Path, workers: int) -> Iterator[Server]:
    """The hand-written FastAPI endpoint under uvicorn, with uvicorn's defaults and the service's workers."""
    port = free_port()
    app = "bench.serving.fastapi_app:app"
    command = [
        "python3.11",
        str(tools),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = quiet_env(PEX_MODULE="uvicorn", MLOPS_CHAMPION_DIR=str(champion))
    with serving(
        "FastAPI", command, port=port, ready_path="/readyz", env=env, log=scratch / "fastapi.log", cwd=scratch
    ) as server:
        yield server


@contextmanager
def bentoml_plain_server(tools: Path, champion: Path, scratch: Path, workers: int) -> Iterator[Server]:
    """BentoML's quickstart shape (no adaptive batching), on the service's number of workers."""
    port = free_port()
    service = "bench.serving.bentoml_plain:PlainForecaster"
    command = ["python3.11", str(tools), "serve", service, "--host", "127.0.0.1", "--port", str(port)]
    env = quiet_env(
        PEX_MODULE="bentoml_cli.cli:cli",
        MLOPS_CHAMPION_DIR=str(champion),
        MLOPS_SERVE_WORKERS=str(workers),
        BENTOML_HOME=str(scratch / "bentoml-home-plain"),  # see bentoml_server
    )
    log = scratch / "bentoml-plain.log"
    with serving(
        "BentoML plain", command, port=port, ready_path="/readyz", env=env, log=log, cwd=scratch
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
) -> tuple[list[Measurement], dict[int, float | None]]:
    """Every server at every concurrency; also the requests the service merged per call at each."""
    measured = []
    merged: dict[int, float | None] = {}
    for connections in (int(text) for text in args.concurrency.split(",") if text):
        for contender, (server, body) in servers.items():
            path = "/invocations" if contender == results.MLFLOW else "/forecast"
            print(f"==> {contender}, concurrency {connections}", flush=True)
            before = batching.read(server.url) if contender == results.BENTOML else None
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
            if before is not None:
                merged[connections] = batching.read(server.url).since(before)
                print(f"    requests merged per call: {merged[connections]}", flush=True)
    return measured, merged


def equal_resource_ceiling(
    tools: Path, champion: Path, scratch: Path, args: argparse.Namespace, merged: dict[int, float | None]
) -> list[Measurement]:
    """The service's handler in process on the batches it merged, one process per server worker at once
    (one request per call where the merge was not observed: the notes say so)."""
    batches = {connections: max(1, round(mean or 1)) for connections, mean in merged.items()}
    distinct = ",".join(str(size) for size in sorted(set(batches.values())))
    print(
        f"==> equal-resource ceiling: handler on {distinct} requests' rows, {args.workers} processes",
        flush=True,
    )
    command = [
        "python3.11",
        str(tools),
        f"--champion={champion}",
        f"--body={scratch / 'bentoml-body.json'}",
        f"--seconds={args.inprocess_seconds}",
        f"--warmup={args.warmup}",
        f"--handler-batches={distinct}",
    ]
    env = quiet_env(PEX_MODULE="bench.serving.ceiling")
    if not args.omp_threads:  # the share the service's workers take (libs/serving/threads.py)
        share = str(max(1, len(os.sched_getaffinity(0)) // args.workers))
        env.update(OMP_NUM_THREADS=share, OPENBLAS_NUM_THREADS=share)
    processes = [
        subprocess.Popen(
            command, env=env, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(args.workers)
    ]
    loops = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"bench.serving.ceiling failed:\n{err[-4000:]}")
        loops += json.loads(out.strip().splitlines()[-1])
    measured = []
    for connections, size in batches.items():
        same = [loop for loop in loops if loop["rows"] == size * args.rows]
        measurement = Measurement(
            contender=results.CEILING,
            concurrency=connections,
            rows_per_request=args.rows,
            requests=sum(loop["requests"] * size for loop in same),  # in requests of args.rows rows
            seconds=max(loop["seconds"] for loop in same),
            p50_ms=max(loop["p50_ms"] for loop in same),  # one merged call's latency
            p99_ms=max(loop["p99_ms"] for loop in same),
        )
        print(f"    {measurement.summary()}", flush=True)
        measured.append(measurement)
    return measured


def setup_notes(
    args: argparse.Namespace,
    merged: dict[int, float | None],
    load_before: float,
    load_after: float,
    seconds: float,
) -> list[str]:
    threads = (
        f"OMP_NUM_THREADS={args.omp_threads} for every contender"
        if args.omp_threads
        else "OMP_NUM_THREADS unset, as in production: the service's workers and the ceiling's processes"
        " each take their share of the cores (libs/serving/threads.py); FastAPI, plain BentoML and MLflow"
        " start an OpenMP thread per core in every worker"
    )
    merges = ", ".join(
        f"{mean:.2f} at concurrency {level}" if mean else f"NOT OBSERVED at {level} (ceiling at 1)"
        for level, mean in merged.items()
    )
    return [
        f"On 127.0.0.1: the service, FastAPI (uvicorn) and plain BentoML on {args.workers} worker processes"
        f" each (the service's default, one per CPU); MLflow on its default {args.mlflow_workers}; wrk"
        f" {args.threads} thread(s), "
        f"keep-alive connections in a closed loop, {args.warmup:g} s warm-up then {args.duration:g} s "
        "per run; servers alternate level by level. Client and server share the machine's 2 cores.",
        f"Every request carries the same {args.rows} rows (a forecast horizon). BentoML gets "
        '`{"rows": [...]}` at /forecast (pydantic-validated DemandFeatures, answers with model name and '
        "version); MLflow gets `dataframe_split` at /invocations (schema-checked against the saved "
        "signature). Both answers were checked against the estimator's own predictions before load.",
        "FastAPI: a hand-written `def` endpoint (FastAPI's thread pool), one predict per request, under"
        " `uvicorn --workers`; plain BentoML: `@bentoml.service` + `@bentoml.api` as the quickstart writes"
        " them, one predict per request. Both take the service's body and answer with the same"
        " DemandForecast rows, without its guards, reloads or prediction logging.",
        f"Equal-resource ceiling: the service's own handler (validate, forecast, serialise) in process,"
        f" on the requests' rows the service merged per call at that concurrency (BentoML's"
        f" adaptive_batch_size counters: {merges} requests per call, rounded), in {args.workers} processes"
        " at once, throughput summed; its latencies are one merged call's. The loops marked '1 (loop)' are"
        " one thread on one request's rows (bare predict, at bigger batches, and the handler) and explain"
        " the costs; they are no target's baseline. The ceiling's processes have the cores to themselves;"
        " a server shares them with wrk, whose CPU time per second of its run is the 'wrk cores' column.",
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
        body = scratch / "bentoml-body.json"
        with ExitStack() as stack:
            print("==> starting the service, FastAPI, plain BentoML and MLflow", flush=True)
            bento = stack.enter_context(bentoml_server(built.serve, champion, scratch, args.workers))
            fastapi = stack.enter_context(fastapi_server(built.tools, champion, scratch, args.workers))
            plain = stack.enter_context(bentoml_plain_server(built.tools, champion, scratch, args.workers))
            mlflow = stack.enter_context(
                mlflow_server(built.tools, scratch / "mlflow-model", scratch, args.mlflow_workers)
            )
            servers = {
                results.BENTOML: (bento, body),
                results.FASTAPI: (fastapi, body),
                results.PLAIN: (plain, body),
                results.MLFLOW: (mlflow, scratch / "mlflow-body.json"),
            }
            for contender, (server, _) in servers.items():
                if contender != results.MLFLOW:
                    agreement.check_forecasts(contender, server.url, body, expected)
            agreement.check_mlflow(mlflow.url, scratch / "mlflow-body.json", expected)
            over, merged = over_http(servers, wrk, args, args.rows)
            measured += over
        measured += equal_resource_ceiling(built.tools, champion, scratch, args, merged)
    levels = [int(text) for text in args.concurrency.split(",") if text]
    results.report(
        measured,
        peak=max(levels),
        interactive=8 if 8 in levels else min(levels),
        setup=setup_notes(args, merged, load_before, os.getloadavg()[0], time.monotonic() - started),
        tool_versions={**versions, "wrk": wrk_version(wrk)},
    )
    return 0
