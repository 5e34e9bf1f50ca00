"""Entry point of ``python -m libs.tracking``."""

from libs.tracking.cli import main

raise SystemExit(main())
