"""The AML settings from the environment: read as exact amounts and durations, refused naming the variable."""

from datetime import timedelta
from decimal import Decimal

import pytest

from mcp_payments.config import Settings


def test_the_aml_rules_are_read_from_the_environment_in_usd_cents() -> None:
    settings = Settings.from_env(
        {
            "MCP_PAYMENTS_AML_LARGE_USD": "5000.50",
            "MCP_PAYMENTS_AML_VELOCITY_COUNT": "12",
            "MCP_PAYMENTS_AML_VELOCITY_USD": "20000",
            "MCP_PAYMENTS_AML_VELOCITY_WINDOW": "2h",
            "MCP_PAYMENTS_AML_PASS_THROUGH_WINDOW": "3d",
        }
    )
    rules = settings.aml_rules()
    assert (rules.large, rules.velocity_count, rules.velocity_amount) == (500_050, 12, 2_000_000)
    assert (rules.velocity_window, rules.pass_through_window) == (timedelta(hours=2), timedelta(days=3))
    assert Settings().aml_large_usd == Decimal("10000.00")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MCP_PAYMENTS_AML_LARGE_USD", "10000.001"),
        ("MCP_PAYMENTS_AML_LARGE_USD", "-1"),
        ("MCP_PAYMENTS_AML_LARGE_USD", "NaN"),
        ("MCP_PAYMENTS_AML_LARGE_USD", "1e3x"),
        ("MCP_PAYMENTS_AML_VELOCITY_USD", "0"),
        ("MCP_PAYMENTS_AML_VELOCITY_COUNT", "0"),
        ("MCP_PAYMENTS_AML_VELOCITY_COUNT", "2.5"),
        ("MCP_PAYMENTS_AML_VELOCITY_WINDOW", "soon"),
        ("MCP_PAYMENTS_AML_PASS_THROUGH_WINDOW", "0h"),
    ],
)
def test_a_bad_aml_setting_is_refused_naming_it(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})
