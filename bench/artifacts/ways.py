"""What each way to a smaller agent image saves, measured on both sides of the 35% ratio.

    python3 bench/artifacts/ways.py [--no-build] [--no-onnx-check]   (after bench/artifacts/run.py)

bench/artifacts/run.py measures each agent image against the monolith, with a 35% target. This
measures each further way out named in the analysis, on the environment each image actually
installs: the requirements PEX turned into a venv by the images' own build steps (``deps_venv`` in
pants-plugins/macros.py, read from there: wheels' test suites removed; every module compiled for the
monolith, and for agent2 only the modules whose bytecode its built image holds, those its start
imports: libs/serving/bytecode.py).
Each way is applied to a copy of that venv and the copy measured as Docker counts a layer (apparent
bytes, a hard-linked file once); the projected image is the measured image (results/artifacts.json)
less the bytes the way saved, so both sides of the ratio move by what was measured, not assumed:

  strip symbols:        ``strip --strip-unneeded`` on every ELF file (both images);
  no bytecode:          the venv without ``__pycache__`` (both images; every start then compiles);
  serving imports only: agent2 keeps only the scipy, numpy and scikit-learn modules its serving path
                        imports (the service module, the champion's load and a predict, probed in
                        agent2's own serve.pex); the monolith trains too, so it keeps them all;
  ONNX runtime:         agent2 without scikit-learn, skops and everything only they need, with
                        onnxruntime and its requirements from PyPI instead (the model served as an
                        ONNX export); the monolith keeps scikit-learn for training.

With the ONNX way, every agent's champion is converted with skl2onnx in a scratch venv (PyPI, the
agents' own scikit-learn version) and the export's predictions compared with the estimator's: a way
that does not convert today's champions, or whose export answers differently, is not a way yet. Toy
trees with and without agent2's Poisson loss and categorical features say which choice the converter
gets wrong. Writes bench/results/image_ways.{md,json}.
Needs ``strip`` (binutils) and, for the ONNX way, PyPI. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import commands  # noqa: E402
from bench.report import results_dir, write_results  # noqa: E402
from libs.serving import bytecode  # noqa: E402

MIB = 1024**2
TARGET_SHARE = 0.35
SITE = Path("lib/python3.11/site-packages")
AGENT2_DEPS, AGENT2_SERVE = "agents.agent2/serve-deps.pex", "agents.agent2/serve.pex"
AGENT2_IMAGE = "mlops/agent2:latest"  # built by bench/artifacts/run.py
MONOLITH_DEPS = "bench.artifacts/monolith-deps.pex"
IMAGE_VENV = "/app/venv"
# The packages whose unimported modules the serving-imports way drops: the numeric stack, which is
# most of agent2's image. Everything else (BentoML's server, pydantic, ...) stays whole.
PRUNED_PACKAGES = ("scipy", "numpy", "sklearn")
# What the model needs only for scikit-learn's sake, once the model is an ONNX export.
MODEL_STACK = {"scikit-learn", "skops"}
ONNX_SERVING = ("onnxruntime",)
# skl2onnx 1.20 hands protobuf numpy booleans where a tree's attributes want ints, which protobuf 7
# refuses ("Expected an int, got a boolean"): every tree model fails to convert under it.
ONNX_CONVERTING = ("onnxruntime", "skl2onnx", "skops", "protobuf<7")
# An export serves the model only if it answers as the estimator does, within float32's error:
# |export - estimator| <= EXPORT_TOLERANCE * (1 + |estimator|) for every answer (absolute near 0,
# relative elsewhere, so a probability of 1e-11 read as 0 is not a failure).
EXPORT_TOLERANCE = 1e-4
SERVING_PROBE = """
import json, sys
import numpy as np
from pathlib import Path
import services.agent2.service
from agents.agent2.model import FEATURES
from libs.modelfiles.bundle import read_champion_bundle
model = read_champion_bundle(Path(sys.argv[1])).model
model.predict(np.zeros((28, len(FEATURES))))
print(json.dumps(sorted(sys.modules)))
"""


def image_build_steps(pex: Path, venv: Path, compile: bool = True) -> list[tuple[dict[str, str], list[str]]]:
    """The RUN lines of an image's requirements layer, pointed at ``pex`` and ``venv``: every module
    compiled (the monolith's) or none (an agent's, before its start's bytecode is added)."""
    lines = runpy.run_path(str(ROOT / "pants-plugins" / "macros.py"))["deps_venv"](compile)
    env: dict[str, str] = {}
    steps = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        if keyword == "ENV":
            name, _, value = rest.partition("=")
            env[name] = value
        elif keyword == "RUN":
            argv = [
                part.replace("/deps.pex", str(pex)).replace(IMAGE_VENV, str(venv))
                for part in json.loads(rest)
            ]
            steps.append((dict(env), argv))
    return steps


def install_like_image(pex: Path, venv: Path, compile: bool = True) -> None:
    for env, argv in image_build_steps(pex, venv, compile):
        subprocess.run(argv, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)


# Lists the venv modules whose bytecode agent2's image holds: the ones its start imported.
IMAGE_BYTECODE = (
    "import pathlib, sys; site = pathlib.Path(sys.argv[1]);"
    " [print(path.relative_to(site)) for path in sorted(site.rglob('__pycache__/*.pyc'))]"
)


def compile_as_agent_image(venv: Path, repository: str) -> None:
    """Gives the scratch venv the bytecode the built image has (libs/serving/bytecode.py), no more."""
    listed = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            f"{IMAGE_VENV}/bin/python",
            repository,
            "-c",
            IMAGE_BYTECODE,
            f"{IMAGE_VENV}/{SITE}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    site = venv / SITE  # the project's own sources are not in this venv: compile_into skips them
    bytecode.compile_into((bytecode.source_of(site / relative) for relative in listed), Path(site.anchor))


def tree_bytes(folder: Path) -> int:
    """Apparent bytes of every regular file, a hard-linked one once: what a layer's tar holds."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in folder.rglob("*"):
        info = path.lstat()
        if path.is_symlink() or not path.is_file() or (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        total += info.st_size
    return total


def strip_symbols(venv: Path) -> None:
    elves = [path for path in venv.rglob("*") if path.is_file() and not path.is_symlink() and is_elf(path)]
    for start in range(0, len(elves), 200):
        subprocess.run(["strip", "--strip-unneeded", *map(str, elves[start : start + 200])], check=True)


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def drop_bytecode(venv: Path) -> None:
    for cache in sorted(venv.rglob("__pycache__")):
        shutil.rmtree(cache)


def module_name(relative: Path) -> str:
    """``scipy/stats/_stats.cpython-311-x86_64-linux-gnu.so`` -> ``scipy.stats._stats``."""
    parts = [*relative.parts[:-1], relative.name.split(".")[0]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def keep_imported(venv: Path, imported: set[str]) -> None:
    site = venv / SITE
    for package in PRUNED_PACKAGES:
        for path in sorted((site / package).rglob("*")):
            relative = path.relative_to(site)
            if path.suffix in {".py", ".so", ".pyi"} and module_name(relative) not in imported:
                path.unlink()
                compiled = path.parent / "__pycache__"
                for pyc in compiled.glob(f"{path.name.split('.')[0]}.*.pyc") if compiled.is_dir() else ():
                    pyc.unlink()


def requirement_names(metadata: str) -> list[str]:
    """The distributions a METADATA file requires, extras' requirements left out."""
    names = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            names.append(canonical(re.split(r"[\s;<>=!~\[(]", line.split(":", 1)[1].strip(), maxsplit=1)[0]))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(site: Path) -> dict[str, Path]:
    return {canonical(info.name.split("-")[0]): info for info in site.glob("*.dist-info")}


def closure(site: Path, roots: Iterable[str]) -> set[str]:
    found = distributions(site)
    needed: set[str] = set()
    todo = [canonical(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in needed or name not in found:
            continue
        needed.add(name)
        todo += requirement_names((found[name] / "METADATA").read_text(encoding="utf-8"))
    return needed


def record_paths(site: Path, info: Path) -> list[Path]:
    rows = (line.split(",")[0] for line in (info / "RECORD").read_text(encoding="utf-8").splitlines())
    return [site / row for row in rows if row]


def remove_distribution(site: Path, info: Path) -> None:
    for path in record_paths(site, info):
        if path.is_file() or path.is_symlink():
            path.unlink()
        compiled = path.parent / "__pycache__"
        if path.suffix == ".py" and compiled.is_dir():
            for pyc in compiled.glob(f"{path.stem}.*.pyc"):
                pyc.unlink()
    shutil.rmtree(info, ignore_errors=True)
    for folder in sorted(
        {p for p in site.rglob("*") if p.is_dir()}, key=lambda p: len(p.parts), reverse=True
    ):
        if not any(folder.iterdir()):
            folder.rmdir()


def model_stack_only(site: Path, roots: list[str]) -> list[str]:
    """The distributions only scikit-learn and skops need: what an ONNX-served image drops."""
    kept = closure(site, [root for root in roots if canonical(root) not in MODEL_STACK])
    return sorted(set(distributions(site)) - kept)


def swap_for_onnx(venv: Path, roots: list[str], onnx_site: Path) -> None:
    """agent2's venv serving an ONNX export: the model stack out, onnxruntime in."""
    site = venv / SITE
    for name in model_stack_only(site, roots):
        remove_distribution(site, distributions(site)[name])
    present = set(distributions(site))
    for name in sorted(closure(onnx_site, ONNX_SERVING) - present):
        info = distributions(onnx_site)[name]
        for path in [*record_paths(onnx_site, info), *info.rglob("*")]:
            if path.is_file():
                target = site / path.relative_to(onnx_site)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "compileall", "-q", str(site)], check=True, stdout=subprocess.DEVNULL
    )  # as --compile


def pex_roots(pex: Path) -> list[str]:
    with zipfile.ZipFile(pex) as archive:
        requirements = json.loads(archive.read("PEX-INFO"))["requirements"]
    return [re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0] for requirement in requirements]


