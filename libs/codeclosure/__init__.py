"""The first-party code a module or a saved model needs, found from its imports (standard library only)."""

from libs.codeclosure.closure import Closure, SourceTree, is_first_party
from libs.codeclosure.codepaths import copy_model_code, first_party_modules

__all__ = ["Closure", "SourceTree", "copy_model_code", "first_party_modules", "is_first_party"]
