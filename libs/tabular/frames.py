"""What an agent's pipeline stages need of its column declaration on DataFrames: the feature
table's pandera schema, the train/holdout split and sample rows as the model sees them.

Kept apart from `libs.tabular.columns` so services, which import that, need no pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.model_selection import train_test_split

from libs.tabular.columns import Column, Table

SPLITS = ("train", "holdout")


def _check(column: Column) -> pa.Column:
    """The pandera column of the feature table (after `Column.sql`: categories are codes there)."""
    checks = []
    if column.kind == "category":
        checks.append(pa.Check.isin([float(code) for code in range(len(column.categories))]))
    else:
        if column.minimum is not None:
            checks.append(pa.Check.ge(column.minimum))
        if column.maximum is not None:
            checks.append(pa.Check.le(column.maximum))
    if column.kind == "str":
        return pa.Column(str, checks=checks, nullable=column.nullable)
    dtype = "int64" if column.kind == "int" and not column.nullable else "float64"
    return pa.Column(dtype, checks=checks, nullable=column.nullable, coerce=column.kind == "int")


def schema(table: Table, name: str, *, with_split: bool) -> pa.DataFrameSchema:
    """The feature table's contract: exactly the declared columns (plus the split once it is made)."""
    columns = {column.name: _check(column) for column in table.columns}
    if with_split:
        columns["split"] = pa.Column(str, pa.Check.isin(list(SPLITS)))
    return pa.DataFrameSchema(columns, strict=True, name=name)


def split(
    table: Table, frame: pd.DataFrame, *, holdout_fraction: float, seed: int, stratify: bool
) -> np.ndarray:
    """ "train" or "holdout" per row: by id group when the table declares an id (no id on both
    sides), stratified by the target when asked (a classifier: each class on both sides, in proportion;
    with an id, a group's class is its highest)."""
    target = frame[table.target.name]
    if table.id is None:
        keys, labels, member = frame.index.to_numpy(), target.to_numpy(), frame.index.to_series()
    else:
        by_group = target.groupby(frame[table.id.name]).max()
        keys, labels, member = by_group.index.to_numpy(), by_group.to_numpy(), frame[table.id.name]
    train_keys, _ = train_test_split(
        keys, test_size=holdout_fraction, random_state=seed, stratify=labels if stratify else None
    )
    return np.where(member.isin(train_keys).to_numpy(), "train", "holdout")


def features_frame(table: Table, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Raw records (categories by name, as a caller sends them) as the model sees them."""
    return pd.DataFrame(
        {
            column.name: [column.encode(record.get(column.name)) for record in records]
            for column in table.features
        }
    )


def target_values(table: Table, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The raw records' target as the model is trained on it (a classifier's class by its code)."""
    return np.array([table.target.encode(record[table.target.name]) for record in records], dtype=np.float64)
