"""JWT access tokens: accepted only when signed by a key of the issuer's JWKS, for this audience, unexpired, and
granting a role. Each refusal says why (for the operator's log; the client only gets 401)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest

from mcp_payments.domain.errors import NotAuthenticated
from mcp_payments.domain.roles import Role
from mcp_payments.server.jwt_tokens import JwtSettings, JwtVerifier
from mcp_payments.services.access import AuthMode, CredentialType
from tests.server.jwts import AUDIENCE, ISSUER, Issuer

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


def verifier(tmp_path: Path, *issuers: Issuer, role_claim: str = "role") -> JwtVerifier:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [i.jwk for i in issuers]}))
    return JwtVerifier(JwtSettings(ISSUER, AUDIENCE, str(jwks), role_claim))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def refused(check: JwtVerifier, token: str, reason: str) -> None:
    with pytest.raises(NotAuthenticated, match=reason):
        await check.verify(token)


async def test_a_token_signed_by_the_issuer_for_this_audience_names_its_subject_and_role(
    issuer: Issuer, tmp_path: Path
) -> None:
    token = issuer.token(sub="ada", role="operator", jti="t-1")
    verified = await verifier(tmp_path, issuer).verify(token)

    caller = verified.caller()
    assert (caller.principal, caller.role, caller.credential) == ("oauth:ada", Role.OPERATOR, "jwt:t-1")
    assert (caller.credential_type, caller.auth_mode) == (CredentialType.JWT, AuthMode.BEARER)
    assert caller.expires_at is not None
    assert token not in repr(verified)
    assert token not in str(verified)


@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"role": None, "scope": "openid payments:viewer"}, Role.VIEWER),
        ({"role": None, "scp": ["payments:viewer", "payments:agent"]}, Role.AGENT),
        ({"role": ["viewer", "admin", "astronaut"]}, Role.ADMIN),
        ({"role": "payments:agent"}, Role.AGENT),
    ],
    ids=["scope", "scp-list-takes-the-highest", "role-list-takes-the-highest", "prefixed-role"],
)
async def test_the_role_comes_from_the_role_claim_or_else_a_payments_scope(
    issuer: Issuer, tmp_path: Path, claims: dict[str, object], role: Role
) -> None:
    verified = await verifier(tmp_path, issuer).verify(issuer.token(**claims))
    assert verified.role is role


async def test_the_role_claim_is_configurable_and_may_be_nested(issuer: Issuer, tmp_path: Path) -> None:
    nested = issuer.token(role=None, realm_access={"roles": ["offline_access", "viewer"]})
    namespaced = issuer.token(role=None, **{"https://payments.example/role": "admin"})

    assert (await verifier(tmp_path, issuer, role_claim="realm_access.roles").verify(nested)).role is Role.VIEWER
    assert (await verifier(tmp_path, issuer, role_claim="https://payments.example/role").verify(namespaced)).role is (
        Role.ADMIN
    )


async def test_a_token_without_a_jti_is_named_by_a_digest_of_itself(issuer: Issuer, tmp_path: Path) -> None:
    token = issuer.token(jti=None)
    verified = await verifier(tmp_path, issuer).verify(token)
    assert verified.credential.startswith("jwt:sha256:")
    assert token not in verified.credential


async def test_an_expired_token_is_refused_beyond_the_clock_skew_allowed(issuer: Issuer, tmp_path: Path) -> None:
    check = verifier(tmp_path, issuer)
    await refused(check, issuer.token(lifetime=-120), "expired")
    assert (await check.verify(issuer.token(lifetime=-5))).role is Role.AGENT  # within 30 s of skew


async def test_a_token_for_another_audience_or_from_another_issuer_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    check = verifier(tmp_path, issuer)
    await refused(check, issuer.token(audience="https://other.example/mcp"), "(?i)audience")
    impostor = Issuer(issuer.kid, issuer="https://evil.example")
    impostor.private = issuer.private  # the right key, the wrong issuer
    await refused(check, impostor.token(), "(?i)issuer")


async def test_a_token_signed_by_another_key_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    forger = Issuer(issuer.kid)  # claims the issuer's kid, signs with its own key
    await refused(verifier(tmp_path, issuer), forger.token(), "Signature verification failed")
    await refused(verifier(tmp_path, issuer), Issuer("unknown-kid").token(), "not in the issuer's JWKS")


async def test_unsigned_and_hmac_tokens_are_refused_whatever_their_claims(issuer: Issuer, tmp_path: Path) -> None:
    check = verifier(tmp_path, issuer)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60, "role": "admin"}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": issuer.kid})  # type: ignore[arg-type]
    await refused(check, unsigned, "algorithm 'none'")
    # The public key used as an HMAC secret: the classic algorithm confusion (pyjwt will not sign it, so by hand).
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(json.dumps(issuer.jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    await refused(check, f"{signing_input}.{b64(mac)}", "algorithm 'HS256'")


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b.c", base64.urlsafe_b64encode(b'{"alg":"RS256"}').decode() + ".e30."],
    ids=["empty", "words", "three-dots", "no-signature"],
)
async def test_a_malformed_token_is_refused(issuer: Issuer, tmp_path: Path, token: str) -> None:
    with pytest.raises(NotAuthenticated):
        await verifier(tmp_path, issuer).verify(token)


async def test_a_token_that_grants_no_role_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    check = verifier(tmp_path, issuer)
    await refused(check, issuer.token(role=None, scope="openid profile"), "grants no role")
    await refused(check, issuer.token(role="superuser"), "names no role")


async def test_required_claims_must_be_present(issuer: Issuer, tmp_path: Path) -> None:
    await refused(verifier(tmp_path, issuer), issuer.token(sub=None), "sub")


@pytest.mark.parametrize("sub", ["", "agent\x00root", "line\nbreak", "\u202eevil", "x" * 201])
async def test_a_subject_that_is_not_plain_bounded_text_is_refused(issuer: Issuer, tmp_path: Path, sub: str) -> None:
    await refused(verifier(tmp_path, issuer), issuer.token(sub=sub), "sub must be")


async def test_a_jti_with_control_characters_is_named_by_a_digest_instead(issuer: Issuer, tmp_path: Path) -> None:
    verified = await verifier(tmp_path, issuer).verify(issuer.token(jti="id\x00\n"))
    assert verified.credential.startswith("jwt:sha256:")


async def test_a_rotated_key_is_found_by_fetching_the_jwks_again(issuer: Issuer, tmp_path: Path) -> None:
    check = verifier(tmp_path, issuer)
    assert (await check.verify(issuer.token())).role is Role.AGENT
    rotated = Issuer("rotated", algorithm="ES256")
    (tmp_path / "jwks.json").write_text(json.dumps(rotated.jwks(issuer)))
    check.jwks._loaded_at -= 60  # the last fetch is older than the retry interval, as a minute later
    assert (await check.verify(rotated.token(role="viewer"))).role is Role.VIEWER
