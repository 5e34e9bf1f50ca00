"""What every agent's pipeline stages share: arguments, params, validation and the gated registration."""

from libs.pipeline.context import StageContext, load_params
from libs.pipeline.entrypoint import run_stages
from libs.pipeline.registration import RegistrationSpec, register_and_gate

__all__ = ["RegistrationSpec", "StageContext", "load_params", "register_and_gate", "run_stages"]
