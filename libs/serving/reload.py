"""Hot reload of the champion bundle: a running service answers with a newly exported champion
without a restart and without dropping a request.

API::

    live = LiveChampion(champion_dir("agent2"), check=can_predict)   # loads now, never raises
    live.ready                     # the service's readiness: a champion is loaded
    champion = live.current        # on the request path: one attribute read, never blocks
    live.close()                   # stops the watcher thread (on shutdown)

A daemon thread looks at ``champion.json`` (its mtime, size and inode: a cheap ``stat``) at most
every ``interval_s`` seconds (``Settings().champion_reload_interval_s``; 0 turns watching off).
``write_champion`` writes the model first and the identity last, so a changed identity means a
complete bundle: the thread loads it fully off the request path, runs ``check``, then swaps one
reference. A request holds the champion it read, so it never mixes two models. A bundle rewritten
with the same identity and the same model bytes (an export after the gate kept the champion: DVC
deletes and rewrites the stage's outputs) is not loaded again. A bundle that fails
to load or check (or is missing: DVC deletes a stage's outputs before rerunning it) keeps the old
champion and logs one clear line per failed bundle; the next change is tried again.

A bundle that is missing or corrupt when the service starts is logged the same way (one line
naming the file and the reason) and leaves the service without a champion: not ready (/readyz
503) and ``current`` raises ``NoChampion``, rather than serving garbage, until a good bundle is
exported and the watcher loads it.

The shadow bundle (``libs.serving.shadow``) is watched the same way with ``optional=True``: having
none is normal (nothing is logged), and a bundle that is removed (the shadow was approved or
rejected, then exported) is dropped instead of kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from libs.modelfiles.bundle import IDENTITY_FILE, MODEL_FILE, BrokenChampion, Champion, read_champion_bundle
from libs.settings import Settings

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]  # (mtime_ns, size, inode) of champion.json


def _stamp(directory: Path) -> Stamp | None:
    try:
        stat = os.stat(directory / IDENTITY_FILE)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


# (champion.json's bytes, the model file's sha256): equal to a loaded bundle's only if it loaded
Fingerprint = tuple[bytes, str]


def _fingerprint(directory: Path) -> Fingerprint | None:
    """What the bundle holds, byte for byte; None if it cannot be read (the load will say why)."""
    try:
        identity = (directory / IDENTITY_FILE).read_bytes()
        digest = hashlib.sha256((directory / MODEL_FILE).read_bytes()).hexdigest()
    except OSError:
        return None
    return identity, digest


def _no_check(champion: Champion) -> None:
    return None


class NoChampion(Exception):
    """Asked for the champion while none is loaded (the bundle was missing or broken at start)."""


class LiveChampion:
    """The champion a service answers with, swapped for a new bundle once it has fully loaded."""

    def __init__(
        self,
        directory: Path,
        *,
        check: Callable[[Champion], None] = _no_check,
        interval_s: float | None = None,
        role: str = "champion",
        optional: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.role = role
        self.optional = optional
        self.check = check
        self.interval_s = Settings().champion_reload_interval_s if interval_s is None else interval_s
        self._stamp = _stamp(self.directory)
        self._fingerprint = _fingerprint(self.directory)
        self._current: Champion | None = None
        self._failed: Stamp | None = None
        self.problem: str | None = None  # why there is no champion, while there is none
        try:
            if not (optional and self._stamp is None):
                self._current = self._load()
            else:
                self.problem = f"no {role} bundle in {self.directory}"
        except Exception as error:
            self._failed = self._stamp
            self.problem = _reason(error, self.directory)
            log.error("%s not loaded%s: %s", role, "" if optional else ", not ready", self.problem)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        if self.interval_s > 0:
            self._thread = threading.Thread(target=self._watch, name=f"{role}-reload", daemon=True)
            self._thread.start()

    @property
    def ready(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> Champion:
        champion = self._current
        if champion is None:
            raise NoChampion(f"no champion loaded: {self.problem}")
        return champion

    def reload_if_changed(self) -> bool:
        """One look at the bundle; True if a new champion was swapped in. The watcher calls it."""
        stamp = _stamp(self.directory)
        if stamp is None and self.optional and self._current is not None:
            dropped, self._current, self._stamp, self._fingerprint = self._current, None, None, None
            self.problem = f"no {self.role} bundle in {self.directory}"
            log.warning(
                "%s %s v%s removed from %s",
                self.role,
                dropped.model_name,
                dropped.model_version,
                self.directory,
            )
            return True
        if stamp is None or stamp == self._failed or (stamp == self._stamp and self._current is not None):
            return False
        fingerprint = _fingerprint(self.directory)
        if fingerprint is not None and fingerprint == self._fingerprint and self._current is not None:
            self._stamp = stamp  # the same bundle written again: nothing to load
            return False
        previous = self._current
        try:
            champion = self._load()
        except Exception as error:  # keep answering with the champion we have, if any
            self._failed = stamp
            serving = (
                f"still serving {previous.model_name} v{previous.model_version}" if previous else "not ready"
            )
            log.error("%s reload failed, %s: %s", self.role, serving, _reason(error, self.directory))
            return False
        self._current, self._stamp, self._failed, self.problem = champion, stamp, None, None
        self._fingerprint = fingerprint
        log.warning(
            "%s loaded from %s: %s v%s -> v%s",
            self.role,
            self.directory,
            champion.model_name,
            previous.model_version if previous else "none",
            champion.model_version,
        )
        return True

    def _load(self) -> Champion:
        champion = read_champion_bundle(self.directory)
        self.check(champion)
        return champion

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)

    def _watch(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                self.reload_if_changed()
            except Exception:  # the watcher must outlive any surprise
                log.exception("%s watcher for %s", self.role, self.directory)


def _reason(error: Exception, directory: Path) -> str:
    """BrokenChampion already names the file; a failed check names the model, so add the folder."""
    return (
        str(error) if isinstance(error, BrokenChampion) else f"{directory}: {type(error).__name__} ({error})"
    )
