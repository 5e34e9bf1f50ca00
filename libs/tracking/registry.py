"""The model registry as the pipelines use it: versions, ``champion`` and ``shadow`` aliases, promotion
and rollback.

The ``shadow`` alias names a challenger that passed the gate but is only scored beside the champion
(never answering) until someone approves it; a version is never both champion and shadow.

Promotion records the champion it replaced on the new version (tag ``previous_champion``), so a
rollback knows where to go without any state outside the registry; each rollback steps back one
promotion. The registered model's ``champion_history`` tag lists champions in order, for people.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from libs.settings import Settings
from libs.tracking.errors import ModelNotFoundError, RegistrationError, RollbackError
from libs.tracking.lineage import TAG_PREFIX
from libs.tracking.models import load_sklearn_model
from libs.tracking.uris import client_for, pointed_at, resolve_settings

CHAMPION_ALIAS = "champion"
SHADOW_ALIAS = "shadow"
PREVIOUS_CHAMPION_TAG = "previous_champion"
ROLLED_BACK_TAG = "rolled_back"
HISTORY_TAG = "champion_history"
HISTORY_LIMIT = 100
_POLL_S = 0.2


def _is_not_found(error: MlflowException) -> bool:
    return error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def registered_model(client: MlflowClient, name: str) -> RegisteredModel:
    try:
        return client.get_registered_model(name)
    except MlflowException as error:
        if _is_not_found(error):
            raise ModelNotFoundError(f"registered model '{name}' does not exist") from error
        raise


def model_version(client: MlflowClient, name: str, version: str | int) -> ModelVersion:
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as error:
        if _is_not_found(error):
            raise ModelNotFoundError(f"model '{name}' has no version {version}") from error
        raise


def _aliased(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        version = registered_model(client, name).aliases.get(alias)
    except ModelNotFoundError:
        return None
    return None if version is None else model_version(client, name, version)


def version_or_champion(client: MlflowClient, name: str, version: str | None) -> ModelVersion:
    """The named version, or the champion when none is named; an unknown model says it is unknown."""
    if version is not None:
        return model_version(client, name, version)
    registered_model(client, name)
    found = current_champion(client, name)
    if found is None:
        raise ModelNotFoundError(f"'{name}' has no champion yet; name a version with --version")
    return found


def current_champion(client: MlflowClient, name: str) -> ModelVersion | None:
    return _aliased(client, name, CHAMPION_ALIAS)


def current_shadow(client: MlflowClient, name: str) -> ModelVersion | None:
    return _aliased(client, name, SHADOW_ALIAS)


def model_versions(name: str, *, settings: Settings | None = None) -> list[ModelVersion]:
    """Every version of the model, newest first."""
    client = client_for(settings)
    registered_model(client, name)
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    versions: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(f"name = '{escaped}'", page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            return sorted(versions, key=lambda found: int(found.version), reverse=True)


def _model_uri(client: MlflowClient, run: Run, artifact_path_or_model_uri: str) -> str:
    """MLflow 3 keeps logged models apart from run artifacts; a bare path names one of the run's models."""
    if urlparse(artifact_path_or_model_uri).scheme:
        return artifact_path_or_model_uri
    path = artifact_path_or_model_uri.strip("/")
    for output in run.outputs.model_outputs if run.outputs else []:
        if client.get_logged_model(output.model_id).name == path:
            return f"models:/{output.model_id}"
    return f"runs:/{run.info.run_id}/{path}"


def await_ready(client: MlflowClient, name: str, version: str | int, *, timeout_s: float) -> ModelVersion:
    deadline = time.monotonic() + timeout_s
    while True:
        found = model_version(client, name, version)
        status = ModelVersionStatus.from_string(found.status)
        if status == ModelVersionStatus.READY:
            return found
        if status == ModelVersionStatus.FAILED_REGISTRATION:
            raise RegistrationError(f"{name} v{version} failed to register: {found.status_message}")
        if time.monotonic() > deadline:
            raise RegistrationError(f"{name} v{version} still {found.status} after {timeout_s:g}s")
        time.sleep(_POLL_S)