def serving_imports(serve_pex: Path) -> set[str]:
    champion = ROOT / "agents" / "agent2" / "champion"
    output = subprocess.run(
        ["python3.11", str(serve_pex), "-c", SERVING_PROBE, str(champion)],
        env={**os.environ, **commands.TELEMETRY_OFF, "PEX_INTERPRETER": "1"},
        cwd=tempfile.gettempdir(),  # the PEX's own sources, not the checkout's
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(output.strip().splitlines()[-1]))


def onnx_venv(scratch: Path, sklearn_version: str, numpy_version: str) -> Path:
    """A scratch venv with onnxruntime, skl2onnx and the agents' own scikit-learn and numpy."""
    venv = scratch / "onnx-venv"
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    pins = [f"scikit-learn=={sklearn_version}", f"numpy=={numpy_version}"]
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *ONNX_CONVERTING, *pins],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return venv


CONVERSION = """
import json, sys, traceback
from pathlib import Path
import numpy as np, skops.io
from skl2onnx import to_onnx
import onnxruntime
path, TOLERANCE = Path(sys.argv[1]), float(sys.argv[2])
model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
result = {"estimator": type(model).__name__}
try:
    if not hasattr(model, "n_features_in_"):
        raise TypeError("a project estimator, not one skl2onnx has a converter for")
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(512, model.n_features_in_)).astype(np.float32)
    X[:, :2] = rng.integers(0, 5, size=(512, 2))
    export = to_onnx(model, X[:1], target_opset={"": 18, "ai.onnx.ml": 3})
    session = onnxruntime.InferenceSession(export.SerializeToString(), providers=["CPUExecutionProvider"])
    method = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    want = np.asarray(getattr(model, method)(X.astype(np.float64)), dtype=np.float64)
    outputs = session.run(None, {session.get_inputs()[0].name: X})
    raw = outputs[-1] if method == "predict_proba" else outputs[0]
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):  # a classifier's ZipMap output
        raw = [[row[key] for key in sorted(row)] for row in raw]
    got = np.asarray(raw, dtype=np.float64)
    difference = np.abs(got.reshape(want.shape) - want)
    relative = difference / np.maximum(np.abs(want), 1e-12)
    within = bool(np.all(difference <= TOLERANCE * (1.0 + np.abs(want))))
    result.update(
        converted=True,
        within_tolerance=within,
        max_abs_diff=float(difference.max()),
        max_rel_diff=float(relative.max()),
    )
except Exception as failure:
    text = traceback.format_exception_only(type(failure), failure)[-1].strip().splitlines()[0]
    result.update(converted=False, error=text[:160])
print(json.dumps(result))
"""


