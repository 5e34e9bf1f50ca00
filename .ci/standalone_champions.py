"""Each champion stands on its own: out of the registry, into a fresh venv, loaded, predicting, served.

    python3 .ci/standalone_champions.py     # after ./lifecycle --no-serve (run by .ci/run)

For every model the pipelines registered (``data/*/registration.json``), as a team outside this
repository would consume it:

1. ``./pants run libs/tracking:cli -- download <model> <folder>`` copies the champion out of the
   registry into a folder outside the checkout;
2. a new virtual environment gets ``uv pip install -r requirements.txt``: the requirements MLflow
   recorded with the model and nothing else (one venv per distinct requirements file). uv, not pip,
   for time (6 s against pip's 169 s for this list, measured here); MLflow pins the direct
   requirements only, so pip, which the docs show users, may pick other versions of their own
   dependencies;
3. from a working directory outside the repository, with no ``PYTHONPATH``, that venv's Python runs
   ``mlflow.pyfunc.load_model`` on the folder and predicts on the input example MLflow stored;
4. that venv's ``mlflow models serve --env-manager local`` answers ``/invocations`` on loopback with
   the stored serving example, and its answer equals step 3's predictions.

Models whose requirements.txt files are identical share one venv (today all three do). Exit 1
naming the model and the step that failed. Standard library only (uv comes from the CI tools venv,
.ci/tools_venv.py): it runs on the CI host's python3, which is also the Python the champions were
trained with.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tools_venv import tools_bin

ROOT = Path(__file__).resolve().parent.parent
SERVE_START_SECONDS = 180
NO_TELEMETRY = {
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}

# Runs in the fresh venv, outside the checkout: proves the repository is not importable, then loads
# the model from its folder and predicts on the stored input example.
LOAD_AND_PREDICT = """
import importlib.util, json, sys
assert importlib.util.find_spec("agents") is None and importlib.util.find_spec("libs") is None, sys.path
import mlflow.pyfunc
from mlflow.models import Model
folder = sys.argv[1]
example = Model.load(folder).load_input_example(folder)
predictions = mlflow.pyfunc.load_model(folder).predict(example)
print(json.dumps({"rows": len(example), "predictions": [float(value) for value in predictions]}))
"""


class StandaloneError(Exception):
    """A champion does not stand on its own; the message names the model and the step."""


def child_env(bin_dir: Path | None = None) -> dict[str, str]:
    """The CI's environment without anything that would put this repository on a path.

    With ``bin_dir``, the venv comes first on PATH, as ``source bin/activate`` would put it: ``mlflow
    models serve`` starts ``uvicorn`` by name.
    """
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if bin_dir is not None:
        env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return {**env, **NO_TELEMETRY}


def registered_models(root: Path) -> list[str]:
    names = sorted(
        {
            json.loads(path.read_text(encoding="utf-8"))["model_name"]
            for path in (root / "data").glob("*/registration.json")
        }
    )
    if not names:
        raise StandaloneError("no data/*/registration.json: run ./lifecycle --no-serve first")
    return names


def download(name: str, destination: Path) -> Path:
    result = subprocess.run(
        ["./pants", "-lwarn", "run", "libs/tracking:cli", "--", "download", name, str(destination)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise StandaloneError(f"{name}: download failed:\n{result.stdout}{result.stderr}")
    return destination  # the cli puts the model's files in the folder itself


def fresh_venv(requirements: Path, where: Path) -> Path:
    """A new venv holding exactly the model's requirements; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    uv = str(tools_bin() / "uv")
    install = subprocess.run(
        [uv, "pip", "install", "-q", "-r", str(requirements), "--python", str(where / "bin" / "python")],
        cwd=where,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if install.returncode != 0:
        raise StandaloneError(f"uv pip install -r {requirements} failed:\n{install.stdout}{install.stderr}")
    return where / "bin"


def load_and_predict(name: str, bin_dir: Path, folder: Path, outside: Path) -> list[float]:
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", LOAD_AND_PREDICT, str(folder)],
        cwd=outside,
        env=child_env(bin_dir),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise StandaloneError(
            f"{name}: mlflow.pyfunc.load_model failed outside the repository:\n{result.stderr}"
        )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if answer["rows"] == 0 or len(answer["predictions"]) != answer["rows"]:
        raise StandaloneError(
            f"{name}: {answer['rows']} example rows gave {len(answer['predictions'])} predictions"
        )
    predictions: list[float] = answer["predictions"]
    return predictions


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post_json(url: str, body: bytes) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback only)
        answer: dict[str, object] = json.loads(response.read())
        return answer


def wait_until_pinged(url: str, server: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + SERVE_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StandaloneError(f"{name}: mlflow models serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (loopback only)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise StandaloneError(f"{name}: mlflow models serve did not answer /ping in {SERVE_START_SECONDS} s")


def stop_group(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group (mlflow starts uvicorn), SIGKILL after 30 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                server.wait()
                return
            time.sleep(0.5)


def serve_and_invoke(name: str, bin_dir: Path, folder: Path, outside: Path) -> list[float]:
    """``mlflow models serve --env-manager local``'s answer to the stored serving example."""
    example = folder / "serving_input_example.json"
    if not example.is_file():
        raise StandaloneError(f"{name}: the model carries no serving_input_example.json")
    port = free_port()
    log = outside / f"serve-{name}.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [
                *(str(bin_dir / "mlflow"), "models", "serve", "-m", str(folder), "--env-manager", "local"),
                *("-h", "127.0.0.1", "-p", str(port)),
            ],
            cwd=outside,
            env=child_env(bin_dir),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_pinged(f"http://127.0.0.1:{port}/ping", server, name)
        answer = post_json(f"http://127.0.0.1:{port}/invocations", example.read_bytes())
    except (StandaloneError, urllib.error.URLError, OSError) as error:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise StandaloneError(f"{name}: serving failed: {error}\n{tail}") from error
    finally:
        stop_group(server)
    predictions = answer.get("predictions")
    if not isinstance(predictions, list):
        raise StandaloneError(f"{name}: /invocations answered without predictions: {str(answer)[:300]}")
    return [float(value) for value in predictions]


def same_predictions(loaded: list[float], served: list[float]) -> bool:
    return len(loaded) == len(served) and all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(loaded, served, strict=True)
    )


def check(names: list[str], scratch: Path) -> None:
    outside = scratch / "elsewhere"
    outside.mkdir()
    venvs: dict[str, Path] = {}
    for name in names:
        started = time.monotonic()
        folder = download(name, scratch / "models" / name)
        requirements = folder / "requirements.txt"
        key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
        if key not in venvs:
            venvs[key] = fresh_venv(requirements, scratch / f"venv-{key}")
        loaded = load_and_predict(name, venvs[key], folder, outside)
        served = serve_and_invoke(name, venvs[key], folder, outside)
        if not same_predictions(loaded, served):
            raise StandaloneError(f"{name}: served {served[:5]}... but loaded {loaded[:5]}...")
        pins = ", ".join(requirements.read_text(encoding="utf-8").split())
        print(
            f"{name}: {len(loaded)} example rows predicted by load_model and by mlflow models serve, "
            f"in a venv holding only {pins} ({time.monotonic() - started:.0f} s)"
        )


def main() -> int:
    try:
        names = registered_models(ROOT)
        with tempfile.TemporaryDirectory(prefix="standalone-champions-") as scratch:
            check(names, Path(scratch))
    except (StandaloneError, subprocess.TimeoutExpired, ValueError, KeyError, OSError) as error:
        print(f"a champion does not stand on its own: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
