"""Human decisions on the champion, each recorded in the registry: who, when, why, and on what evidence.

Every action (put in shadow, approve, reject, promote by hand) writes the same record twice: as
``approval.*`` tags on the model version it concerns, and as one numbered ``audit.NNNN`` tag on the
registered model, so ``cli show`` can print the whole trail in order with nothing stored elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from libs.settings import Settings
from libs.tracking.registry import (
    clear_shadow,
    current_champion,
    current_shadow,
    model_version,
    promote,
    registered_model,
    set_shadow,
)
from libs.tracking.uris import client_for

AUDIT_PREFIX = "audit."
VERSION_PREFIX = "approval."
# The registry's SQL column for tag values is not the same size everywhere; stay well under any of them.
MAX_COMPARISON_CHARS = 4000


@dataclass(frozen=True)
class AuditRecord:
    action: str
    version: str
    by: str
    reason: str
    at: str
    champion_before: str | None
    comparison: str | None = None


def _required(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise ValueError(f"{what} must not be empty")
    return cleaned


def load_comparison(path: str | Path) -> str:
    """The monitor's shadow comparison from its summary.json (its ``shadow`` section when there is one)."""
    summary = json.loads(Path(path).read_text(encoding="utf-8"))
    evidence = summary.get("shadow", summary) if isinstance(summary, dict) else summary
    text = json.dumps(evidence, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_COMPARISON_CHARS:
        raise ValueError(
            f"the comparison in {path} is {len(text)} characters; at most {MAX_COMPARISON_CHARS}"
        )
    return text


def _record(client: MlflowClient, name: str, record: AuditRecord) -> AuditRecord:
    tags = {key: value for key, value in asdict(record).items() if value is not None}
    for key, value in tags.items():
        client.set_model_version_tag(name, record.version, f"{VERSION_PREFIX}{key}", value)
    existing = [key for key in registered_model(client, name).tags if key.startswith(AUDIT_PREFIX)]
    client.set_registered_model_tag(name, f"{AUDIT_PREFIX}{len(existing) + 1:04d}", json.dumps(tags))
    return record


def _new_record(
    client: MlflowClient, name: str, action: str, version: str, by: str, reason: str, comparison: str | None
) -> AuditRecord:
    before = current_champion(client, name)
    return AuditRecord(
        action=action,
        version=version,
        by=_required(by, "--by"),
        reason=_required(reason, "--reason"),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        champion_before=None if before is None else str(before.version),
        comparison=comparison,
    )


def _the_shadow(client: MlflowClient, name: str, version: str | int) -> ModelVersion:
    target = model_version(client, name, version)
    current = current_shadow(client, name)
    if current is None or str(current.version) != str(target.version):
        found = "none" if current is None else f"v{current.version}"
        raise ValueError(f"v{target.version} is not the shadow of '{name}' (the shadow is {found})")
    return target


def put_in_shadow(
    name: str, version: str | int, *, by: str, reason: str, settings: Settings | None = None
) -> AuditRecord:
    client = client_for(settings)
    target = model_version(client, name, version)
    record = _new_record(client, name, "shadow", str(target.version), by, reason, None)
    set_shadow(name, target.version, settings=settings)
    return _record(client, name, record)


def approve(
    name: str,
    version: str | int,
    *,
    by: str,
    reason: str,
    comparison: str | None = None,
    settings: Settings | None = None,
) -> AuditRecord:
    """Promotes the shadow to champion; only the version currently in shadow can be approved."""
    client = client_for(settings)
    target = _the_shadow(client, name, version)
    record = _new_record(client, name, "approved", str(target.version), by, reason, comparison)
    promote(name, target.version, settings=settings)
    return _record(client, name, record)


def reject(
    name: str,
    version: str | int,
    *,
    by: str,
    reason: str,
    comparison: str | None = None,
    settings: Settings | None = None,
) -> AuditRecord:
    """Clears the shadow; the champion is untouched."""
    client = client_for(settings)
    target = _the_shadow(client, name, version)
    record = _new_record(client, name, "rejected", str(target.version), by, reason, comparison)
    clear_shadow(name, settings=settings)
    return _record(client, name, record)


def promote_by_hand(
    name: str, version: str | int, *, by: str, reason: str, settings: Settings | None = None
) -> AuditRecord:
    """Makes any version champion, bypassing gate and shadow: the manual counterpart of ``rollback``."""
    client = client_for(settings)
    target = model_version(client, name, version)
    record = _new_record(client, name, "promoted", str(target.version), by, reason, None)
    promote(name, target.version, settings=settings)
    return _record(client, name, record)


def audit_trail(name: str, *, settings: Settings | None = None) -> list[dict[str, str]]:
    """Every recorded action on the model, oldest first."""
    tags = registered_model(client_for(settings), name).tags
    return [json.loads(tags[key]) for key in sorted(key for key in tags if key.startswith(AUDIT_PREFIX))]


def describe_record(entry: dict[str, str]) -> str:
    before = entry.get("champion_before") or "none"
    line = (
        f"  {entry.get('at', '?')}  {entry.get('action', '?')} v{entry.get('version', '?')} "
        f"by {entry.get('by', '?')} (champion was {'v' + before if before != 'none' else 'none'}): "
        f"{entry.get('reason', '')}"
    )
    if entry.get("comparison"):
        line += f"\n      on comparison {entry['comparison']}"
    return line
