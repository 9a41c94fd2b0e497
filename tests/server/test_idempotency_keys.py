"""Idempotency keys are compared exactly and never rewritten; they are kept only as keyed hashes.

Regression: every string argument used to go through the card-number masker, keys included, so
`order-7000000000054242-a` and `order-7000000000134242-a` both became `order-****4242-a` and the second,
different transfer came back deduplicated without moving its money.
"""

import re

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok
from tests.payments.card_scan import card_numbers_in, dump_database, luhn
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


async def balance(client: Client, wallet: str) -> int:
    return int((await ok(client, "get_wallet", wallet_id=wallet))["posted"]["amount_minor"])


async def test_two_keys_that_differ_inside_a_card_like_number_are_two_transfers(client: Client) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    keys = ["order-7000000000054242-a", "order-7000000000134242-a"]
    assert all(luhn(k.split("-")[1]) for k in keys), "both hold a Luhn-valid 16-digit number ending in 4242"

    results = [
        await ok(
            client,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="1.00",
            idempotency_key=key,
        )
        for key in keys
    ]

    assert [r["deduplicated"] for r in results] == [False, False]
    assert results[0]["transaction"]["id"] != results[1]["transaction"]["id"]
    assert await balance(client, destination) == 200


async def test_keys_made_of_a_timestamp_and_a_counter_never_collide(client: Client) -> None:
    # tx-<unix seconds>-NNN: 13 digits joined by a dash, Luhn-valid about one time in ten.
    wallet = await funded_wallet(client, "0")
    keys = [f"tx-{1764500000 + second}-{n:03d}" for second in range(20) for n in range(10)]
    assert sum(luhn(k[3:13] + k[14:]) for k in keys) >= 10, "some keys look like card numbers"

    for key in keys:
        result = await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount_minor=1, idempotency_key=key)
        assert result["deduplicated"] is False, key

    assert await balance(client, wallet) == len(keys)


async def test_a_key_is_kept_only_as_a_keyed_hash_and_a_retry_with_it_still_replays(
    client: Client, stack: Stack
) -> None:
    key = "wallet-for-4242424242424242-order"

    first = await ok(client, "create_wallet", currency="USD", name="keyed", idempotency_key=key)
    again = await ok(client, "create_wallet", currency="USD", name="keyed", idempotency_key=key)

    assert (first["deduplicated"], again["deduplicated"]) == (False, True)
    assert again["wallet"]["id"] == first["wallet"]["id"]
    assert again["receipt"] == first["receipt"], "a replay gives back the first call's receipt"
    rows = await dump_database(engine(stack))
    assert not any(key in row for row in rows)
    assert card_numbers_in(rows) == []
    stored_keys = [row for row in rows if row.startswith("idempotency_keys: ")]
    assert stored_keys
    assert all(re.search(r"\bk:[0-9a-f]{64}\b", row) for row in stored_keys)


async def test_keys_are_compared_exactly_case_included(client: Client) -> None:
    lower = await ok(client, "create_wallet", currency="USD", idempotency_key="Key-abcdefgh")
    upper = await ok(client, "create_wallet", currency="USD", idempotency_key="KEY-ABCDEFGH")

    assert lower["wallet"]["id"] != upper["wallet"]["id"]
    assert not upper["deduplicated"]


async def test_a_refusal_leaves_its_key_unused_and_says_so_so_the_same_key_works_once_the_cause_is_fixed(
    client: Client,
) -> None:
    source, destination = await funded_wallet(client, "5.00"), await funded_wallet(client, "0")
    arguments = {
        "source_wallet_id": source,
        "destination_wallet_id": destination,
        "currency": "USD",
        "amount": "8.00",
        "idempotency_key": "rent-november-2026",
    }

    refused = await err(client, "transfer_funds", **arguments)
    await ok(client, "fund_wallet", wallet_id=source, currency="USD", amount="5.00")
    later = await ok(client, "transfer_funds", **arguments)

    assert refused["code"] == "insufficient_funds"
    assert refused["details"]["idempotency_key_reusable"] is True
    assert refused["message"].endswith(
        "Nothing was changed and the idempotency key was not used: retrying with the same key is safe."
    )
    assert later["deduplicated"] is False
    assert await balance(client, destination) == 800


async def test_a_kept_decline_holds_its_key_and_says_a_new_attempt_needs_a_new_key(client: Client) -> None:
    arguments = {
        "currency": "USD",
        "amount": "10.00",
        "payment_method": "pm_card_chargeDeclined",
        "idempotency_key": "order-1001-attempt-1",
    }

    first = await err(client, "create_payment", **arguments)
    again = await err(client, "create_payment", **arguments)

    for body in (first, again):
        assert body["code"] == "card_declined"
        assert body["details"]["idempotency_key_reusable"] is False
        assert body["message"].endswith("This idempotency key now holds this outcome: a new attempt needs a new key.")
    assert again["details"]["payment_id"] == first["details"]["payment_id"], "the decline is replayed, not repeated"
    assert again["details"]["receipt"] == first["details"]["receipt"]


async def test_a_call_without_a_key_gets_no_note_about_keys(client: Client) -> None:
    source, destination = await funded_wallet(client, "1.00"), await funded_wallet(client, "0")

    refused = await err(
        client, "transfer_funds", source_wallet_id=source, destination_wallet_id=destination, currency="USD", amount="2"
    )

    assert "idempotency_key_reusable" not in refused["details"]
    assert "idempotency key" not in refused["message"]
