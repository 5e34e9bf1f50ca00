"""The continuous-training loop for one agent: monitor, and retrain through DVC when it drifted.

    python3.11 -m libs.monitoring.loop agent2 [--dvc "./pants run :dvc --"] [-- --since 2024-06-01]

1. runs the agent's monitor (``pipelines/stage agents/<agent>:monitor``: the packaged PEX when
   ``MLOPS_STAGE_PEX_DIR`` is set, as ./lifecycle builds it, else ``./pants run``);
2. on drift (exit 3), ``dvc repro pipelines/<agent>/dvc.yaml``: DVC reruns whatever the newest
   data changed, and the register stage's gate promotes the challenger only if it beats the
   champion by the margin in params.yaml; the export stage then rewrites the champion bundle;
3. the running service hot-reloads that bundle (``libs.serving.reload``); nothing is restarted.

With ``gate.promote: shadow`` a challenger that passes becomes the shadow instead; with
``gate.require_approval: true`` the loop then stops, "awaiting approval", and prints the
``cli approve`` / ``cli reject`` commands a person runs once the monitor's shadow comparison is in.

Standard library only, so it runs from a plain interpreter at the repository root; the work
happens in the monitor and DVC processes it starts. Exit codes: 0 stable or retrained (promoted,
in shadow or not promoted, printed), 4 too few logged rows to judge, 5 a shadow awaits approval,
anything else a failed step.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DRIFTED, TOO_FEW_ROWS, AWAITING_APPROVAL = 3, 4, 5
CLI = "./pants run libs/tracking:cli --"


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
    registration = Path("data") / agent / "registration.json"
    print(f"==> {agent}: {describe(registration)}")
    waiting = awaiting_approval(registration)
    if waiting:
        print(f"==> {agent}: {waiting}")
        return AWAITING_APPROVAL
    return 0


def _read(registration: Path) -> dict[str, object] | None:
    try:
        decision = json.loads(registration.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return decision if isinstance(decision, dict) else None


def describe(registration: Path) -> str:
    """The gate's decision in one line, from the register stage's output."""
    decision = _read(registration)
    if decision is None:
        return f"no gate decision in {registration}"
    if decision.get("outcome") == "shadow":
        outcome = "put in shadow"
    else:
        outcome = "promoted" if decision.get("promoted") else "not promoted"
    return (
        f"challenger v{decision.get('challenger_version')} {outcome}; champion is "
        f"v{decision.get('champion_version')} ({decision.get('reason')})"
    )


def awaiting_approval(registration: Path) -> str | None:
    """What a person must do when the gate's policy holds a shadow for approval; None otherwise."""
    decision = _read(registration)
    if decision is None or decision.get("outcome") != "shadow" or not decision.get("require_approval"):
        return None
    model, version = decision.get("model_name"), decision.get("shadow_version")
    return (
        f"awaiting approval: v{version} of {model} is in shadow beside champion "
        f"v{decision.get('champion_version')}. Compare them in the monitor's report, then run\n"
        f"    {CLI} approve {model} {version} --by NAME --reason TEXT [--comparison summary.json]\n"
        f"or  {CLI} reject {model} {version} --by NAME --reason TEXT"
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
