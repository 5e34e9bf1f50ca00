"""The ``shadow``, ``approve``, ``reject`` and ``promote`` subcommands of ``python -m libs.tracking``.

Kept apart from ``cli`` so that module only wires subcommands; each action is ``libs.tracking.approval``.
"""

from __future__ import annotations

import argparse
import getpass

from libs.settings import Settings
from libs.tracking.approval import (
    AuditRecord,
    approve,
    audit_trail,
    describe_record,
    load_comparison,
    promote_by_hand,
    put_in_shadow,
    reject,
)

COMMANDS = ("shadow", "approve", "reject", "promote")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers the four subcommands on the CLI's subparsers."""
    helps = {
        "shadow": "put a version in shadow: scored beside the champion, never answering",
        "approve": "promote the shadow to champion, recording who, when and why",
        "reject": "clear the shadow, recording who, when and why",
        "promote": "make any version champion by hand, recording who, when and why",
    }
    for command in COMMANDS:
        parser = commands.add_parser(command, help=helps[command])
        parser.add_argument("model")
        parser.add_argument("version")
        by_hand = command == "shadow"
        parser.add_argument(
            "--by",
            required=not by_hand,
            default=getpass.getuser() if by_hand else None,
            help="who decides (recorded)",
        )
        parser.add_argument(
            "--reason",
            required=not by_hand,
            default="put in shadow by hand" if by_hand else None,
            help="why (recorded)",
        )
        if command in ("approve", "reject"):
            parser.add_argument(
                "--comparison",
                help="the monitor's summary.json the decision rests on (its shadow section is kept)",
            )


def run(args: argparse.Namespace, settings: Settings) -> str:
    """Performs the subcommand in ``args`` and says what changed in one line."""
    name, version, by, reason = args.model, args.version, args.by, args.reason
    record: AuditRecord
    if args.command == "shadow":
        record = put_in_shadow(name, version, by=by, reason=reason, settings=settings)
        return f"{name}: v{record.version} is now the shadow (champion v{record.champion_before or '-'})"
    if args.command == "promote":
        record = promote_by_hand(name, version, by=by, reason=reason, settings=settings)
        return f"{name}: champion moved from v{record.champion_before or '-'} to v{record.version} by {by}"
    comparison = load_comparison(args.comparison) if args.comparison else None
    act = approve if args.command == "approve" else reject
    record = act(name, version, by=by, reason=reason, comparison=comparison, settings=settings)
    before = record.champion_before or "-"
    if args.command == "approve":
        return f"{name}: shadow v{record.version} approved by {by}; champion v{before} replaced"
    return f"{name}: shadow v{record.version} rejected by {by}; champion v{before} kept"


def audit_lines(name: str, settings: Settings) -> list[str]:
    """The audit trail as ``show`` prints it."""
    trail = audit_trail(name, settings=settings)
    return (
        ["audit trail (oldest first):", *(describe_record(entry) for entry in trail)]
        if trail
        else ["audit trail: none"]
    )
