"""One workflow job run as GitHub runs it: step by step, as the runner user, with GitHub's files and contexts.

`run:` steps go through GitHub's default shell (`bash --noprofile --norc -eo pipefail {0}`) with
workflow, job and step `env:` layered, `if:`, `working-directory`, `continue-on-error` and
`timeout-minutes`; after each step GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
are read back as the hosted runner does. The job's exit status is its conclusion. When the job ends,
the processes its steps left running (a daemon such as pantsd) are killed, as the hosted runner does:
each step's environment carries the job's RUNNER_TRACKING_ID, and whatever still has it goes. A
daemon that replaces its environment (pantsd keeps three variables) is found by what it still shows:
the job's user, and a working directory in the job's workspace.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gharun.actions import JobEnvironment, action_for
from gharun.expressions import Context, Unsupported, condition, evaluate_value, interpolate, to_string, truthy
from gharun.sandbox import as_user, chown_tree
from gharun.workflow import LINE, Workflow

# GitHub's runner puts this in every step's environment, and at the end of the job kills the
# processes that still have it.
TRACKING_VARIABLE = "RUNNER_TRACKING_ID"

# GitHub's shells: a step that names no shell (and no `defaults.run.shell`) gets `bash -e {0}`;
# `shell: bash` gets `bash --noprofile --norc -eo pipefail {0}`.
UNNAMED_SHELL = ["bash", "-e"]
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
    "python": ["python"],
}
SUPPORTED_STEP_KEYS = {
    LINE, "name", "id", "run", "uses", "with", "env", "if", "shell",
    "working-directory", "continue-on-error", "timeout-minutes",
}  # fmt: skip
SUPPORTED_JOB_KEYS = {
    LINE,
    "runs-on",
    "timeout-minutes",
    "steps",
    "env",
    "permissions",
    "concurrency",
    "name",
    "defaults",
}
BASE_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


@dataclass
class StepResult:
    name: str
    outcome: str
    seconds: float


def _read_key_values(path: Path) -> dict[str, str]:
    """GitHub's `NAME=value` and `NAME<<DELIMITER ... DELIMITER` file format."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        heredoc = re.fullmatch(r"([^=<]+)<<(.+)", line)
        if heredoc:
            name, delimiter = heredoc.group(1), heredoc.group(2)
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise RuntimeError(f"{path.name}: {name}<<{delimiter} is never closed")
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        index += 1
    return values


def defaults_dir(runner: JobRunner) -> str:
    """`defaults.run.working-directory` of the job, else of the workflow, else the workspace."""
    job_defaults = (runner.job.get("defaults") or {}).get("run") or {}
    return str(
        job_defaults.get("working-directory", runner.workflow.run_defaults.get("working-directory", "."))
    )


