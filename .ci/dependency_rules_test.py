"""The dependency rules (libs/BUILD, agents/BUILD, services/BUILD), proven in a temporary git copy of
this tree: the clean tree passes `./pants lint`, and each deliberately bad import fails it, naming the
rule it breaks.

    python3 .ci/dependency_rules_test.py      (run by .ci/run; standard library only)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
LINTED = ["libs::", "agents::", "services::"]


def importing(agent: str) -> str:
    """A module that imports (and uses) `agent`'s model."""
    return f"import agents.{agent}.model\n\nMODEL = agents.{agent}.model\n"


def built_in(resolve: str) -> str:
    """A BUILD target for bad_import.py in `resolve`: Pants infers imports within one resolve only."""
    return f'\npython_source(name="bad", source="bad_import.py", resolve="{resolve}")\n'


class DependencyRules(unittest.TestCase):
    repo: Path
    scratch: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.scratch = tempfile.mkdtemp(prefix="dependency-rules-")
        cls.repo = Path(cls.scratch) / "repo"
        subprocess.run(["git", "clone", "-q", str(SOURCE), str(cls.repo)], check=True)

    @classmethod
    def tearDownClass(cls) -> None:
        subprocess.run(
            [str(cls.repo / "pants"), "kill-pantsd"], cwd=cls.repo, capture_output=True, check=False
        )
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def lint(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["./pants", "lint", "--only=dependency-rules", *LINTED],
            cwd=self.repo,
            capture_output=True,
            text=True,
            check=False,
        )

    def assert_denied(self, files: dict[str, str], rule: str, offender: str) -> None:
        """Writes `files` (appending to BUILD files), lints, and restores the clean tree."""
        for path, text in files.items():
            with open(self.repo / path, "a", encoding="utf-8") as file:
                file.write(text)
        try:
            result = self.lint()
        finally:
            subprocess.run(["git", "checkout", "-q", "--", "."], cwd=self.repo, check=True)
            subprocess.run(["git", "clean", "-qfd"], cwd=self.repo, check=True)
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn("dependency-rules failed", output)
        self.assertIn(f"{rule} -> ", output)
        self.assertIn(offender, output)

    def test_the_clean_tree_follows_the_rules(self) -> None:
        result = self.lint()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("dependency-rules succeeded", result.stderr)

    def test_a_lib_may_not_import_an_agent(self) -> None:
        self.assert_denied(
            {"libs/settings/bad_import.py": importing("agent1")},
            rule="libs/BUILD[!//agents/**]",
            offender="libs/settings/bad_import.py@resolve=agent1",
        )

    def test_an_agent_may_not_import_another_agent(self) -> None:
        self.assert_denied(
            {
                "agents/agent2/bad_import.py": importing("agent1"),
                "agents/agent2/BUILD": built_in("agent1"),
            },
            rule="agents/BUILD[!//agents/**]",
            offender="agents/agent2:bad",
        )

    def test_an_agent_service_may_not_import_another_agent(self) -> None:
        self.assert_denied(
            {
                "services/agent1/bad_import.py": importing("agent2"),
                "services/agent1/BUILD": built_in("agent2"),
            },
            rule="services/BUILD[!*]",
            offender="services/agent1:bad",
        )

    def test_the_coordinator_may_not_import_an_agent(self) -> None:
        self.assert_denied(
            {
                "services/coordinator/bad_import.py": importing("agent3"),
                "services/coordinator/BUILD": built_in("agent3"),
            },
            rule="services/BUILD[!*]",
            offender="services/coordinator:bad",
        )


if __name__ == "__main__":
    unittest.main(verbosity=2)
