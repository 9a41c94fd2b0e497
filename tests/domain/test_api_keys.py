"""The spelling of an API key, what is kept of it, and the order of roles."""

from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.api_keys import (
    KEY_PATTERN,
    ApiKey,
    KeyStatus,
    key_text,
    looks_like_key,
    new_secret,
    parse_key,
    secret_digest,
)
from mcp_payments.domain.roles import Role, highest

KEY_ID = "key_01JB0X3S6K8Q2N4V7Y9Z1C3E5G"


def test_a_key_spells_its_prefix_and_id_before_a_256_bit_secret_and_parses_back() -> None:
    secret = new_secret()
    text = key_text(KEY_ID, secret)

    assert text.startswith("mcpp_key_")
    assert KEY_PATTERN.fullmatch(text)
    assert parse_key(text) == (KEY_ID, secret)
    assert len(secret) == 43
    assert secret.isalnum()
    assert len({new_secret() for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mcpp_",
        f"mcpp_{KEY_ID}",
        f"mcpp_{KEY_ID}_short",
        f"mcpp_{KEY_ID}_{'a' * 42}-",
        f"MCPP_{KEY_ID}_{'a' * 43}",
        f"mcpp_{KEY_ID}_{'a' * 43} ",
        f"mcpp_key_01jb0x3s6k8q2n4v7y9z1c3e5g_{'a' * 43}",
        f"mcpp_{KEY_ID}_{'a' * 44}",
    ],
)
def test_anything_but_the_exact_spelling_is_not_a_key(text: str) -> None:
    assert parse_key(text) is None


def test_a_bearer_token_is_taken_for_an_api_key_by_its_prefix_and_for_a_jwt_otherwise() -> None:
    assert looks_like_key("mcpp_anything")
    assert not looks_like_key("eyJhbGciOiJSUzI1NiJ9.e30.sig")


def test_only_the_sha256_of_the_secret_is_kept() -> None:
    secret = new_secret()
    digest = secret_digest(secret)
    assert len(digest) == 64
    assert secret not in digest
    assert digest == secret_digest(secret) != secret_digest(new_secret())


def test_a_key_is_active_until_it_expires_or_is_revoked() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    key = ApiKey(KEY_ID, "bot", Role.AGENT, secret_digest("x"), now, expires_at=now + timedelta(days=1))

    assert key.status(now) is KeyStatus.ACTIVE
    assert key.status(now + timedelta(days=1)) is KeyStatus.EXPIRED
    assert ApiKey(KEY_ID, "bot", Role.AGENT, "d", now, revoked_at=now).status(now) is KeyStatus.REVOKED
    assert key.principal == "key:bot"


def test_each_role_covers_the_ones_below_it_and_no_higher() -> None:
    order = [Role.VIEWER, Role.AGENT, Role.OPERATOR, Role.ADMIN]
    for i, role in enumerate(order):
        assert [role.covers(other) for other in order] == [j <= i for j in range(len(order))]
    assert highest([Role.AGENT, Role.VIEWER, Role.OPERATOR]) is Role.OPERATOR
    assert highest([]) is None
    assert Role.parse(" Agent ") is Role.AGENT
    with pytest.raises(ValueError, match="choose from viewer, agent, operator, admin"):
        Role.parse("root")
