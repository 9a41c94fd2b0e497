"""Analytics are checked against a history built by hand through the real tools on a fake clock, so that each
figure can be worked out in the test (tests/analytics/history.py)."""

from tests.payments.conftest import agent, logs, settings_overrides

__all__ = ["agent", "logs", "settings_overrides"]
