"""Ids: ULID-style, 48 bits of milliseconds then 80 random bits, in Crockford's base 32, in the order made."""

import re

import pytest

from mcp_payments import bootstrap
from mcp_payments.bootstrap import SortableIds

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_text(value: int) -> str:
    """The plain definition: 26 base-32 digits of a 128-bit number, most significant first."""
    return "".join(CROCKFORD[(value >> (5 * k)) & 31] for k in range(25, -1, -1))


@pytest.mark.parametrize("random_bits", [0, 1, 2**80 - 1, 0x1234_5678_9ABC_DEF0_1234])
def test_an_id_is_the_prefix_and_26_base32_digits_of_time_and_randomness(
    monkeypatch: pytest.MonkeyPatch, random_bits: int
) -> None:
    monkeypatch.setattr(bootstrap.time, "time", lambda: 1_790_000_000.1235)
    monkeypatch.setattr(bootstrap.secrets, "randbits", lambda bits: random_bits)

    made = SortableIds().new("txn")

    assert made == "txn_" + ulid_text((1_790_000_000_123 << 80) | random_bits)


def test_ids_sort_by_the_time_they_were_made(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = SortableIds()
    made = []
    for millis in (1_000, 1_001, 2_000_000, 1_790_000_000_123):
        monkeypatch.setattr(bootstrap.time, "time", lambda m=millis: (m + 0.5) / 1000)  # mid-millisecond: no rounding
        made.append(ids.new("wal"))

    assert made == sorted(made)
    assert all(re.fullmatch(r"wal_[0-9A-HJKMNP-TV-Z]{26}", i) for i in made)


@pytest.mark.parametrize("clock", ["one millisecond", "set back"])
def test_ids_made_in_one_millisecond_or_after_the_clock_went_back_still_sort_in_the_order_made(
    monkeypatch: pytest.MonkeyPatch, clock: str
) -> None:
    """Webhook deliveries go out in id order: one transaction's events must not be sent in a random order."""
    ids = SortableIds()
    times = iter([1_000.0005, 1_000.0005, 1_000.0005, 999.0] if clock == "set back" else [1_000.0005] * 4)
    randoms = iter([2**79, 5, 2**80 - 1, 7])  # the second and fourth would sort before the first by their bits
    monkeypatch.setattr(bootstrap.time, "time", lambda: next(times))
    monkeypatch.setattr(bootstrap.secrets, "randbits", lambda bits: next(randoms))

    made = [ids.new("whd") for _ in range(4)]

    assert made == sorted(made)
    assert len(set(made)) == 4
    assert made[1] == "whd_" + ulid_text((1_000_000 << 80) + 2**79 + 1)  # the last one plus one
    assert made[2] == "whd_" + ulid_text((1_000_000 << 80) | (2**80 - 1))  # larger bits are kept as drawn
