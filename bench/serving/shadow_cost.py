"""What a shadow costs the answers: agent2's service at concurrency 8 with and without a shadow.

    python3 bench/serving/shadow_cost.py [--duration 20] [--warmup 5] [--rounds 3] [--no-build]
                                         [--champion agents/agent2/champion]

Serves the production PEX (agents/agent2:serve) twice from identical champion bundles, one with a
shadow bundle beside the champion (the same model under another version, so the shadow does as
much work as the champion) and one without, and drives each with wrk at concurrency 8, alternating
the two servers round by round so machine noise hits both alike. The issue's target: p99 with a
shadow within 10% of p99 without. Writes bench/results/shadow_cost.{md,json}.

Without ``--champion`` the champion is the tiny agent2 model service tests use
(``agents.agent2.tiny_champion``, run from the model-tools PEX), so no training run is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

if __name__ == "__main__":  # a plain script: the repository root must be importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.report import project_root, write_results
from bench.serving import pexes
from bench.serving.main import bentoml_server, model_tool
from bench.serving.measurement import Measurement
from bench.serving.wrk import ensure_wrk, load, wrk_version

CONCURRENCY = 8
TARGET_RATIO = 1.10
COLUMNS = ["round", "contender", "requests/s", "p50 ms", "p99 ms", "errors"]
INTEGER_FIELDS = ("store_id", "product_id", "day_of_week", "month")
FEATURES = (
    "store_id", "product_id", "lag_1", "lag_7", "lag_14", "rolling_mean_7", "rolling_mean_28",
    "day_of_week", "month", "promo_share",
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of wrk before each run, discarded")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per contender, alternated")
    parser.add_argument("--rows", type=int, default=28, help="rows per request (the coordinator's horizon)")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes (both servers)")
    parser.add_argument("--champion", type=Path, help="a champion bundle (default: a tiny one, trained here)")
    parser.add_argument("--no-build", action="store_true", help="use the PEXes already in dist/")
    return parser.parse_args(argv)


def request_body(rows: int, path: Path) -> Path:
    """``rows`` valid DemandFeatures rows, the same every run (seeded)."""
    chooser = random.Random(7)  # noqa: S311  test data, not secrets
    body = []
    for _ in range(rows):
        level = chooser.uniform(1, 10)
        row = {name: round(level * chooser.uniform(0.5, 1.5), 3) for name in FEATURES}
        row.update(store_id=chooser.randint(1, 3), product_id=chooser.randint(1, 5))
        row.update(
            day_of_week=chooser.randint(0, 6), month=chooser.randint(1, 12), promo_share=chooser.random()
        )
        body.append(row)
    path.write_text(json.dumps({"rows": body}), encoding="utf-8")
    return path


def bundles(champion: Path | None, tools: Path, scratch: Path) -> tuple[Path, Path]:
    """Two champion folders with the same champion; the second also holds it as shadow v(n+1)."""
    plain, shadowed = scratch / "plain", scratch / "shadowed"
    if champion is None:
        model_tool(tools, "agents.agent2.tiny_champion", f"--out={plain}", cwd=scratch)
    else:
        shutil.copytree(champion, plain, ignore=shutil.ignore_patterns("shadow"))
    shutil.copytree(plain, shadowed)
    shutil.copytree(plain, shadowed / "shadow")
    identity_path = shadowed / "shadow" / "champion.json"
    identity = json.loads(identity_path.read_text(encoding="utf-8"))
    identity["model_version"] = f"{identity['model_version']}-shadow"
    identity_path.write_text(json.dumps(identity), encoding="utf-8")
    return plain, shadowed


def row(round_number: int, measured: Measurement) -> dict[str, object]:
    return {
        "round": round_number,
        "contender": measured.contender,
        "requests/s": round(measured.requests_per_s, 1),
        "p50 ms": round(measured.p50_ms, 1),
        "p99 ms": round(measured.p99_ms, 1),
        "errors": measured.errors,
    }


def shadow_drops(url: str) -> float:
    """Rows the shadow did not score (``shadow_scores_dropped_total``, all reasons), from /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:  # noqa: S310  loopback http only
        text = response.read().decode()
    return sum(
        float(value) for value in re.findall(r"^shadow_scores_dropped_total\{[^}]*\} (\S+)$", text, re.M)
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = project_root()
    wrk = ensure_wrk()
    built = pexes.build(root, package=not args.no_build)
    measured: dict[str, list[Measurement]] = {"no shadow": [], "with shadow": []}
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as folder, ExitStack() as stack:
        scratch = Path(folder)
        os.environ["MLOPS_PREDICTION_LOG_DIR"] = str(scratch / "predictions")  # inherited by both servers
        plain, shadowed = bundles(args.champion, built.tools, scratch)
        body = request_body(args.rows, scratch / "body.json")
        servers = {}
        for name, bundle in (("no shadow", plain), ("with shadow", shadowed)):
            # A home each: BentoML empties its home's metrics folder as a server starts, which would
            # leave the first server writing metrics into files the second one deleted.
            os.environ["BENTOML_HOME"] = str(scratch / f"bentoml-home-{bundle.name}")
            run_dir = scratch / f"run-{bundle.name}"
            run_dir.mkdir(exist_ok=True)
            servers[name] = stack.enter_context(bentoml_server(built.serve, bundle, run_dir, args.workers))
        for number in range(1, args.rounds + 1):
            for contender, server in servers.items():
                print(f"==> round {number}: {contender}, concurrency {CONCURRENCY}", flush=True)
                result = load(
                    wrk, contender, server.url + "/forecast", body, rows=args.rows, connections=CONCURRENCY,
                    threads=1, seconds=args.duration, warmup=args.warmup,
                )  # fmt: skip
                print(f"    {result.summary()}", flush=True)
                measured[contender].append(result)
                rows.append(row(number, result))
        dropped = shadow_drops(servers["with shadow"].url)
        scored = sum(m.requests for m in measured["with shadow"]) * args.rows
    p99 = {name: statistics.median(m.p99_ms for m in runs) for name, runs in measured.items()}
    ratio = p99["with shadow"] / p99["no shadow"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    notes = [
        f"Median p99 over {args.rounds} rounds at concurrency {CONCURRENCY}: {p99['no shadow']:.1f} ms "
        f"without a shadow, {p99['with shadow']:.1f} ms with one ({(ratio - 1) * 100:+.1f}%); "
        f"target p99 within {(TARGET_RATIO - 1) * 100:.0f}% of no shadow: {verdict}.",
        f"Every request carries {args.rows} rows; {args.workers} service worker(s) per server; wrk 1 "
        f"thread; {args.duration:g} s measured after {args.warmup:g} s of warm-up per run; both servers "
        "run throughout.",
        "The shadow is the champion's own model under another version: the shadow's full cost is paid.",
        f"Shadow rows dropped (shadow_scores_dropped_total, warm-ups included): {dropped:g}, against "
        f"{scored} rows answered in the measured runs.",
    ]
    write_results(
        name="shadow_cost",
        title="The latency cost of a shadow model on agent2's service",
        columns=COLUMNS,
        rows=rows,
        notes=notes,
        tool_versions={"wrk": wrk_version(wrk)},
        extra={
            "p99_ms": p99,
            "ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "met": ratio <= TARGET_RATIO,
            "shadow_rows_dropped": dropped,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
