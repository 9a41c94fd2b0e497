from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain import ledger
from mcp_payments.domain.errors import (
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldExpired,
    HoldNotActive,
    InsufficientFunds,
    InvalidInput,
    SameAccount,
    WalletNotFound,
)
from mcp_payments.domain.ledger import (
    Account,
    AccountType,
    Entry,
    Hold,
    HoldStatus,
    JournalTransaction,
)
from mcp_payments.domain.money import Money

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def wallet(account_id: str = "wal_a", posted: int = 0, pending: int = 0, currency: str = "USD") -> Account:
    return Account(account_id, AccountType.WALLET, currency, False, posted, pending, account_id, NOW)


def world(currency: str = "USD") -> Account:
    return Account(f"acc_external_{currency}", AccountType.EXTERNAL, currency, True, 0, 0, "world", NOW)


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


def by_id(*accounts: Account) -> dict[str, Account]:
    return {a.id: a for a in accounts}


def active_hold(amount: int = 500, account: str = "wal_a", expires_at: datetime = LATER) -> Hold:
    return Hold("hld_1", account, amount, "USD", HoldStatus.ACTIVE, 0, "rent", NOW, expires_at, None, None)


# --- journal transactions -------------------------------------------------------------------------


def test_a_movement_takes_from_the_source_and_gives_the_same_amount_to_the_target() -> None:
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_b", usd(250), "lunch", NOW)

    assert txn.entries == (Entry("wal_a", -250, "USD"), Entry("wal_b", 250, "USD"))
    assert txn.deltas() == {"wal_a": -250, "wal_b": 250}
    assert ledger.sums_by_currency(txn.entries) == {"USD": 0}
    assert (txn.id, txn.kind, txn.memo, txn.created_at) == ("txn_1", "transfer", "lunch", NOW)


def test_a_movement_from_an_account_to_itself_is_refused() -> None:
    with pytest.raises(SameAccount):
        ledger.movement("txn_1", "transfer", "wal_a", "wal_a", usd(1), None, NOW)


def test_a_journal_transaction_needs_at_least_two_entries() -> None:
    with pytest.raises(ValueError, match="at least two"):
        JournalTransaction("txn_1", "x", (), None, NOW)
    with pytest.raises(ValueError, match="at least two"):
        JournalTransaction("txn_1", "x", (Entry("wal_a", 0, "USD"),), None, NOW)


def test_a_journal_transaction_refuses_an_entry_of_zero() -> None:
    entries = (Entry("wal_a", 0, "USD"), Entry("wal_b", 0, "USD"))

    with pytest.raises(ValueError, match="zero moves nothing"):
        JournalTransaction("txn_1", "x", entries, None, NOW)


def test_a_journal_transaction_must_sum_to_zero() -> None:
    entries = (Entry("wal_a", -100, "USD"), Entry("wal_b", 99, "USD"))

    with pytest.raises(ValueError, match="sum to zero per currency"):
        JournalTransaction("txn_1", "x", entries, None, NOW)


def test_a_journal_transaction_must_sum_to_zero_in_each_currency_not_just_overall() -> None:
    entries = (Entry("wal_a", -100, "USD"), Entry("wal_b", 100, "EUR"))

    with pytest.raises(ValueError, match="sum to zero per currency"):
        JournalTransaction("txn_1", "x", entries, None, NOW)


def test_a_cross_currency_transaction_balances_each_currency_through_fx_accounts() -> None:
    entries = (
        Entry("wal_usd", -1000, "USD"),
        Entry("acc_fx_USD", 1000, "USD"),
        Entry("acc_fx_EUR", -920, "EUR"),
        Entry("wal_eur", 920, "EUR"),
    )

    txn = JournalTransaction("txn_1", "fx_transfer", entries, None, NOW)

    assert ledger.sums_by_currency(txn.entries) == {"USD": 0, "EUR": 0}


def test_deltas_net_several_entries_of_one_account() -> None:
    entries = (Entry("wal_a", -100, "USD"), Entry("wal_a", 30, "USD"), Entry("wal_b", 70, "USD"))

    assert JournalTransaction("txn_1", "x", entries, None, NOW).deltas() == {"wal_a": -70, "wal_b": 70}


# --- posting rules --------------------------------------------------------------------------------


def test_a_debit_within_the_available_balance_posts() -> None:
    accounts = by_id(wallet(posted=1000), wallet("wal_b"))
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_b", usd(1000), None, NOW)

    ledger.check_posting(accounts, txn)
    after = ledger.apply(accounts, txn)

    assert after["wal_a"].posted == 0
    assert after["wal_b"].posted == 1000


