"""The validate stage every agent runs first: all inputs are checked before any is used, each on its
own contract and then the keys between them (``libs.schemas.references``)."""

from __future__ import annotations

from collections.abc import Mapping

from libs.pipeline.context import StageContext
from libs.schemas import DataValidationError, check_references, key_columns, validate_parquet
from libs.warehouse import atomic_write_json


def validate_inputs(
    ctx: StageContext,
    schemas: Mapping[str, type],
    *,
    upstream: Mapping[str, tuple[str, str, type]] | None = None,
) -> None:
    """Validates every raw dataset (and named upstream outputs), reporting all failures at once.

    Writes ``validation.json`` only when everything passed, so DVC runs no later stage on bad data.
    """
    checks = {name: (ctx.raw(name), schema) for name, schema in schemas.items()}
    for name, (agent, filename, schema) in (upstream or {}).items():
        checks[name] = (ctx.upstream(agent, filename), schema)
    reports: list[str] = []
    keys = {}  # each valid table's key columns only: a stage holds one whole table at a time
    rows: dict[str, int] = {}
    for name, (path, schema) in checks.items():
        try:
            frame = validate_parquet(path, schema, dataset=name)
        except DataValidationError as error:
            reports.append(str(error))
            continue
        rows[name] = len(frame)
        keys[name] = frame[[column for column in key_columns(name) if column in frame.columns]]
    reports.extend(check_references(keys))
    if reports:
        raise DataValidationError("\n\n".join(reports))
    atomic_write_json({"valid": True, "rows": rows}, ctx.out("validation.json"))
