"""Calls as data: a mutating call is a Command, dispatched by its tool's name, that can be stored and run later.

The approvals of the controls issue rely on exactly this: a command held for approval is stored as JSON and
dispatched when it is approved, with the same effect as when first called.
"""

import json

import pytest
from mcp.client import Client

from mcp_payments.server.callers import local_principal
from mcp_payments.server.tools.models import Mutation
from mcp_payments.services.commands import Command
from tests.conftest import Stack
from tests.helpers import funded_wallet, ok
from tests.payments.agent import body_of
from tests.tamper import owner

pytestmark = pytest.mark.anyio


async def balance(client: Client, wallet: str) -> str:
    return str((await ok(client, "get_wallet", wallet_id=wallet))["posted"]["amount"])


async def test_a_stored_command_dispatched_later_by_name_has_the_effect_of_the_call(
    stack: Stack, client: Client
) -> None:
    source, destination = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    stored = json.dumps(
        {
            "tool": "transfer_funds",
            "principal": local_principal(),  # the in-memory client's caller: the local user
            "arguments": {
                "source_wallet_id": source,
                "destination_wallet_id": destination,
                "currency": "USD",
                "amount": "12.50",
                "memo": "approved later",
            },
            "idempotency_key": "held-for-approval-1",
        }
    )

    command = Command(**json.loads(stored))
    first = await stack.box.dispatcher.dispatch(command)
    again = await stack.box.dispatcher.dispatch(Command(**json.loads(stored)))

    assert (first.deduplicated, again.deduplicated) == (False, True)
    assert again.response == first.response
    assert await balance(client, destination) == "12.50"
    # The same command through the tool, with the same key: the stored answer, no second transfer.
    replayed = await ok(client, "transfer_funds", **command.arguments, idempotency_key=command.idempotency_key)
    assert replayed["deduplicated"] is True
    assert replayed["transaction"]["id"] == first.response["transaction"]["id"]
    assert await balance(client, destination) == "12.50"


async def test_a_replay_still_reads_an_answer_stored_by_an_older_version_of_the_output_model(
    stack: Stack, client: Client
) -> None:
    wallet = await funded_wallet(client, "0")
    arguments = {"wallet_id": wallet, "currency": "USD", "amount": "3.00", "idempotency_key": "top-up-before-upgrade"}
    first = await ok(client, "fund_wallet", **arguments)
    # What the previous version stored: the same answer without the fields added since (receipt).
    older = {k: v for k, v in first.items() if k not in {"receipt", "deduplicated"}} | {"deduplicated": False}

    async with owner(stack.settings.db_url) as sql:
        rows = await sql("SELECT key, response FROM idempotency_keys")
        [(key,)] = [(k,) for k, response in rows if first["transaction"]["id"] in response]
        text = json.dumps(older).replace("'", "''")
        await sql(f"UPDATE idempotency_keys SET response = '{text}' WHERE key = '{key}'")

    replayed = body_of(await client.call_tool("fund_wallet", arguments))

    assert replayed["deduplicated"] is True
    assert replayed["receipt"] is None
    assert replayed["transaction"] == first["transaction"]
    assert await balance(client, wallet) == "3.00"


async def test_the_audit_record_names_the_entities_a_call_returned_not_ids_found_in_its_text(
    client: Client,
) -> None:
    wallet = await funded_wallet(client, "0")

    funded = await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount="1.00", memo="pay_rent wal_x")
    [record] = body_of(await client.call_tool("get_audit_log", {"limit": 1}))["records"]

    assert record["audit_id"] == funded["receipt"]["audit_id"]
    assert set(record["entity_ids"]) == {funded["transaction"]["id"], wallet, "acc_external_USD"}


def test_every_result_of_a_command_names_its_entities_from_its_own_fields() -> None:
    models = {m for m in _subclasses(Mutation)}
    assert models
    missing = sorted(m.__name__ for m in models if m.entity_ids is Mutation.entity_ids)
    assert missing == [], f"these results must say which entities their call touched: {missing}"


def _subclasses(cls: type) -> list[type]:
    found = list(cls.__subclasses__())
    for sub in list(found):
        found += _subclasses(sub)
    return found
