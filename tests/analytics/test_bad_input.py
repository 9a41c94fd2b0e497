"""Bad questions to the analytics tools: each is refused with a clear code and a message that says what to ask
instead, never an internal error, and nothing is written."""

from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.helpers import err
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio

REVENUE, FORECAST = "get_revenue_summary", "forecast_revenue"
BAD = "invalid_argument"

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (REVENUE, {"start_date": "2026-03-10", "end_date": "2026-03-01"}, "invalid_range", "give the earlier date first"),
    (REVENUE, {"start_date": "2020-01-01", "end_date": "2025-06-01"}, "invalid_range", "at most 5 years"),
    (REVENUE, {"start_date": "1900-01-01", "end_date": "1900-01-02"}, "invalid_range", "give a date in that span"),
    (REVENUE, {"end_date": "9999-12-31"}, "invalid_range", "give a date in that span"),
    (REVENUE, {"start_date": "2026-02-30"}, BAD, ""),
    (REVENUE, {"time_zone": "Mars/Olympus_Mons"}, "invalid_range", "use an IANA name"),
    (REVENUE, {"time_zone": "../../etc/passwd"}, "invalid_range", "is not an IANA name"),
    (REVENUE, {"time_zone": "Europe"}, "invalid_range", "IANA"),
    (REVENUE, {"time_zone": "UTC\x00"}, BAD, "control character"),
    (REVENUE, {"time_zone": "Europe/Paris\u202e"}, BAD, "control character"),
    (REVENUE, {"currency": "XYZ"}, "unknown_currency", "ISO 4217"),
    (REVENUE, {"currency": "XAU"}, "unknown_currency", "no minor unit"),
    (REVENUE, {"granularity": "hour"}, BAD, ""),
    (REVENUE, {"rates": {"EUR": "1.1"}}, BAD, "without target_currency"),
    (REVENUE, {"target_currency": "USD", "rates": {"EUR": "1e5"}}, BAD, "positive decimal"),
    (REVENUE, {"target_currency": "USD", "rates": {"EUR": "-1"}}, BAD, "positive decimal"),
    (REVENUE, {"target_currency": "USD", "rates": {"EUR": "0"}}, BAD, "positive decimal"),
    (REVENUE, {"target_currency": "USD", "rates": {"QQQ": "1"}}, "unknown_currency", "ISO 4217"),
    ("get_payment_success_rates", {"top": 0}, BAD, ""),
    ("get_customer_insights", {"top": 10**20}, BAD, ""),
    (FORECAST, {"horizon": -1, "currency": "USD"}, BAD, "between 1 and 366"),
    (FORECAST, {"horizon": 0, "currency": "USD"}, BAD, "between 1 and 366"),
    (FORECAST, {"horizon": 2**70, "currency": "USD"}, BAD, ""),
    (FORECAST, {"horizon": 1.5, "currency": "USD"}, BAD, ""),
    (FORECAST, {"season_length": 1, "currency": "USD"}, BAD, ""),
    (FORECAST, {"method": "prophet"}, BAD, ""),
    (FORECAST, {}, BAD, "give currency"),
    # An empty history of 53 weeks has fewer than two 52-week seasons.
    (FORECAST, {"currency": "USD"}, "insufficient_history", "at least two seasons (104 points)"),
]


async def test_each_bad_question_gets_a_clear_error_and_writes_nothing(client: Client, stack: Stack) -> None:
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        for tool, arguments, code, words in CASES:
            body = await err(client, tool, **arguments)
            assert body["code"] == code, (tool, arguments, body)
            assert words in body["message"], (tool, arguments, body)
            assert "Traceback" not in body["message"]
            assert "SELECT" not in body["message"]
        assert await count() == before
