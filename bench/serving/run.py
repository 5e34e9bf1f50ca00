"""Entry point: ``python3 bench/serving/run.py [flags]`` from anywhere in the repository (see main.py).

A plain script needs the repository root on sys.path to import ``bench.serving`` and ``bench.report``.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.serving.main import main

    raise SystemExit(main())
