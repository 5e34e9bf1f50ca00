"""``python -m libs.tracking <command>``: the registry as operators need it (show, rollback, reproduce,
shadow, approve, reject, promote, download).

Any failure is one line on stderr and exit code 2, so scripts and people both can act on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from libs.settings import Settings, disable_telemetry
from libs.tracking import approval_cli, reproduce
from libs.tracking.download import download_model
from libs.tracking.errors import TrackingError
from libs.tracking.gate import TAG_PREFIX as GATE
from libs.tracking.preview import describe, preview
from libs.tracking.registry import (
    HISTORY_TAG,
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_TAG,
    champion,
    model_versions,
    registered_model,
    rollback,
    shadow,
)
from libs.tracking.rundata import describe_run
from libs.tracking.uris import client_for, resolve_settings

USAGE_ERROR = 2
DESCRIPTION = (
    "Show a registered model's versions, gate decisions and audit trail; roll its champion back; "
    "rebuild a version from its lineage (reproduce); put a version in shadow, approve or reject the "
    "shadow, promote by hand; copy a version out of the registry (download); or preview the gate for a "
    "pull request from two registration.json files."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m libs.tracking", description=DESCRIPTION)
    parser.add_argument("--tracking-uri", help="MLflow tracking store (default: the project settings)")
    parser.add_argument("--registry-uri", help="MLflow model registry (default: the tracking store)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="versions, the champion and gate decisions").add_argument("model")
    commands.add_parser("rollback", help="move the champion back to the previous one").add_argument("model")
    approval_cli.add_commands(commands)
    download = commands.add_parser(
        "download", help="copy a version's MLflow model (default: the champion) into a new folder"
    )
    download.add_argument("model")
    download.add_argument("destination", type=Path, help="a folder that does not exist yet, or is empty")
    download.add_argument("--version", help="the version to copy (default: the champion)")
    gate_preview = commands.add_parser(
        "gate-preview", help="the gate's decision for the head's model against the base's champion"
    )
    gate_preview.add_argument("base", help="the base branch's registration.json ('-' if it has none)")
    gate_preview.add_argument("head", help="the head's registration.json")
    reproduce.add_parser(commands)
    return parser


def gate_preview(base_path: str, head_path: str) -> str:
    """One Markdown line: would main's gate promote the head's model over the base's champion."""
    with open(head_path, encoding="utf-8") as head_file:
        head = json.load(head_file)
    base = None
    if base_path != "-":
        with open(base_path, encoding="utf-8") as base_file:
            base = json.load(base_file)
    return describe(preview(base, head), str(head["metric"]))


def _settings(args: argparse.Namespace, settings: Settings | None) -> Settings:
    overrides = {
        field: value
        for field, value in (
            ("mlflow_tracking_uri", args.tracking_uri),
            ("mlflow_registry_uri", args.registry_uri),
        )
        if value
    }
    return Settings(**overrides) if overrides else resolve_settings(settings)


def _describe_version(
    version: ModelVersion, champion_version: str | None, shadow_version: str | None
) -> list[str]:
    tags = version.tags
    marks = [f"v{version.version}", version.status, f"run {version.run_id or '-'}"]
    if str(version.version) == champion_version:
        marks.append("CHAMPION")
    if str(version.version) == shadow_version:
        marks.append("SHADOW")
    if PREVIOUS_CHAMPION_TAG in tags:
        marks.append(f"replaced v{tags[PREVIOUS_CHAMPION_TAG]}")
    if tags.get(ROLLED_BACK_TAG) == "true":
        marks.append("rolled back")
    lines = ["  " + "  ".join(marks)]
    if f"{GATE}decision" in tags:
        lines.append(f"      gate {tags[f'{GATE}decision']}: {tags.get(f'{GATE}reason', '')}")
    return lines


def show(name: str, settings: Settings) -> list[str]:
    history = registered_model(client_for(settings), name).tags.get(HISTORY_TAG, "")
    current = champion(name, settings=settings)
    champion_version = None if current is None else str(current.version)
    in_shadow = shadow(name, settings=settings)
    shadow_version = None if in_shadow is None else str(in_shadow.version)
    lines = [
        f"model {name}",
        f"champion {'v' + champion_version if champion_version else 'none'}",
        f"shadow {'v' + shadow_version if shadow_version else 'none'}",
        f"champion history {history.replace(',', ' -> ') or 'none'}",
        "versions (newest first):",
    ]
    for version in model_versions(name, settings=settings):
        lines.extend(_describe_version(version, champion_version, shadow_version))
        if str(version.version) == champion_version and version.run_id:
            lines.extend(describe_run(client_for(settings), version.run_id))
    lines.extend(approval_cli.audit_lines(name, settings))
    return lines


def rollback_and_report(name: str, settings: Settings) -> str:
    before = champion(name, settings=settings)
    after = rollback(name, settings=settings)
    return f"{name}: champion rolled back from v{before.version if before else '-'} to v{after.version}"


def download_and_report(args: argparse.Namespace, settings: Settings) -> str:
    version, folder = download_model(args.model, args.destination, version=args.version, settings=settings)
    return f"{args.model} v{version.version}: {folder}"


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    disable_telemetry()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed the usage error
        return stop.code if isinstance(stop.code, int) else USAGE_ERROR
    try:
        if args.command == "gate-preview":
            print(gate_preview(args.base, args.head))
            return 0
        resolved = _settings(args, settings)
        if args.command == "reproduce":
            return reproduce.main(args, resolved)
        if args.command == "show":
            print("\n".join(show(args.model, resolved)))
        elif args.command == "download":
            print(download_and_report(args, resolved))
        elif args.command in approval_cli.COMMANDS:
            print(approval_cli.run(args, resolved))
        else:
            print(rollback_and_report(args.model, resolved))
    except (TrackingError, MlflowException, ValueError, OSError, KeyError) as error:
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"error: {message}", file=sys.stderr)
        return USAGE_ERROR
    return 0
