"""The continuous-training loop for one agent: monitor, and retrain through DVC when it drifted.

    python3.11 -m libs.monitoring.loop agent2 [--dvc "./pants run :dvc --"] [-- --since 2024-06-01]

1. runs the agent's monitor (``pipelines/stage agents/<agent>:monitor``: the packaged PEX when
   ``MLOPS_STAGE_PEX_DIR`` is set, as ./lifecycle builds it, else ``./pants run``);
2. on drift (exit 3), ``dvc repro pipelines/<agent>/dvc.yaml``: DVC reruns whatever the newest
   data changed, and the register stage's gate promotes the challenger only if it beats the
   champion by the margin in params.yaml; the export stage then rewrites the champion bundle;
3. the running service hot-reloads that bundle (``libs.serving.reload``); nothing is restarted.

Standard library only, so it runs from a plain interpreter at the repository root; the work
happens in the monitor and DVC processes it starts. Exit codes: 0 stable or retrained (promoted
or not, printed), 4 too few logged rows to judge, anything else a failed step.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DRIFTED, TOO_FEW_ROWS = 3, 4


def retrain_if_drifted(
    agent: str, *, monitor: Sequence[str], dvc: Sequence[str], monitor_args: Sequence[str] = ()
) -> int:
    print(f"==> {agent}: monitoring", flush=True)
    code = subprocess.run([*monitor, *monitor_args], check=False).returncode
    if code == 0:
        print(f"==> {agent}: no drift; nothing to retrain")
        return 0
    if code == TOO_FEW_ROWS:
        print(f"==> {agent}: too few logged predictions to judge; nothing retrained")
        return TOO_FEW_ROWS
    if code != DRIFTED:
        print(f"==> {agent}: the monitor failed (exit {code})", file=sys.stderr)
        return code
    print(f"==> {agent}: drift detected; retraining on the newest data", flush=True)
    repro = subprocess.run([*dvc, "repro", f"pipelines/{agent}/dvc.yaml"], check=False)
    if repro.returncode != 0:
        print(
            f"==> {agent}: dvc repro failed (exit {repro.returncode}); the champion is unchanged",
            file=sys.stderr,
        )
        return repro.returncode
    print(f"==> {agent}: {describe(Path('data') / agent / 'registration.json')}")
    return 0


def describe(registration: Path) -> str:
    """The gate's decision in one line, from the register stage's output."""
    try:
        decision = json.loads(registration.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no gate decision in {registration}"
    outcome = "promoted" if decision.get("promoted") else "not promoted"
    return (
        f"challenger v{decision.get('challenger_version')} {outcome}; champion is "
        f"v{decision.get('champion_version')} ({decision.get('reason')})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loop", description=__doc__.split("\n\n")[0])
    parser.add_argument("agent")
    parser.add_argument(
        "--monitor", help="command running the monitor (default: pipelines/stage agents/<agent>:monitor)"
    )
    parser.add_argument("--dvc", default="./pants run :dvc --", help="command running DVC")
    given = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` goes to the monitor (argparse's REMAINDER would swallow our options too).
    split = given.index("--") if "--" in given else len(given)
    args = parser.parse_args(given[:split])
    extra = given[split + 1 :]
    monitor = (
        shlex.split(args.monitor) if args.monitor else ["pipelines/stage", f"agents/{args.agent}:monitor"]
    )
    return retrain_if_drifted(args.agent, monitor=monitor, dvc=shlex.split(args.dvc), monitor_args=extra)


if __name__ == "__main__":
    sys.exit(main())
