from __future__ import annotations

import pydantic
import pytest

from libs.messages.messages import ModelAnswer
from libs.serving.shadow_scoring import CHAMPION_OUTPUT, CHAMPION_VERSION
from libs.tablenames.reserved import ANSWER_FIELDS, MODEL_ATTRIBUTES, SHADOW_FIELDS, name_refusal
from libs.tabular.columns import Column, Table


def test_the_attribute_list_is_pydantics_own() -> None:
    assert {name for name in dir(pydantic.BaseModel) if not name.startswith("_")} <= MODEL_ATTRIBUTES
    assert set(ModelAnswer.model_fields) == ANSWER_FIELDS
    assert {CHAMPION_OUTPUT, CHAMPION_VERSION} == SHADOW_FIELDS


@pytest.mark.parametrize(
    "name", ["split", "model_version", "_private", "model_config", "json", "Config", "champion_output", "  "]
)
def test_a_table_refuses_a_name_the_framework_uses(name: str) -> None:
    assert name_refusal(name)
    with pytest.raises(ValueError, match="cannot be a column"):
        Table(features=(Column(name),), target=Column("y"))


def test_ordinary_and_odd_names_are_fine() -> None:
    for name in ("age", "Sepal Length", "select", "2nd", "conc µg/m³", "model_year"):
        assert name_refusal(name) is None


def test_an_id_named_like_the_answer_field_is_refused() -> None:
    table = Table(features=(Column("x"),), target=Column("y"), id=Column("probability", "int"))
    with pytest.raises(ValueError, match="answers could not carry the row's id"):
        table.answer_message("Answer", "probability", minimum=0.0, maximum=1.0)
