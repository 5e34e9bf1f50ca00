from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

from libs.modelfiles.bundle import write_champion
from libs.serving.reload import LiveChampion


def fitted(slope: float) -> LinearRegression:
    return LinearRegression().fit([[0.0], [1.0]], [0.0, slope])


def test_a_bundle_written_again_unchanged_is_not_reloaded_but_a_changed_one_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_champion(fitted(1.0), model_name="m", model_version="1", directory=tmp_path)
    live = LiveChampion(tmp_path, interval_s=0)
    first = live.current
    with caplog.at_level(logging.WARNING, logger="libs.serving.reload"):
        write_champion(fitted(1.0), model_name="m", model_version="1", directory=tmp_path)
        assert not live.reload_if_changed()
        assert live.current is first and not caplog.messages

        write_champion(fitted(2.0), model_name="m", model_version="1", directory=tmp_path)  # a new v1
        assert live.reload_if_changed()
        assert live.current.model.predict([[1.0]])[0] == pytest.approx(2.0)  # type: ignore[attr-defined]

        write_champion(fitted(2.0), model_name="m", model_version="2", directory=tmp_path)
        assert live.reload_if_changed()
        assert live.current.model_version == "2"
    assert [message.split(": ", 1)[1] for message in caplog.messages] == ["m v1 -> v1", "m v1 -> v2"]
