"""Seeds the runner's actions/cache store with the Pants cache main's CI would have saved.

    python3 .ci/pr_cache_seed.py --state /var/lib/gha-local --home /home/runner --workspace .

The key is the pull-request workflow's own "Cache Pants" key, evaluated as the runner evaluates it
(hashFiles over `--workspace`), under main's scope, so the job restores it as on GitHub. The entry
holds this user's Pants downloads and unpacked wheels (named_caches/pex_root: downloads, pip_cache,
installed_wheels, installed_wheel_zips, built_wheels) and the tools Pants downloaded (setup: the
pex CLI, shellcheck, shfmt), archived under the runner's HOME. What holds this user's absolute paths
is left out (Pants' bootstrap venv, PEX venvs, unzipped PEXes: the runner could not use them), as is
the process cache (lmdb_store): the job bootstraps Pants, rebuilds its PEXes and reruns every test
it affects. An entry already there is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gharun.actions import seed_cache
from gharun.expressions import Context, interpolate
from gharun.workflow import load

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "pull-request.yaml"
CACHE_STEP = "Cache Pants"
PEX_ROOT_PARTS = ("downloads", "pip_cache", "installed_wheels", "installed_wheel_zips", "built_wheels")


def cache_key(workspace: Path) -> str:
    """The key the pull-request job will look for, from its workflow file."""
    for job in load(WORKFLOW).jobs.values():
        for step in job["steps"]:
            if step.get("name") == CACHE_STEP:
                context = Context(contexts={"runner": {"os": "Linux"}}, workspace=workspace.resolve())
                return interpolate(step["with"]["key"], context)
    raise SystemExit(f"{WORKFLOW} has no step named {CACHE_STEP!r}")


def pants_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pants"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True, help="the runner's state (.ci/gha --state)")
    parser.add_argument("--home", type=Path, required=True, help="the runner user's HOME")
    parser.add_argument("--workspace", type=Path, required=True, help="a checkout of the base branch")
    args = parser.parse_args()
    key = cache_key(args.workspace)
    source, target = pants_cache(), args.home / ".cache" / "pants"
    entries = [
        (tool, target / "setup" / tool.name)
        for tool in sorted((source / "setup").glob("*"))
        if not tool.name.startswith("bootstrap-")  # a venv of this user's Python
    ]
    entries += [
        (source / "named_caches/pex_root" / part, target / "named_caches/pex_root" / part)
        for part in PEX_ROOT_PARTS
    ]
    started = time.monotonic()
    archive = seed_cache(args.state / "actions-cache", "refs/heads/main", key, entries)
    size = archive.stat().st_size / 2**20
    print(f"pr-proof: main's Pants cache {archive.name}: {size:.0f} MiB ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
