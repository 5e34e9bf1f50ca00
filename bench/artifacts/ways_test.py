from __future__ import annotations

from pathlib import Path

from bench.artifacts.ways import (
    closure,
    faithful,
    image_build_steps,
    module_name,
    requirement_names,
    tree_bytes,
)


def test_the_venv_is_built_by_the_images_own_steps_pointed_at_a_scratch_folder(tmp_path: Path) -> None:
    steps = image_build_steps(Path("/dist/deps.pex"), tmp_path / "venv")
    (env, install), (_, prune) = steps
    assert env == {"PEX_TOOLS": "1"}
    assert install == [
        "python3.11",
        "/dist/deps.pex",
        "venv",
        "--scope=deps",
        "--compile",
        f"{tmp_path}/venv",
    ]
    assert prune[:2] == ["python3.11", "-c"] and f"{tmp_path}/venv/lib/python3.11/site-packages" in prune[2]
    (_, agent_install), _ = image_build_steps(Path("/dist/deps.pex"), tmp_path / "venv", compile=False)
    assert "--compile" not in agent_install  # an agent image compiles only what its start imports


def test_files_map_to_the_modules_an_import_names() -> None:
    assert module_name(Path("scipy/stats/_stats.cpython-311-x86_64-linux-gnu.so")) == "scipy.stats._stats"
    assert module_name(Path("scipy/stats/__init__.py")) == "scipy.stats"
    assert module_name(Path("numpy/linalg/linalg.pyi")) == "numpy.linalg.linalg"


def test_the_closure_follows_requirements_but_not_extras(tmp_path: Path) -> None:
    for name, requires in {
        "app": ["lib>=1", "extra-only; extra == 'dev'"],
        "lib": ["Base_Pkg (>=2)"],
        "base-pkg": [],
        "extra-only": [],
    }.items():
        info = tmp_path / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("".join(f"Requires-Dist: {line}\n" for line in requires))
    assert requirement_names("Requires-Dist: Base_Pkg (>=2)\nRequires-Dist: x; extra == 'a'\n") == [
        "base-pkg"
    ]
    assert closure(tmp_path, ["app"]) == {"app", "lib", "base-pkg"}


def test_a_layer_counts_a_hard_linked_file_once_and_a_link_not_at_all(tmp_path: Path) -> None:
    (tmp_path / "a.so").write_bytes(b"x" * 1000)
    (tmp_path / "b.so").hardlink_to(tmp_path / "a.so")
    (tmp_path / "c.py").symlink_to(tmp_path / "a.so")
    (tmp_path / "d.py").write_bytes(b"y" * 24)
    assert tree_bytes(tmp_path) == 1024


def test_an_export_that_answers_differently_is_not_a_way() -> None:
    assert faithful({"converted": True, "within_tolerance": True, "max_abs_diff": 3e-7, "max_rel_diff": 1.0})
    assert not faithful({"converted": True, "within_tolerance": False, "max_abs_diff": 2.25})
    assert not faithful({"converted": False, "error": "TypeError"})
