"""The only functions a formula may call, each vectorised and total: a value outside its domain gives NaN.

Missing values propagate through every function (``min``/``max`` included), so NaN in means NaN out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Function:
    name: str
    parameters: tuple[str, ...]
    apply: Callable[..., FloatArray]

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.parameters)})"


def _log1p(x: FloatArray) -> FloatArray:
    # log1p(-1) is -inf in numpy; below -1 it is NaN with a warning. Both become NaN, never inf.
    return np.where(x > -1.0, np.log1p(np.maximum(x, -1.0)), np.nan)


def _sqrt(x: FloatArray) -> FloatArray:
    return np.where(x >= 0.0, np.sqrt(np.maximum(x, 0.0)), np.nan)


def _abs(x: FloatArray) -> FloatArray:
    return np.abs(x)


def _clip(x: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    return np.minimum(np.maximum(x, lo), hi)


def _min(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.minimum(a, b)


def _max(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.maximum(a, b)


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        function.name: function
        for function in (
            Function("log1p", ("x",), _log1p),
            Function("sqrt", ("x",), _sqrt),
            Function("abs", ("x",), _abs),
            Function("clip", ("x", "lo", "hi"), _clip),
            Function("min", ("a", "b"), _min),
            Function("max", ("a", "b"), _max),
        )
    }
)
