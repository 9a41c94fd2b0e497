"""The AML rules as pure functions: each fires on the movement that crosses its line, once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mcp_payments.domain import aml
from mcp_payments.domain.aml import History, Move, Rules
from mcp_payments.domain.compliance_flags import Rule, Trigger
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.money import currency

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = Rules(velocity_count=3, velocity_amount=2_000_000)


def move(n: int, usd: int, hours: float = 0) -> Move:
    return Move(f"txn_{n}", T0 + timedelta(hours=hours), usd)


def triggered(wallet_id: str, current: Move, earlier: list[Move]) -> list[Trigger]:
    return aml.evaluate(wallet_id, current, History.of(current, earlier, RULES), RULES)


def rules_of(current: Move, earlier: list[Move]) -> list[Rule]:
    return [t.rule for t in triggered("wal_1", current, earlier)]


def test_a_large_movement_is_flagged_once_per_transaction_in_either_direction() -> None:
    [inbound] = triggered("wal_1", move(1, 1_000_000), [])
    assert (inbound.rule, inbound.key) == (Rule.LARGE_TRANSACTION, "large_transaction:txn_1")
    [outbound] = triggered("wal_2", move(1, -1_000_000), [])
    assert outbound.key == inbound.key  # the same transaction seen from its other wallet: one flag
    assert rules_of(move(2, 999_999), []) == []


def test_structuring_fires_on_the_movement_that_takes_the_band_past_the_threshold() -> None:
    first, second, third = move(1, -950_000), move(2, -950_000, 3), move(3, -950_000, 6)
    assert rules_of(first, []) == []
    [found] = triggered("wal_1", second, [first])
    assert (found.rule, found.transaction_ids, found.details["direction"]) == (
        Rule.STRUCTURING,
        ("txn_1", "txn_2"),
        "out",
    )
    assert Rule.STRUCTURING not in rules_of(third, [first, second])  # the same set growing
    assert "out of wal_1 within 24 h, each just under" in found.summary  # never "1 day, 0:00:00"


def test_a_window_is_said_in_the_unit_a_person_would_use() -> None:
    current = move(4, 100)
    history = History(3, 0, 0, 0, ())
    [count] = aml.velocity("cus_1", current, history, RULES)
    assert "within 1 h, more than 3" in count.summary
    odd = Rules(velocity_count=3, velocity_window=timedelta(minutes=90))
    assert "within 90 min" in aml.velocity("cus_1", current, history, odd)[0].summary
    brief = Rules(velocity_count=3, velocity_window=timedelta(seconds=45))
    assert "within 45 s" in aml.velocity("cus_1", current, history, brief)[0].summary


def test_structuring_ignores_the_other_direction_amounts_under_the_band_and_movements_a_day_apart() -> None:
    assert Rule.STRUCTURING not in rules_of(move(2, -950_000, 1), [move(1, 950_000)])
    assert Rule.STRUCTURING not in rules_of(move(2, -950_000, 1), [move(1, -799_999)])
    assert Rule.STRUCTURING not in rules_of(move(2, -950_000, 25), [move(1, -950_000)])
    assert Rule.STRUCTURING in rules_of(move(2, -800_000, 23), [move(1, -800_000)])


def test_velocity_fires_once_when_the_window_passes_its_count_or_amount() -> None:
    earlier = [move(n, 100, n / 10) for n in range(3)]
    assert Rule.VELOCITY_COUNT in rules_of(move(3, 100, 0.5), earlier)
    assert Rule.VELOCITY_COUNT not in rules_of(move(4, 100, 0.6), [*earlier, move(3, 100, 0.5)])
    assert Rule.VELOCITY_COUNT not in rules_of(move(3, 100, 2), earlier)  # the others left the hour
    assert Rule.VELOCITY_AMOUNT in rules_of(move(1, -1_500_000, 0.5), [move(0, 600_000)])
    assert Rule.VELOCITY_AMOUNT not in rules_of(move(1, -1_400_000, 0.5), [move(0, 600_000)])


def test_rapid_pass_through_fires_when_most_of_what_arrived_leaves_within_the_window() -> None:
    arrived = move(1, 500_000)
    assert rules_of(move(2, -440_000, 2), [arrived]) == []
    assert rules_of(move(3, -10_000, 3), [arrived, move(2, -440_000, 2)]) == [Rule.RAPID_PASS_THROUGH]
    assert rules_of(move(2, -450_000, 25), [arrived]) == []  # a day later
    assert rules_of(move(2, -99_000, 1), [move(1, 99_999)]) == []  # under the 1,000.00 floor


def test_other_currencies_count_at_the_configured_rate_and_none_without_one() -> None:
    rates = RateTable({"EUR/USD": Decimal("1.10"), "USD/JPY": Decimal("150")})
    assert aml.to_usd(900_000, currency("EUR"), rates) == 990_000
    assert aml.to_usd(1_500_000, currency("JPY"), rates) == 1_000_000  # JPY has no decimals: 1,500,000 JPY
    assert aml.to_usd(-101, currency("EUR"), rates) == -111  # toward zero
    assert aml.to_usd(100, currency("GBP"), rates) is None
    assert aml.to_usd(100, currency("USD"), RateTable({})) == 100
    assert aml.from_usd(800_000, currency("EUR"), rates) == 727_272  # rounded down: the band's low end in EUR
    assert aml.from_usd(800_000, currency("JPY"), rates) == 1_200_000
    assert aml.from_usd(1, currency("GBP"), rates) is None
