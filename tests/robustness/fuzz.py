"""Fuzzing a served API from its own OpenAPI document (``/docs.json``) with schemathesis.

Each API operation gets ``cases`` generated requests, a mix of schema-conforming ones and ones that
break the schema on purpose, and every answer must pass: no 5xx (``not_a_server_error``), a 4xx for
every schema-breaking request (``negative_data_rejection``), a 2xx body that conforms to the
documented schema, and a 4xx body whose ``error`` names the problem. The document is read as the
service serves it (``libs.serving.openapi`` makes it valid OpenAPI 3.0).

Each run draws a fresh seed (or takes ``MLOPS_FUZZ_SEED``) and prints it, so every CI run tries
new cases and a failure reproduces with the seed it printed.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance


@dataclass
class Fuzzed:
    """What one operation's fuzzing sent and got back."""

    operation: str
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    seed: int = 0


def rejection_has_a_message(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 4xx says what was wrong: a JSON body whose ``error`` is a non-empty string."""
    if not 400 <= response.status_code < 500:
        return None
    body: Any = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert (
        isinstance(error, str) and error.strip()
    ), f"{response.status_code} without a message: {response.text}"
    return True


def input_operations(base_url: str) -> list[schemathesis.APIOperation]:
    """The operations that take input (the APIs); the GET probes (/healthz, /metrics...) take none."""
    document = requests.get(f"{base_url}/docs.json", timeout=30)
    document.raise_for_status()
    schema = schemathesis.openapi.from_dict(document.json())  # as served: no patching
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read is a failure, not a skip
            raise result.err()
        operations.append(result.ok())
    return [operation for operation in operations if operation.method.upper() == "POST"]


def fuzz(operation: schemathesis.APIOperation, base_url: str, cases: int) -> Fuzzed:
    """Runs ``cases`` generated requests against ``operation``; raises on the first failing check."""
    chosen = int(os.environ.get("MLOPS_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    result = Fuzzed(f"{operation.method.upper()} {operation.path}", seed=chosen)
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.body:  # an operation without a body has nothing to break
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    session = requests.Session()
    checks = [not_a_server_error, negative_data_rejection, rejection_has_a_message]

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @seed(chosen)
    @given(case=st.one_of(modes))
    def send(case: Case) -> None:
        result.cases += 1
        response = case.call(base_url=base_url, session=session, timeout=30)
        result.statuses[response.status_code] += 1
        conforms = [response_schema_conformance] if response.status_code < 300 else []
        case.validate_response(response, checks=[*checks, *conforms])

    started = time.perf_counter()
    try:
        send()
    except Exception as failure:
        raise AssertionError(f"{result.operation} failed; rerun with MLOPS_FUZZ_SEED={chosen}") from failure
    result.seconds = time.perf_counter() - started
    return result
