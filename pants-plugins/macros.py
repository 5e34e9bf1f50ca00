# BUILD-file macros (loaded by [GLOBAL].build_file_prelude_globs in pants.toml).

# Every agent's resolve, in one place: shared libs build in each (`parametrize(*AGENT_RESOLVES)`) and
# 3rdparty/python/BUILD declares each one's requirements. `./pants run :new-agent` appends here
# (one quoted name per line, keep the shape); a tuple, since prelude symbols must be hashable.
AGENT_RESOLVES = (
    "agent1",
    "agent2",
    "agent3",
)


# Every build step runs Python in exec form, never a shell: the local base image has none
# (.ci/runtime_rootfs.py), and python:3.11-slim works the same way.
def python_step(code):
    """A Dockerfile RUN line executing `code` with the base image's python3.11.

    Docker reads an exec-form line as JSON and silently falls back to a shell when it is not, so
    `code` may hold neither double quotes nor backslashes.
    """
    if '"' in code or "\\" in code:
        raise ValueError(f"python_step code must not contain double quotes or backslashes: {code}")
    return f'RUN ["python3.11", "-c", "{code}"]'


def pex_venv(pex, scope, compile=True):
    """RUN lines installing one PEX's `scope` (deps or srcs) as the venv /app/venv, with every
    module's bytecode when `compile`."""
    flags = ', "--compile"' if compile else ""
    return (
        "ENV PEX_TOOLS=1",
        f'RUN ["python3.11", "{pex}", "venv", "--scope={scope}"{flags}, "/app/venv"]',
    )


# Removes the test suites that wheels ship inside their packages (pandas' alone is 46 MiB); a service
# never imports them.
REMOVE_WHEEL_TESTS = python_step(
    "import pathlib, shutil;"
    " found = sorted(pathlib.Path('/app/venv/lib/python3.11/site-packages').glob('*/**/tests'));"
    " [shutil.rmtree(path) for path in found if path.is_dir() and not path.is_symlink()]"
)


def deps_venv(compile):
    """An image's third-party layer: its requirements PEX installed as a venv, less wheels' tests."""
    return (*pex_venv("/deps.pex", "deps", compile=compile), REMOVE_WHEEL_TESTS)


# Every module compiled, as `pip install` leaves a venv: the monolith's layer (bench/artifacts).
# Spelled out rather than deps_venv(compile=True): a prelude function cannot call another while the
# prelude loads.
INSTALL_DEPS_VENV = (*pex_venv("/deps.pex", "deps", compile=True), REMOVE_WHEEL_TESTS)
# Every service's environment, at build time (the bytecode step) and in the image.
SERVICE_ENV = (
    "ENV DO_NOT_TRACK=true BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true DVC_NO_ANALYTICS=1"
    " HOME=/tmp BENTOML_HOME=/tmp/bentoml MLOPS_CHAMPION_DIR=/app/champion MLOPS_LOG_FORMAT=json"
)
# The one place a service writes (prediction logs, under MLOPS_HOME), owned by the service's user.
STATE_DIR = "/var/lib/mlops"
MAKE_STATE_DIR = python_step(
    f"import os; os.makedirs('{STATE_DIR}', exist_ok=True); os.chown('{STATE_DIR}', 65532, 65532)"
)


