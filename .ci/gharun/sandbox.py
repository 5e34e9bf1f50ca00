"""The runner's machine: an unprivileged `runner` user with passwordless sudo and a fresh, empty HOME.

A GitHub-hosted runner runs every step as `runner` (not root), with sudo for what needs root; the
runner here does the same, so a step that forgets sudo fails here as it would there, and nothing
in root's caches reaches a job unless a cache step restores it.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from pathlib import Path

USER = "runner"  # GitHub's name for it


def _apt_install(*packages: str) -> None:
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )


def ensure_host_tools() -> None:
    """sudo (the runner's privilege path) and patchelf (relocating interpreters into the tool cache)."""
    missing = [tool for tool in ("sudo", "patchelf", "git", "rsync") if shutil.which(tool) is None]
    if missing:
        _apt_install(*missing)


def ensure_user(home: Path, name: str = USER) -> pwd.struct_passwd:
    """The runner user with passwordless sudo, in the docker group, with `home` as a new empty HOME."""
    if os.geteuid() != 0:
        raise SystemExit(".ci/gha: run as root; it creates the unprivileged 'runner' user the jobs run as")
    ensure_host_tools()
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    try:
        grp.getgrnam("docker")
    except KeyError:
        subprocess.run(["groupadd", "--system", "docker"], check=True)
    subprocess.run(["usermod", "-aG", "docker", name], check=True)
    sudoers = Path(f"/etc/sudoers.d/gha-{name}")
    sudoers.write_text(f"{name} ALL=(ALL) NOPASSWD:ALL\nDefaults:{name} !requiretty\n", encoding="utf-8")
    sudoers.chmod(0o440)
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    user = pwd.getpwnam(name)
    os.chown(home, user.pw_uid, user.pw_gid)
    subprocess.run(["usermod", "--home", str(home), name], check=True, stderr=subprocess.DEVNULL)
    return pwd.getpwnam(name)


def chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(path)], check=True)


def grant_docker(docker_host: str | None) -> None:
    """Let the docker group use the engine's socket, as on a hosted runner (runner is in that group)."""
    if not docker_host or not docker_host.startswith("unix://"):
        return
    socket = Path(docker_host.removeprefix("unix://"))
    if socket.exists():
        os.chown(socket, 0, grp.getgrnam("docker").gr_gid)
        socket.chmod(0o660)
        for parent in socket.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o005)


def as_user(user: pwd.struct_passwd, command: list[str]) -> list[str]:
    """A command line that runs `command` as `user` with no environment but the one given to it."""
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--", *command]
