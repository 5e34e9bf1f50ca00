"""Typed settings with embedded defaults shared by every agent, pipeline and service."""

from libs.settings.settings import Settings, find_project_root, get_settings
from libs.settings.telemetry import TELEMETRY_OPT_OUT, disable_telemetry

__all__ = ["Settings", "TELEMETRY_OPT_OUT", "disable_telemetry", "find_project_root", "get_settings"]
