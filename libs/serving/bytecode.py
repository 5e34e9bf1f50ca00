"""Bytecode for the modules a service imports when it starts, and for no others: an image build step.

    python -m libs.serving.bytecode --venv /app/venv --out /bytecode \\
        -- /app/venv/pex serve services.agent2.service:DemandForecaster --host 127.0.0.1 --port 3000

An agent's third-party venv holds about 60 MiB of bytecode when every module is compiled, as
``pip install`` does; the service's own start (BentoML's server and workers, the service, its
champion's load) imports modules worth about 38 MiB of it; a request added 0.01 MiB (agent2). The
rest compiles modules of scipy, scikit-learn and BentoML the service never imports. So the image
installs its requirements without bytecode, and this step, in a build stage thrown away after,
starts the real server on loopback with bytecode writing on: every process it starts (the server,
its workers, the prediction-log writer) writes the bytecode of each module it imports next to the
module. Once the service answers, the server is stopped, and each module that gained bytecode is
compiled again into ``--out``, at the same path under it, so copying ``--out`` over the image's root
puts it where the interpreter looks. (``PYTHONPYCACHEPREFIX`` would keep the venv clean, but
BentoML's worker processes wrote next to the modules all the same.)

Nothing is removed: a module no process imported at start still imports, and compiles in memory
(the image's root is read-only), once per process that imports it. Bytecode is written with
``unchecked-hash`` invalidation: an image's files never change, so the interpreter need not compare
each source's modification time, and a rebuild that imports the same modules writes the same
bytes. Standard library only: it runs in any image.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import py_compile
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

READY_TIMEOUT_S = 300.0  # a cold start on a busy 2-core build machine
STOP_TIMEOUT_S = 30.0
POLL_S = 0.5
READY_PATH = "/readyz"  # 200 once the agent's champion is loaded
# Fetched once the service is ready, so the code that answers them is imported too.
EXTRA_PATHS = ("/livez", "/metrics", "/docs.json")
LOG_TAIL_BYTES = 8_000
PYC_SUFFIX = f".{sys.implementation.cache_tag}.pyc"


class ProbeError(RuntimeError):
    """The service did not start; the message holds the end of its output."""


def status_of(url: str) -> int | None:
    """The HTTP status ``url`` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  loopback http only
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code
    except (OSError, ValueError):
        return None


def bytecode_files(venv: Path) -> set[Path]:
    return set(venv.rglob(f"__pycache__/*{PYC_SUFFIX}"))


def source_of(compiled: Path) -> Path:
    """``pkg/__pycache__/mod.cpython-311.pyc`` -> ``pkg/mod.py``."""
    return compiled.parent.parent / (compiled.name.removesuffix(PYC_SUFFIX) + ".py")


def bytecode_path(source: Path) -> Path:
    """Where the interpreter looks for ``source``'s bytecode."""
    return source.parent / "__pycache__" / (source.stem + PYC_SUFFIX)


def compile_into(sources: Iterable[Path], out: Path) -> list[Path]:
    """Compiles each source into ``out``, at the path its bytecode has under the root; returns them."""
    compiled = []
    for source in sorted(set(sources)):
        if not source.is_file():
            continue
        py_compile.compile(
            str(source),
            cfile=str(out / bytecode_path(source).relative_to(source.anchor)),
            dfile=str(source),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        compiled.append(source)
    return compiled


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stops the server and every process it started (they share its session): a worker still
    running once the server has exited is killed, so none writes bytecode after the diff."""
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def log_tail(log: Path) -> str:
    data = log.read_bytes()
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "replace")


def serve_until_ready(command: Sequence[str], base_url: str, log: Path) -> None:
    """Runs ``command`` until ``READY_PATH`` answers 200, then asks for ``EXTRA_PATHS`` and stops it."""
    unset = {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    with log.open("wb") as output:
        server = subprocess.Popen(
            list(command), env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while status_of(base_url + READY_PATH) != 200:
            if server.poll() is not None:
                raise ProbeError(f"the service exited ({server.returncode}) before {READY_PATH} answered 200")
            if time.monotonic() > deadline:
                raise ProbeError(f"{READY_PATH} did not answer 200 within {READY_TIMEOUT_S:.0f} s")
            time.sleep(POLL_S)
        for path in EXTRA_PATHS:
            status_of(base_url + path)
    except ProbeError as failed:
        raise ProbeError(f"{failed}; its output ends with:\n{log_tail(log)}") from None
    finally:
        stop(server)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venv", type=Path, required=True, help="the modules compiled are the ones in here")
    parser.add_argument("--out", type=Path, required=True, help="root the bytecode is written under")
    parser.add_argument("--port", type=int, default=3000, help="the port the command serves on (loopback)")
    parser.add_argument("command", nargs="+", help="the service's command (after --)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    venv = args.venv.resolve()
    before = bytecode_files(venv)  # the project's own, compiled when its venv was made
    with tempfile.TemporaryDirectory(prefix="bytecode-probe-") as scratch:
        log = Path(scratch) / "service.log"
        try:
            serve_until_ready(args.command, f"http://127.0.0.1:{args.port}", log)
        except ProbeError as failed:
            print(f"bytecode probe: {failed}", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)  # the image copies it, even when nothing was compiled
    compiled = compile_into((source_of(path) for path in bytecode_files(venv) - before), args.out)
    written = sum(path.stat().st_size for path in args.out.rglob(f"*{PYC_SUFFIX}"))
    print(f"bytecode probe: {len(compiled)} modules the service imported at start, {written / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