def register_model(
    run_id: str,
    artifact_path_or_model_uri: str,
    name: str,
    *,
    settings: Settings | None = None,
    timeout_s: float = 300.0,
) -> ModelVersion:
    """A new READY version; the run's lineage tags are copied onto it so the registry shows them."""
    resolved = resolve_settings(settings)
    client = client_for(resolved)
    run = client.get_run(run_id)
    lineage = {key: value for key, value in run.data.tags.items() if key.startswith(TAG_PREFIX)}
    model_uri = _model_uri(client, run, artifact_path_or_model_uri)
    with pointed_at(resolved):
        created = mlflow.register_model(model_uri, name, await_registration_for=0, tags=lineage)
    return await_ready(client, name, created.version, timeout_s=timeout_s)


def champion(name: str, *, settings: Settings | None = None) -> ModelVersion | None:
    """None before the first promotion, and for a model that was never registered."""
    return current_champion(client_for(settings), name)


def shadow(name: str, *, settings: Settings | None = None) -> ModelVersion | None:
    """The version scored beside the champion, or None when nothing is in shadow."""
    return current_shadow(client_for(settings), name)


def set_shadow(name: str, version: str | int, *, settings: Settings | None = None) -> ModelVersion:
    """Puts ``version`` in shadow, replacing any earlier shadow; the champion cannot be its own shadow."""
    client = client_for(settings)
    target = model_version(client, name, version)
    current = current_champion(client, name)
    if current is not None and str(current.version) == str(target.version):
        raise ValueError(f"v{target.version} is the champion of '{name}'; it cannot also be its shadow")
    client.set_registered_model_alias(name, SHADOW_ALIAS, str(target.version))
    return model_version(client, name, target.version)


def clear_shadow(name: str, *, settings: Settings | None = None) -> ModelVersion | None:
    """Removes the ``shadow`` alias; returns the version it named, None if there was none."""
    client = client_for(settings)
    current = current_shadow(client, name)
    if current is not None:
        client.delete_registered_model_alias(name, SHADOW_ALIAS)
    return current


def load_champion_model(name: str, *, settings: Settings | None = None) -> object | None:
    """The champion's scikit-learn estimator (see ``models``), so callers can score it on their data."""
    resolved = resolve_settings(settings)
    found = champion(name, settings=resolved)
    return None if found is None else load_sklearn_model(name, found.version, settings=resolved)


def _append_history(client: MlflowClient, name: str, version: str) -> None:
    history = registered_model(client, name).tags.get(HISTORY_TAG, "")
    entries = [*filter(None, history.split(",")), version][-HISTORY_LIMIT:]
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(entries))


def promote(name: str, version: str | int, *, settings: Settings | None = None) -> ModelVersion:
    """Makes ``version`` the champion, remembering the one it replaces; promoting the champion is a no-op."""
    client = client_for(settings)
    target = model_version(client, name, version)
    current = current_champion(client, name)
    if current is not None and str(current.version) == str(target.version):
        return target
    if current is not None:
        client.set_model_version_tag(name, str(target.version), PREVIOUS_CHAMPION_TAG, str(current.version))
    elif PREVIOUS_CHAMPION_TAG in target.tags:
        client.delete_model_version_tag(name, str(target.version), PREVIOUS_CHAMPION_TAG)
    if ROLLED_BACK_TAG in target.tags:
        client.delete_model_version_tag(name, str(target.version), ROLLED_BACK_TAG)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(target.version))
    in_shadow = current_shadow(client, name)
    if in_shadow is not None and str(in_shadow.version) == str(target.version):
        client.delete_registered_model_alias(name, SHADOW_ALIAS)
    _append_history(client, name, str(target.version))
    return model_version(client, name, target.version)


def rollback(name: str, *, settings: Settings | None = None) -> ModelVersion:
    """Moves ``champion`` back to the version the current champion replaced, and marks the latter."""
    client = client_for(settings)
    registered_model(client, name)
    current = current_champion(client, name)
    if current is None:
        raise RollbackError(f"model '{name}' has no champion to roll back")
    previous = current.tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise RollbackError(
            f"champion v{current.version} of '{name}' records no previous champion; nothing to roll back to"
        )
    try:
        target = model_version(client, name, previous)
    except ModelNotFoundError as error:
        raise RollbackError(f"previous champion v{previous} of '{name}' no longer exists") from error
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(target.version))
    client.set_model_version_tag(name, str(current.version), ROLLED_BACK_TAG, "true")
    _append_history(client, name, str(target.version))
    return model_version(client, name, target.version)
