"""The affected-only mapping, checked in a temporary git copy of this tree: each change is
committed there and `.ci/affected.py --since HEAD~1` must report exactly what it touches.

    python3 .ci/affected_test.py      (run by .ci/run; standard library only)
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from collections.abc import Callable
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
AGENTS = ("agent1", "agent2", "agent3")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return result.stdout


class AffectedMapping(unittest.TestCase):
    repo: Path
    scratch: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.scratch = tempfile.mkdtemp(prefix="affected-")
        cls.repo = Path(cls.scratch) / "repo"
        subprocess.run(["git", "clone", "-q", str(SOURCE), str(cls.repo)], check=True)
        git(cls.repo, "config", "user.email", "ci@example.invalid")
        git(cls.repo, "config", "user.name", "ci")

    @classmethod
    def tearDownClass(cls) -> None:
        subprocess.run(
            [str(cls.repo / "pants"), "kill-pantsd"], cwd=cls.repo, capture_output=True, check=False
        )
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def affected_by(
        self, path: str, edit: Callable[[str], str], pants_args: str = ""
    ) -> dict[str, list[str]]:
        target = self.repo / path
        target.write_text(edit(target.read_text()))
        git(self.repo, "commit", "-qam", f"change {path}")
        try:
            result = subprocess.run(
                ["python3", ".ci/affected.py", "--since", "HEAD~1", "--json"],
                cwd=self.repo,
                env={**os.environ, "MLOPS_AFFECTED_PANTS_ARGS": pants_args},
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            git(self.repo, "reset", "-q", "--hard", "HEAD~1")
        report: dict[str, list[str]] = json.loads(result.stdout)
        return report

    def agent1_change_on_top_of(self, message: str, *edited: Path) -> dict[str, list[str]]:
        """What a change to agent1's code reaches once ``edited`` files are committed as ``message``;
        that commit is undone afterwards."""
        git(self.repo, "add", "--", *(str(path) for path in edited))
        git(self.repo, "commit", "-qm", message)
        try:
            return self.affected_by("agents/agent1/model.py", lambda text: text + "\n# touched\n")
        finally:
            git(self.repo, "reset", "-q", "--hard", "HEAD~1")

    def agents_in(self, addresses: list[str]) -> set[str]:
        return {agent for agent in AGENTS for address in addresses if address.startswith(f"agents/{agent}")}

    def test_a_shared_lib_reaches_exactly_the_agents_that_import_it(self) -> None:
        # libs/features (the formula transformer) is imported by agent3's model only.
        report = self.affected_by("libs/features/formula_parser.py", lambda text: text + "\n# touched\n")
        self.assertEqual(self.agents_in(report["tests"]), {"agent3"})
        self.assertEqual(report["pipelines"], ["pipelines/agent3/dvc.yaml"])
        self.assertEqual(report["images"], ["agents/agent3:image"])

    def test_agent2_code_reaches_agent2_only(self) -> None:
        report = self.affected_by("agents/agent2/model.py", lambda text: text + "\n# touched\n")
        self.assertEqual(self.agents_in(report["tests"]), {"agent2"})
        self.assertIn("services/agent2/service_test.py:tests", report["tests"])
        self.assertFalse([test for test in report["tests"] if "agent1" in test or "agent3" in test])
        self.assertEqual(report["pipelines"], ["pipelines/agent2/dvc.yaml"])
        self.assertEqual(report["images"], ["agents/agent2:image"])

    def test_a_caller_without_pantsd_gets_the_same_answer(self) -> None:
        # Cold runners and the CI-time benchmark pass --no-pantsd; Pants refuses the flag twice.
        report = self.affected_by(
            "agents/agent3/model.py", lambda text: text + "\n# touched\n", "--no-pantsd"
        )
        self.assertEqual(report["pipelines"], ["pipelines/agent3/dvc.yaml"])

    def test_agent3_params_reach_agent3_only(self) -> None:
        report = self.affected_by("pipelines/agent3/params.yaml", lambda text: text + "# touched\n")
        self.assertEqual(self.agents_in(report["tests"]), {"agent3"})
        self.assertFalse([test for test in report["tests"] if "agent1" in test or "agent2" in test])
        self.assertEqual(report["pipelines"], ["pipelines/agent3/dvc.yaml"])
        self.assertEqual(report["images"], ["agents/agent3:image"])

    def test_a_model_card_reaches_its_image_only(self) -> None:
        # The model card ships in the image (/app/MODEL_CARD.md); no test or pipeline reads it.
        report = self.affected_by("agents/agent1/README.md", lambda text: text + "\nTouched.\n")
        expected = {"since": "HEAD~1", "tests": [], "pipelines": [], "images": ["agents/agent1:image"]}
        self.assertEqual(report, expected)

    def test_a_lockfile_reaches_every_target_of_its_resolve(self) -> None:
        report = self.affected_by("3rdparty/python/agent1.lock", lambda text: text + "\n")
        self.assertIn("agents/agent1/model_test.py:tests", report["tests"])
        self.assertIn("libs/settings/settings_test.py:tests@resolve=agent1", report["tests"])
        self.assertNotIn("libs/settings/settings_test.py:tests@resolve=agent2", report["tests"])
        # agent2 trains on agent1's scores (DVC's graph): its pipeline and image follow.
        self.assertEqual(report["pipelines"], ["pipelines/agent1/dvc.yaml", "pipelines/agent2/dvc.yaml"])
        self.assertEqual(report["images"], ["agents/agent1:image", "agents/agent2:image"])

    def test_agent1_code_reaches_agent2_through_its_data_not_its_tests(self) -> None:
        report = self.affected_by("agents/agent1/model.py", lambda text: text + "\n# touched\n")
        self.assertEqual(self.agents_in(report["tests"]), {"agent1"})
        self.assertEqual(report["pipelines"], ["pipelines/agent1/dvc.yaml", "pipelines/agent2/dvc.yaml"])
        self.assertEqual(report["images"], ["agents/agent1:image", "agents/agent2:image"])

    def test_a_new_data_edge_is_read_from_dvc_not_from_the_kept_graph(self) -> None:
        # Earlier cases kept DVC's graph under .local/affected; agent3 starting to read agent1's scores
        # changes the stage files it was keyed by, so DVC is asked again and agent3 follows agent1.
        self.affected_by("agents/agent1/model.py", lambda text: text + "\n# touched\n")
        kept = list((self.repo / ".local" / "affected").glob("dvc-dag-*.dot"))
        self.assertTrue(kept)
        # A kept graph emptied on disk is asked of DVC again, not read as "no edges".
        for path in kept:
            path.write_text("")
        report = self.affected_by("agents/agent1/model.py", lambda text: text + "\n# touched\n")
        self.assertIn("pipelines/agent2/dvc.yaml", report["pipelines"])
        stages = self.repo / "pipelines/agent3/dvc.yaml"
        first_dep = "      - data/raw/customers.parquet\n"
        reads_scores = first_dep + "      - data/agent1/scores.parquet\n"
        stages.write_text(stages.read_text().replace(first_dep, reads_scores, 1))
        report = self.agent1_change_on_top_of("agent3 reads agent1's scores", stages)
        self.assertIn("pipelines/agent3/dvc.yaml", report["pipelines"])
        self.assertIn("agents/agent3:image", report["images"])

    def test_a_stage_file_outside_pipelines_is_in_the_kept_graphs_key(self) -> None:
        self.affected_by("agents/agent1/model.py", lambda text: text + "\n# touched\n")  # keeps a graph
        extra = self.repo / "extra" / "dvc.yaml"
        extra.parent.mkdir()
        extra.write_text(
            "stages:\n  report:\n    wdir: ..\n    cmd: cat data/agent1/scores.parquet > /dev/null\n"
            "    deps:\n      - data/agent1/scores.parquet\n"
        )
        report = self.agent1_change_on_top_of("a stage outside pipelines/ reads agent1's scores", extra)
        self.assertIn("extra/dvc.yaml", report["pipelines"])

    def test_kept_graphs_are_pruned_to_the_most_recently_used(self) -> None:
        spec = importlib.util.spec_from_file_location("ci_affected", SOURCE / ".ci" / "affected.py")
        assert spec and spec.loader
        affected = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = affected  # its dataclasses look their module up while being made
        spec.loader.exec_module(affected)
        folder = Path(self.scratch) / "kept"
        folder.mkdir()
        now = 1_000_000.0
        for age in range(20):  # dvc-dag-00 is the newest
            graph = folder / f"dvc-dag-{age:02}.dot"
            graph.write_text("strict digraph {}\n")
            os.utime(graph, (now - age, now - age))
        fresh, stale = folder / "dvc-dag-a.1.partial", folder / "dvc-dag-b.2.partial"
        for path, age in ((fresh, 60), (stale, 2 * affected.STALE_PARTIAL_S)):
            path.write_text("strict")
            os.utime(path, (now - age, now - age))
        affected.prune_kept_graphs(folder, keep=16, now=now)
        left = sorted(path.name for path in folder.iterdir())
        self.assertEqual(left, [*(f"dvc-dag-{age:02}.dot" for age in range(16)), fresh.name])

    def test_the_readme_reaches_nothing(self) -> None:
        report = self.affected_by("README.md", lambda text: text + "\nTouched.\n")
        self.assertEqual(report, {"since": "HEAD~1", "tests": [], "pipelines": [], "images": []})


if __name__ == "__main__":
    unittest.main(verbosity=2)