def test_a_debit_larger_than_the_available_balance_is_insufficient_funds_with_the_numbers() -> None:
    accounts = by_id(wallet(posted=1200), wallet("wal_b"))
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_b", usd(5000), None, NOW)

    with pytest.raises(InsufficientFunds) as raised:
        ledger.check_posting(accounts, txn)

    assert "wallet wal_a has 12.00 USD available, 50.00 USD requested" in raised.value.message
    assert raised.value.details == {
        "wallet_id": "wal_a",
        "available": "12.00",
        "requested": "50.00",
        "currency": "USD",
    }


def test_pending_holds_reduce_what_a_debit_may_take() -> None:
    accounts = by_id(wallet(posted=1000, pending=600), wallet("wal_b"))

    ledger.check_posting(accounts, ledger.movement("t", "x", "wal_a", "wal_b", usd(400), None, NOW))
    with pytest.raises(InsufficientFunds):
        ledger.check_posting(accounts, ledger.movement("t", "x", "wal_a", "wal_b", usd(401), None, NOW))


def test_an_overdraft_account_may_go_below_zero() -> None:
    accounts = by_id(world(), wallet())
    txn = ledger.movement("txn_1", "fund", "acc_external_USD", "wal_a", usd(10_000), None, NOW)

    ledger.check_posting(accounts, txn)

    assert ledger.apply(accounts, txn)["acc_external_USD"].posted == -10_000


def test_posting_to_an_unknown_account_is_wallet_not_found() -> None:
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_missing", usd(1), None, NOW)

    with pytest.raises(WalletNotFound) as raised:
        ledger.check_posting(by_id(wallet(posted=100)), txn)

    assert raised.value.details == {"wallet_id": "wal_missing"}


def test_posting_in_another_currency_than_the_account_is_currency_mismatch() -> None:
    accounts = by_id(wallet(posted=100), wallet("wal_b", currency="EUR"))
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_b", usd(1), None, NOW)

    with pytest.raises(CurrencyMismatch) as raised:
        ledger.check_posting(accounts, txn)

    assert raised.value.details["wallet_id"] == "wal_b"
    assert raised.value.details["wallet_currency"] == "EUR"


def test_apply_changes_only_posted_balances_of_the_accounts_involved() -> None:
    accounts = by_id(wallet(posted=500, pending=100), wallet("wal_b"), wallet("wal_c", posted=7))
    txn = ledger.movement("txn_1", "transfer", "wal_a", "wal_b", usd(300), None, NOW)

    after = ledger.apply(accounts, txn)

    assert after == {"wal_a": wallet(posted=200, pending=100), "wal_b": wallet("wal_b", posted=300)}


# --- holds ----------------------------------------------------------------------------------------


def test_placing_a_hold_reserves_money_without_moving_it() -> None:
    placed = ledger.place_hold("hld_1", wallet(posted=1000), usd(400), "rent", NOW, LATER)

    assert placed == active_hold(400, expires_at=LATER)
    assert not ledger.is_terminal(placed.status)


def test_a_hold_larger_than_the_available_balance_is_insufficient_funds() -> None:
    with pytest.raises(InsufficientFunds):
        ledger.place_hold("hld_1", wallet(posted=1000, pending=700), usd(301), None, NOW, LATER)


def test_a_hold_in_another_currency_is_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        ledger.place_hold("hld_1", wallet(posted=1000), Money.of(1, "EUR"), None, NOW, LATER)


def test_a_hold_only_goes_on_a_wallet() -> None:
    with pytest.raises(InvalidInput):
        ledger.place_hold("hld_1", world(), usd(1), None, NOW, LATER)


def test_capturing_without_an_amount_takes_the_whole_hold() -> None:
    captured, txn = ledger.capture(active_hold(500), None, "txn_9", "acc_external_USD", None, NOW)

    assert captured.status is HoldStatus.CAPTURED
    assert captured.captured_amount == 500
    assert (captured.resolved_at, captured.capture_transaction_id) == (NOW, "txn_9")
    assert txn.kind == "hold_capture"
    assert txn.memo == "rent"
    assert txn.entries == (Entry("wal_a", -500, "USD"), Entry("acc_external_USD", 500, "USD"))


def test_capturing_part_of_a_hold_moves_only_that_part() -> None:
    captured, txn = ledger.capture(active_hold(500), usd(120), "txn_9", "wal_b", "part", NOW)

    assert captured.captured_amount == 120
    assert captured.amount == 500
    assert txn.deltas() == {"wal_a": -120, "wal_b": 120}
    assert txn.memo == "part"


def test_capturing_more_than_the_hold_is_refused() -> None:
    with pytest.raises(CaptureExceedsHold) as raised:
        ledger.capture(active_hold(500), usd(501), "txn_9", "wal_b", None, NOW)

    assert raised.value.details == {"hold_id": "hld_1", "held": "5.00"}


