"""Keys between raw tables: every transaction names a store, product and customer that exist.

Each table's schema checks the table alone, so a transaction pointing at store 777 when the stores
table has 1 to 5 passed validation; a feature query's join then dropped or zeroed its rows without a
word, and a model trained on the hole could still pass the gate (its holdout can lie outside it).
A reference is checked with pandera (``isin`` the parent's keys) so the failure reads like any other
contract failure: counted, with the first offending rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from libs.schemas.errors import DataValidationError
from libs.schemas.validation import validate_frame


@dataclass(frozen=True)
class Reference:
    """``table.column`` holds keys of ``parent.key``: a foreign key, in database terms."""

    table: str
    column: str
    parent: str
    key: str

    def describe(self) -> str:
        return f"{self.table}.{self.column} must name a row of {self.parent} ({self.parent}.{self.key})"


# The generated world's keys (libs.datagen). A stage checks those among the tables it reads: no agent
# reads customers and stores together today, so their reference waits for one that does.
RAW_REFERENCES = (
    Reference("transactions", "store_id", "stores", "store_id"),
    Reference("transactions", "product_id", "products", "product_id"),
    Reference("transactions", "customer_id", "customers", "customer_id"),
    Reference("customers", "home_store_id", "stores", "store_id"),
    Reference("anomaly_labels", "transaction_id", "transactions", "transaction_id"),
)


def key_columns(table: str, references: Iterable[Reference] = RAW_REFERENCES) -> list[str]:
    """The columns of ``table`` any reference reads: all a stage need keep once the table is valid."""
    columns = [reference.column for reference in references if reference.table == table]
    columns += [reference.key for reference in references if reference.parent == table]
    return list(dict.fromkeys(columns))


def _applicable(
    frames: Mapping[str, pd.DataFrame], references: Iterable[Reference]
) -> dict[str, list[Reference]]:
    """The references whose two tables, and both columns, are at hand, by referencing table."""
    found: dict[str, list[Reference]] = {}
    for reference in references:
        table, parent = frames.get(reference.table), frames.get(reference.parent)
        if table is None or parent is None:
            continue
        if reference.column in table.columns and reference.key in parent.columns:
            found.setdefault(reference.table, []).append(reference)
    return found


def check_references(
    frames: Mapping[str, pd.DataFrame], references: Iterable[Reference] = RAW_REFERENCES
) -> list[str]:
    """One pandera report per table holding keys its parent lacks; empty when every key resolves.

    Only tables given in ``frames`` (already valid on their own) are compared, so a stage checks
    the references among the tables it reads.
    """
    reports = []
    for table, table_references in _applicable(frames, references).items():
        schema = pa.DataFrameSchema(
            {
                reference.column: pa.Column(
                    checks=pa.Check.isin(
                        frames[reference.parent][reference.key].unique().tolist(), error=reference.describe()
                    )
                )
                for reference in table_references
            },
            name=f"{table} references",
        )
        try:
            validate_frame(frames[table], schema, dataset=table)
        except DataValidationError as error:
            reports.append(str(error))
    return reports
