from pathlib import Path

from libs.codeclosure import SourceTree, copy_model_code, first_party_modules
from libs.features import FormulaTransformer

FORMULA_TRANSFORMER = f"{FormulaTransformer.__module__}.{FormulaTransformer.__name__}"


def test_only_first_party_types_name_modules() -> None:
    names = [FORMULA_TRANSFORMER, "sklearn.pipeline.Pipeline", "functools.partial", "libs.features.X"]
    assert first_party_modules(names) == ["libs.features", "libs.features.formula_transformer"]


def test_a_models_code_is_its_modules_and_their_imports_in_package_layout(tmp_path: Path) -> None:
    roots = copy_model_code([FORMULA_TRANSFORMER, "sklearn.pipeline.Pipeline"], tmp_path)
    assert roots == [tmp_path / "libs"]
    copied = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    assert "libs/features/__init__.py" in copied
    assert "libs/features/formula_transformer.py" in copied
    assert "libs/features/formula_parser.py" in copied  # imported through formula.py
    assert not [name for name in copied if name.endswith("_test.py") or not name.startswith("libs/features/")]


def test_closure_follows_relative_imports_and_names_missing_modules(tmp_path: Path) -> None:
    package = tmp_path / "libs" / "demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .core import run\n")
    (package / "core.py").write_text("import libs.absent\n\ndef run():\n    from libs.demo import helper\n")
    (package / "helper.py").write_text("")
    closure = SourceTree.on_disk(tmp_path).module_closure("libs.demo")
    assert closure.files == {"libs/demo/__init__.py", "libs/demo/core.py", "libs/demo/helper.py"}
    assert closure.unresolved == {"libs.absent"}
