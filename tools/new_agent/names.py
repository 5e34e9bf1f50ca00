"""Which names an agent may take: checked before anything is written, so a refusal changes nothing."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

# A lowercase Python identifier: the name is a package (`agents.<name>`), a Pants resolve, a
# Docker repository and a DVC path at once, and must be valid as all four.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_LENGTH = 19  # the longest name whose generated lines fit the formatter's limit (render_test.py)
KINDS = ("classifier", "regressor", "anomaly")


class Refusal(Exception):
    """The request cannot be honoured; nothing has been written."""


def owned_paths(name: str) -> list[str]:
    """Every path a new agent creates; none may exist yet."""
    return [
        f"agents/{name}",
        f"services/{name}",
        f"pipelines/{name}",
        f"3rdparty/python/{name}.lock",
        f"3rdparty/python/{name}-requirements.txt",
    ]


def check_name(name: str, *, root: Path, resolves: list[str]) -> None:
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_LENGTH:
        raise Refusal(
            f"{name!r} is not a valid agent name: use a lowercase Python identifier "
            f"(letters, digits, underscores; starting with a letter; at most {MAX_LENGTH} characters)"
        )
    if keyword.iskeyword(name):
        raise Refusal(f"{name!r} is a Python keyword and cannot name a package")
    taken = [path for path in owned_paths(name) if (root / path).exists()]
    if taken:
        raise Refusal(f"an agent named {name!r} exists already: {', '.join(taken)}")
    if name in resolves:
        raise Refusal(f"{name!r} is already a resolve in pants.toml")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise Refusal(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
