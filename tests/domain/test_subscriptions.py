"""Subscriptions in the domain: the transition table pair by pair, the month-end anchor, proration rounding."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import InvalidAmount, InvalidInput, InvalidStateTransition
from mcp_payments.domain.subscriptions import (
    HARD_DECLINES,
    RENEWING,
    SUBSCRIPTION_TRANSITIONS,
    TERMINAL,
    Dunning,
    Interval,
    Plan,
    Subscription,
    SubscriptionAction,
    SubscriptionStatus,
    next_status,
    period_boundary,
    prorate,
    round_half_even,
)

S, A = SubscriptionStatus, SubscriptionAction


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


EXPECTED = {
    (S.INCOMPLETE, A.PAY): S.ACTIVE,
    (S.INCOMPLETE, A.EXPIRE): S.INCOMPLETE_EXPIRED,
    (S.INCOMPLETE, A.CANCEL): S.CANCELED,
    (S.TRIALING, A.PAY): S.ACTIVE,
    (S.TRIALING, A.FAIL): S.PAST_DUE,
    (S.TRIALING, A.CANCEL): S.CANCELED,
    (S.TRIALING, A.PAUSE): S.PAUSED,
    (S.ACTIVE, A.PAY): S.ACTIVE,
    (S.ACTIVE, A.FAIL): S.PAST_DUE,
    (S.ACTIVE, A.CANCEL): S.CANCELED,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAST_DUE, A.PAY): S.ACTIVE,
    (S.PAST_DUE, A.FAIL): S.PAST_DUE,
    (S.PAST_DUE, A.EXHAUST): S.UNPAID,
    (S.PAST_DUE, A.CANCEL): S.CANCELED,
    (S.UNPAID, A.PAY): S.ACTIVE,
    (S.UNPAID, A.CANCEL): S.CANCELED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.PAUSED, A.CANCEL): S.CANCELED,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(A))
def test_every_state_and_action_pair_leads_where_the_table_says_or_is_refused(
    status: SubscriptionStatus, action: SubscriptionAction
) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(InvalidStateTransition) as refused:
            next_status(status, action, "sub_1")
        assert refused.value.details == {"subscription_id": "sub_1", "status": status.value, "action": action.value}
        assert f"sub_1 is {status}" in refused.value.message
    else:
        assert next_status(status, action, "sub_1") is expected


def test_the_table_is_exactly_the_expected_one_and_terminal_states_lead_nowhere() -> None:
    assert dict(SUBSCRIPTION_TRANSITIONS) == EXPECTED
    assert {S.CANCELED, S.INCOMPLETE_EXPIRED} == TERMINAL
    assert not [pair for pair in SUBSCRIPTION_TRANSITIONS if pair[0] in TERMINAL]


# Month-end anchors: each period counted from the anchor, so a clamped day comes back.
ANCHOR_TABLE = [
    (at(2026, 1, 31), Interval.MONTH, 1, [at(2026, 1, 31), at(2026, 2, 28), at(2026, 3, 31), at(2026, 4, 30)]),
    (at(2028, 1, 31), Interval.MONTH, 1, [at(2028, 1, 31), at(2028, 2, 29), at(2028, 3, 31), at(2028, 4, 30)]),
    (at(2026, 1, 30), Interval.MONTH, 1, [at(2026, 1, 30), at(2026, 2, 28), at(2026, 3, 30), at(2026, 4, 30)]),
    (at(2026, 3, 31), Interval.MONTH, 3, [at(2026, 3, 31), at(2026, 6, 30), at(2026, 9, 30), at(2026, 12, 31)]),
    (at(2026, 11, 30), Interval.MONTH, 1, [at(2026, 11, 30), at(2026, 12, 30), at(2027, 1, 30), at(2027, 2, 28)]),
    (at(2028, 2, 29), Interval.YEAR, 1, [at(2028, 2, 29), at(2029, 2, 28), at(2030, 2, 28), at(2031, 2, 28)]),
    (at(2028, 2, 29), Interval.YEAR, 1, [at(2028, 2, 29), at(2029, 2, 28), at(2030, 2, 28), at(2031, 2, 28)]),
    (
        at(2026, 1, 1, 9),
        Interval.WEEK,
        2,
        [at(2026, 1, 1, 9), at(2026, 1, 15, 9), at(2026, 1, 29, 9), at(2026, 2, 12, 9)],
    ),
    (at(2026, 12, 30), Interval.DAY, 1, [at(2026, 12, 30), at(2026, 12, 31), at(2027, 1, 1), at(2027, 1, 2)]),
]


@pytest.mark.parametrize(("anchor", "interval", "count", "boundaries"), ANCHOR_TABLE)
def test_periods_count_from_the_anchor_and_month_ends_clamp_and_come_back(
    anchor: datetime, interval: Interval, count: int, boundaries: list[datetime]
) -> None:
    assert [period_boundary(anchor, interval, count, n) for n in range(4)] == boundaries


def test_a_leap_anchor_returns_to_the_29th_in_the_next_leap_year() -> None:
    assert period_boundary(at(2028, 2, 29), Interval.YEAR, 1, 4) == at(2032, 2, 29)
    assert period_boundary(at(2028, 2, 29), Interval.MONTH, 1, 48) == at(2032, 2, 29)


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [(5, 2, 2), (7, 2, 4), (1, 3, 0), (2, 3, 1), (10, 4, 2), (14, 4, 4), (0, 7, 0), (-5, 2, -2), (-7, 2, -4)],
)
def test_proration_rounds_half_to_even(numerator: int, denominator: int, rounded: int) -> None:
    assert round_half_even(numerator, denominator) == rounded


def test_proration_charges_the_remaining_time_to_the_second() -> None:
    start, end = at(2026, 1, 1), at(2026, 1, 31)  # 30 days
    assert prorate(3000, start, end, start) == 3000
    assert prorate(3000, start, end, end) == 0
    assert prorate(3000, start, end, at(2026, 1, 16)) == 1500
    assert prorate(1000, start, end, at(2026, 1, 21)) == 333  # 333.33... rounds down
    assert prorate(1, start, end, at(2026, 1, 16)) == 0  # exactly one half rounds to the even 0


@pytest.mark.parametrize("when", [at(2025, 12, 31), at(2026, 2, 1)])
def test_a_proration_outside_the_period_is_refused(when: datetime) -> None:
    with pytest.raises(InvalidInput):
        prorate(1000, at(2026, 1, 1), at(2026, 1, 31), when)


def plan(**changes: object) -> Plan:
    fields: dict[str, object] = {
        "id": "plan_1",
        "name": "Pro",
        "amount": 1000,
        "currency": "USD",
        "interval": Interval.MONTH,
        "interval_count": 1,
        "trial_days": 0,
        "created_at": at(2026, 1, 1),
    } | changes
    return Plan(**fields)  # type: ignore[arg-type]  # the table's values are the fields' types


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount": 0}, InvalidAmount),
        ({"amount": 10**13}, InvalidAmount),
        ({"interval_count": 0}, InvalidInput),
        ({"interval_count": 13}, InvalidInput),
        ({"interval": Interval.YEAR, "interval_count": 2}, InvalidInput),
        ({"interval": Interval.WEEK, "interval_count": 53}, InvalidInput),
        ({"interval": Interval.DAY, "interval_count": 366}, InvalidInput),
        ({"trial_days": -1}, InvalidInput),
        ({"trial_days": 731}, InvalidInput),
    ],
)
def test_a_plan_out_of_bounds_is_refused(changes: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        plan(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"interval": Interval.DAY, "interval_count": 365},
        {"interval_count": 12},
        {"interval": Interval.WEEK, "interval_count": 52},
    ],
)
def test_a_plan_of_up_to_a_year_is_accepted(changes: dict[str, object]) -> None:
    assert plan(**changes).interval_count == changes["interval_count"]


def subscription(status: SubscriptionStatus, **changes: object) -> Subscription:
    method = PaymentMethod("visa", "4242", 12, 2030, "f" * 32, "succeeds")
    start = at(2026, 1, 1)
    made = Subscription("sub_1", "cus_1", "plan_1", status, start, 0, start, at(2026, 2, 1), None, method, start, start)
    return replace(made, **changes)  # type: ignore[arg-type]  # the table's values are the fields' types


@pytest.mark.parametrize("status", list(S))
def test_only_a_renewing_subscription_can_have_its_cancellation_scheduled(status: SubscriptionStatus) -> None:
    sub = subscription(status)
    if status in RENEWING:
        scheduled = sub.with_cancellation_scheduled(True, at(2026, 1, 2))
        assert (scheduled.cancel_at_period_end, scheduled.updated_at) == (True, at(2026, 1, 2))
        assert not scheduled.with_cancellation_scheduled(False, at(2026, 1, 3)).cancel_at_period_end
    else:
        with pytest.raises(InvalidStateTransition):
            sub.with_cancellation_scheduled(True, at(2026, 1, 2))


def test_a_cancellation_clears_the_schedule_and_records_when_other_moves_keep_it() -> None:
    scheduled = subscription(S.ACTIVE, cancel_at_period_end=True)
    paid = scheduled.moved(A.FAIL, at(2026, 1, 5))
    assert (paid.status, paid.cancel_at_period_end, paid.canceled_at) == (S.PAST_DUE, True, None)
    canceled = paid.moved(A.CANCEL, at(2026, 2, 1))
    assert (canceled.status, canceled.cancel_at_period_end, canceled.canceled_at) == (S.CANCELED, False, at(2026, 2, 1))


def test_the_default_dunning_schedule_is_eight_tries_within_two_weeks() -> None:
    dunning, first = Dunning(), at(2026, 1, 2)
    tries = [first] + [t for n in range(1, 9) if (t := dunning.next_attempt(first, n, "card_declined")) is not None]
    assert len(tries) == 8
    assert tries[-1] - first == timedelta(days=14)
    assert tries == sorted(tries)
    assert dunning.next_attempt(first, 8, "card_declined") is None


@pytest.mark.parametrize("code", sorted(HARD_DECLINES))
def test_a_hard_decline_gets_no_retry(code: str) -> None:
    assert Dunning().next_attempt(at(2026, 1, 2), 1, code) is None


def test_a_custom_schedule_and_setting_are_kept() -> None:
    dunning = Dunning(retries=(timedelta(hours=1),), cancel_after_last=False)
    assert dunning.next_attempt(at(2026, 1, 2), 1, None) == at(2026, 1, 2, 1)
    assert dunning.next_attempt(at(2026, 1, 2), 2, None) is None
