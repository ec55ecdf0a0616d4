"""The platform environment of the Dagster tests, shared with the browser test."""

from tests.orchestration.conftest import platform_env

__all__ = ["platform_env"]
