"""The files a fork relies on besides the code: LICENSE, CODEOWNERS, the Dependabot configuration and
the devcontainer. Each check reads the repository as it is, so a new agent folder or requirements
file that the files do not cover fails here with the line to add, and the devcontainer cannot drift
from docs/contributing.md, the ports the services use or the Pythons Pants needs.

    python3 .ci/repo_files_test.py      (run by .ci/run; standard library and PyYAML)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# One folder per agent (and the coordinator) in each of these; each gets an explicit owner.
OWNED_KINDS = ("agents", "services", "pipelines")


def tracked_files() -> list[str]:
    """Files git tracks, so local state (dist/, .local/, data) never counts."""
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True)
    return listing.stdout.splitlines()


def codeowners() -> dict[str, list[str]]:
    """Pattern -> owners, in file order (GitHub applies the last matching pattern)."""
    rules: dict[str, list[str]] = {}
    for line in (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules[pattern] = owners
    return rules


class License(unittest.TestCase):
    def test_the_apache_license_2_0_text(self) -> None:
        text = (ROOT / "LICENSE").read_text(encoding="utf-8")
        self.assertRegex(text, r"^\s*Apache License\s+Version 2\.0, January 2004")
        self.assertIn("END OF TERMS AND CONDITIONS", text)


class CodeOwners(unittest.TestCase):
    def test_owners_are_github_handles(self) -> None:
        handle = re.compile(r"^@[A-Za-z0-9-]+(/[A-Za-z0-9_.-]+)?$|^[^@\s]+@[^@\s]+\.[a-z]+$")
        for pattern, owners in codeowners().items():
            with self.subTest(pattern):
                self.assertTrue(owners, f"{pattern} has no owner")
                for owner in owners:
                    self.assertRegex(owner, handle)

    def test_every_agent_folder_has_its_own_line(self) -> None:
        rules = codeowners()
        folders = sorted(
            {"/".join(path.split("/")[:2]) for path in tracked_files() if path.split("/")[0] in OWNED_KINDS}
        )
        folders = [folder for folder in folders if (ROOT / folder).is_dir()]
        self.assertTrue(folders)
        missing = [f"/{folder}/" for folder in folders if f"/{folder}/" not in rules]
        self.assertFalse(missing, f"add to .github/CODEOWNERS: {', '.join(missing)}")

    def test_an_agent_has_the_same_owners_in_every_folder(self) -> None:
        rules = codeowners()
        agents = [path.name for path in sorted((ROOT / "agents").iterdir()) if path.is_dir()]
        self.assertTrue(agents)
        for agent in agents:
            with self.subTest(agent):
                owners = {kind: rules.get(f"/{kind}/{agent}/") for kind in OWNED_KINDS}
                self.assertEqual(len({tuple(o or ()) for o in owners.values()}), 1, owners)


class Dependabot(unittest.TestCase):
    def setUp(self) -> None:
        self.config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
        self.assertEqual(self.config["version"], 2)

    def directories(self, ecosystem: str) -> set[str]:
        return {
            entry["directory"].rstrip("/") or "/"
            for entry in self.config["updates"]
            if entry["package-ecosystem"] == ecosystem
        }

    def test_every_requirements_file_is_watched(self) -> None:
        # Dependabot's pip updater reads the *requirements*.txt files of each configured folder.
        watched = self.directories("pip")
        files = [path for path in tracked_files() if re.search(r"requirements[^/]*\.txt$", path)]
        self.assertTrue(files)
        for path in files:
            with self.subTest(path):
                folder = Path(path).parent.as_posix()
                self.assertIn("/" if folder == "." else f"/{folder}", watched)

    def test_workflow_actions_are_watched(self) -> None:
        self.assertIn("/", self.directories("github-actions"))

    def test_every_entry_has_a_schedule(self) -> None:
        for entry in self.config["updates"]:
            with self.subTest(f"{entry['package-ecosystem']} {entry['directory']}"):
                self.assertIn(entry["schedule"]["interval"], {"daily", "weekly", "monthly"})


class DevContainer(unittest.TestCase):
    """No container runtime here: the file is checked against what it must agree with."""

    def setUp(self) -> None:
        # Plain JSON (devcontainer.json also allows comments; this one has none, so any JSON tool reads it).
        self.config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
        self.python = self.config["features"]["ghcr.io/devcontainers/features/python:1"]

    def test_cpython_3_11_for_the_code_and_3_9_for_pants(self) -> None:
        constraint = re.search(
            r'interpreter_constraints = \["CPython==(\d+\.\d+)\.\*"\]', (ROOT / "pants.toml").read_text()
        )
        assert constraint is not None
        self.assertEqual(self.python["version"], constraint.group(1))
        pants_python = self.config["containerEnv"]["PANTS_BOOTSTRAP_PYTHON"]
        self.assertRegex(self.python["additionalVersions"], r"^3\.9\.\d+$")
        self.assertEqual(pants_python, f"/usr/local/python/{self.python['additionalVersions']}/bin/python3.9")

    def test_docker_in_docker_for_the_image_builds(self) -> None:
        self.assertTrue(any("/docker-in-docker:" in feature for feature in self.config["features"]))

    def test_forwarded_ports_are_the_services_and_the_mlflow_ui(self) -> None:
        # What ./lifecycle serves on its default base port, as it lists it, and the MLflow UI it names.
        defaults = {key: value for key, value in os.environ.items() if not key.startswith("MLOPS_")}
        listed = subprocess.run(
            [str(ROOT / "lifecycle"), "--services"], capture_output=True, text=True, check=True, env=defaults
        ).stdout
        # The coordinator and the agents it calls have fixed ports; agents added later take the next
        # ones, which a fork forwards when it adds them.
        fixed = {"coordinator", "agent1", "agent2", "agent3"}
        ports = {int(line.split()[-1]) for line in listed.splitlines() if line.split()[0] in fixed}
        lifecycle = (ROOT / "lifecycle").read_text(encoding="utf-8")
        ports |= {int(port) for port in re.findall(r"http://127\.0\.0\.1:(\d+)\n", lifecycle)}
        self.assertEqual(len(ports), 5, ports)  # three agents, the coordinator, the MLflow UI
        self.assertEqual(set(self.config["forwardPorts"]), ports)
        self.assertEqual({int(port) for port in self.config["portsAttributes"]}, ports)

    def test_its_commands_are_the_docs(self) -> None:
        readme = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
        commands = [command.strip() for command in self.config["postCreateCommand"].split("&&")]
        self.assertIn("./pants --version", commands)
        for command in commands:
            with self.subTest(command):
                found = re.search(rf"(?m)^{re.escape(command)}(\s|$)", readme)
                self.assertTrue(found, f"docs/contributing.md has no line starting with `{command}`")
        tool = self.python["toolsToInstall"]
        self.assertIn(
            tool, readme, "the devcontainer's pre-commit is not the version docs/contributing.md names"
        )


def shell_scripts() -> set[str]:
    """Tracked files whose first line starts a POSIX shell or bash."""
    found = set()
    for name in tracked_files():
        path = ROOT / name
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as script:
                first = script.readline(200)
            if re.match(rb"#!\S*(/|env )(ba)?sh\b", first):
                found.add(name)
    return found


class ShellScripts(unittest.TestCase):
    def test_every_shell_script_is_linted(self) -> None:
        """shellcheck and shfmt lint only scripts a `shell_sources` target owns."""
        listing = subprocess.run(
            ["./pants", "--filter-target-type=shell_source", "list", "::"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        owned = {re.sub(r":[\w-]+$", "", line.removeprefix("//")) for line in listing.stdout.splitlines()}
        self.assertEqual(sorted(shell_scripts() - owned), [], "add them to a shell_sources target")


if __name__ == "__main__":
    unittest.main(verbosity=2)
