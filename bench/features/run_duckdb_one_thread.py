"""Child process for DuckDB on one thread, pandas' own, so the ratio compares engines, not cores."""

from functools import partial

from bench.features.child import run
from bench.features.production import duckdb_features

if __name__ == "__main__":
    raise SystemExit(run(partial(duckdb_features, threads=1)))
