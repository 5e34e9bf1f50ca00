"""Child process for the DuckDB contender (agent2's production SQL); see ``bench.features.child``."""

from bench.features.child import run
from bench.features.production import duckdb_features

if __name__ == "__main__":
    raise SystemExit(run(duckdb_features))
