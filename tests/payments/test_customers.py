"""Customers: create, read, find by e-mail (exact, any case) or part of the name, a page at a time."""

from collections.abc import MutableMapping
from typing import Any

import pytest

from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def customer(agent: Agent, **fields: str) -> str:
    return str((await agent.ok("create_customer", **fields))["customer"]["id"])


async def found(agent: Agent, **query: Any) -> list[str]:
    return [c["id"] for c in (await agent.ok("list_customers", **query))["customers"]]


async def test_a_created_customer_can_be_read_back(agent: Agent) -> None:
    created = await agent.ok(
        "create_customer",
        email="Ann.Lee@Example.com",
        name="Ann Lee",
        description="wholesale",
        country="gb",
        idempotency_key="customer-ann-lee",
    )

    read = await agent.ok("get_customer", customer_id=created["customer"]["id"])

    assert created["customer"]["id"].startswith("cus_")
    assert read == {
        "id": created["customer"]["id"],
        "email": "Ann.Lee@Example.com",
        "name": "Ann Lee",
        "description": "wholesale",
        "created_at": "2026-01-01T00:00:00Z",
        "country": "GB",
        "erased_at": None,
    }


@pytest.mark.parametrize(
    "fields",
    [{}, {"description": "nobody"}, {"email": "not-an-address"}, {"email": "two@@example.com", "name": "Two"}],
    ids=["nothing", "only a description", "bad email", "two at signs"],
)
async def test_a_customer_needs_a_valid_email_or_a_name(agent: Agent, fields: dict[str, str]) -> None:
    refused = await agent.err("create_customer", **fields)

    assert refused["code"] == "invalid_argument"
    assert await found(agent) == []


async def test_an_unknown_customer_is_not_found(agent: Agent) -> None:
    refused = await agent.err("get_customer", customer_id="cus_01ARZ3NDEKTSV4RRFFQ69G5FAV")

    assert refused["code"] == "customer_not_found"
    assert "list_customers" in refused["message"]


async def test_search_by_email_is_exact_and_ignores_case(agent: Agent) -> None:
    ann = await customer(agent, email="Ann.Lee@Example.com")
    await customer(agent, email="ann.lee@example.com.au")
    await customer(agent, email="bob@example.com", name="Ann.Lee@Example.com")

    assert await found(agent, email="ANN.LEE@EXAMPLE.COM") == [ann]
    assert await found(agent, email="ann.lee@example.com") == [ann]
    assert await found(agent, email="ann.lee") == []
    assert await found(agent, email="%@example.com") == []


async def test_search_by_name_finds_any_part_in_any_case(agent: Agent) -> None:
    ann = await customer(agent, name="Ann Lee")
    jo = await customer(agent, name="Joanne Leeds", email="jo@example.com")
    await customer(agent, name="Bob Stone")

    assert await found(agent, name="ann") == [ann, jo]
    assert await found(agent, name="LEE") == [ann, jo]
    assert await found(agent, name="ne le") == [jo]
    assert await found(agent, name="ann", email="JO@example.com") == [jo]
    assert await found(agent, name="zed") == []


@pytest.mark.parametrize("pattern", ["%", "_", "\\", "A%n", "Ann_Lee"])
async def test_search_by_name_treats_wildcard_characters_literally(agent: Agent, pattern: str) -> None:
    await customer(agent, name="Ann Lee")
    literal = await customer(agent, name="100% A%n Ann_Lee back\\slash")

    assert await found(agent, name=pattern) == [literal]


async def test_the_customer_list_pages_through_everyone_oldest_first_with_a_cursor(agent: Agent) -> None:
    ids = [await customer(agent, name=f"Customer {i}", email=f"c{i}@example.com") for i in range(5)]

    pages, cursor = [], None
    while True:
        page = await agent.ok("list_customers", limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([c["id"] for c in page["customers"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == ids


async def test_a_search_pages_too(agent: Agent) -> None:
    ids = [await customer(agent, name=f"Smith {i}") for i in range(3)]
    await customer(agent, name="Jones")

    first = await agent.ok("list_customers", name="smith", limit=2)
    rest = await agent.ok("list_customers", name="smith", limit=2, cursor=first["next_cursor"])

    assert [c["id"] for c in first["customers"] + rest["customers"]] == ids
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"cursor": "garbage!"}, "invalid_cursor"),
        ({"limit": 101}, "invalid_argument"),
        ({"limit": 0}, "invalid_argument"),
    ],
)
async def test_a_bad_cursor_or_limit_is_refused(agent: Agent, query: dict[str, Any], code: str) -> None:
    assert (await agent.err("list_customers", **query))["code"] == code


async def test_payments_attach_to_an_existing_customer_only(agent: Agent) -> None:
    ann = await customer(agent, name="Ann Lee")
    paid = await agent.pay("10.00", customer_id=ann)
    await agent.pay("11.00")

    unknown = await agent.err(
        "create_payment",
        currency="USD",
        amount="12.00",
        payment_method="pm_card_visa",
        customer_id="cus_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    )

    assert unknown["code"] == "customer_not_found"
    listed = await agent.ok("list_payments", customer_id=ann)
    assert [p["id"] for p in listed["payments"]] == [paid["id"]]
    assert paid["customer_id"] == ann


async def test_e_mail_and_name_never_appear_in_the_logs(
    agent: Agent, logs: list[MutableMapping[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    email, name = "Private.Person@Example.net", "Privatus Personne"
    cus = await customer(agent, email=email, name=name)
    await agent.ok("get_customer", customer_id=cus)
    await agent.ok("list_customers", email=email)
    await agent.ok("list_customers", name="privatus")
    await agent.err("create_customer", email="Private.Person@")
    await agent.pay("10.00", customer_id=cus)

    logged = " ".join(map(repr, logs)).lower() + caplog.text.lower()
    assert {entry.get("tool") for entry in logs} >= {"create_customer", "get_customer", "list_customers"}
    for secret in (email.lower(), name.lower(), "privatus", "private.person"):
        assert secret not in logged
