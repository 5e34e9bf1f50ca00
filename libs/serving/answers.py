"""The return type of an agent's endpoint: a JSON list of answers, declared JSON up front.

Left undeclared, BentoML works out a list's media type on every response by generating its JSON
schema through a new pydantic TypeAdapter: about a tenth of a worker's time per request under load
(bench/serving), and garbage for the collector. ``bentoml.validators.ContentType`` names it once.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from bentoml.validators import ContentType

Answer = TypeVar("Answer")

JsonAnswers = Annotated[list[Answer], ContentType("application/json")]
