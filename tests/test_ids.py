"""Ids: ULID-style, 48 bits of milliseconds then 80 random bits, in Crockford's base 32."""

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
