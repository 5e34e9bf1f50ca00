"""Every `features.sql` (each agent's, and each template kind's that `./pants run :new-agent` copies)
is one SELECT that DuckDB's own parser accepts, with its `$name` parameters named.

DuckDB is the dialect's reference: sqlfluff's DuckDB dialect cannot lex `$name` parameters. Binding
(tables and columns) is left to each agent's pipeline tests, which run the query on generated data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

AGENT_SQL = sorted(Path("agents").glob("*/features.sql"))
TEMPLATE_SQL = sorted(Path("tools/new_agent/templates").glob("*/agents/AGENT/features.sql.tmpl"))


def test_every_agent_and_template_kind_is_found() -> None:
    # The BUILD file depends on every agent's :sql target (AGENT_RESOLVES) and on the templates.
    assert len(AGENT_SQL) >= 3, AGENT_SQL
    assert {path.parts[3] for path in TEMPLATE_SQL} >= {"anomaly", "classifier", "regressor"}


@pytest.mark.parametrize("path", AGENT_SQL + TEMPLATE_SQL, ids=str)
def test_is_one_select_duckdb_parses(path: Path) -> None:
    sql = path.read_text(encoding="utf-8")
    # The templates render by `@@name` substitution (tools/new_agent/render.py); their SQL has none.
    assert "@@" not in sql, f"{path} holds template placeholders: render it before parsing"
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.ParserException as error:
        pytest.fail(f"{path}: DuckDB cannot parse it: {error}")
    assert len(statements) == 1, f"{path}: {len(statements)} statements; the features stage runs one query"
    (statement,) = statements
    assert statement.type == duckdb.StatementType.SELECT, f"{path}: a {statement.type}, not a SELECT"
    # Parameters are bound by name from params.yaml; a positional `?` would have no name to bind.
    assert all(not name.isdigit() for name in statement.named_parameters), statement.named_parameters


def test_a_broken_query_is_refused() -> None:
    with pytest.raises(duckdb.ParserException):
        duckdb.extract_statements("SELECT a, FROM WHERE $x")
