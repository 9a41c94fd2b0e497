"""erase_customer_data on both databases: the customer's name, e-mail and description are gone from every text
column of every table, while the books and the audit chain verify as before."""

import json
from typing import Any

import anyio
import pytest
from sqlalchemy import String, func, select

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.erasure_repo import IMPERSONAL, MENTIONS, SPECIAL
from mcp_payments.domain import audit
from mcp_payments.domain.erasure import pseudonym
from tests.conftest import Stack
from tests.helpers import seal
from tests.payments.agent import Agent
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

NAME = "Wilhelmina Quarrington"
EMAIL = "w.quarrington@example.org"
# What must be found nowhere once she is erased (lower case: the scan folds case).
TRACES = ("wilhelmina", "quarrington", EMAIL)


async def mentions(stack: Stack) -> dict[str, int]:
    """Rows mentioning any trace, per table.column, over every text column of every table."""
    found: dict[str, int] = {}
    async with engine(stack).connect() as conn:
        for table in tables.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String):
                    continue
                for trace in TRACES:
                    query = select(func.count()).select_from(table).where(func.lower(column).contains(trace))
                    if n := int((await conn.execute(query)).scalar_one()):
                        found[f"{table.name}.{column.name}"] = found.get(f"{table.name}.{column.name}", 0) + n
    return found


async def her_history(admin: Agent) -> str:
    """A customer whose personal data is repeated across the schema: payments, wallets, memos, a screening, a held
    transfer, stored answers and a webhook event."""
    await admin.ok(
        "create_webhook_endpoint", url="http://127.0.0.1:9/in", event_types=["payment.succeeded", "approval.requested"]
    )
    created = await admin.ok(
        "create_customer", name=NAME, email=EMAIL, description=f"VIP: {NAME}", idempotency_key="customer-wq"
    )
    customer = created["customer"]
    payment = await admin.pay("120.00", customer_id=customer["id"], description=f"order for {NAME}")
    await admin.ok("refund_payment", payment_id=payment["id"], amount="20.00", reason=f"goodwill for {NAME}")
    manual = await admin.pay("40.00", customer_id=customer["id"], capture_method="manual")
    await admin.ok("cancel_payment", payment_id=manual["id"], reason=f"{NAME} changed her mind")
    wallet = (await admin.ok("create_wallet", currency="USD", name=f"{NAME}'s savings"))["wallet"]["id"]
    other = (await admin.ok("create_wallet", currency="USD", name="float"))["wallet"]["id"]
    await admin.ok("fund_wallet", wallet_id=wallet, currency="USD", amount="50.00", memo=f"deposit by {EMAIL}")
    await admin.ok(
        "transfer_funds",
        source_wallet_id=wallet,
        destination_wallet_id=other,
        currency="USD",
        amount="5.00",
        memo=f"rent from {NAME.upper()}",
    )
    await admin.ok("hold_funds", wallet_id=wallet, currency="USD", amount="1.00", memo=f"deposit for {NAME}")
    await admin.ok("screen_party", name=NAME, type="person", country="GB", date_of_birth="1980-04-02")
    await admin.ok("set_spending_policy", currency="USD", principal="key:dpo", approval_above="10.00")
    held = await admin.ok(
        "transfer_funds",
        source_wallet_id=wallet,
        destination_wallet_id=other,
        currency="USD",
        amount="15.00",
        memo=f"a gift to {NAME}",
    )
    assert held["status"] == "pending_approval"
    return str(customer["id"])


async def test_an_erased_customers_data_is_gone_from_every_table_and_the_books_and_chain_still_verify(
    admin: Agent, clocked_stack: Stack
) -> None:
    customer_id = await her_history(admin)
    await seal(clocked_stack.services)
    before = await mentions(clocked_stack)
    assert set(before) >= {
        "customers.name",
        "customers.email",
        "customers.description",
        "journal_transactions.memo",
        "holds.memo",
        "accounts.name",
        "payments.description",
        "payments.cancellation_reason",
        "payment_events.data",
        "refunds.reason",
        "screenings.party_name",
        "idempotency_keys.arguments",
        "idempotency_keys.response",
        "approvals.arguments",
    }, before
    assert "audit_log.record" not in before  # hashed content never held her data, even before

    erased = await admin.ok("erase_customer_data", customer_id=customer_id)

    assert erased["already_erased"] is False
    assert erased["pseudonym"] == pseudonym(customer_id)
    assert erased["rewritten"]["customers"] == 1
    assert erased["rewritten"]["journal_transactions.memo"] == 2
    # Two screenings of her name: screen_party's, and create_customer's own (it screens every new customer).
    assert erased["rewritten"]["screenings.party_name"] == 2
    kept = {k["kind"]: k for k in erased["kept"]}
    assert kept["payments"]["count"] == 2
    assert kept["refunds"]["count"] == 1
    assert "tax" in kept["invoices"]["why"]
    assert "verifies" in kept["audit_log"]["why"]
    await seal(clocked_stack.services)
    assert await mentions(clocked_stack) == {}
    chain = await admin.ok("verify_audit_chain")
    assert chain["valid"], chain
    await admin.ledger_ok()
    shown = await admin.ok("get_customer", customer_id=customer_id)
    assert (shown["name"], shown["email"], shown["description"]) == (erased["pseudonym"], None, None)
    assert shown["erased_at"] == erased["erased_at"]
    # Her first call's key still holds its (rewritten) answer: a retry conflicts, it never brings her data back.
    retried = await admin.err(
        "create_customer", name=NAME, email=EMAIL, description=f"VIP: {NAME}", idempotency_key="customer-wq"
    )
    assert retried["code"] == "idempotency_conflict"
    assert NAME not in retried["message"]
    assert EMAIL not in retried["message"]


