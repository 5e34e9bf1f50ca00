"""Each built image runs as a numeric non-root user on a read-only root filesystem and ships no secrets.

The container runs as production should run it: `--read-only` with a tmpfs at /tmp, every capability
dropped and no privilege escalation; the image's declared volume (/var/lib/mlops, prediction logs) is
the only other writable place. It must become ready, answer, and log its predictions without one
write error. The image's files, its environment and build history, and the container's logs are
searched for credentials: private keys, cloud and forge tokens, passwords, .netrc, .pypirc, .git.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images.shipped import Shipped, packaged_here

needs_images = pytest.mark.skipif(
    os.environ.get("MLOPS_IMAGE_TEST") != "1",
    reason="needs the built images: .ci/run sets MLOPS_IMAGE_TEST=1",
)

# One valid request per known service; an agent added later is checked for readiness only.
REQUESTS: dict[str, tuple[str, dict[str, object]]] = {
    "mlops/agent1": (
        "/score",
        {
            "transactions": [
                {
                    "transaction_id": 7,
                    "log_amount": 2.3,
                    "quantity": 2.0,
                    "price_ratio": 1.0,
                    "hour_of_day": 14.0,
                    "amount_zscore": 0.1,
                }
            ]
        },
    ),
    "mlops/agent2": (
        "/forecast",
        {
            "rows": [
                {
                    "store_id": 1,
                    "product_id": 2,
                    "lag_1": 3.0,
                    "lag_7": 4.0,
                    "day_of_week": 2,
                    "month": 5,
                    "promo_share": 0.1,
                }
            ]
        },
    ),
    "mlops/agent3": (
        "/assess",
        {
            "customers": [
                {
                    "customer_id": 9,
                    "revenue": 120.0,
                    "visits": 10.0,
                    "recency_days": 40.0,
                    "tenure_days": 300.0,
                    "observed_days": 200.0,
                    "avg_basket": 12.0,
                    "distinct_products": 5.0,
                    "visits_last_28d": 0.0,
                    "visits_prior_28d": 3.0,
                    "is_budget": 1.0,
                    "is_premium": 0.0,
                }
            ]
        },
    ),
    "mlops/coordinator": (
        "/plan_restock",
        {
            "days": [
                {
                    "store_id": 1,
                    "product_id": 2,
                    "lag_1": 3.0,
                    "lag_7": 4.0,
                    "day_of_week": 2,
                    "month": 5,
                    "promo_share": 0.1,
                }
            ],
            "on_hand": 1.0,
        },
    ),
}
STATE_DIR = "/var/lib/mlops"
# Run inside a container, which has Python and no shell: the non-empty files under STATE_DIR.
NON_EMPTY_FILES = (
    f"import pathlib; files = pathlib.Path('{STATE_DIR}').rglob('*');"
    " print(*(path for path in files if path.is_file() and path.stat().st_size))"
)
WRITE_ERRORS = re.compile(r"Read-only file system|Errno 30|Errno 13|PermissionError|could not write")
SECRET_PATTERNS = {
    # A header followed by key material: a bare header is only a PEM parser's constant.
    "private key": re.compile(
        rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
        rb"\r?\n[A-Za-z0-9+/=\r\n]{64}"
    ),
    "AWS access key": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "PyPI token": re.compile(rb"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    "Slack token": re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(rb"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s:/@'\"]{3,}@[A-Za-z0-9.-]+"),
}
# Third-party code is full of example URLs with made-up passwords in docstrings and tests, so
# there only the unambiguous kinds (keys, tokens) are looked for; everywhere else (the project's own
# code, the champion bundle, /etc, home folders, PEX metadata) every kind is.
UNAMBIGUOUS = {"private key", "AWS access key", "GitHub token", "PyPI token", "Slack token"}
THIRD_PARTY = re.compile(r"/site-packages/(?!(?:agents|libs|services)/)")
# Reviewed files that hold a private key which is no secret: path pattern in the image -> why.
PUBLIC_TEST_KEYS = {
    "app/venv/lib/python3.11/site-packages/tornado/test/test.key": "tornado's TLS test key, in its source",
    "usr/lib/*/libgnutls.so.*": "GnuTLS's built-in self-test keys (Debian's libgnutls30 in the base image)",
}
# Placeholders used in docstrings and examples: not credentials.
EXAMPLE_AWS_KEY = b"AKIAIOSFODNN7EXAMPLE"  # the AWS documentation's example key
PLACEHOLDER = re.compile(
    rb"://(?:user|username|usr|login|name|me|foo|scott|root|admin|postgres|dbuser|u)"
    rb":(?:pass|password|passwd|pwd|secret|tiger|bar|p|\*+|<[^>]*>|\{[^}]*\}|\$\{?[A-Za-z_]+\}?)@",
    re.IGNORECASE,
)
SECRET_FILES = {".netrc", ".pypirc", ".npmrc", ".git-credentials", "id_rsa", "id_ecdsa", "id_ed25519", ".env"}
SECRET_DIRS = {".git", ".ssh", ".aws", ".docker", ".gnupg"}
SECRET_ENV = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
MAX_SCANNED_BYTES = 4 * 1024 * 1024  # larger files are compiled libraries and data, not config


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker")
    assert binary, "docker client not on PATH"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=300, check=check)


def image_config(repository: str) -> dict[str, object]:
    config: dict[str, object] = json.loads(docker("image", "inspect", f"{repository}:latest").stdout)[0][
        "Config"
    ]
    return config


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def post(url: str, payload: object) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if get(url)[0] == 200:
            return
        time.sleep(1)
    raise AssertionError(f"{url} did not answer 200 within {timeout_s:.0f}s")


@needs_images
def test_image_runs_as_a_numeric_non_root_user(shipped: Shipped) -> None:
    user = str(image_config(shipped.repository).get("User") or "")
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER must be numeric uid[:gid], got {user!r}"
    uid, _, gid = user.partition(":")
    assert int(uid) != 0 and (not gid or int(gid) != 0), user


@pytest.fixture(params=packaged_here(), ids=lambda shipped: shipped.repository)
def shipped(request: pytest.FixtureRequest) -> Shipped:
    value: Shipped = request.param
    return value


HARDENED = (
    "--read-only",
    "--tmpfs",
    "/tmp:rw,nosuid,nodev,size=256m",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)
COORDINATED = ("agent1", "agent2", "agent3")  # the coordinator connects to these when it starts


def wait_healthy(container: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()
        if status == "healthy":
            return
        time.sleep(1)
    raise AssertionError(
        f"{container} is {status!r} after {timeout_s:.0f}s:\n{docker('logs', container).stderr}"
    )


@pytest.fixture
def hardened(shipped: Shipped) -> Iterator[tuple[str, str]]:
    """The image running read-only, without capabilities, on a free loopback port: (container, URL).

    The coordinator runs on a network with the three agents' images, hardened the same way.
    """
    suffix = uuid.uuid4().hex[:8]
    name, network = f"mlops-hardening-{suffix}", f"mlops-hardening-{suffix}"
    started: list[str] = []
    environment: list[str] = []
    try:
        if shipped.repository == "mlops/coordinator":
            docker("network", "create", network)
            for agent in COORDINATED:
                container = f"{name}-{agent}"
                docker(
                    "run", "-d", "--name", container, "--network", network, *HARDENED, f"mlops/{agent}:latest"
                )
                started.append(container)
                environment += ["-e", f"MLOPS_{agent.upper()}_URL=http://{container}:3000"]
            for container in started:
                wait_healthy(container)
        network_args = ["--network", network] if started else []
        docker(
            "run",
            "-d",
            "--name",
            name,
            *network_args,
            *environment,
            *HARDENED,
            "-p",
            "127.0.0.1::3000",
            f"{shipped.repository}:latest",
        )
        started.append(name)
        port = docker("port", name, "3000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        yield name, f"http://127.0.0.1:{port}"
    finally:
        for container in started:
            docker("rm", "-f", "-v", container, check=False)
        docker("network", "rm", network, check=False)


# Prints the venv's modules that importing the service (argv[1]) loaded from source, not bytecode.
UNCOMPILED_IMPORTS = (
    "import importlib, importlib.util, os, sys; importlib.import_module(sys.argv[1]);"
    " files = [getattr(module, '__file__', None) or '' for module in list(sys.modules.values())];"
    " print(sorted(f for f in files if f.startswith('/app/venv/') and f.endswith('.py')"
    " and not os.path.exists(importlib.util.cache_from_source(f))))"
)


def uncompiled_imports(container: str, shipped: Shipped) -> list[str]:
    command = image_config(shipped.repository)["Cmd"]
    assert isinstance(command, list) and command[0] == "serve", command
    module = str(command[1]).split(":", 1)[0]
    output = docker("exec", container, "/app/venv/bin/python", "-c", UNCOMPILED_IMPORTS, module).stdout
    missing: list[str] = ast.literal_eval(output.strip().splitlines()[-1])
    return missing


@needs_images
def test_image_serves_on_a_read_only_root_filesystem(shipped: Shipped, hardened: tuple[str, str]) -> None:
    container, url = hardened
    wait_for(f"{url}/readyz")
    uid = docker("exec", container, "/app/venv/bin/python", "-c", "import os; print(os.getuid())").stdout
    assert int(uid) != 0
    probe = "import pathlib; pathlib.Path('/app/probe').write_text('x')"
    write = docker("exec", container, "/app/venv/bin/python", "-c", probe, check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr
    # Every venv module the service module's import loads has bytecode in the image (an agent's build
    # compiles what its start imported, libs/serving/bytecode.py): a read-only root would compile
    # them at every start. The server's own modules are started, not imported, here: not checked.
    assert uncompiled_imports(container, shipped) == []
    # TLS clients that use the system's CA store (Python's ssl defaults) find it.
    stats = "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])"
    assert int(docker("exec", container, "/app/venv/bin/python", "-c", stats).stdout) > 0
    if shipped.repository in REQUESTS:
        path, payload = REQUESTS[shipped.repository]
        status, body = post(f"{url}{path}", payload)
        assert status == 200, body
        answer = json.loads(body)
        assert (answer[0] if isinstance(answer, list) else answer)["model_version"], body
    if shipped.repository in REQUESTS and shipped.repository != "mlops/coordinator":
        deadline = time.monotonic() + 30  # the prediction logger writes in batches, at most every 5 s
        logged = ""
        while time.monotonic() < deadline and not logged:
            time.sleep(1)
            logged = docker("exec", container, "/app/venv/bin/python", "-c", NON_EMPTY_FILES).stdout.strip()
        assert logged, f"no prediction log written under {STATE_DIR}"
        metrics = get(f"{url}/metrics")[1]
        dropped = re.search(r"^prediction_log_dropped_total\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
        assert dropped and float(dropped.group(1)) == 0.0, dropped
    output = docker("logs", container)
    logs = output.stdout + output.stderr
    assert not WRITE_ERRORS.findall(logs), logs[-3000:]
    assert not secrets_in(logs.encode(), "container logs"), logs[-3000:]


def secrets_in(data: bytes, where: str, kinds: set[str] | None = None) -> list[str]:
    found = []
    for kind, pattern in SECRET_PATTERNS.items():
        if kinds is not None and kind not in kinds:
            continue
        for match in pattern.finditer(data):
            if kind == "password in a URL" and PLACEHOLDER.search(match.group(0)):
                continue
            if match.group(0) == EXAMPLE_AWS_KEY:
                continue
            found.append(f"{where}: {kind}: {match.group(0)[:80]!r}")
    return found


def exported_files(repository: str) -> Iterator[tuple[str, bytes | None]]:
    """(path, content) of every regular file in the image; content None when too large to be config."""
    container = docker("create", f"{repository}:latest").stdout.strip()
    try:
        binary = shutil.which("docker")
        assert binary
        with subprocess.Popen([binary, "export", container], stdout=subprocess.PIPE) as export:
            assert export.stdout is not None
            with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
                for member in archive:
                    if member.isdir() or member.issym() or member.islnk():
                        yield member.name, None
                    elif member.isfile():
                        reader = archive.extractfile(member) if member.size <= MAX_SCANNED_BYTES else None
                        yield member.name, reader.read() if reader else None
    finally:
        docker("rm", container, check=False)


@needs_images
def test_image_holds_no_credentials(shipped: Shipped) -> None:
    found: list[str] = []
    for path, content in exported_files(shipped.repository):
        parts = Path(path).parts
        if set(parts) & SECRET_DIRS or (parts and parts[-1] in SECRET_FILES):
            found.append(f"{path}: a credentials file or folder")
        if content and not any(fnmatch.fnmatch(path, pattern) for pattern in PUBLIC_TEST_KEYS):
            found += secrets_in(content, path, UNAMBIGUOUS if THIRD_PARTY.search(f"/{path}") else None)
    config = image_config(shipped.repository)
    variables = config.get("Env")
    for variable in variables if isinstance(variables, list) else []:
        name = str(variable).split("=", 1)[0]
        if SECRET_ENV.search(name):
            found.append(f"image environment: {name}")
    history = docker(
        "history", "--no-trunc", "--format", "{{.CreatedBy}}", f"{shipped.repository}:latest"
    ).stdout
    found += secrets_in(history.encode(), "image history")
    found += [f"image history: {line[:120]}" for line in history.splitlines() if SECRET_ENV.search(line)]
    assert found == [], "\n".join(found[:50])


# The local base image (.ci/docker-up) is a Python runtime with no shell, package manager or
# coreutils; python:3.11-slim, the default for builds elsewhere, has all three.
RUNTIME_BASE = "local/python:3.11-runtime"
INTRUDER_TOOLS = {"sh", "bash", "dash", "apt", "apt-get", "dpkg", "perl", "su", "mount", "ls", "chmod"}


@needs_images
def test_image_on_the_runtime_base_holds_no_shell_or_package_manager(shipped: Shipped) -> None:
    if os.environ.get("BASE_IMAGE") != RUNTIME_BASE:
        pytest.skip(f"built on {os.environ.get('BASE_IMAGE') or 'python:3.11-slim'}, not {RUNTIME_BASE}")
    programs = {
        Path(path).name
        for path, _ in exported_files(shipped.repository)
        if Path(path).parent.name in ("bin", "sbin")
    }
    assert {"python3.11", "cat"} <= programs, sorted(programs)  # joblib runs cat to count cores
    assert not programs & INTRUDER_TOOLS, sorted(programs & INTRUDER_TOOLS)


def test_the_patterns_catch_what_they_are_for() -> None:
    """The scan is only worth something if it fires: each pattern against a sample it must catch."""
    samples = {
        "private key": b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + b"b3BlbnNzaC1rZXktdjEAAAAA" * 4,
        "AWS access key": b"aws_access_key_id = AKIAQWERTYUIOPASDFGH",
        "GitHub token": b"token: ghp_" + b"a1B2" * 9,
        "PyPI token": b"password = pypi-AgEIcHlwaS5vcmc" + b"x" * 60,
        "Slack token": b"xoxb-1234567890-abcdefghij",
        "password in a URL": b"postgresql://mlflow:s3cr3t-Pa55@db.internal:5432/mlflow",
    }
    for kind, sample in samples.items():
        assert any(kind in line for line in secrets_in(sample, "sample")), kind
    assert secrets_in(b"postgresql://user:password@localhost/db", "docs") == []
    assert secrets_in(b'const char *h = "-----BEGIN RSA PRIVATE KEY-----";', "libgnutls") == []
    assert secrets_in(b"https://jo:s3cret@example.com", "site-packages/x.py", UNAMBIGUOUS) == []
