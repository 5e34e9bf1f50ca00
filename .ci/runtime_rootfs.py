"""Prunes a debootstrapped Debian root filesystem down to a Python runtime: no shell, no package manager.

    python3 .ci/runtime_rootfs.py ROOTFS

A service image runs one Python program. What it needs from the distribution is CPython 3.11, the
shared libraries CPython and manylinux wheels load (glibc, libstdc++, OpenSSL, ...), CA certificates
and time zones. Everything else a minbase system carries (shells, coreutils, apt, dpkg, perl, PAM)
is dead weight in the image and tooling an intruder would use. This keeps the dependency closure of
``ROOTS`` as dpkg records it and deletes the files of every other package; files no package owns
(/etc/passwd, /etc/ssl/certs, /etc/ld.so.cache) stay. dpkg's status file is rewritten to list only
the packages kept, so SBOM and vulnerability scanners still see what the image holds.

Image builds on such a base use exec-form ``RUN ["python3.11", ...]`` steps only (pants-plugins/macros.py).
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

# What a Python service runs on: the interpreter and its standard library, the C++ runtime that
# manylinux wheels may link (scikit-learn, scipy, pyzmq), base-files for /etc/os-release.
ROOTS = ("python3.11-minimal", "libpython3.11-stdlib", "libstdc++6", "base-files")
# Data packages whose own dependencies only serve their maintainer scripts (ca-certificates needs
# openssl and debconf to regenerate the bundle, tzdata debconf): their files stay, not those tools.
DATA_ONLY = ("ca-certificates", "tzdata", "media-types", "netbase")
# Kept out even when a kept package depends on them: only maintainer scripts call these.
SCRIPT_TOOLS = {
    "debconf",
    "perl-base",
    "dpkg",
    "coreutils",
    "dash",
    "bash",
    "debianutils",
    "sed",
    "grep",
    "mawk",
}
# Kept packages' files that no Python program loads: glibc's iconv modules (Python's codecs are its
# own), documentation and message translations.
UNUSED = (
    "usr/lib/x86_64-linux-gnu/gconv",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
# Files of removed packages that kept ones need at run time: joblib (scikit-learn's parallelism)
# counts physical cores with `lscpu`, else `cat /proc/cpuinfo`, and warns in every service without
# either; OpenSSL (and so Python's ssl) finds the CA bundle and its configuration through openssl's
# links under /usr/lib/ssl.
KEPT_FILES = (
    "/usr/bin/cat",
    "/usr/lib/ssl/cert.pem",
    "/usr/lib/ssl/certs",
    "/usr/lib/ssl/openssl.cnf",
    "/etc/ssl/openssl.cnf",
)
# Top-level folders that are links into /usr on a merged-/usr system (every Debian since bookworm):
# packages list /bin/cat or /usr/bin/cat for the same file.
MERGED_INTO_USR = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Package-manager state and caches that no running program reads.
STATE = ("var/lib/apt", "var/cache/apt", "var/cache/debconf", "var/log", "etc/apt", "var/lib/dpkg/info")


def stanzas(status: str) -> Iterator[dict[str, str]]:
    """dpkg's status file as one dict per package (continuation lines joined)."""
    for block in status.strip().split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        yield fields


def is_installed(fields: dict[str, str]) -> bool:
    """dpkg's Status ends in the state: "installed", not "not-installed" or "half-installed"."""
    return fields.get("Status", "").split()[-1:] == ["installed"]


def dependency_names(fields: dict[str, str]) -> Iterator[list[str]]:
    """Each dependency as its alternatives' package names (versions and architectures dropped)."""
    for field in ("Pre-Depends", "Depends"):
        for clause in filter(None, (part.strip() for part in fields.get(field, "").split(","))):
            yield [
                re.split(r"[\s(:]", alternative.strip(), maxsplit=1)[0] for alternative in clause.split("|")
            ]


