"""Runs one of agent1's pipeline stages: `python -m agents.agent1 <stage>`, or its PEX."""

import sys

from agents.agent1.stages import STAGES
from libs.pipeline import run_stages

if __name__ == "__main__":
    sys.exit(run_stages("agent1", STAGES, sys.argv[1:]))
