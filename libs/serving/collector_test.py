import gc
import weakref
from collections.abc import Iterator

import pytest

from libs.serving.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_heap


class Held:
    """A plain object with no reference cycle, as most of a fitted model is."""


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_the_startup_heap_is_frozen_out_of_later_collections() -> None:
    tracked_before = len(gc.get_objects())
    settle_heap()
    assert gc.get_freeze_count() >= tracked_before // 2  # what start-up made, less its garbage
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    made_after = [object() for _ in range(10)]
    assert gc.get_freeze_count() > len(gc.get_objects()) - len(made_after)


@pytest.mark.usefixtures("restored_collector")
def test_a_frozen_object_is_still_freed_once_nothing_refers_to_it() -> None:
    model = Held()
    model.weights = [1.0, 2.0]  # type: ignore[attr-defined]
    alive = weakref.ref(model)
    settle_heap()
    del model
    assert alive() is None
