import pytest

from libs.modelfiles import UntrustedModelError, trusted_types


def test_only_the_projects_and_sklearns_types_are_trusted() -> None:
    untrusted = ["libs.features.X", "sklearn.tree._tree.Tree", "agents.agent3.model.Y", "functools.partial"]
    assert trusted_types([*untrusted, "libs.features.X"]) == [
        "agents.agent3.model.Y",
        "functools.partial",
        "libs.features.X",
        "sklearn.tree._tree.Tree",
    ]


@pytest.mark.parametrize("foreign", ["builtins.exec", "os.system", "numpy.load", "sklearnx.Evil"])
def test_anything_else_is_refused_by_name(foreign: str) -> None:
    with pytest.raises(UntrustedModelError, match=foreign.replace(".", r"\.")):
        trusted_types(["libs.features.X", foreign])
