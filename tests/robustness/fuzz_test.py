"""Every service fuzzed from its own OpenAPI document: the three agents from their packaged PEXes
with tiny real champions, and the coordinator's PEX with those agents up behind it."""

from __future__ import annotations

import os

import pytest

from tests.robustness.fuzz import fuzz, input_operations
from tests.support.serving import Server

CASES = int(os.environ.get("MLOPS_FUZZ_CASES", "500"))
EXPECTED = {
    "agent1": {"POST /score"},
    "agent2": {"POST /forecast"},
    "agent3": {"POST /assess"},
    "coordinator": {
        "POST /screen_transaction",
        "POST /plan_restock",
        "POST /assess_customer",
        "POST /agents_status",
    },
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_fuzzed_from_its_openapi_no_5xx_and_every_rejection_a_4xx_with_a_message(
    servers: dict[str, Server], service: str
) -> None:
    server = servers[service]
    operations = input_operations(server.url)
    assert {f"{op.method.upper()} {op.path}" for op in operations} == EXPECTED[service]
    for operation in operations:
        result = fuzz(operation, server.url, CASES)
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
        print(
            f"{service} {result.operation}: {result.cases} cases in {result.seconds:.0f}s ({statuses}),"
            f" MLOPS_FUZZ_SEED={result.seed}"
        )
        assert server.ready(), f"{service} stopped answering:\n{server.logs()}"
        if operation.body:
            assert result.cases >= CASES, f"{result.operation}: only {result.cases} cases generated"
            assert any(400 <= status < 500 for status in result.statuses), "no case was rejected"
        assert any(200 <= status < 300 for status in result.statuses), "no case was accepted"
