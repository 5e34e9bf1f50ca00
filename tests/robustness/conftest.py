"""The fleet every robustness test runs against: the three agents from their packaged PEXes with
tiny real champions, and the coordinator's PEX in front of them, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serving import AGENT_SERVICES, Fleet, Server


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    running = Fleet(Path.cwd(), tmp_path_factory.mktemp("fleet"))
    try:
        for agent in AGENT_SERVICES:
            running.start(agent)
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def servers(fleet: Fleet) -> Iterator[dict[str, Server]]:
    with fleet.coordinator() as coordinator:
        yield {**fleet.servers, "coordinator": coordinator}