TREE_VARIANTS = """
import json
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from skl2onnx import to_onnx
import onnxruntime
rng = np.random.default_rng(0)
X = np.column_stack([rng.integers(0, 3, 500), rng.integers(0, 5, 500), rng.normal(size=(500, 3))])
y = np.exp(0.3 * X[:, 2]) + X[:, 0]
found = {}
for loss in ("squared_error", "poisson"):
    for categorical in (None, [0, 1]):
        model = HistGradientBoostingRegressor(loss=loss, categorical_features=categorical, max_iter=20)
        model.fit(X, y)
        export = to_onnx(model, X[:1].astype(np.float32), target_opset={"": 18, "ai.onnx.ml": 3})
        session = onnxruntime.InferenceSession(export.SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0].ravel()
        want = model.predict(X)
        label = loss + (" with categorical features" if categorical else "")
        found[label] = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)))
print(json.dumps(found))
"""


def tree_variants(venv: Path) -> dict[str, float]:
    """Which of agent2's model choices the converter gets wrong: toy trees with and without its
    Poisson loss and categorical features, each export's largest relative difference."""
    output = subprocess.run(
        [str(venv / "bin" / "python"), "-c", TREE_VARIANTS], capture_output=True, text=True, check=False
    )
    lines = output.stdout.strip().splitlines()
    if not lines:
        print(f"  toy trees not converted: {output.stderr.strip()[-300:]}", flush=True)
        return {}
    return {str(label): float(value) for label, value in json.loads(lines[-1]).items()}