def test_capturing_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        ledger.capture(active_hold(500), Money.of(100, "EUR"), "txn_9", "wal_b", None, NOW)


def test_capturing_into_the_held_wallet_itself_is_refused() -> None:
    with pytest.raises(SameAccount):
        ledger.capture(active_hold(500), None, "txn_9", "wal_a", None, NOW)


CAPTURE, RELEASE, EXPIRE = "capture", "release", "expire"


def resolve(hold: Hold, action: str, now: datetime) -> Hold:
    match action:
        case "capture":
            return ledger.capture(hold, None, "txn_9", "wal_b", None, now)[0]
        case "release":
            return ledger.release(hold, now)
        case "expire":
            return ledger.release(hold, now, expired=True)
    raise AssertionError(action)


# Every (status, action) pair: what the hold becomes, or the error that refuses the action.
HOLD_TRANSITIONS: dict[tuple[HoldStatus, str], HoldStatus | type[Exception]] = {
    (HoldStatus.ACTIVE, CAPTURE): HoldStatus.CAPTURED,
    (HoldStatus.ACTIVE, RELEASE): HoldStatus.RELEASED,
    (HoldStatus.ACTIVE, EXPIRE): HoldStatus.EXPIRED,
    (HoldStatus.CAPTURED, CAPTURE): HoldNotActive,
    (HoldStatus.CAPTURED, RELEASE): HoldNotActive,
    (HoldStatus.CAPTURED, EXPIRE): HoldNotActive,
    (HoldStatus.RELEASED, CAPTURE): HoldNotActive,
    (HoldStatus.RELEASED, RELEASE): HoldNotActive,
    (HoldStatus.RELEASED, EXPIRE): HoldNotActive,
    (HoldStatus.EXPIRED, CAPTURE): HoldNotActive,
    (HoldStatus.EXPIRED, RELEASE): HoldNotActive,
    (HoldStatus.EXPIRED, EXPIRE): HoldNotActive,
}


def test_the_hold_transition_table_covers_every_status_and_action() -> None:
    assert set(HOLD_TRANSITIONS) == {(s, a) for s in HoldStatus for a in (CAPTURE, RELEASE, EXPIRE)}


@pytest.mark.parametrize(("status", "action"), list(HOLD_TRANSITIONS))
def test_a_hold_moves_from_each_status_by_each_action_as_the_table_says(status: HoldStatus, action: str) -> None:
    hold = replace(active_hold(), status=status)
    expected = HOLD_TRANSITIONS[(status, action)]

    if isinstance(expected, HoldStatus):
        after = resolve(hold, action, NOW)
        assert after.status is expected
        assert after.resolved_at == NOW
        assert ledger.is_terminal(after.status)
    else:
        with pytest.raises(expected, match=f"already {status.value}"):
            resolve(hold, action, NOW)


@pytest.mark.parametrize("status", list(HoldStatus))
def test_only_an_active_hold_is_not_terminal(status: HoldStatus) -> None:
    assert ledger.is_terminal(status) is (status is not HoldStatus.ACTIVE)


@pytest.mark.parametrize("action", [CAPTURE, RELEASE])
def test_an_active_hold_past_its_expiry_can_no_longer_be_captured_or_released(action: str) -> None:
    hold = active_hold(expires_at=NOW)

    with pytest.raises(HoldExpired):
        resolve(hold, action, NOW)


def test_an_active_hold_past_its_expiry_expires() -> None:
    assert resolve(active_hold(expires_at=NOW), EXPIRE, LATER).status is HoldStatus.EXPIRED


# --- integrity ------------------------------------------------------------------------------------


def test_a_sound_ledger_has_no_integrity_problems() -> None:
    accounts = [wallet(posted=700, pending=200), replace(world(), posted=-700)]

    problems = ledger.integrity_problems(accounts, {"wal_a": 700, "acc_external_USD": -700}, {"wal_a": 200}, [], {})

    assert problems == []


def test_every_broken_invariant_is_reported() -> None:
    accounts = [wallet(posted=700, pending=800), wallet("wal_b", posted=5)]

    problems = ledger.integrity_problems(
        accounts, {"wal_a": 700, "wal_b": 4}, {"wal_a": 100}, ["txn_bad"], {"USD": 1, "EUR": 0}
    )

    assert problems == [
        "transaction txn_bad does not sum to zero per currency",
        "USD entries sum to 1, not 0",
        "account wal_a: cached pending 800 != active holds 100",
        "account wal_a is overdrawn: available -100",
        "account wal_b: cached posted 5 != journal 4",
    ]
