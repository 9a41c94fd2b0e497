"""The monitoring settings: read from MCP_PAYMENTS_*, and a value that cannot be read names its variable."""

from datetime import timedelta
from decimal import Decimal

import pytest

from mcp_payments.config import Settings


def test_the_alert_thresholds_metrics_token_and_exporter_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "MCP_PAYMENTS_ALERT_AUTH_WINDOW": "30m",
            "MCP_PAYMENTS_ALERT_AUTH_RATE_DROP": "7.5",
            "MCP_PAYMENTS_ALERT_AUTH_MIN_ATTEMPTS": "50",
            "MCP_PAYMENTS_ALERT_JOB_LAG": "2h",
            "MCP_PAYMENTS_ALERT_ERROR_RATE": "1",
            "MCP_PAYMENTS_METRICS_FLUSH_SECONDS": "0.5",
            "MCP_PAYMENTS_METRICS_TOKEN": " scrape-me ",
            "MCP_PAYMENTS_OTEL_EXPORTER": "OTLP",
        }
    )
    assert settings.alert_auth_window == timedelta(minutes=30)
    assert settings.alert_auth_rate_drop == Decimal("7.5")
    assert settings.alert_auth_min_attempts == 50
    assert settings.alert_job_lag == timedelta(hours=2)
    assert settings.alert_error_rate == Decimal(1)
    assert settings.metrics_flush_seconds == 0.5
    assert settings.metrics_token == "scrape-me"
    assert "scrape-me" not in repr(settings)
    assert settings.otel_exporter == "otlp"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MCP_PAYMENTS_ALERT_AUTH_RATE_DROP", "101"),
        ("MCP_PAYMENTS_ALERT_ERROR_RATE", "NaN"),
        ("MCP_PAYMENTS_ALERT_ERROR_RATE", "-1"),
        ("MCP_PAYMENTS_ALERT_AUTH_MIN_ATTEMPTS", "２０"),
        ("MCP_PAYMENTS_ALERT_ERROR_MIN_CALLS", "99999999999999999999"),
        ("MCP_PAYMENTS_ALERT_JOB_LAG", "soon"),
        ("MCP_PAYMENTS_METRICS_FLUSH_SECONDS", "0"),
        ("MCP_PAYMENTS_OTEL_EXPORTER", "jaeger"),
    ],
)
def test_a_monitoring_setting_that_cannot_be_read_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
