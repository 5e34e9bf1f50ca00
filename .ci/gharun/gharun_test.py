"""The workflow runner's parts that need no machine: expressions, GitHub's files, refusals.

python3 -m unittest discover -s .ci/gharun -p '*_test.py'     (run by .ci/run)
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import subprocess
import sys
import tempfile
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gharun.actions import JobEnvironment, action_for, cache, seed_cache
from gharun.expressions import (
    Context,
    Unsupported,
    condition,
    evaluate,
    hash_files,
    interpolate,
)
from gharun.job import _read_key_values, kill_orphans
from gharun.workflow import load

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def context(status: str = "success", workspace: Path = Path(".")) -> Context:
    return Context(
        contexts={
            "github": {
                "event": {"pull_request": {"number": 7}},
                "ref": "refs/heads/main",
                "base_ref": "main",
            },
            "runner": {"os": "Linux"},
            "secrets": {"TOKEN": "s3cret"},
            "vars": {},
            "steps": {"one": {"outputs": {"answer": "42"}}},
            "env": {"NAME": "value"},
        },
        workspace=workspace,
        job_status=status,
    )


class Expressions(unittest.TestCase):
    def test_properties_and_interpolation(self) -> None:
        text = "pr-${{ github.event.pull_request.number }} on ${{ runner.os }}"
        self.assertEqual(interpolate(text, context()), "pr-7 on Linux")
        self.assertEqual(interpolate("${{ steps.one.outputs.answer }}", context()), "42")

    def test_missing_properties_are_empty_and_or_gives_a_default(self) -> None:
        self.assertEqual(
            interpolate("${{ vars.BASE_IMAGE || 'python:3.11-slim' }}", context()), "python:3.11-slim"
        )
        self.assertIsNone(evaluate("github.event.nothing.here", context()))

    def test_loose_comparison_as_github_does(self) -> None:
        self.assertTrue(evaluate("steps.one.outputs.answer == 42", context()))
        self.assertTrue(evaluate("'MAIN' == github.base_ref", context()))
        self.assertTrue(evaluate("!(1 > 2) && startsWith(github.ref, 'refs/heads/')", context()))

    def test_if_adds_success_unless_a_status_function_is_named(self) -> None:
        self.assertFalse(condition("github.ref == 'refs/heads/main'", context("failure")))
        self.assertTrue(condition("${{ failure() }}", context("failure")))
        self.assertTrue(condition("always()", context("failure")))
        with self.assertRaises(Unsupported):  # GitHub reads this as a string; a PR title could rewrite it
            condition("contains('${{ github.ref }}', 'x') || true", context())

    def test_hash_files_is_sha256_of_the_file_hashes_in_path_order(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "b.lock").write_text("b")
            (root / "a.lock").write_text("a")
            expected = hashlib.sha256(
                hashlib.sha256(b"a").digest() + hashlib.sha256(b"b").digest()
            ).hexdigest()
            self.assertEqual(hash_files(root, "*.lock"), expected)
            self.assertEqual(hash_files(root, "*.none"), "")

    def test_what_is_not_implemented_is_refused(self) -> None:
        for expression in (
            "matrix.python",
            "fancy(1)",
            "github.event[",
            "1 + 1",
            "fromJSON('x')",
            "hashFiles('../x')",
        ):
            with self.subTest(expression), self.assertRaises(Unsupported):
                evaluate(expression, context())
        with self.assertRaises(Unsupported):
            action_for("docker/build-push-action@v5")


class CacheScopes(unittest.TestCase):
    """GitHub's rule: restore from the job's own ref, then the PR's base branch; save to the own ref only."""

    def job(self, root: Path, ref: str, base: str = "") -> JobEnvironment:
        home = root / "home"
        home.mkdir(exist_ok=True)
        return JobEnvironment(
            user=pwd.getpwuid(os.getuid()),
            home=home,
            workspace=root,
            tool_cache=root / "tools",
            cache_store=root / "store",
            artifacts=root / "artifacts",
            origin="",
            env={"GITHUB_REF": ref, "GITHUB_BASE_REF": base},
            path=[],
        )

    def run_cache(self, job: JobEnvironment, key: str, content: str | None) -> str:
        cache(job, {"path": "~/data", "key": key, "restore-keys": "k-"})
        data = job.home / "data"
        restored = data.read_text() if data.is_file() else ""
        if content is not None:
            data.write_text(content)
        for save in job.post_steps:
            save(True)
        return restored

    def test_a_pull_request_reads_main_and_never_writes_it(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            self.run_cache(self.job(root, "refs/heads/main"), "k-1", "from main")
            (root / "home" / "data").unlink()
            pull = self.job(root, "refs/pull/1/merge", base="main")
            self.assertEqual(self.run_cache(pull, "k-2", "from the PR"), "from main")
            (root / "home" / "data").unlink()
            # The PR's newer entry k-2 matches main's restore key too, but lives in the PR's scope.
            self.assertEqual(self.run_cache(self.job(root, "refs/heads/main"), "k-3", None), "from main")

    def test_a_seeded_base_branch_entry_is_restored_by_a_pull_request_under_its_home(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            source = root / "elsewhere" / "data"
            source.parent.mkdir()
            source.write_text("built by main's CI")
            pull = self.job(root, "refs/pull/1/merge", base="main")
            seed_cache(root / "store", "refs/heads/main", "k-1", [(source, pull.home / "data")])
            self.assertEqual(self.run_cache(pull, "k-1", None), "built by main's CI")
            self.assertEqual(pull.outputs["cache-hit"], "true")  # an exact hit: the PR saves nothing
            self.assertEqual(list((root / "store" / "refs_pull_1_merge").iterdir()), [])


class GithubFiles(unittest.TestCase):
    def test_env_and_output_files_with_heredocs(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "env"
            path.write_text("A=1\nBODY<<EOF\nline one\nline=two\nEOF\nB=x=y\n")
            self.assertEqual(_read_key_values(path), {"A": "1", "BODY": "line one\nline=two", "B": "x=y"})


class RepositoryWorkflows(unittest.TestCase):
    def test_every_workflow_loads_with_on_as_a_key_and_only_implemented_actions(self) -> None:
        for path in sorted(WORKFLOWS.glob("*.yaml")):
            with self.subTest(path.name):
                workflow = load(path)
                self.assertTrue(workflow.triggers)
                for job in workflow.jobs.values():
                    for step in job["steps"]:
                        if "uses" in step:
                            action_for(step["uses"])

    def test_every_action_is_pinned_by_commit_sha_with_its_tag_in_a_comment(self) -> None:
        # A tag can be moved to other code; a full SHA cannot. The comment keeps the version readable and
        # is what Dependabot rewrites along with the SHA.
        pinned = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
        for path in sorted(WORKFLOWS.glob("*.yaml")):
            workflow = load(path)
            lines = workflow.text.splitlines()
            steps = [step for job in workflow.jobs.values() for step in job["steps"] if "uses" in step]
            self.assertTrue(steps, f"{path.name} uses no action: this check would check nothing")
            for step in steps:
                with self.subTest(workflow.where(step, "uses:")):
                    line = int(workflow.where(step, "uses:").rsplit(":", 1)[1])
                    self.assertRegex(lines[line - 1], pinned)
                    self.assertIn(step["uses"], lines[line - 1])

    def test_refusals_name_the_file_and_line(self) -> None:
        workflow = load(WORKFLOWS / "pull-request.yaml")
        steps = workflow.jobs["affected"]["steps"]
        self.assertRegex(workflow.where(steps[0]), r"pull-request\.yaml:\d+$")


class OrphanProcesses(unittest.TestCase):
    def test_what_a_job_left_running_is_killed_and_nothing_else(self) -> None:
        tracking_id = f"github_{uuid.uuid4()}"
        # A daemon a step started (in a session of its own, as pantsd is), and a process of another job.
        left = subprocess.Popen(
            ["sleep", "300"], env={**os.environ, "RUNNER_TRACKING_ID": tracking_id}, start_new_session=True
        )
        other = subprocess.Popen(["sleep", "300"], env={**os.environ, "RUNNER_TRACKING_ID": "github_other"})
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "work"
            (workspace / "repo").mkdir(parents=True)
            # A daemon that dropped its environment (as pantsd does), in the workspace, as the job's user.
            scrubbed = subprocess.Popen(
                ["sleep", "300"], env={}, cwd=workspace / "repo", start_new_session=True
            )
            try:
                killed = kill_orphans(tracking_id, uid=os.getuid(), workspace=workspace)
                self.assertEqual(sorted(killed), sorted([(left.pid, "sleep"), (scrubbed.pid, "sleep")]))
                self.assertEqual(left.wait(timeout=10), -9)
                self.assertEqual(scrubbed.wait(timeout=10), -9)
                self.assertIsNone(other.poll())
            finally:
                for process in (left, other, scrubbed):
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
