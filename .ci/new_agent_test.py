"""`./pants run :new-agent` end to end, in a temporary git copy of this tree: the refusals change
nothing; a classifier and a regressor each built from
its own dataset (`--data`: scikit-learn's bundled wine, reduced to a binary label, and diabetes,
written to Parquet first, nothing downloaded) pass their lint, type checks and tests (served for
real: a request answered and logged where the monitor reads it), train with `dvc repro` and get a
champion through the gate, the data agents with a metric better than their baseline; the data
classifier serves on a chosen port and answers and logs a request; a refreshed data file makes
its pipeline stale; `.ci/affected.py` reports only the agent a change touches; and
(MLOPS_IMAGE_TEST=1, after `source .ci/docker-up`) one of them packages as an image. With
MLOPS_CI_FULL=1 (the scheduled run) an anomaly agent on the generated world goes the same way. The
generated world's classifier and regressor templates are rendered and compiled by
tools/new_agent/render_test.py.

    python3 .ci/new_agent_test.py      (run by .ci/run; standard library only)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
# The agents built on the generated world, and those built on a dataset: name -> (kind, file, target).
# The anomaly kind on the generated world runs in the scheduled full run only (MLOPS_CI_FULL=1, set by
# main.yaml's weekly schedule), to keep every other .ci/run within its time budget: a change that
# breaks that kind's lint, tests or training is found within a week, not at once. Every run still
# renders and compiles the anomaly templates (tools/new_agent/render_test.py).
FULL = os.environ.get("MLOPS_CI_FULL") == "1"
WORLD_AGENTS = {"new_sentinel": "anomaly"} if FULL else {}
DATA_AGENTS = {
    "scaffolded": ("classifier", "wine.parquet", "is_cultivar_1"),
    "new_forecaster": ("regressor", "diabetes.parquet", "progression"),
}
AGENTS = {**{name: kind for name, (kind, _, _) in DATA_AGENTS.items()}, **WORLD_AGENTS}
# The one changed, reported, served and packaged.
NAME, KIND = next(iter(AGENTS.items()))
SERVICE_CLASS = "ScaffoldedClassifier"
PORT = 3197
# metrics.json: the metric each data kind is gated on, and whether higher is better.
GATED = {"classifier": ("roc_auc", True), "regressor": ("mae", False)}


def model_name(name: str, kind: str) -> str:
    return f"{name.replace('_', '-')}-{kind}"


# The tiny world of tests/pipelines/workspace.py: seconds to generate and train on.
TINY_WORLD = {"seed": "7", "n_customers": "300", "n_transactions": "12000", "n_days": "240"}
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


def run(
    repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if args[0] != "git":
        print(f"  [{time.monotonic() - started:5.1f}s] {' '.join(args)[:120]}", file=sys.stderr)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def set_params(path: Path, section: str, values: dict[str, str]) -> None:
    """Edits `key: value` lines under one top-level section of a params.yaml (no YAML parser here)."""
    lines, current = [], None
    for line in path.read_text().splitlines():
        if line and not line.startswith(" "):
            current = line.rstrip(":")
        key = line.strip().split(":", 1)[0]
        if current == section and line.startswith("  ") and key in values:
            line = f"  {key}: {values[key]}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


class NewAgent(unittest.TestCase):
    repo: Path
    scratch: str
    env: dict[str, str]

    @classmethod
    def setUpClass(cls) -> None:
        cls.scratch = tempfile.mkdtemp(prefix="new-agent-")
        cls.repo = Path(cls.scratch) / "repo"
        subprocess.run(["git", "clone", "-q", str(SOURCE), str(cls.repo)], check=True)
        subprocess.run(["git", "config", "user.email", "ci@example.invalid"], cwd=cls.repo, check=True)
        subprocess.run(["git", "config", "user.name", "ci"], cwd=cls.repo, check=True)
        cls.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("MLOPS_")},
            **TELEMETRY_OFF,
            "MLOPS_HOME": str(cls.repo / ".local"),
        }

    @classmethod
    def tearDownClass(cls) -> None:
        subprocess.run(
            [str(cls.repo / "pants"), "kill-pantsd"], cwd=cls.repo, capture_output=True, check=False
        )
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def pants(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(self.repo, "./pants", *args, env=self.env, check=check)

    def git_status(self) -> str:
        return run(self.repo, "git", "status", "--porcelain", "--untracked-files=all").stdout

    def refused(self, *args: str, through_pants: bool = False) -> subprocess.CompletedProcess[str]:
        """Runs the scaffolder expecting a refusal: exit 2, the reason on stderr, the tree untouched."""
        before = (self.git_status(), run(self.repo, "git", "diff").stdout)
        if through_pants:
            result = self.pants("run", ":new-agent", "--", *args, check=False)
        else:  # the same program without Pants' start-up: it is standard library only
            result = run(self.repo, sys.executable, "-m", "tools.new_agent", *args, env=self.env, check=False)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("Nothing was changed", result.stderr)
        self.assertEqual((self.git_status(), run(self.repo, "git", "diff").stdout), before)
        return result

    def assert_champion(self, name: str, model: str) -> None:
        decision = json.loads((self.repo / f"data/{name}/registration.json").read_text())
        self.assertTrue(decision["promoted"], decision)
        metrics = json.loads((self.repo / f"data/{name}/metrics.json").read_text())
        self.assertIn("baseline", metrics)
        with sqlite3.connect(self.repo / ".local" / "mlflow.db") as db:
            aliases = db.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ?", (model,)
            ).fetchall()
        self.assertEqual(aliases, [("champion", int(decision["challenger_version"]))])
        exported = json.loads((self.repo / f"agents/{name}/champion/champion.json").read_text())
        self.assertEqual(exported["model_name"], model)

    @property
    def dvc_env(self) -> dict[str, str]:
        return {**self.env, "MLOPS_STAGE_PEX_DIR": str(self.repo / "dist")}

    def serve_and_answer(self) -> None:
        """README "Bring your own data": package the serve PEX, serve on PORT, post one row, read the log."""
        self.pants("package", f"agents/{NAME}:serve")
        env = {**self.env, "BENTOML_HOME": str(Path(self.scratch) / "bentoml")}
        command = [
            "python3.11",
            f"dist/agents.{NAME}/serve.pex",
            "serve",
            f"services.{NAME}.service:{SERVICE_CLASS}",
        ]
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(PORT)],
            cwd=self.repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{PORT}"
            for _ in range(180):
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=2):  # noqa: S310 (loopback)
                        break
                except OSError:
                    time.sleep(1)
            sample = (self.repo / f"agents/{NAME}/sample_rows.py").read_text()
            namespace: dict[str, object] = {}
            exec(compile(sample, "sample_rows.py", "exec"), namespace)  # noqa: S102 (the scaffolded sample)
            row = dict(namespace["ROWS"][0])  # type: ignore[index]
            row.pop("is_cultivar_1")
            request = urllib.request.Request(  # noqa: S310 (loopback http)
                f"{base}/assess",
                data=json.dumps({"rows": [row]}).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 (loopback)
                answers = json.loads(reply.read())
            self.assertEqual(len(answers), 1)
            self.assertTrue(0.0 <= answers[0]["probability"] <= 1.0, answers)
            self.assertEqual(answers[0]["model_name"], model_name(NAME, KIND))
            logs = self.repo / ".local" / "predictions" / NAME
            for _ in range(30):
                if any(logs.rglob("*.gz")):
                    break
                time.sleep(1)
            self.assertTrue(any(logs.rglob("*.gz")), f"no prediction log under {logs}")
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=60)

    def test_new_agent_end_to_end(self) -> None:
        with self.subTest("refusals change nothing"):
            for bad in ("Fraud", "fraud-scorer", "class", "1st", "agent1", "serving", "coordinator", "data"):
                self.refused(bad, "--kind", KIND)
            self.assertEqual(self.git_status(), "")

        datasets = Path(self.scratch) / "datasets"
        self.pants("run", "tools/new_agent:example-data", "--", "--out", str(datasets))
        wine = datasets / "wine.parquet"
        with self.subTest("--data refusals change nothing, and the data file is only read"):
            before = wine.read_bytes()
            self.refused(NAME, "--kind", KIND, "--data", str(datasets / "absent.parquet"), "--target", "x")
            self.refused(NAME, "--kind", "anomaly", "--data", str(wine), "--target", "is_cultivar_1")
            self.refused(NAME, "--kind", KIND, "--target", "is_cultivar_1")
            self.refused(NAME, "--kind", KIND, "--data", str(wine), "--target", "no_such", through_pants=True)
            self.refused(NAME, "--kind", KIND, "--data", str(wine), "--target", "alcohol", through_pants=True)

        for name, (kind, data, target) in DATA_AGENTS.items():
            command = ("run", ":new-agent", "--", name, "--kind", kind, "--data", str(datasets / data))
            self.pants(*command, "--target", target)
        self.assertEqual(wine.read_bytes(), before)
        for name, kind in WORLD_AGENTS.items():
            self.pants("run", ":new-agent", "--", name, "--kind", kind)
        with self.subTest("the existing name is refused"):
            self.refused(NAME, "--kind", KIND, through_pants=True)
        with self.subTest("each data agent's input is its own DVC-tracked copy, its .dvc file in git"):
            untracked = self.git_status()
            for name in DATA_AGENTS:
                self.assertIn(f"?? data/{name}/input/rows.parquet.dvc", untracked)
                self.assertNotIn(f"data/{name}/input/rows.parquet\n", untracked)
        run(self.repo, "git", "add", "-A")
        run(self.repo, "git", "commit", "-qm", "new agents of every kind")

        with self.subTest("each new agent's folders have code owners"):
            run(self.repo, sys.executable, ".ci/repo_files_test.py", env=self.env)

        with self.subTest("BUILD files in step, lint, type checks and tests pass"):
            self.pants("tailor", "--check", "::")
            folders = [f"{top}/{name}::" for name in AGENTS for top in ("agents", "services")]
            self.pants("lint", "check", "test", *folders)

        with self.subTest("dvc repro trains each on tiny data and a champion is registered"):
            programs = [f"agents/{name}:pipeline" for name in AGENTS]
            if WORLD_AGENTS:  # the generated world they train on, tiny
                set_params(self.repo / "pipelines/data/params.yaml", "data", TINY_WORLD)
                programs.append("libs/datagen:generate")
            self.pants("package", *programs)
            pipelines = [f"pipelines/{name}/dvc.yaml" for name in AGENTS]
            run(self.repo, "./pants", "run", ":dvc", "--", "repro", *pipelines, env=self.dvc_env)
            for name, kind in AGENTS.items():
                self.assert_champion(name, model_name(name, kind))
            run(self.repo, "git", "checkout", "--", "pipelines/data/params.yaml")

        with self.subTest("each data agent's model beats its baseline on the holdout"):
            for name, (kind, _, _) in DATA_AGENTS.items():
                metric, higher_is_better = GATED[kind]
                metrics = json.loads((self.repo / f"data/{name}/metrics.json").read_text())
                model, baseline = metrics["model"][metric], metrics["baseline"][metric]
                self.assertTrue(model > baseline if higher_is_better else model < baseline, metrics)

        with self.subTest("the data classifier serves on a chosen port, answers a row and logs it"):
            self.serve_and_answer()

        with self.subTest("a new version of a data file: dvc add, and its pipeline is stale"):
            name = "new_forecaster"
            copy = self.repo / f"data/{name}/input/rows.parquet"
            shutil.copyfile(datasets / "diabetes_refreshed.parquet", copy)
            self.pants("run", ":dvc", "--", "add", f"data/{name}/input/rows.parquet")
            status = self.pants("run", ":dvc", "--", "status", f"pipelines/{name}/dvc.yaml").stdout
            self.assertIn("validate", status)
            self.assertIn(f"data/{name}/input/rows.parquet", status)
            self.assertIn(f"data/{name}/input/rows.parquet.dvc", self.git_status())
            run(self.repo, "git", "checkout", "--", f"data/{name}/input/rows.parquet.dvc")

        with self.subTest("affected-only CI reports the new agent after a change to its code"):
            model = self.repo / f"agents/{NAME}/model.py"
            model.write_text(model.read_text() + "\n# touched\n")
            run(self.repo, "git", "commit", "-qam", "touch the model")
            report = json.loads(
                run(
                    self.repo, sys.executable, ".ci/affected.py", "--since", "HEAD~1", "--json", env=self.env
                ).stdout
            )
            run(self.repo, "git", "reset", "-q", "--hard", "HEAD~1")
            self.assertIn(f"agents/{NAME}/model_test.py:tests", report["tests"])
            self.assertIn(f"services/{NAME}/service_test.py:tests", report["tests"])
            others = [
                test
                for test in report["tests"]
                if any(f"/{name}/" in test for name in AGENTS if name != NAME)
            ]
            self.assertFalse(
                [test for test in report["tests"] if "/agent1" in test or "/agent2" in test] + others
            )
            self.assertEqual(report["pipelines"], [f"pipelines/{NAME}/dvc.yaml"])
            self.assertEqual(report["images"], [f"agents/{NAME}:image"])

        if os.environ.get("MLOPS_IMAGE_TEST") != "1":
            print(
                "  image build skipped: set MLOPS_IMAGE_TEST=1 after `source .ci/docker-up`", file=sys.stderr
            )
            return
        with self.subTest("the image builds with the champion and the model card"):
            base = os.environ.get("BASE_IMAGE", "python:3.11-slim")
            self.pants(f'--docker-build-args=["BASE_IMAGE={base}"]', "package", f"agents/{NAME}:image")
            image = f"mlops/{NAME}:latest"
            check = (  # the image has Python, not a shell
                "import os, sys; sys.exit(not (os.path.isfile('/app/champion/model.skops')"
                " and os.path.isfile('/app/MODEL_CARD.md') and os.access('/app/venv/pex', os.X_OK)))"
            )
            entrypoint = ("--entrypoint", "/app/venv/bin/python")
            run(self.repo, "docker", "run", "--rm", *entrypoint, image, "-c", check, env=self.env)


if __name__ == "__main__":
    unittest.main(verbosity=2)
