"""The services whose artifacts a tests/images target packaged: one target per image (see BUILD)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shipped:
    directory: str  # the BUILD directory owning the image
    repository: str  # the image's repository
    own_code: tuple[str, ...]  # top-level source folders the image may hold

    @property
    def pex_prefix(self) -> str:
        return self.directory.replace("/", ".")


def agent_shipped(agent: str) -> Shipped:
    return Shipped(f"agents/{agent}", f"mlops/{agent}", (f"agents/{agent}", f"services/{agent}", "libs"))


COORDINATOR = Shipped("services/coordinator", "mlops/coordinator", ("services/coordinator", "libs"))


def packaged_here() -> list[Shipped]:
    """The services whose PEXes this test target packaged (one per target, every agent: see BUILD)."""
    pexes = Path().glob("agents.*/serve-deps.pex")
    agents = sorted(path.parent.name.removeprefix("agents.") for path in pexes)
    candidates = [*(agent_shipped(agent) for agent in agents), COORDINATOR]
    return [shipped for shipped in candidates if (Path(shipped.pex_prefix) / "serve-deps.pex").is_file()]
