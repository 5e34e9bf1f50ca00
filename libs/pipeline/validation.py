"""The validate stage every agent runs first: all inputs are checked before any is used."""

from __future__ import annotations

from collections.abc import Mapping

from libs.pipeline.context import StageContext
from libs.schemas import DataValidationError, validate_parquet
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
    rows: dict[str, int] = {}
    for name, (path, schema) in checks.items():
        try:
            rows[name] = len(validate_parquet(path, schema, dataset=name))
        except DataValidationError as error:
            reports.append(str(error))
    if reports:
        raise DataValidationError("\n\n".join(reports))
    atomic_write_json({"valid": True, "rows": rows}, ctx.out("validation.json"))