class JobRunner:
    """Runs one job's steps; `run()` returns the exit status GitHub would report for the job."""

    def __init__(self, workflow: Workflow, job_id: str, job_env: JobEnvironment, contexts: dict[str, Any]):
        self.workflow = workflow
        self.job_id = job_id
        self.job = workflow.jobs[job_id]
        self.env = job_env
        self.contexts = contexts
        self.steps_context: dict[str, Any] = {}
        self.status = "success"
        self.results: list[StepResult] = []
        self.summary = job_env.artifacts.parent / "summary.md"
        self.declared_env: dict[str, str] = {}
        self.temp = job_env.home / "_temp"

    def _context(self, extra_env: dict[str, str] | None = None) -> Context:
        contexts = {
            **self.contexts,
            "env": {**self.env.env, **self.declared_env, **(extra_env or {})},
            "steps": self.steps_context,
            "job": {"status": self.status},
        }
        return Context(contexts=contexts, workspace=self.env.workspace, job_status=self.status)

    def _refuse(self, mapping: dict[str, Any], error: Exception, needle: str | None = None) -> None:
        raise SystemExit(f"{self.workflow.where(mapping, needle)}: {error}")

    def _evaluate_env(self, raw: dict[str, Any], mapping: dict[str, Any]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in raw.items():
            if name == LINE:
                continue
            try:
                values[name] = interpolate(to_string(value), self._context(values))
            except Unsupported as error:
                self._refuse(mapping, error, str(value))
        return values

    def run(self) -> int:
        unknown = set(self.job) - SUPPORTED_JOB_KEYS
        if unknown:
            self._refuse(self.job, Unsupported(f"job keys {sorted(unknown)} are not implemented"))
        for step in self.job["steps"]:  # refuse what is not implemented before anything runs
            unknown_keys = set(step) - SUPPORTED_STEP_KEYS
            if unknown_keys:
                self._refuse(step, Unsupported(f"step keys {sorted(unknown_keys)} are not implemented"))
            if "uses" in step:
                try:
                    action_for(str(step["uses"]))
                except Unsupported as error:
                    self._refuse(step, error, str(step["uses"]))
        self.temp.mkdir(parents=True, exist_ok=True)
        chown_tree(self.temp, self.env.user)
        # Workflow and job `env:` win over what steps write to GITHUB_ENV, as on GitHub's runner.
        self.declared_env = self._evaluate_env(self.workflow.env, self.job)
        self.declared_env.update(self._evaluate_env(self.job.get("env") or {}, self.job))
        deadline = time.monotonic() + 60 * float(self.job.get("timeout-minutes", 360))
        started = time.monotonic()
        tracking_id = self.env.env.get(TRACKING_VARIABLE)  # the runner's own: a step cannot change it
        try:
            for index, step in enumerate(self.job["steps"]):
                self._step(index, step, deadline)
            for save in self.env.post_steps:
                save(self.status == "success")
        finally:  # a refused step or an interrupt leaves no daemon behind either
            orphans = kill_orphans(tracking_id, uid=self.env.user.pw_uid, workspace=self.env.workspace)
            if orphans:
                print("\n--- Cleaning up orphan processes")
                for pid, name in orphans:
                    print(f"Terminate orphan process: pid ({pid}) ({name})")
        self._report(time.monotonic() - started)
        return 0 if self.status == "success" else 1

    def _step(self, index: int, step: dict[str, Any], deadline: float) -> None:
        unknown = set(step) - SUPPORTED_STEP_KEYS
        if unknown:
            self._refuse(step, Unsupported(f"step keys {sorted(unknown)} are not implemented"))
        name = str(step.get("name") or step.get("uses") or (str(step.get("run", "")).splitlines() or [""])[0])
        step_id = str(step.get("id") or f"__step{index}")
        try:
            run_it = condition(step.get("if", "success()"), self._context())
        except Unsupported as error:
            self._refuse(step, error, str(step.get("if")))
        if not run_it:
            print(f"\n--- {name}: skipped (if: {step.get('if', 'success()')})")
            self.steps_context[step_id] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            self.results.append(StepResult(name, "skipped", 0.0))
            return
        print(f"\n--- {name}", flush=True)
        step_env = self._evaluate_env(step.get("env") or {}, step)
        started = time.monotonic()
        try:
            outputs, ok = (
                self._uses(step, step_env) if "uses" in step else self._run(step, step_env, deadline)
            )
        except Unsupported as error:
            self._refuse(step, error, str(step.get("uses") or ""))
        seconds = time.monotonic() - started
        outcome = "success" if ok else "failure"
        continue_on_error = step.get("continue-on-error", False)
        if not isinstance(continue_on_error, bool):
            try:
                continue_on_error = truthy(evaluate_value(str(continue_on_error), self._context()))
            except Unsupported as error:
                self._refuse(step, error, str(continue_on_error))
        conclusion = "success" if ok or continue_on_error else "failure"
        self.steps_context[step_id] = {"outputs": outputs, "outcome": outcome, "conclusion": conclusion}
        self.results.append(StepResult(name, outcome, seconds))
        print(f"--- {name}: {outcome} in {seconds:.1f}s", flush=True)
        if conclusion == "failure":
            self.status = "failure"

    def _uses(self, step: dict[str, Any], step_env: dict[str, str]) -> tuple[dict[str, str], bool]:
        action = action_for(str(step["uses"]))
        inputs = {
            key: interpolate(to_string(value), self._context(step_env))
            for key, value in (step.get("with") or {}).items()
            if key != LINE
        }
        self.env.outputs = {}
        try:
            action(self.env, inputs)
        except (subprocess.CalledProcessError, RuntimeError, OSError) as error:
            print(f"  {step['uses']} failed: {error}")
            return {}, False
        return dict(self.env.outputs), True

    def _files(self) -> dict[str, Path]:
        files = {}
        for name in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            path = self.temp / f"{name.lower()}_{uuid.uuid4().hex}"
            path.touch()
            os.chown(path, self.env.user.pw_uid, self.env.user.pw_gid)
            files[name] = path
        return files

    def _run(
        self, step: dict[str, Any], step_env: dict[str, str], deadline: float
    ) -> tuple[dict[str, str], bool]:
        context = self._context(step_env)
        try:
            script = interpolate(str(step["run"]), context)
            workdir = interpolate(str(step.get("working-directory", defaults_dir(self))), context)
            timeout_minutes = float(interpolate(str(step.get("timeout-minutes", 360)), context))
        except Unsupported as error:
            self._refuse(step, error, str(step["run"]).splitlines()[0])
        defaults = {**self.workflow.run_defaults, **((self.job.get("defaults") or {}).get("run") or {})}
        shell = step.get("shell", defaults.get("shell"))
        if shell is not None and str(shell) not in SHELLS:
            self._refuse(step, Unsupported(f"shell {shell!r} is not implemented"))
        shell_command = SHELLS[str(shell)] if shell is not None else UNNAMED_SHELL
        script_file = self.temp / f"{uuid.uuid4().hex}.sh"
        script_file.write_text(script, encoding="utf-8")
        os.chown(script_file, self.env.user.pw_uid, self.env.user.pw_gid)
        files = self._files()
        environment = {
            **self.env.env,
            **self.declared_env,
            **step_env,
            **{name: str(path) for name, path in files.items()},
            "PATH": ":".join([*self.env.path, *BASE_PATH]),
        }
        timeout = max(1.0, min(deadline - time.monotonic(), 60 * timeout_minutes))
        command = as_user(
            self.env.user,
            ["env", "-i", *(f"{k}={v}" for k, v in environment.items()), *shell_command, str(script_file)],
        )
        process = subprocess.Popen(command, cwd=self.env.workspace / workdir, start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            print(f"  timed out after {timeout / 60:.1f} minutes")
            returncode = 124
        if returncode != 0:
            print(f"  exit code {returncode}")
        try:
            self._read_back(files)
            return _read_key_values(files["GITHUB_OUTPUT"]), returncode == 0
        except RuntimeError as error:  # a malformed GITHUB_ENV/GITHUB_OUTPUT fails the step, as on GitHub
            print(f"  {error}")
            return {}, False

    def _read_back(self, files: dict[str, Path]) -> None:
        self.env.env.update(_read_key_values(files["GITHUB_ENV"]))
        added = [line.strip() for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines()]
        for entry in reversed([line for line in added if line]):
            self.env.path.insert(0, entry)
        summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        if summary:
            with self.summary.open("a", encoding="utf-8") as out:
                out.write(summary if summary.endswith("\n") else summary + "\n")

    def _report(self, seconds: float) -> None:
        timings = {
            "job": f"{self.workflow.name}/{self.job_id}",
            "status": self.status,
            "seconds": round(seconds, 1),
            "steps": [
                {"name": result.name, "outcome": result.outcome, "seconds": round(result.seconds, 1)}
                for result in self.results
            ],
        }
        timings_file = self.summary.parent / "timings.json"
        timings_file.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
        print(f"\n=== job {self.workflow.name}/{self.job_id}: {self.status} in {seconds / 60:.1f} min")
        for result in self.results:
            print(f"  {result.seconds:8.1f}s  {result.outcome:8}  {result.name}")
        print(f"  step summary: {self.summary}")


def kill_orphans(tracking_id: str | None, *, uid: int, workspace: Path) -> list[tuple[int, str]]:
    """Kills every process whose environment holds ``RUNNER_TRACKING_ID=tracking_id``, and every
    process of user ``uid`` working inside ``workspace``; returns their pids and names. Reading other
    users' /proc/<pid>/environ needs root, as the runner is."""
    needle = f"{TRACKING_VARIABLE}={tracking_id}".encode() if tracking_id else None
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            tracked = needle is not None and needle in (entry / "environ").read_bytes().split(b"\0")
            if not tracked and not _works_in(entry, uid, workspace):
                continue
            name = (entry / "comm").read_text(encoding="utf-8").strip()
            os.kill(int(entry.name), signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to read
            continue
        killed.append((int(entry.name), name))
    return killed


def _works_in(process: Path, uid: int, workspace: Path) -> bool:
    if process.stat().st_uid != uid:
        return False
    cwd = Path(os.readlink(process / "cwd"))
    return cwd == workspace or workspace in cwd.parents
