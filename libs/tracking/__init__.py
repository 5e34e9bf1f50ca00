"""MLflow tracking shared by every agent: lineage-tagged runs, skops models and a gated champion registry."""

from libs.tracking.datahash import DataHash, content_md5, data_hashes
from libs.tracking.errors import (
    ModelNotFoundError,
    RegistrationError,
    RollbackError,
    TrackingError,
    UntrustedModelError,
)
from libs.tracking.gate import Baseline, GateDecision, decide, gate
from libs.tracking.gitstate import GitState, git_state
from libs.tracking.inputs import log_data_inputs, log_evaluation_metrics
from libs.tracking.lineage import Lineage, collect_lineage
from libs.tracking.lockfile import lockfile_sha256
from libs.tracking.models import load_sklearn_model, log_sklearn_model
from libs.tracking.params import flatten_params
from libs.tracking.policy import GatePolicy, apply_policy
from libs.tracking.registry import (
    CHAMPION_ALIAS,
    SHADOW_ALIAS,
    champion,
    clear_shadow,
    load_champion_model,
    model_versions,
    promote,
    register_model,
    rollback,
    set_shadow,
    shadow,
)
from libs.tracking.run import tracked_run
from libs.tracking.uris import pointed_at

__all__ = [
    "CHAMPION_ALIAS",
    "DataHash",
    "Baseline",
    "GateDecision",
    "GatePolicy",
    "GitState",
    "Lineage",
    "ModelNotFoundError",
    "RegistrationError",
    "RollbackError",
    "SHADOW_ALIAS",
    "TrackingError",
    "UntrustedModelError",
    "apply_policy",
    "champion",
    "clear_shadow",
    "collect_lineage",
    "content_md5",
    "data_hashes",
    "decide",
    "flatten_params",
    "gate",
    "git_state",
    "load_champion_model",
    "load_sklearn_model",
    "log_data_inputs",
    "log_evaluation_metrics",
    "lockfile_sha256",
    "log_sklearn_model",
    "model_versions",
    "pointed_at",
    "promote",
    "register_model",
    "rollback",
    "set_shadow",
    "shadow",
    "tracked_run",
]
