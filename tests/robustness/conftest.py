"""The fleet every robustness test runs against: the three agents from their packaged PEXes with
tiny real champions, and the coordinator's PEX in front of them, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serving import Fleet, Server, running_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_fleet(Path.cwd(), tmp_path_factory.mktemp("fleet")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def servers(fleet: Fleet) -> Iterator[dict[str, Server]]:
    with fleet.coordinator() as coordinator:
        yield {**fleet.servers, "coordinator": coordinator}
