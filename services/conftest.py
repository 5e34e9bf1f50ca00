"""Fixtures every agent service's tests share: the service served for real on loopback.

A test module names what to serve and how to train its champion; the fixtures do the rest::

    SERVICE = "services.agent2.service:DemandForecaster"
    TRAIN_CHAMPION = functools.partial(train_tiny_champion, version="5")
    SERVER_ENV = {"MLOPS_LOG_FORMAT": "json"}   # optional: more environment for the server

    def test_something(server: Server, champion: Champion, scratch: Path) -> None: ...

One server per test module: starting BentoML costs seconds, and tests of one API share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.serving import Server, served_champion


@dataclass(frozen=True)
class ServedAgent:
    champion: Any  # libs.modelfiles.bundle.Champion: that module needs scikit-learn, this one does not
    server: Server
    scratch: Path  # holds champion/ (the served bundle) and predictions/ (its prediction log)


@pytest.fixture(scope="module")
def served_agent(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedAgent]:
    module = request.module
    scratch = tmp_path_factory.mktemp(module.__name__.replace(".", "-"))
    env = getattr(module, "SERVER_ENV", None)
    with served_champion(module.SERVICE, module.TRAIN_CHAMPION, scratch, env=env) as (champion, server):
        yield ServedAgent(champion, server, scratch)


@pytest.fixture(scope="module")
def champion(served_agent: ServedAgent) -> Any:
    return served_agent.champion


@pytest.fixture(scope="module")
def server(served_agent: ServedAgent) -> Server:
    return served_agent.server


@pytest.fixture(scope="module")
def scratch(served_agent: ServedAgent) -> Path:
    return served_agent.scratch