def serving_image(
    *,
    directory,
    service,
    resolve,
    dependencies,
    repository,
    bundle=None,
    model_card=None,
    port=3000,
    image_dependencies=(),
):
    """A BentoML service as a layered Docker image built from PEXes, not `bentoml containerize`.

    Two PEXes of the same service: third-party requirements only, and the project's sources only.
    Each becomes a venv in its own build stage, so a code change rebuilds one thin layer and the
    requirements layer stays cached. An agent's requirements are installed without bytecode; another
    stage starts the service once and compiles the modules its start imported (libs/serving/bytecode.py),
    23 MiB less than compiling every module, for agent2. A complete PEX (`:serve`) runs the service
    outside Docker.
    `bundle` names a `files` target with the champion bundle, copied to /app/champion;
    `model_card` a `file` target with the agent's README, copied to /app/MODEL_CARD.md.
    """
    prefix = directory.replace("/", ".")
    common = dict(
        entry_point="bentoml_cli.cli:cli",  # the `bentoml` command; a script name would not resolve in the sources-only PEX
        resolve=resolve,
        # An agent image's bytecode step runs from its sources: nothing the service imports names it.
        dependencies=[*dependencies, *([f"libs/serving:image-build@resolve={resolve}"] if bundle else [])],
        execution_mode="venv",
        include_tools=True,
    )
    pex_binary(name="serve", **common)
    pex_binary(name="serve-deps", include_sources=False, **common)
    pex_binary(name="serve-srcs", include_requirements=False, **common)
    bundle_lines = []
    if bundle:
        bundle_lines = [
            f"COPY {directory}/champion/ /app/champion/",
            python_step(
                "import pathlib, sys; bundle = pathlib.Path('/app/champion');"
                " all((bundle / name).is_file() for name in ('model.skops', 'champion.json'))"
                " or sys.exit('no champion bundle: run ./lifecycle (or dvc repro) before packaging')"
            ),
        ]
    card_lines = [f"COPY {directory}/README.md /app/MODEL_CARD.md"] if model_card else []
    # An agent starts on its own once its champion is in: the image build starts it once to learn what
    # it imports (libs/serving/bytecode.py). The coordinator cannot start without its agents, so its
    # requirements keep every module's bytecode.
    probe_start = bool(bundle)
    probe_lines = []
    if probe_start:
        probe_lines = [
            "FROM deps AS bytecode",
            "COPY --from=srcs /app/venv /app/venv",
            *bundle_lines,
            f"{SERVICE_ENV} MLOPS_HOME=/tmp/mlops",
            'RUN ["/app/venv/bin/python", "-m", "libs.serving.bytecode", "--venv", "/app/venv", "--out",'
            f' "/bytecode", "--port", "{port}", "--", "/app/venv/pex", "serve", "{service}", "--host",'
            f' "127.0.0.1", "--port", "{port}"]',
        ]
    docker_image(
        name="image",
        repository=repository,
        image_tags=["latest"],
        dependencies=[":serve-deps", ":serve-srcs", *image_dependencies]
        + [target for target in (bundle, model_card) if target],
        instructions=[
            "ARG BASE_IMAGE=python:3.11-slim",
            "FROM ${BASE_IMAGE} AS deps",
            f"COPY {prefix}/serve-deps.pex /deps.pex",
            *deps_venv(compile=not probe_start),
            "FROM ${BASE_IMAGE} AS srcs",
            f"COPY {prefix}/serve-srcs.pex /srcs.pex",
            *pex_venv("/srcs.pex", "srcs"),
            *probe_lines,
            "FROM ${BASE_IMAGE}",
            f"{SERVICE_ENV} MLOPS_HOME={STATE_DIR} PYTHONDONTWRITEBYTECODE=1",
            "COPY --from=deps /app/venv /app/venv",
            *(["COPY --from=bytecode /bytecode/ /"] if probe_start else []),
            "COPY --from=srcs /app/venv /app/venv",
            *bundle_lines,
            *card_lines,
            # The root filesystem can be read-only: `docker run --read-only --tmpfs /tmp` gets a volume here.
            MAKE_STATE_DIR,
            f'VOLUME ["{STATE_DIR}"]',
            # A numeric user needs no passwd entry, so any base image works.
            "USER 65532:65532",
            f"EXPOSE {port}",
            "HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD"
            ' ["/app/venv/bin/python", "-c",'
            f" \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/readyz', timeout=2)\"]",
            'ENTRYPOINT ["/app/venv/pex"]',
            f'CMD ["serve", "{service}", "--host", "0.0.0.0", "--port", "{port}"]',
        ],
    )


def agent(*, name, service_class):
    """Every target of one agent folder: its code and tests in its own resolve, the pipeline
    program its DVC stages run, its champion bundle and its serving image.

    `agents/<name>:pipeline` runs as `pipelines/stage agents/<name>:pipeline <stage>`;
    `./pants package agents/<name>:image` builds the image serving
    `services/<name>/service.py:<service_class>`.
    """
    directory = f"agents/{name}"
    config = f"pipelines/{name}:config"  # dvc.yaml and params.yaml: a change there is a change to this agent
    runner = "pipelines:stage"  # every stage runs through it
    python_sources(name=name, resolve=name, dependencies=[":sql"])
    python_tests(name="tests", resolve=name, dependencies=[config])
    resources(name="sql", sources=["*.sql"])
    # What this agent's dvc.yaml hashes, as files its end-to-end pipeline test copies.
    files(name="pipeline-inputs", sources=["*.py", "*.sql"])
    pex_binary(
        name="pipeline",
        entry_point="__main__.py",
        resolve=name,
        execution_mode="venv",
        dependencies=[config, runner],
    )
    # The drift monitor over the service's prediction logs: `./pants run agents/<name>:monitor`.
    pex_binary(name="monitor", entry_point="monitor.py", resolve=name, execution_mode="venv", dependencies=[config])
    # A real model trained in seconds, bundled like the export stage: for the services' tests.
    pex_binary(name="tiny-champion", entry_point="tiny_champion.py", resolve=name, execution_mode="venv")
    # The champion bundle the export stage writes (DVC outputs, git-ignored, visible to Pants).
    files(name="champion", sources=["champion/*"])
    # The model card: what the model is, how it is evaluated and gated. Shipped in the image.
    file(name="model-card", source="README.md")
    serving_image(
        directory=directory,
        service=f"services.{name}.service:{service_class}",
        resolve=name,
        dependencies=[f"services/{name}/service.py"],
        repository=f"mlops/{name}",
        bundle=":champion",
        model_card=":model-card",
        image_dependencies=[config],
    )
