"""One command-line shape for every agent: ``<agent> <stage> [--params P] [--raw-dir D] [--work-dir W]``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from libs.logs.formats import configure_command
from libs.pipeline.context import StageContext, load_params
from libs.schemas import DataValidationError
from libs.settings import disable_telemetry

Stage = Callable[[StageContext], None]
log = logging.getLogger(__name__)


def run_stages(agent: str, stages: Mapping[str, Stage], argv: Sequence[str] | None = None) -> int:
    """Runs one stage; bad data ends it with pandera's report on stderr and exit code 1, writing nothing."""
    disable_telemetry()
    configure_command()  # text for people; one JSON object per line with MLOPS_LOG_FORMAT=json
    parser = argparse.ArgumentParser(prog=agent, description=f"Pipeline stages of {agent}.")
    parser.add_argument("stage", choices=sorted(stages))
    parser.add_argument("--params", type=Path, default=Path("pipelines") / agent / "params.yaml")
    parser.add_argument("--raw-dir", type=Path, default=Path("data") / "raw")
    parser.add_argument("--work-dir", type=Path, default=Path("data") / agent)
    args = parser.parse_args(argv)
    context = StageContext(
        agent=agent,
        params=load_params(args.params),
        params_path=args.params,
        raw_dir=args.raw_dir,
        work_dir=args.work_dir,
    )
    try:
        stages[args.stage](context)
    except DataValidationError as error:
        where = {"agent": agent, "stage": args.stage}
        log.error("%s %s: input rejected, nothing written.\n%s", agent, args.stage, error, extra=where)
        return 1
    return 0
