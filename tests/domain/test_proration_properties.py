"""Proration over any sequence of plan changes within one period: charging the full first price, then at each
change crediting the old price's unused time and charging the new one's, totals the exact time-weighted price
within one minor unit per change (each proration is rounded once, half to even)."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from mcp_payments.domain.money import MAX_AMOUNT
from mcp_payments.domain.plan_changes import proration_lines, settle
from mcp_payments.domain.subscriptions import Interval, InvoiceLine, Plan, prorate

START = datetime(2026, 1, 31, tzinfo=UTC)
PERIOD = int(timedelta(days=28).total_seconds())  # Jan 31 -> Feb 28
END = START + timedelta(seconds=PERIOD)

prices = st.integers(min_value=1, max_value=MAX_AMOUNT)


@given(
    first=prices,
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=PERIOD), prices), max_size=12),
)
def test_any_sequence_of_changes_charges_the_time_weighted_price_within_a_unit_per_change(
    first: int, changes: list[tuple[int, int]]
) -> None:
    changes.sort()
    charged, price = first, first
    exact, since = Fraction(0), 0
    for second, new_price in changes:
        at = START + timedelta(seconds=second)
        charged += prorate(new_price, START, END, at) - prorate(price, START, END, at)
        exact += Fraction(price * (second - since), PERIOD)
        price, since = new_price, second
    exact += Fraction(price * (PERIOD - since), PERIOD)

    assert abs(charged - exact) <= len(changes)


@given(amount=prices, second=st.integers(min_value=0, max_value=PERIOD))
def test_a_proration_is_the_exact_share_rounded_once_half_to_even(amount: int, second: int) -> None:
    share = Fraction(amount * (PERIOD - second), PERIOD)
    got = prorate(amount, START, END, START + timedelta(seconds=second))
    assert abs(got - share) <= Fraction(1, 2)
    if abs(got - share) == Fraction(1, 2):
        assert got % 2 == 0
    assert 0 <= got <= amount


@given(
    first=prices,
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=PERIOD - 1), prices), max_size=12),
)
def test_the_lines_plan_changes_make_charge_the_time_weighted_price_and_no_invoice_goes_below_zero(
    first: int, changes: list[tuple[int, int]]
) -> None:
    """Through the domain's own change lines and the invoice that takes them (domain/plan_changes.py)."""
    changes.sort()
    current = _plan("plan_0", first)
    pending: list[InvoiceLine] = []
    exact, since = Fraction(0), 0
    for n, (second, price) in enumerate(changes, 1):
        new = _plan(f"plan_{n}", price)
        pending += proration_lines(current, new, START, END, START + timedelta(seconds=second))
        exact += Fraction(current.amount * (second - since), PERIOD)
        current, since = new, second
    exact += Fraction(current.amount * (PERIOD - since), PERIOD)

    charged_now = first + sum(line.amount for line in pending)
    assert abs(charged_now - exact) <= len(changes)
    renewal = InvoiceLine("plan", "next period", current.amount, END, END + timedelta(days=31))
    taken, carried = settle([renewal, *pending])
    assert sum(line.amount for line in taken) >= 0
    assert sum(line.amount for line in taken) + sum(line.amount for line in carried) == current.amount + sum(
        line.amount for line in pending
    ), "a credit the invoice cannot take is carried, never lost"
    assert all(line.amount < 0 for line in carried)


def _plan(plan_id: str, amount: int) -> Plan:
    return Plan(plan_id, plan_id, amount, "USD", Interval.MONTH, 1, 0, START)
