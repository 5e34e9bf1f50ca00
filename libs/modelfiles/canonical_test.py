import io
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingRegressor, IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from libs.features import FormulaTransformer
from libs.modelfiles import FIXED_TIME, canonical_skops, dumps_model, loads_model

ROWS = pd.DataFrame({"revenue": np.arange(1.0, 81.0), "visits": np.tile([1.0, 2.0, 4.0, 5.0], 20)})
TARGET = (ROWS["revenue"] % 3 > 0).to_numpy()

# One model of each kind the agents train, fitted from scratch on every call: new objects, new ids.
MODELS = {
    "isolation forest": lambda: IsolationForest(n_estimators=20, random_state=0).fit(ROWS),
    "gradient boosting": lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(
        ROWS, ROWS["revenue"] * 2
    ),
    "formulas and logistic regression": lambda: Pipeline(
        [
            ("formulas", FormulaTransformer(["revenue_per_visit = revenue / visits"])),
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression()),
        ]
    ).fit(ROWS, TARGET),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_two_fits_saved_at_different_times_are_the_same_bytes(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_model, second_model = MODELS[kind](), MODELS[kind]()  # both alive, so their ids differ
    first_raw, first = sio.dumps(first_model), dumps_model(first_model)
    later = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    assert sio.dumps(second_model) != first_raw, "what skops writes alone no longer differs"
    second = dumps_model(second_model)
    assert first == second


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_canonical_file_loads_to_the_same_predictions(kind: str) -> None:
    model = MODELS[kind]()
    loaded = loads_model(dumps_model(model))
    np.testing.assert_array_equal(loaded.predict(ROWS), model.predict(ROWS))  # type: ignore[attr-defined]


def test_members_are_sorted_with_fixed_times_and_named_by_order() -> None:
    with zipfile.ZipFile(io.BytesIO(dumps_model(MODELS["isolation forest"]()))) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {FIXED_TIME}
    arrays = [name for name in names if name != "schema.json"]
    assert arrays and all(name.split(".")[0].isdigit() for name in arrays), names


def test_a_zip_without_a_schema_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.json", "{}")
    with pytest.raises(ValueError, match="no schema.json"):
        canonical_skops(buffer.getvalue())


def test_record_arrays_lose_the_uninitialised_padding_numpy_leaves_in_them() -> None:
    # A tree's nodes: seven 8-byte fields and a 1-byte flag in 64-byte records, 7 bytes of padding.
    nodes = np.dtype(
        {"names": ["threshold", "flag"], "formats": ["<f8", "u1"], "offsets": [0, 8], "itemsize": 16}
    )
    values = np.array([(1.5, 1), (-2.0, 0)], dtype=nodes)

    def with_padding(fill: int) -> bytes:
        raw = bytearray(values.tobytes())
        for record in range(len(values)):
            raw[record * 16 + 9 : record * 16 + 16] = bytes([fill]) * 7
        return sio.dumps({"nodes": np.frombuffer(bytes(raw), dtype=nodes).copy()})

    first, second = canonical_skops(with_padding(0xAB)), canonical_skops(with_padding(0x00))
    assert first == second
    restored = sio.loads(first, trusted=["numpy.dtype"])["nodes"]
    assert restored.dtype == nodes and restored.tolist() == values.tolist()