def faithful(result: dict[str, object]) -> bool:
    """A conversion that serves the model: every answer of the export within ``EXPORT_TOLERANCE``."""
    return bool(result.get("converted")) and result.get("within_tolerance") is True


def convert_champions(venv: Path) -> dict[str, dict[str, object]]:
    found = {}
    for agent in ("agent1", "agent2", "agent3"):
        champion = ROOT / "agents" / agent / "champion" / "model.skops"
        output = subprocess.run(
            [str(venv / "bin" / "python"), "-c", CONVERSION, str(champion), str(EXPORT_TOLERANCE)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # agent1's estimator class lives in its folder
            capture_output=True,
            text=True,
            check=False,
        )
        lines = output.stdout.strip().splitlines()
        failed = {"estimator": "?", "converted": False, "error": output.stderr.strip()[-160:]}
        found[agent] = json.loads(lines[-1]) if lines else failed
    return found


def version_in(site: Path, distribution: str) -> str:
    info = distributions(site)[canonical(distribution)]
    return info.name.removesuffix(".dist-info").split("-")[1]


def measured_images() -> dict[str, float]:
    rows = json.loads((results_dir() / "artifacts.json").read_text(encoding="utf-8"))["rows"]
    return {str(row["artifact"]): float(row["image MiB"]) for row in rows}


def measure(base: Path, scratch: Path, name: str, way: Callable[[Path], object]) -> int:
    """The bytes of a copy of ``base`` once ``way`` has changed it."""
    copy = scratch / name
    shutil.copytree(base, copy, symlinks=True)
    way(copy)
    size = tree_bytes(copy)
    shutil.rmtree(copy)
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-build", action="store_true", help="use the PEXes already in dist/")
    parser.add_argument("--no-onnx-check", action="store_true", help="skip converting the champions")
    args = parser.parse_args(argv)
    if shutil.which("strip") is None:
        raise SystemExit("`strip` not found: install binutils")
    if not args.no_build:
        commands.run(
            ROOT,
            "./pants",
            "package",
            "agents/agent2:serve-deps",
            "agents/agent2:serve",
            "bench/artifacts:monolith-deps",
        )
    images = measured_images()
    dist = ROOT / "dist"
    with tempfile.TemporaryDirectory(prefix="bench-image-ways-") as temporary:
        scratch = Path(temporary)
        bases = {"agent2": scratch / "agent2-venv", "monolith": scratch / "monolith-venv"}
        install_like_image(dist / AGENT2_DEPS, bases["agent2"], compile=False)
        compile_as_agent_image(bases["agent2"], AGENT2_IMAGE)
        install_like_image(dist / MONOLITH_DEPS, bases["monolith"])
        # Through the same copy as every way, so a way's saving is never the copy's own doing.
        base_bytes = {
            side: measure(venv, scratch, f"{side}-as-built", lambda _: None) for side, venv in bases.items()
        }
        site = bases["agent2"] / SITE
        onnx = onnx_venv(scratch, version_in(site, "scikit-learn"), version_in(site, "numpy"))
        onnx_site = next((onnx / "lib").glob("python3*/site-packages"))
        imported = serving_imports(dist / AGENT2_SERVE)
        roots = pex_roots(dist / AGENT2_DEPS)

        def swap_onnx(venv: Path) -> None:
            swap_for_onnx(venv, roots, onnx_site)

        ways: list[tuple[str, dict[str, Callable[[Path], object]]]] = [
            ("strip symbols", {"agent2": strip_symbols, "monolith": strip_symbols}),
            ("no bytecode", {"agent2": drop_bytecode, "monolith": drop_bytecode}),
            ("serving imports only", {"agent2": lambda venv: keep_imported(venv, imported)}),
            ("ONNX runtime", {"agent2": swap_onnx}),
            (
                "ONNX runtime + strip symbols",
                {
                    "agent2": lambda venv: [way(venv) for way in (swap_onnx, strip_symbols)],
                    "monolith": strip_symbols,
                },
            ),
        ]
        dropped = model_stack_only(site, roots)
        rows = [row_for("as built (baseline)", images, {})]
        for label, per_side in ways:
            saved = {}
            for side, way in per_side.items():
                size = measure(bases[side], scratch, f"{side}-{len(rows)}", way)
                saved[side] = base_bytes[side] - size
                print(
                    f"  {label}: {side} venv {base_bytes[side] / MIB:.1f} -> {size / MIB:.1f} MiB", flush=True
                )
            rows.append(row_for(label, images, saved))
        conversions = {} if args.no_onnx_check else convert_champions(onnx)
        variants = {} if args.no_onnx_check else tree_variants(onnx)
        tools = {name: version_in(onnx_site, name) for name in ("onnxruntime", "skl2onnx", "onnx")}
    write(rows, base_bytes, dropped, conversions, tools, variants)
    return 0


def row_for(label: str, images: dict[str, float], saved: dict[str, int]) -> dict[str, object]:
    agent2 = images["agent2"] - saved.get("agent2", 0) / MIB
    monolith = images["monolith (everything)"] - saved.get("monolith", 0) / MIB
    share = agent2 / monolith
    return {
        "way": label,
        "applied to": " and ".join(saved),
        "agent2 saves MiB": round(saved.get("agent2", 0) / MIB, 1),
        "monolith saves MiB": round(saved.get("monolith", 0) / MIB, 1),
        "agent2 image MiB": round(agent2, 1),
        "monolith image MiB": round(monolith, 1),
        "agent2 / monolith": round(share, 3),
        "target 35%": "met" if share <= TARGET_SHARE else "MISSED",
    }


def write(
    rows: list[dict[str, object]],
    base_bytes: dict[str, int],
    dropped: list[str],
    conversions: dict[str, dict[str, object]],
    tools: dict[str, str],
    variants: dict[str, float],
) -> None:
    converted = "; ".join(
        f"{agent} ({result['estimator']}): "
        + (
            (
                f"converts, predictions within {result['max_abs_diff']:.2g}"
                if faithful(result)
                else f"converts, but the export answers WRONG (off by up to {result['max_abs_diff']:.3g},"
                f" {result.get('max_rel_diff', 0.0):.0%} of the estimator's answer)"
            )
            if result.get("converted")
            else f"does NOT convert ({result.get('error', '')})"
        )
        for agent, result in conversions.items()
    )
    notes = [
        "Each way on a copy of the venv the image's requirements layer holds, built by the images' own"
        f" steps (deps_venv in pants-plugins/macros.py): agent2 {base_bytes['agent2'] / MIB:.1f} MiB (no"
        " bytecode, then the bytecode its built image holds: the modules its start imports), the monolith"
        f" {base_bytes['monolith'] / MIB:.1f} MiB (every module compiled, as pip leaves it). Image MiB:"
        " bench/results/artifacts.json's measured image less the bytes saved (projected, not built).",
        "strip symbols and no bytecode apply to any image, so both sides shrink; serving imports only and"
        " the ONNX runtime apply to the agent images only: the monolith also trains, which needs every"
        " module of scikit-learn and scipy.",
        "no bytecode makes every container start compile its imports (the images run with"
        " PYTHONDONTWRITEBYTECODE on a read-only root).",
        "serving imports only: modules probed in-process (agent2's service module, its champion's load and"
        " one predict); a module imported only on a path the probe missed would fail in production, so"
        " this way needs the image tests to cover every path first.",
        f"ONNX runtime drops {', '.join(dropped) or 'nothing'} and adds onnxruntime"
        f" {tools['onnxruntime']} with what it requires (from PyPI).",
    ]
    if conversions:
        notes.append(
            f"skl2onnx {tools['skl2onnx']} (onnx {tools['onnx']}) on today's champions: {converted}."
        )
    if variants:
        answers = ", ".join(f"{label} {difference:.2g}" for label, difference in variants.items())
        notes.append(
            "The same converter on toy gradient-boosted trees, built as agent2's are or not (largest"
            " relative difference of the export's answers; their answers are 1 to 10, far from 0):"
            f" {answers}."
        )
    write_results(
        "image_ways",
        "Ways to a smaller agent image: what each saves, on both sides of the ratio",
        list(rows[0]),
        rows,
        notes=notes,
        extra={"conversions": conversions, "tree_variants": variants},
    )


if __name__ == "__main__":
    raise SystemExit(main())
