"""API keys on both databases: issued once, kept as a digest, checked on every use, revoked and expired for good;
each change audited under the administrator who made it."""

from datetime import timedelta

import pytest

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.domain.api_keys import parse_key, secret_digest
from mcp_payments.domain.errors import ApiKeyNotFound, InvalidInput, InvalidStateTransition, NotAuthenticated
from mcp_payments.domain.roles import Role
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.keys import LAST_USED_GRANULARITY, KeyService
from tests.conftest import FakeClock, Stack
from tests.payments.card_scan import dump_database

pytestmark = pytest.mark.anyio
ADMIN = "cli:alice"


@pytest.fixture
def keys(services: Services) -> KeyService:
    return services.get(KeyService)


async def test_an_issued_key_authenticates_as_its_name_and_role(keys: KeyService) -> None:
    issued = await keys.issue(ADMIN, "billing-bot", Role.AGENT)

    key = await keys.authenticate(issued.text)
    assert (key.id, key.principal, key.role, key.expires_at) == (issued.key.id, "key:billing-bot", Role.AGENT, None)
    assert issued.text not in repr(issued)


async def test_the_database_keeps_the_digest_of_a_key_and_never_its_secret(
    keys: KeyService, clocked_stack: Stack
) -> None:
    issued = await keys.issue(ADMIN, "bot", Role.VIEWER)
    await keys.authenticate(issued.text)
    _, secret = parse_key(issued.text) or ("", "")

    db = open_database(clocked_stack.settings.db_url)
    try:
        dump = "\n".join(await dump_database(db.reader))
    finally:
        await db.dispose()
    assert secret not in dump
    assert issued.text not in dump
    assert secret_digest(secret) in dump  # in api_keys, and nowhere else would it help anyone


async def test_a_wrong_secret_an_unknown_id_and_a_malformed_key_are_refused_alike(keys: KeyService) -> None:
    issued = await keys.issue(ADMIN, "bot", Role.AGENT)
    key_id, secret = parse_key(issued.text) or ("", "")
    wrong = issued.text[: -len(secret)] + ("A" if secret[0] != "A" else "B") + secret[1:]

    for text in (wrong, issued.text.replace(key_id, "key_" + "0" * 26)):
        with pytest.raises(NotAuthenticated, match="is not known here"):
            await keys.authenticate(text)
    with pytest.raises(NotAuthenticated, match="malformed"):
        await keys.authenticate(issued.text + "x")


async def test_a_revoked_key_is_refused_from_the_next_use_on(keys: KeyService) -> None:
    issued = await keys.issue(ADMIN, "bot", Role.AGENT)
    await keys.authenticate(issued.text)

    revoked = await keys.revoke(ADMIN, issued.key.id)

    assert revoked.revoked_at is not None
    with pytest.raises(NotAuthenticated, match="was revoked at"):
        await keys.authenticate(issued.text)
    with pytest.raises(InvalidStateTransition, match="revoked already"):
        await keys.revoke(ADMIN, issued.key.id)


async def test_an_expired_key_is_refused(keys: KeyService, fake_clock: FakeClock) -> None:
    issued = await keys.issue(ADMIN, "short-lived", Role.VIEWER, timedelta(hours=1))
    fake_clock.advance(minutes=59)
    await keys.authenticate(issued.text)

    fake_clock.advance(minutes=1)
    with pytest.raises(NotAuthenticated, match="expired at"):
        await keys.authenticate(issued.text)


async def test_revoking_an_unknown_key_is_refused_naming_where_to_look(keys: KeyService) -> None:
    with pytest.raises(ApiKeyNotFound, match="keys list"):
        await keys.revoke(ADMIN, "key_" + "0" * 26)


@pytest.mark.parametrize("name", ["", "has space", "-leading", "x" * 65, "naïve", "semi;colon"])
async def test_a_key_name_that_is_not_a_plain_identifier_is_refused(keys: KeyService, name: str) -> None:
    with pytest.raises(InvalidInput, match="key name"):
        await keys.issue(ADMIN, name, Role.AGENT)
    assert await keys.all() == []


async def test_a_lifetime_must_be_positive(keys: KeyService) -> None:
    with pytest.raises(InvalidInput, match="positive"):
        await keys.issue(ADMIN, "bot", Role.AGENT, timedelta(0))


async def test_issuing_and_revoking_are_audited_under_the_administrator_without_the_secret(
    keys: KeyService, services: Services
) -> None:
    issued = await keys.issue(ADMIN, "bot", Role.OPERATOR, timedelta(days=90))
    await keys.revoke("cli:bob", issued.key.id)

    records = await services.calls.read(lambda uow: uow.audit.scan_all(None, 100))
    assert [(r.record["tool"], r.record["principal"], r.record["entity_ids"]) for r in records] == [
        ("create_api_key", ADMIN, [issued.key.id]),
        ("revoke_api_key", "cli:bob", [issued.key.id]),
    ]
    assert all(r.record["credential"] is None for r in records)
    assert (await services.calls.read(services.get(AuditService).verify)).valid
    assert issued.text.rsplit("_", 1)[1] not in repr(records)


async def test_two_identical_creations_make_two_keys(keys: KeyService) -> None:
    first = await keys.issue(ADMIN, "twin", Role.AGENT)
    second = await keys.issue(ADMIN, "twin", Role.AGENT)

    assert first.key.id != second.key.id
    assert first.text != second.text
    assert [k.id for k in await keys.all()] == [first.key.id, second.key.id]
    # Keys that share a name are one principal (a rotation keeps the idempotency scope).
    assert first.key.principal == second.key.principal == "key:twin"


async def test_the_last_use_is_written_at_most_once_a_minute(keys: KeyService, fake_clock: FakeClock) -> None:
    issued = await keys.issue(ADMIN, "bot", Role.AGENT)
    first_use = fake_clock.now()
    await keys.authenticate(issued.text)

    fake_clock.advance(seconds=30)
    await keys.authenticate(issued.text)
    [key] = await keys.all()
    assert key.last_used_at == first_use

    fake_clock.advance(seconds=LAST_USED_GRANULARITY.total_seconds())
    await keys.authenticate(issued.text)
    [key] = await keys.all()
    assert key.last_used_at == fake_clock.now()
