"""Which types a model file may name: the one trust policy for every skops load in the project.

Pickle runs arbitrary code on load; skops refuses unknown types unless told to trust them. We
trust, beyond skops' defaults, scikit-learn's own types (tree structures skops does not list) and
those defined in this repository (``agents.*``, ``libs.*``). Anything else is refused, not run.
"""

from __future__ import annotations

from collections.abc import Iterable

TRUSTED_TYPE_PREFIXES = ("agents.", "libs.", "sklearn.")
# scikit-learn wraps its own functions in partial (e.g. HistGradientBoosting's preprocessor); skops
# checks the wrapped function separately, so trusting partial itself trusts no new code.
TRUSTED_TYPE_NAMES = frozenset({"functools.partial"})


class UntrustedModelError(ValueError):
    """A model file names types outside this project and scikit-learn, or is not a skops file."""


def trusted_types(untrusted: Iterable[str]) -> list[str]:
    """The types skops needs told to trust, provided every one is the project's or scikit-learn's."""
    names = sorted(set(untrusted))
    foreign = [
        name
        for name in names
        if not name.startswith(TRUSTED_TYPE_PREFIXES) and name not in TRUSTED_TYPE_NAMES
    ]
    if foreign:
        raise UntrustedModelError(
            f"model references types outside this project and scikit-learn: {', '.join(foreign)}"
        )
    return names
