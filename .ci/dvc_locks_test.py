"""The lock check's reading of `dvc status --json`: code and params count, missing data does not.

python3 .ci/dvc_locks_test.py      (run by .ci/run; standard library only)
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dvc_locks import is_tracked, out_of_step

TRACKED = {"agents/agent3/stages.py", "libs/pipeline/context.py", "pipelines/agent3/params.yaml"}


class OutOfStep(unittest.TestCase):
    def test_a_fresh_clone_without_data_is_in_step(self) -> None:
        status = {
            "pipelines/agent3/dvc.yaml:train": [
                {"changed deps": {"data/agent3/features.parquet": "deleted"}},
                {"changed outs": {"data/agent3/model.skops": "not in cache"}},
            ],
            "pipelines/data/dvc.yaml:generate": [{"changed outs": {"data/raw": "not in cache"}}],
        }
        self.assertEqual(out_of_step(status, TRACKED), [])

    def test_changed_code_folders_and_params_are_named_per_stage(self) -> None:
        status = {
            "pipelines/agent3/dvc.yaml:train": [
                {
                    "changed deps": {
                        "data/agent3/features.parquet": "modified",
                        "agents/agent3/stages.py": "modified",
                        "libs/pipeline": "modified",
                        "pipelines/agent3/params.yaml": {"train.max_iter": "modified"},
                    }
                }
            ],
            "pipelines/agent3/dvc.yaml:export": ["changed command"],
        }
        self.assertEqual(
            out_of_step(status, TRACKED),
            [
                "pipelines/agent3/dvc.yaml:export: changed command",
                "pipelines/agent3/dvc.yaml:train: agents/agent3/stages.py modified",
                "pipelines/agent3/dvc.yaml:train: libs/pipeline modified",
                "pipelines/agent3/dvc.yaml:train: pipelines/agent3/params.yaml"
                ' {"train.max_iter": "modified"}',
            ],
        )

    def test_a_folder_counts_as_tracked_when_git_tracks_a_file_in_it(self) -> None:
        self.assertTrue(is_tracked("libs/pipeline", TRACKED))
        self.assertFalse(is_tracked("libs/pipe", TRACKED))
        self.assertFalse(is_tracked("data/agent3", TRACKED))


if __name__ == "__main__":
    unittest.main()
