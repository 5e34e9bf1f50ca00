"""Child process for the pandas contender; see ``bench.features.child``."""

from bench.features.child import run
from bench.features.pandas_features import pandas_features

if __name__ == "__main__":
    raise SystemExit(run(pandas_features))
