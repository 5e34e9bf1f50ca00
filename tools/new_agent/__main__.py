"""`./pants run :new-agent -- <name> --kind classifier|regressor|anomaly`."""

import sys

from tools.new_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
