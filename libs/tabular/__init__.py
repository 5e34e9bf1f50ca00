"""Agents scaffolded from a user's dataset declare their columns once; the rest derives here.

`columns` (pydantic and numpy: services import it) and `frames` (pandas and pandera: the stages).
"""

from libs.tabular.columns import Column, Table

__all__ = ["Column", "Table"]
