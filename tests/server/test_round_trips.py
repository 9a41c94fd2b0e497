"""How many times a mutating tool call goes to the database: each round trip costs the caller and the server.

Counted below MCP, on the unit of work's connections: the driver's calls (BEGIN, COMMIT, ROLLBACK and the
statements of the hot path) and every statement SQLAlchemy sends. The call's audit record takes no lock shared
with other calls (the sealer links it into the chain later), so it costs no round trip of its own either.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mcp.client import Client
from sqlalchemy import event

from mcp_payments.adapters.db.driver import PgDriver, SqliteDriver, pg_literal
from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory
from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok

pytestmark = pytest.mark.anyio

# BEGIN with the idempotency claim; the posting; the completion with the audit record, sent with COMMIT: as many as
# the posting alone in a transaction. A counted money call (a spend or a refund) reads its caller's spending policy
# in the same transaction first: one more. SQLite runs in the process (sqlite_inline.py): its calls cost no network
# round trip, and the posting is several.
MOST = {"postgresql": 3, "sqlite": 9}
POLICY_LOOKUP = 1
# A money call that moves a wallet is evaluated against the AML rules in its transaction: one statement for all its
# wallets (services/aml.py). One that pays a wallet first asks whether the payee is known (services/counterparties.py).
AML_RULES = 1
PAYEE_CHECK = 1


@contextmanager
def counting(stack: Stack) -> Iterator[list[str]]:
    sent: list[str] = []
    uow = stack.services.uow
    assert isinstance(uow, SqlUnitOfWorkFactory)
    engines = list({uow.db.writer.sync_engine, uow.db.reader.sync_engine})
    drivers = (PgDriver, SqliteDriver)
    saved = [(cls, name, getattr(cls, name)) for cls in drivers for name in _DRIVER_CALLS if hasattr(cls, name)]

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    def counted(name: str, original: Any) -> Any:
        async def call(driver: Any, *args: Any, **kwargs: Any) -> Any:
            if name != "rollback" or driver.in_transaction:  # a rollback with nothing to undo sends nothing
                sent.append(f"{name} {args[0] if args else ''}".strip())
            return await original(driver, *args, **kwargs)

        return call

    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
    for cls, name, original in saved:
        setattr(cls, name, counted(name, original))
    try:
        yield sent
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_execute)


# What sends something to the database; _flush and _prepare are PostgreSQL's only (a deferred statement sent before
# another one; a statement PREPAREd, once per connection).
_DRIVER_CALLS = ("begin", "begin_with", "commit", "rollback", "fetch", "execute_many", "_flush", "_prepare")


async def test_a_top_up_through_the_tool_makes_at_most_three_round_trips_on_postgresql(
    client: Client, stack: Stack, backend: str
) -> None:
    wallet = await funded_wallet(client, "0")
    arguments = {"wallet_id": wallet, "currency": "USD", "amount": "1.00"}
    await ok(client, "fund_wallet", **arguments, idempotency_key="warm-up-funding")  # prepared statements

    with counting(stack) as sent:
        funded = await ok(client, "fund_wallet", **arguments, idempotency_key="counted-funding")

    assert funded["deduplicated"] is False
    assert len(sent) <= MOST[backend] + AML_RULES, "\n".join(sent)
    if backend == "postgresql":
        # The begin_with is the split SQL that can take no parameters; SQLAlchemy sends only the AML rules' read.
        assert [s.split()[0] for s in sent] == ["begin_with", "fetch", "SELECT", "commit"], sent


async def test_a_transfer_counted_as_spend_adds_only_its_policy_lookup(
    client: Client, stack: Stack, backend: str
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    arguments = {"source_wallet_id": a, "destination_wallet_id": b, "currency": "USD", "amount": "1.00"}
    await ok(client, "transfer_funds", **arguments, idempotency_key="warm-up-transfer")  # prepared statements

    with counting(stack) as sent:
        moved = await ok(client, "transfer_funds", **arguments, idempotency_key="counted-transfer")

    assert moved["deduplicated"] is False
    assert len(sent) <= MOST[backend] + PAYEE_CHECK + POLICY_LOOKUP + AML_RULES, "\n".join(sent)
    if backend == "postgresql":
        assert [s.split()[0] for s in sent] == [
            "begin_with",
            "SELECT",
            "SELECT",
            "fetch",
            "SELECT",
            "commit",
        ], sent


async def test_a_replayed_transfer_reads_its_stored_answer_in_as_few_round_trips(
    client: Client, stack: Stack, backend: str
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    arguments = {"source_wallet_id": a, "destination_wallet_id": b, "currency": "USD", "amount": "1.00"}
    await ok(client, "transfer_funds", **arguments, idempotency_key="once-only-transfer")

    with counting(stack) as sent:
        replayed = await ok(client, "transfer_funds", **arguments, idempotency_key="once-only-transfer")

    assert replayed["deduplicated"] is True
    # BEGIN with the claim that finds the key held, reading the holder, then ending the transaction.
    assert len(sent) <= MOST[backend], "\n".join(sent)


# The one statement that takes no parameters writes the claim's values in as literals (driver.pg_literal).
# Text that would end, escape or re-quote a literal must be stored exactly as sent, and match on a retry.
HOSTILE_NAMES = [
    "O'Brien",
    "back\\slash\\",
    "\\'; DROP TABLE idempotency_keys; --",
    "$$ dollar $tag$ quoted $$",
    "E'escape' '' \\\\ \\x41 \\u0041",
    "naïve 名前 🙂 \u200b",
    "trailing quote'",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_text_that_quotes_or_escapes_is_stored_exactly_by_the_claim_in_one_round_trip(
    client: Client, name: str
) -> None:
    first = await ok(client, "create_customer", name=name, idempotency_key="hostile-literal")
    again = await ok(client, "create_customer", name=name, idempotency_key="hostile-literal")
    assert again["deduplicated"] is True
    assert again["customer"] == first["customer"]
    assert (await ok(client, "get_customer", customer_id=first["customer"]["id"]))["name"] == name

    other = await err(client, "create_customer", name=name + "x", idempotency_key="hostile-literal")
    assert other["code"] == "idempotency_conflict"
    assert other["details"]["differing_fields"] == ["name"]


@pytest.mark.parametrize("value", [*HOSTILE_NAMES, "", "'", "\\", "\n\t\r"])
async def test_pg_literal_reads_back_as_the_same_text(stack: Stack, backend: str, value: str) -> None:
    if backend != "postgresql":
        pytest.skip("a PostgreSQL literal")
    uow = stack.services.uow
    assert isinstance(uow, SqlUnitOfWorkFactory)
    async with uow.db.writer.connect() as conn:
        raw = await conn.get_raw_connection()
        got = await raw.driver_connection.fetchval(f"SELECT {pg_literal(value)}")
    assert got == value


def test_pg_literal_refuses_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        pg_literal("a\x00b")
