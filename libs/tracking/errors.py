"""One exception family, so the CLI and callers can tell registry problems from programming errors."""

from __future__ import annotations

from libs.modelfiles import UntrustedModelError  # re-exported: loading a registered model raises it

__all__ = ["ModelNotFoundError", "RegistrationError", "RollbackError", "TrackingError", "UntrustedModelError"]


class TrackingError(Exception):
    """A tracking or registry operation cannot go ahead; the message says why and what to do."""


class ModelNotFoundError(TrackingError, LookupError):
    """The registered model or version does not exist in the registry."""


class RegistrationError(TrackingError):
    """A model version did not become READY."""


class RollbackError(TrackingError):
    """There is no earlier champion to go back to."""
