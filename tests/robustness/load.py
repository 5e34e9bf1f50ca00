"""Saturating load on agent2 and on the coordinator (with its agents up), from their packaged
PEXes on loopback: ``python3 tests/robustness/load.py [--duration 60]`` after ``./pants package``.

wrk keeps ``--connections`` keep-alive connections busy (a closed loop: as fast as the servers
answer) for a warm-up, then for ``--duration`` seconds while the resident memory of each server's
process group (BentoML's arbiter and its workers) is sampled. It fails unless every request got a
2xx, no socket error or timeout happened, and resident memory grew less than ``--max-growth``
between the end of the warm-up and the end of the run. Figures are printed and written to
``bench/results/load.{md,json}``. Standard library only (plus wrk, from Debian if missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.report import project_root, write_results
from bench.serving.wrk import ensure_wrk, run_wrk, wrk_version
from tests.support.serving import AGENT_SERVICES, Fleet, Server

HORIZON = 28  # days per request, as the coordinator's restock planning sends them


def day(index: int) -> dict[str, object]:
    return {
        "store_id": 1,
        "product_id": 2,
        "lag_1": 3.0 + index % 5,
        "lag_7": 4.0,
        "lag_14": 4.5,
        "rolling_mean_7": 3.5,
        "rolling_mean_28": 3.8,
        "day_of_week": index % 7,
        "month": 5,
        "promo_share": 0.1,
    }


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in the process group ``pgid`` (Linux /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:  # fields after the command: state, ppid, pgrp
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):  # the process ended while we looked
            continue
    return total


class PeakSampler:
    """Samples a process group's RSS every half second in a thread; keeps the peak."""

    def __init__(self, pgid: int) -> None:
        self.pgid, self.peak = pgid, group_rss_bytes(pgid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, group_rss_bytes(self.pgid))


@dataclass(frozen=True)
class Target:
    name: str
    server: Server
    path: str
    body: dict[str, object]
    watched: dict[str, Server]  # whose memory is measured: the server, and for the coordinator agent2 too


def measure(wrk: str, target: Target, body: Path, args: argparse.Namespace) -> list[dict[str, object]]:
    url = target.server.url + target.path
    run_wrk(wrk, url, body, connections=args.connections, threads=args.threads, seconds=args.warmup)
    before = {name: group_rss_bytes(server.process.pid) for name, server in target.watched.items()}
    samplers = {name: PeakSampler(server.process.pid) for name, server in target.watched.items()}
    for sampler in samplers.values():
        sampler.__enter__()
    try:
        counters = run_wrk(
            wrk, url, body, connections=args.connections, threads=args.threads, seconds=args.duration
        )
    finally:
        for sampler in samplers.values():
            sampler.__exit__()
    after = {name: group_rss_bytes(server.process.pid) for name, server in target.watched.items()}
    seconds = counters["duration_us"] / 1e6
    socket_errors = sum(counters[key] for key in ("connect_errors", "read_errors", "write_errors"))
    rows = []
    for name in target.watched:
        growth = (after[name] - before[name]) / before[name]
        rows.append(
            {
                "load on": f"{target.name} {target.path}",
                "process": name,
                "requests": counters["requests"],
                "requests/s": round(counters["requests"] / seconds, 1),
                "p50 ms": round(counters["p50_us"] / 1000, 1),
                "p99 ms": round(counters["p99_us"] / 1000, 1),
                "non-2xx": counters["status_errors"],
                "socket errors": socket_errors,
                "timeouts": counters["timeouts"],
                "RSS after warm-up MiB": round(before[name] / 2**20, 1),
                "RSS peak MiB": round(samplers[name].peak / 2**20, 1),
                "RSS end MiB": round(after[name] / 2**20, 1),
                "RSS growth %": round(100 * growth, 2),
            }
        )
    return rows


def failures(rows: list[dict[str, object]], max_growth: float) -> list[str]:
    found = []
    for row in rows:
        where = f"{row['load on']} ({row['process']})"
        for counter in ("non-2xx", "socket errors", "timeouts"):
            if row[counter]:
                found.append(f"{where}: {row[counter]} {counter}")
        if not row["requests"]:
            found.append(f"{where}: no request answered")
        if float(str(row["RSS growth %"])) >= 100 * max_growth:
            found.append(f"{where}: RSS grew {row['RSS growth %']}% (limit {100 * max_growth:g}%)")
    return found


def champions(root: Path) -> dict[str, Path] | None:
    """The exported champions (after ./lifecycle) if every agent has one, else None (tiny ones)."""
    bundles = {agent: root / "agents" / agent / "champion" for agent in AGENT_SERVICES}
    return bundles if all((bundle / "champion.json").is_file() for bundle in bundles.values()) else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pex-dir", type=Path, default=None, help="Pants' dist/ (default: the repo's)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load per service")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring")
    parser.add_argument(
        "--connections", type=int, default=8, help="keep-alive connections (1 worker: 2 saturate)"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (client and servers share cores)")
    parser.add_argument("--max-growth", type=float, default=0.10, help="allowed RSS growth after warm-up")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = project_root()
    wrk = ensure_wrk()
    bundles = champions(root)
    folder = Path(tempfile.mkdtemp(prefix="mlops-load-"))  # servers' logs: kept and shown on failure
    fleet = Fleet(args.pex_dir or root / "dist", folder, bundles)
    try:
        for agent in AGENT_SERVICES:
            fleet.start(agent)
        with fleet.coordinator() as coordinator:
            agent2 = fleet.servers["agent2"]
            days = [day(index) for index in range(HORIZON)]
            targets = [
                Target("agent2", agent2, "/forecast", {"rows": days}, {"agent2": agent2}),
                Target(
                    "coordinator",
                    coordinator,
                    "/plan_restock",
                    {"days": days, "on_hand": 40.0, "safety_stock": 5.0},
                    {"coordinator": coordinator, "agent2": agent2},
                ),
            ]
            rows = []
            for target in targets:
                body = folder / f"{target.name}.json"
                body.write_text(json.dumps(target.body))
                probe = target.server.post(target.path, target.body)
                assert probe.status == 200, f"{target.name}: {probe.status} {probe.text}"
                rows += measure(wrk, target, body, args)
    finally:
        fleet.stop_all()
    found = failures(rows, args.max_growth)
    write_results(
        "load",
        "Saturating load on loopback: agent2 and the coordinator (with its agents up)",
        list(rows[0]),
        rows,
        notes=[
            f"wrk {args.threads} thread(s), {args.connections} keep-alive connections in a closed loop, "
            f"{args.warmup:g} s warm-up then {args.duration:g} s measured per service; client and servers "
            "share the machine's cores.",
            f"Each request: {HORIZON} days of one store and product; the coordinator sends them to agent2.",
            "Champions: "
            + ("the exported ones (agents/*/champion)" if bundles else "tiny ones (tiny-champion)"),
            "RSS: the server's whole process group (BentoML arbiter and workers), from /proc; growth is end "
            f"against after warm-up, limit {100 * args.max_growth:g}%.",
            "Result: " + ("PASS" if not found else "FAIL: " + "; ".join(found)),
        ],
        tool_versions={"wrk": wrk_version(wrk)},
    )
    for failure in found:
        print(f"FAIL {failure}", file=sys.stderr)
    if found:
        for log in sorted(folder.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            unusual = [line for line in lines if "status=200" not in line][-40:]
            print(f"--- {log} (lines other than 200 answers)", *unusual, sep="\n", file=sys.stderr)
    if not found:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
