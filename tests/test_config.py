from decimal import Decimal

import pytest

from mcp_payments.config import parse_fx_rates


def test_fx_rates_are_read_as_exact_decimals_by_pair() -> None:
    assert parse_fx_rates("eur/usd=1.08, USD/JPY=150") == {"EUR/USD": Decimal("1.08"), "USD/JPY": Decimal("150")}


@pytest.mark.parametrize("text", ["EUR/USD=0", "EUR/USD=-1", "EUR/USD=NaN", "EUR/USD=Infinity", "EURUSD=1.08"])
def test_an_fx_rate_that_is_not_a_positive_number_for_a_pair_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not like EUR/USD=1\.08"):
        parse_fx_rates(text)


def test_fx_rates_whose_round_trip_would_pay_are_refused() -> None:
    with pytest.raises(ValueError, match="contradict"):
        parse_fx_rates("EUR/USD=1.10,USD/EUR=0.95")
