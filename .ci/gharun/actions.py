"""The `uses:` steps the runner implements, each by what the action does, not by skipping it.

- actions/checkout: a fresh clone of the event's ref from the repository's origin, at `fetch-depth`;
- actions/setup-python: the asked interpreters copied into the tool cache and put on PATH;
- actions/cache: restore by key or restore-keys prefix from a store outside the clone, save after
  the job when the key missed;
- actions/upload-artifact: a copy under `.local/gha/<workflow>/<job>/artifacts/<name>/`.

Any other action, or an input these do not implement, is refused: skipping would report green for
work that never ran.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gharun.expressions import Unsupported
from gharun.sandbox import as_user, chown_tree


@dataclass
class JobEnvironment:
    """What an action needs of the job it runs in."""

    user: Any  # pwd.struct_passwd
    home: Path
    workspace: Path
    tool_cache: Path
    cache_store: Path
    artifacts: Path
    origin: str
    env: dict[str, str]
    path: list[str]
    post_steps: list[Callable[[bool], None]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


Action = Callable[[JobEnvironment, dict[str, str]], None]


def _allowed(name: str, inputs: dict[str, str], known: set[str]) -> None:
    unknown = set(inputs) - known
    if unknown:
        raise Unsupported(f"{name}: input(s) {sorted(unknown)} are not implemented by this runner")


def _git(job: JobEnvironment, *args: str) -> None:
    command = as_user(job.user, ["env", f"HOME={job.home}", "git", "-C", str(job.workspace), *args])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def checkout(job: JobEnvironment, inputs: dict[str, str]) -> None:
    """Like actions/checkout: init, fetch the event's commit (all branches at depth 0), detach there."""
    _allowed("actions/checkout", inputs, {"fetch-depth", "ref"})
    depth = int(inputs.get("fetch-depth", "1") or 0)
    sha = inputs.get("ref") or job.env["GITHUB_SHA"]
    ref = job.env["GITHUB_REF"]
    _git(job, "init", "-q")
    _git(job, "remote", "add", "origin", job.origin)
    deepen = [] if depth == 0 else [f"--depth={depth}"]
    if depth == 0:
        _git(job, "fetch", "-q", "--prune", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
    remote_ref = ref.replace("refs/heads/", "refs/remotes/origin/").replace(
        "refs/pull/", "refs/remotes/pull/"
    )
    _git(job, "fetch", "-q", "--no-tags", *deepen, "origin", f"+{sha}:{remote_ref}")
    _git(job, "checkout", "-q", "--force", "--detach", sha)
    print(f"  checked out {ref} at {sha[:12]} (fetch-depth {depth})")


def _interpreter(version: str, tool_cache: Path) -> tuple[Path, bool]:
    """The newest matching CPython: already in the tool cache (a hosted runner), else from pyenv."""

    def newest(paths: list[Path]) -> Path | None:
        numbered = [p for p in paths if p.name.replace(".", "").isdigit()]
        return max(numbered, key=lambda p: [int(x) for x in p.name.split(".")], default=None)

    cached = newest(list((tool_cache / "Python").glob(f"{version}.*")))
    if cached is not None and (cached / "x64.complete").is_file():
        return cached, True
    pyenv = newest(
        list((Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions").glob(f"{version}.*"))
    )
    if pyenv is None:
        raise Unsupported(f"actions/setup-python: no CPython {version} on this machine")
    return pyenv, False


def _install_into_tool_cache(source: Path, target: Path) -> None:
    """Copy an interpreter and point its binaries at their own lib/, as GitHub's tool-cache builds are."""
    marker = target.with_name(target.name + ".complete")  # the tool cache's own convention
    if marker.is_file():
        return
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, symlinks=True)
    for binary in (target / "bin").glob("python3*"):
        if binary.is_file() and not binary.is_symlink() and binary.read_bytes()[:4] == b"\x7fELF":
            subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(binary)], check=True)
    marker.touch()


