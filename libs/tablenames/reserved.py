"""Column names an agent's table cannot use, and why.

Standard library only: the scaffolder (`./pants run :new-agent`, the tools resolve) refuses such a
name before it writes anything, and every ``libs.tabular.columns.Table`` checks its columns with the
same function, so a hand-edited `columns.py` fails as early.
"""

from __future__ import annotations

SPLIT_COLUMN = "split"  # the feature table's train/holdout column (libs.tabular.frames)
ANSWER_FIELDS = frozenset({"model_name", "model_version"})  # every answer's model identity
# What the shadow's log adds to each row's inputs (libs.serving.shadow_scoring).
SHADOW_FIELDS = frozenset({"champion_output", "champion_version"})
# pydantic.BaseModel's public attributes: request and answer rows are pydantic models, where a field
# of one of these names is refused or shadows the method (reserved_test.py checks this against pydantic).
MODEL_ATTRIBUTES = frozenset(
    {
        "construct", "copy", "dict", "from_orm", "json", "model_computed_fields", "model_config",
        "model_construct", "model_copy", "model_dump", "model_dump_json", "model_extra", "model_fields",
        "model_fields_set", "model_json_schema", "model_parametrized_name", "model_post_init",
        "model_rebuild", "model_validate", "model_validate_json", "model_validate_strings", "parse_file",
        "parse_obj", "parse_raw", "schema", "schema_json", "update_forward_refs", "validate",
        "Config",  # not an attribute, but create_model takes a field of that name as the model's config
    }
)  # fmt: skip


def name_refusal(name: str) -> str | None:
    """Why ``name`` cannot be a column of an agent's table, or None if it can."""
    if not name.strip():
        return "a blank name cannot be a request field"
    if name.startswith("_"):
        return "pydantic keeps names with a leading underscore private, so requests could not carry it"
    if name == SPLIT_COLUMN:
        return "the feature table adds its own train/holdout column of that name"
    if name in ANSWER_FIELDS:
        return "every answer carries the model's identity under that name"
    if name in SHADOW_FIELDS:
        return "a shadow model's log records the champion's answer under that name"
    if name in MODEL_ATTRIBUTES:
        return "request and answer rows are pydantic models, which use that name themselves"
    return None


def answer_field_refusal(id_name: str, output: str) -> str | None:
    """Why the id column cannot be named like the answer's output field, or None."""
    if id_name == output:
        return f"the answer's {output!r} field has that name, so answers could not carry the row's id"
    return None
