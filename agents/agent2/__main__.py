"""Runs one of agent2's pipeline stages: `python -m agents.agent2 <stage>`, or its PEX."""

import sys

from agents.agent2.stages import STAGES
from libs.pipeline import run_stages

if __name__ == "__main__":
    sys.exit(run_stages("agent2", STAGES, sys.argv[1:]))
