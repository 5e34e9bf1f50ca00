"""One declaration of an agent's columns, and everything derived from it.

An agent scaffolded from a user's dataset (`./pants run :new-agent -- --data`) declares its
columns once, in its own `columns.py`: names, kinds, nullability, ranges and categories. The
pandera schema its stages validate with, the pydantic request row its service takes, the
feature query's column list, the float matrix its model sees and its test rows are all derived
here, so a column added or removed in that declaration is the only edit needed.

This module needs pydantic and numpy only, so services import it without pandas;
`libs.tabular.frames` holds what the pipeline stages need on DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, create_model

from libs.messages.messages import MAX_BATCH, Message, ModelAnswer
from libs.tablenames.reserved import answer_field_refusal, name_refusal

Kind = Literal["float", "int", "bool", "category", "str"]  # str: an id only, never a feature


@dataclass(frozen=True)
class Column:
    """One column. Numbers carry their accepted range; categories their allowed values, in code order."""

    name: str
    kind: Kind = "float"
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "category" and not self.categories:
            raise ValueError(f"column {self.name!r} is a category without categories")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"column {self.name!r} has minimum {self.minimum} above maximum {self.maximum}")

    def sql(self) -> str:
        """The column as the feature query selects it: categories become their code (0, 1, ...)."""
        quoted = '"' + self.name.replace('"', '""') + '"'
        if self.kind == "category":
            cases = " ".join(
                f"WHEN {_sql_string(value)} THEN {code}" for code, value in enumerate(self.categories)
            )
            return f"CAST(CASE CAST({quoted} AS VARCHAR) {cases} END AS DOUBLE) AS {quoted}"
        if self.kind == "bool":
            return f"CAST({quoted} AS DOUBLE) AS {quoted}"
        if self.kind == "str":
            return f"CAST({quoted} AS VARCHAR) AS {quoted}"
        if self.kind == "int":
            return f"CAST({quoted} AS BIGINT) AS {quoted}"
        return f"CAST({quoted} AS DOUBLE) AS {quoted}"

    def field(self) -> tuple[Any, Any]:
        """The request field: the raw value a caller sends (a category by its name), in its range."""
        kwargs: dict[str, Any] = {}
        if self.kind == "category":
            annotation: Any = Literal[self.categories]
            kwargs["description"] = f"one of {', '.join(self.categories)}"
        else:
            annotation = {"float": float, "int": int, "bool": bool, "str": str}[self.kind]
            if self.kind not in ("bool", "str"):
                bounds = {"ge": self.minimum, "le": self.maximum}
                kwargs.update({key: value for key, value in bounds.items() if value is not None})
        if self.nullable:
            return annotation | None, Field(default=None, **kwargs)
        return annotation, Field(**kwargs)

    def encode(self, value: Any) -> float:
        """A request's value as the model's float (categories by their code, None as NaN)."""
        if value is None:
            return float("nan")
        if self.kind == "category":
            return float(self.categories.index(str(value)))
        return float(value)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Table:
    """An agent's data: its feature columns, its target and optionally an id (a group key)."""

    features: tuple[Column, ...]
    target: Column
    id: Column | None = None

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        for name in names:
            reason = name_refusal(name)
            if reason:
                raise ValueError(f"{name!r} cannot be a column: {reason}")
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"columns declared twice: {', '.join(duplicated)}")
        if not self.features:
            raise ValueError("a table needs at least one feature column")
        if any(column.kind == "str" for column in self.features):
            raise ValueError("text columns cannot be features: declare them as categories")

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*((self.id,) if self.id else ()), *self.features, self.target)

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.features]

    @property
    def categorical(self) -> list[bool]:
        """Which features are categories: the model's `categorical_features` mask."""
        return [column.kind == "category" for column in self.features]

    def select_sql(self, source: str) -> str:
        """The feature query: the declared columns of ``source`` (a view or subquery), nothing else."""
        columns = ", ".join(column.sql() for column in self.columns)
        return f"SELECT {columns} FROM {source}"  # noqa: S608 (declared, quoted names; no user input)

    def row_message(self, name: str) -> type[Message]:
        """The service's request row: the id (when declared) and the features, each in its range."""
        fields = {
            column.name: column.field() for column in (*((self.id,) if self.id else ()), *self.features)
        }
        return create_model(name, __base__=Message, **fields)

    def answer_message(
        self, name: str, output: str, *, minimum: float | None, maximum: float | None
    ) -> type[Message]:
        """The service's answer per row: the row's id (when declared), ``output`` and the model's identity."""
        if self.id is not None and (reason := answer_field_refusal(self.id.name, output)):
            raise ValueError(f"{self.id.name!r} cannot be the id: {reason}")
        limits = (("ge", minimum), ("le", maximum))
        bounds: dict[str, Any] = {key: value for key, value in limits if value is not None}
        fields: dict[str, Any] = {output: (float, Field(**bounds))}
        if self.id is not None:
            fields = {self.id.name: self.id.field(), **fields}
        return create_model(name, __base__=ModelAnswer, **fields)

    def batch(self, row: type[Message]) -> Any:
        """A request's rows: at least one, at most MAX_BATCH."""
        return Annotated[list[row], Field(min_length=1, max_length=MAX_BATCH)]  # type: ignore[valid-type]

    def matrix(self, rows: Sequence[Any]) -> np.ndarray:
        """float64 in feature order from validated request rows, without pandas (the service image)."""
        return np.array(
            [[column.encode(getattr(row, column.name)) for column in self.features] for row in rows],
            dtype=np.float64,
        ).reshape(len(rows), len(self.features))


__all__ = ["MAX_BATCH", "Column", "Table"]
