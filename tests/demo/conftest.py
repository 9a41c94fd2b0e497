"""A demo history is written into the clocked application's database, then read through the real tools."""

from tests.payments.conftest import agent, logs, settings_overrides

__all__ = ["agent", "logs", "settings_overrides"]
