"""The image's bytecode step, on a real server process that imports one module of two."""

from __future__ import annotations

import py_compile
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from libs.serving import bytecode

SERVER = textwrap.dedent("""
    import http.server, sys
    sys.path.insert(0, sys.argv[2])
    import used

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ready).serve_forever()
    """)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    folder = tmp_path / "venv"
    (folder / "project").mkdir(parents=True)
    (folder / "used.py").write_text("import project.own\nVALUE = 1\n")
    (folder / "unused.py").write_text("VALUE = 2\n")
    (folder / "project" / "__init__.py").write_text("")
    (folder / "project" / "own.py").write_text("VALUE = 3\n")
    for source in (folder / "project").glob("*.py"):  # the project's own, compiled with its venv
        py_compile.compile(str(source), cfile=str(bytecode.bytecode_path(source)))
    return folder


def probe(venv: Path, out: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> int:
    script = venv.parent / "server.py"
    script.write_text(server)
    port = free_port()
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as in the images: the step turns it off
    return bytecode.main(
        [
            "--venv",
            str(venv),
            "--out",
            str(out),
            "--port",
            str(port),
            "--",
            sys.executable,
            str(script),
            str(port),
            str(venv),
        ]
    )


def test_only_the_modules_the_service_imported_get_bytecode(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert probe(venv, out, SERVER, monkeypatch) == 0
    written = {path.relative_to(out) for path in out.rglob("*.pyc")}
    used = bytecode.bytecode_path(venv / "used.py")
    assert written == {used.relative_to(used.anchor)}  # not unused.py; not the project's, compiled already
    flags = int.from_bytes((out / used.relative_to(used.anchor)).read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: no modification time read at import


def test_bytecode_paths_map_back_to_their_sources(tmp_path: Path) -> None:
    source = tmp_path / "pkg" / "mod.py"
    assert bytecode.source_of(bytecode.bytecode_path(source)) == source


def test_a_service_that_does_not_start_fails_the_build_with_its_output(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "import sys\nprint('no champion bundle here')\nsys.exit(3)\n"
    assert probe(venv, tmp_path / "out", broken, monkeypatch) == 1
    error = capsys.readouterr().err
    assert "exited (3) before /readyz answered 200" in error and "no champion bundle here" in error
    assert not (tmp_path / "out").exists()


def test_workers_left_running_are_killed(venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that ignores SIGTERM, its server gone: killed before the diff, never left behind."""
    pid_file = tmp_path / "worker.pid"
    stubborn = SERVER.replace(
        "import used",
        "import used, os, signal, subprocess\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import signal, time;"
        " signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(worker.pid))",
    )
    out = tmp_path / "out"
    assert probe(venv, out, stubborn, monkeypatch) == 0
    assert not running(int(pid_file.read_text()))


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a killed process no one has reaped yet is a zombie, not running)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True
