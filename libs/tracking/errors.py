"""One exception family, so the CLI and callers can tell registry problems from programming errors."""

from __future__ import annotations


class TrackingError(Exception):
    """A tracking or registry operation cannot go ahead; the message says why and what to do."""


class ModelNotFoundError(TrackingError, LookupError):
    """The registered model or version does not exist in the registry."""


class RegistrationError(TrackingError):
    """A model version did not become READY."""


class RollbackError(TrackingError):
    """There is no earlier champion to go back to."""


class UntrustedModelError(TrackingError, ValueError):
    """A model artifact is not skops or names types outside this project and skops' defaults."""
