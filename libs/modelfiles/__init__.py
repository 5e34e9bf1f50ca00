"""skops model files under one trust policy; light enough for serving images (no MLflow)."""

from libs.modelfiles.canonical import FIXED_TIME, canonical_skops
from libs.modelfiles.files import dumps_model, load_model, loads_model, save_model
from libs.modelfiles.policy import (
    TRUSTED_TYPE_NAMES,
    TRUSTED_TYPE_PREFIXES,
    UntrustedModelError,
    trusted_types,
)

__all__ = [
    "TRUSTED_TYPE_NAMES",
    "TRUSTED_TYPE_PREFIXES",
    "FIXED_TIME",
    "UntrustedModelError",
    "canonical_skops",
    "dumps_model",
    "load_model",
    "loads_model",
    "save_model",
    "trusted_types",
]
