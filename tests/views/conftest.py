"""The views are read against histories made with the real tools (tests/analytics/history.py)."""

from tests.payments.conftest import agent, logs, settings_overrides

__all__ = ["agent", "logs", "settings_overrides"]