def setup_python(job: JobEnvironment, inputs: dict[str, str]) -> None:
    """Each asked version on PATH from the tool cache; the last one listed is `python`/`python3`."""
    _allowed("actions/setup-python", inputs, {"python-version"})
    versions = [line.strip() for line in inputs.get("python-version", "").splitlines() if line.strip()]
    if not versions:
        raise Unsupported("actions/setup-python: python-version is required by this runner")
    for version in versions:
        source, in_tool_cache = _interpreter(version, job.tool_cache)
        target = job.tool_cache / "Python" / source.name / "x64"
        if not in_tool_cache:
            _install_into_tool_cache(source, target)
        chown_tree(target, job.user)  # the runner owns its tool cache, so pip installs into it
        job.path.insert(0, str(target / "bin"))
        job.env["pythonLocation"] = str(target)
        print(f"  CPython {source.name} at {target}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _cache_scopes(job: JobEnvironment) -> list[Path]:
    """Where a job may restore from, in GitHub's order: its own ref, then the PR's base branch.

    Saves go to its own ref only, so a pull request's code cannot poison main's cache.
    """
    scopes = [job.env["GITHUB_REF"]]
    if job.env.get("GITHUB_BASE_REF"):
        scopes.append(f"refs/heads/{job.env['GITHUB_BASE_REF']}")
    return [job.cache_store / _safe(scope) for scope in scopes]


def _cache_file(scope: Path, key: str) -> Path:
    return scope / (_safe(key) + ".tar")


def seed_cache(store: Path, ref: str, key: str, entries: list[tuple[Path, Path]]) -> Path:
    """Writes a cache entry as a job on ``ref`` would have saved it: each ``(source, saved_as)`` is
    archived under the absolute path ``saved_as`` (a path in that job's HOME). Used to give a pull
    request the cache its base branch's CI leaves (.ci/pr-proof); an existing entry is kept."""
    scope = store / _safe(ref)
    scope.mkdir(parents=True, exist_ok=True)
    target = _cache_file(scope, key)
    if target.is_file():
        return target
    partial = target.with_suffix(".partial")
    with tarfile.open(partial, "w") as archive:
        for source, saved_as in entries:
            if source.exists():
                archive.add(source, arcname=str(saved_as).lstrip("/"))
    partial.rename(target)
    return target


def _expand(job: JobEnvironment, path: str) -> Path:
    expanded = Path(path.replace("~", str(job.home), 1) if path.startswith("~") else path)
    return expanded if expanded.is_absolute() else job.workspace / expanded


def _own_parents(path: Path, job: JobEnvironment) -> None:
    """The folders between HOME and a restored path were made by the extraction, as root; on GitHub
    the runner user makes them, and a tool writing beside the path (Pants creating lmdb_store next
    to a restored named_caches) needs them to be its own."""
    for parent in path.parents:
        if parent == job.home or job.home not in parent.parents:
            return
        if parent.is_dir():
            os.chown(parent, job.user.pw_uid, job.user.pw_gid)


def cache(job: JobEnvironment, inputs: dict[str, str]) -> None:
    """Restore the exact key, else the newest entry matching a restore-keys prefix; save after the job."""
    _allowed("actions/cache", inputs, {"path", "key", "restore-keys"})
    key = inputs["key"]
    paths = [_expand(job, line.strip()) for line in inputs["path"].splitlines() if line.strip()]
    prefixes = [line.strip() for line in inputs.get("restore-keys", "").splitlines() if line.strip()]
    scopes = _cache_scopes(job)
    scopes[0].mkdir(parents=True, exist_ok=True)
    exact = _cache_file(scopes[0], key)
    hit: Path | None = None
    for scope in scopes:
        if _cache_file(scope, key).is_file():
            hit = _cache_file(scope, key)
            break
        for prefix in prefixes:
            stem = _safe(prefix)
            matches = [p for p in scope.glob("*.tar") if p.name.startswith(stem)]
            if matches:
                hit = max(matches, key=lambda p: p.stat().st_mtime)
                break
        if hit is not None:
            break
    if hit is not None:
        with tarfile.open(hit) as archive:
            # Archives this runner wrote itself, of absolute paths under the runner's HOME.
            archive.extractall("/", filter="fully_trusted")  # noqa: S202
        for path in paths:
            if path.exists():
                chown_tree(path, job.user)
            _own_parents(path, job)
        print(f"  cache restored from {hit.name} ({hit.stat().st_size / 2**20:.0f} MiB)")
    else:
        print(f"  cache miss for {key}")
    exact_hit = hit is not None and hit.name == exact.name
    job.outputs["cache-hit"] = "true" if exact_hit else "false"

    def save(job_succeeded: bool) -> None:
        if exact_hit or not job_succeeded:
            return
        partial = exact.with_suffix(".partial")
        with tarfile.open(partial, "w") as archive:
            for path in paths:
                if path.exists():
                    archive.add(path, arcname=str(path).lstrip("/"))
        partial.rename(exact)
        print(f"  cache saved as {exact.name} ({exact.stat().st_size / 2**20:.0f} MiB)")

    job.post_steps.append(save)


def upload_artifact(job: JobEnvironment, inputs: dict[str, str]) -> None:
    _allowed("actions/upload-artifact", inputs, {"name", "path", "if-no-files-found", "retention-days"})
    target = job.artifacts / inputs.get("name", "artifact")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    found = 0
    lines = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
    for line in lines:
        for match in glob.glob(str(_expand(job, line)), recursive=True):
            source = Path(match)
            # One directory uploads its contents, as upload-artifact roots the artifact there.
            destination = target if len(lines) == 1 and source.is_dir() else target / source.name
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(source, destination)
            found += 1
    if not found and inputs.get("if-no-files-found", "warn") == "error":
        raise RuntimeError(f"actions/upload-artifact: no files found for {inputs['path']!r}")
    print(f"  artifact {target.name}: {found} path(s) copied to {target}")


ACTIONS: dict[str, Action] = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "actions/cache": cache,
    "actions/upload-artifact": upload_artifact,
}


def action_for(uses: str) -> Action:
    """The implementation of `owner/name@ref` (a tag or a full commit SHA), or a refusal."""
    name = uses.split("@", 1)[0]
    if name not in ACTIONS:
        raise Unsupported(f"action {uses} is not implemented by this runner (refused, not skipped)")
    return ACTIONS[name]