async def test_erasing_twice_changes_nothing_and_says_when_it_was_done(admin: Agent, clocked_stack: Stack) -> None:
    customer = (await admin.ok("create_customer", name=NAME, email=EMAIL))["customer"]
    first = await admin.ok("erase_customer_data", customer_id=customer["id"], idempotency_key="erase-first-time")

    again = await admin.ok("erase_customer_data", customer_id=customer["id"], idempotency_key="erase-second-time")

    assert again["already_erased"] is True
    assert (again["pseudonym"], again["erased_at"]) == (first["pseudonym"], first["erased_at"])
    assert again["rewritten"] == {}
    assert not again["deduplicated"]


async def test_no_audit_record_holds_a_hash_a_guess_of_her_data_could_be_checked_against(admin: Agent) -> None:
    """Hashed audit content can never be rewritten: a plain SHA-256 of create_customer's arguments would confirm a
    guess of who an erased customer was. The record holds a keyed hash instead."""
    await admin.ok("create_customer", name=NAME, email=EMAIL)

    [record] = [r for r in (await admin.ok("get_audit_log"))["records"] if r["tool"] == "create_customer"]

    assert record["arguments_sha256"] != audit.argument_hash({"name": NAME, "email": EMAIL})
    assert NAME not in json.dumps(record)
    assert EMAIL not in json.dumps(record)


async def test_two_erasures_at_once_rewrite_once(admin: Agent, clocked_stack: Stack) -> None:
    customer = (await admin.ok("create_customer", name=NAME, email=EMAIL))["customer"]["id"]
    answers: list[dict[str, Any]] = []

    async def erase(key: str) -> None:
        answers.append(await admin.ok("erase_customer_data", customer_id=customer, idempotency_key=key))

    async with anyio.create_task_group() as group:
        group.start_soon(erase, "erase-at-once-1")
        group.start_soon(erase, "erase-at-once-2")

    assert sorted(a["already_erased"] for a in answers) == [False, True]
    assert len({a["erased_at"] for a in answers}) == 1


async def test_the_payments_and_ledger_of_an_erased_customer_stay_under_its_id(admin: Agent) -> None:
    customer = (await admin.ok("create_customer", name=NAME))["customer"]
    payment = await admin.pay("30.00", customer_id=customer["id"])

    await admin.ok("erase_customer_data", customer_id=customer["id"])

    kept = await admin.payment(payment["id"])
    assert kept["payment"]["customer_id"] == customer["id"]
    assert kept["payment"]["amount"]["amount"] == "30.00"
    found = await admin.ok("list_customers", name="quarrington")
    assert found["customers"] == []


async def test_an_unknown_customer_is_not_found(admin: Agent, clocked_stack: Stack) -> None:
    error = await admin.err("erase_customer_data", customer_id="cus_00000000000000000000000000")

    assert error["code"] == "customer_not_found"


def test_every_table_is_classified_for_erasure() -> None:
    """A new table must say whether a customer's personal data can be in it (adapters/db/erasure_repo.py)."""
    classified = {t.name for t, _ in MENTIONS} | IMPERSONAL | SPECIAL
    assert {t.name for t in tables.metadata.sorted_tables} <= classified
    for table, names in MENTIONS:
        assert all(isinstance(table.c[n].type, String) for n in names)


async def test_an_erased_customers_country_goes_from_the_customer_its_fraud_scores_and_its_stored_answer(
    admin: Agent, clocked_stack: Stack
) -> None:
    """A country is personal data, and too short to be searched for as text: erasure finds it by the customer."""
    created = await admin.ok("create_customer", name=NAME, country="GB", idempotency_key="customer-with-country")
    customer = created["customer"]["id"]
    payment = await admin.pay("30.00", customer_id=customer)  # a US card: the country reason names GB
    before = await admin.payment(payment["id"])
    assert "customer in GB" in json.dumps(before["risk"]["reasons"])

    erased = await admin.ok("erase_customer_data", customer_id=customer)

    assert erased["rewritten"]["risk_assessments.reasons"] == 1
    assert erased["rewritten"]["idempotency_keys.response"] == 1
    assert (await admin.ok("get_customer", customer_id=customer))["country"] is None
    after = await admin.payment(payment["id"])
    assert [r["rule"] for r in after["risk"]["reasons"]] == [r["rule"] for r in before["risk"]["reasons"]]
    assert "GB" not in json.dumps(after["risk"]["reasons"])
    async with engine(clocked_stack).connect() as conn:
        k = tables.idempotency_keys.c
        [stored] = (await conn.execute(select(k.arguments, k.response).where(k.tool == "create_customer"))).all()
    assert customer in stored.response
    assert '"GB"' not in stored.arguments
    assert '"GB"' not in stored.response
