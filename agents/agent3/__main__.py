"""Runs one of agent3's pipeline stages: `python -m agents.agent3 <stage>`, or its PEX."""

import sys

from agents.agent3.stages import STAGES
from libs.pipeline import run_stages

if __name__ == "__main__":
    sys.exit(run_stages("agent3", STAGES, sys.argv[1:]))
