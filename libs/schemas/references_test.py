from __future__ import annotations

import pandas as pd

from libs.schemas import Reference, check_references, key_columns

STORES = pd.DataFrame({"store_id": [1, 2]})
SALES = pd.DataFrame({"sale_id": [1, 2, 3], "store_id": [1, 2, 2]})
BY_STORE = (Reference("sales", "store_id", "stores", "store_id"),)


def test_keys_that_all_resolve_pass() -> None:
    assert check_references({"stores": STORES, "sales": SALES}, BY_STORE) == []


def test_a_dangling_key_is_a_pandera_report_naming_table_rows_and_values() -> None:
    sales = SALES.assign(store_id=[1, 777, 778])
    (report,) = check_references({"stores": STORES, "sales": sales}, BY_STORE)
    assert "dataset 'sales'" in report
    assert "sales.store_id must name a row of stores (stores.store_id)" in report
    assert "at row 1: value 777" in report and "at row 2: value 778" in report


def test_a_reference_is_checked_only_where_both_tables_and_columns_are_at_hand() -> None:
    dangling = SALES.assign(store_id=[9, 9, 9])
    assert check_references({"sales": dangling}, BY_STORE) == []
    assert (
        check_references({"stores": STORES.rename(columns={"store_id": "id"}), "sales": dangling}, BY_STORE)
        == []
    )


def test_a_table_keeps_only_the_columns_its_references_read() -> None:
    assert key_columns("sales", BY_STORE) == ["store_id"]
    assert key_columns("stores", BY_STORE) == ["store_id"]
    assert key_columns("products", BY_STORE) == []
