"""Writes two of scikit-learn's bundled datasets as Parquet files, to try `--data` on (and for its CI
test): `wine.parquet`, wine reduced to a binary label (`is_cultivar_1`), and `diabetes.parquet`
(target `progression`) with columns named the way a clinic's own export names them (spaces, an en
dash, a micro sign, quotes in a category, a visit date whose name holds a docstring's closing
quotes), plus `diabetes_refreshed.parquet`, a later version of it (its first 400 rows) to refresh an
agent's data with. Nothing is downloaded: the files ship inside scikit-learn.

    ./pants run tools/new_agent:example-data -- --out /tmp/datasets
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_diabetes, load_wine


def clinic_export(frame: pd.DataFrame) -> pd.DataFrame:
    """Diabetes as a user's file would hold it: what the scaffolder must carry into code unharmed."""
    renamed = frame.rename(
        columns={
            "target": "progression",
            "bp": "blood pressure – mean (mm Hg)",  # noqa: RUF001 (the en dash is the point)
            "s5": "log serum triglycerides µmol/L",
        }
    )
    clinics = ['north "A"', "south 'B'", "east"]
    return renamed.assign(
        clinic=[clinics[index % 3] for index in range(len(renamed))],
        **{'seen on """': pd.Timestamp("2024-01-01")},  # a date: left out, named in columns.py's docstring
    )


def write_examples(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    wine = load_wine(as_frame=True).frame
    wine = wine.assign(is_cultivar_1=(wine.pop("target") == 1).astype("int64"))
    diabetes = clinic_export(load_diabetes(as_frame=True, scaled=False).frame)
    written: dict[str, pd.DataFrame] = {
        "wine.parquet": wine,
        "diabetes.parquet": diabetes,
        "diabetes_refreshed.parquet": diabetes.head(400),
    }
    for name, frame in written.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / name)
    return [out / name for name in written]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the Parquet files into")
    for path in write_examples(parser.parse_args(argv).out):
        print(path)


if __name__ == "__main__":
    main()