def closure(packages: dict[str, dict[str, str]]) -> set[str]:
    """ROOTS and DATA_ONLY with everything they depend on, as dpkg records it, less SCRIPT_TOOLS.

    Of a dependency's alternatives (``a | b``, or a virtual package) the first installed one is
    followed, a real package by that name before any package that provides it.
    """
    providers: dict[str, list[str]] = {}
    for name, fields in packages.items():
        for provided in fields.get("Provides", "").split(","):
            if provided.strip():
                providers.setdefault(re.split(r"[\s(]", provided.strip(), maxsplit=1)[0], []).append(name)
    kept: set[str] = set()
    pending = [name for name in (*ROOTS, *DATA_ONLY) if name in packages]
    missing = [name for name in ROOTS if name not in packages]
    if missing:
        raise SystemExit(f"not installed in the root filesystem: {', '.join(missing)}")
    while pending:
        name = pending.pop()
        if name in kept or name in SCRIPT_TOOLS:
            continue
        kept.add(name)
        if name in DATA_ONLY:
            continue
        for alternatives in dependency_names(packages[name]):
            installed = [
                candidate
                for alternative in alternatives
                for candidate in (
                    [alternative] if alternative in packages else providers.get(alternative, [])
                )
            ]
            if installed:
                pending.append(installed[0])
    return kept


def owned_files(rootfs: Path, package: str) -> set[str]:
    """The paths dpkg lists for a package, each in its /usr form where the top folder is merged."""
    info = rootfs / "var/lib/dpkg/info"
    merged = {top for top in MERGED_INTO_USR if (rootfs / top).is_symlink()}
    for candidate in (info / f"{package}.list", *info.glob(f"{package}:*.list")):
        if candidate.is_file():
            paths = (line for line in candidate.read_text().splitlines() if line not in ("", "/."))
            return {f"/usr{path}" if path.split("/")[1] in merged else path for path in paths}
    return set()


def remove(rootfs: Path, paths: Iterable[str]) -> int:
    """Deletes files and symbolic links (never directories, which packages share); returns bytes freed.

    Runs as root: a path whose folder resolves outside ``rootfs`` (through an absolute link) is skipped.
    """
    freed = 0
    inside = os.path.realpath(rootfs)
    for path in sorted(paths, reverse=True):
        target = rootfs / path.lstrip("/")
        if os.path.commonpath([inside, os.path.realpath(target.parent)]) != inside:
            continue
        if target.is_symlink() or target.is_file():
            freed += target.lstat().st_size
            target.unlink()
    return freed


def resolves_inside(rootfs: Path, path: Path) -> bool:
    """Whether a path exists with its links' absolute targets read inside ``rootfs``, not the host."""
    for _ in range(16):
        if not path.is_symlink():
            return path.exists()
        target = Path(os.readlink(path))
        path = rootfs / target.relative_to("/") if target.is_absolute() else path.parent / target
    return False


def prune(rootfs: Path) -> tuple[list[str], int]:
    """Removes what a Python runtime does not need; returns the packages kept and the bytes freed."""
    status_file = rootfs / "var/lib/dpkg/status"
    packages = {
        fields["Package"]: fields for fields in stanzas(status_file.read_text()) if is_installed(fields)
    }
    kept = closure(packages)
    keep_files = set().union(*(owned_files(rootfs, name) for name in kept))
    doomed = set().union(*(owned_files(rootfs, name) for name in packages if name not in kept))
    freed = remove(rootfs, doomed - keep_files - set(KEPT_FILES))
    for relative in (*STATE, *UNUSED):
        target = rootfs / relative
        if target.is_dir():
            freed += sum(f.lstat().st_size for f in target.rglob("*") if f.is_file() or f.is_symlink())
            shutil.rmtree(target)
    for folder in ("usr/bin", "usr/sbin", "etc/alternatives"):  # alternatives of removed packages
        links = (rootfs / folder).iterdir() if (rootfs / folder).is_dir() else iter(())
        dangling = [link for link in links if not resolves_inside(rootfs, link)]
        freed += remove(rootfs, (f"{folder}/{link.name}" for link in dangling))
    blocks = status_file.read_text().strip().split("\n\n")
    status_file.write_text("\n\n".join(block for block in blocks if _name(block) in kept) + "\n")
    (rootfs / "tmp").mkdir(exist_ok=True)
    (rootfs / "tmp").chmod(0o1777)
    return sorted(kept), freed


def _name(block: str) -> str:
    match = re.search(r"^Package: (\S+)$", block, re.MULTILINE)
    return match.group(1) if match else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rootfs", type=Path)
    args = parser.parse_args(argv)
    kept, freed = prune(args.rootfs)
    print(
        f"runtime root filesystem: {len(kept)} packages kept, {freed / 1024**2:.0f} MiB removed",
        file=sys.stderr,
    )
    print(" ".join(kept), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
