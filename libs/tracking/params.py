"""Params as MLflow stores them: one flat level of string values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten_params(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """Nested sections become dotted keys (``train.max_iter``), matching how DVC names params."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)
    return flat
