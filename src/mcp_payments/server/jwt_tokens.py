"""JWT access tokens from an OAuth 2.1 authorization server: signature, issuer, audience, expiry, role.

A token is accepted when it is signed with an asymmetric algorithm by a key in the configured JWKS (a
URL or a file), its `iss` is the configured issuer, its `aud` names this server (RFC 8707: by default
its resource URL), it has not expired (30 s of clock skew allowed), and it grants a role: the claim
MCP_PAYMENTS_JWT_ROLE_CLAIM (default `role`; a name or a list of names), or else a `payments:<role>`
scope in `scope`/`scp`. Symmetric algorithms (HS256...) are never accepted: the JWKS is public, and a
public key taken as an HMAC secret would let anyone sign.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import jwt
import structlog

from mcp_payments.domain.errors import NotAuthenticated
from mcp_payments.domain.roles import Role, highest
from mcp_payments.server.callers import CallerToken
from mcp_payments.services.access import CredentialType

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 30
SCOPE_PREFIX = "payments:"
JWKS_TTL_SECONDS = 300.0  # keys are fetched again after this, so a rotation at the issuer is picked up
JWKS_RETRY_SECONDS = 30.0  # an unknown kid fetches again, at most this often (a flood of made-up kids is cheap)
log = structlog.get_logger("mcp_payments.auth")


@dataclass(frozen=True, slots=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks: str  # an https:// (or http://) URL, or a file path
    role_claim: str = "role"


class Jwks:
    """The issuer's signing keys, from a URL or a file, kept for a while and fetched again for an unknown kid."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._keys: list[dict[str, Any]] = []
        self._loaded_at = float("-inf")

    async def key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        age = time.monotonic() - self._loaded_at
        found = self._find(kid) if age < JWKS_TTL_SECONDS else None
        if found is None and age >= JWKS_RETRY_SECONDS:
            await self._load()
            found = self._find(kid)
        if found is None:
            raise NotAuthenticated(f"the JWT's signing key (kid {str(kid)[:64]!r}) is not in the issuer's JWKS")
        try:
            # A JWK without "alg" fits any algorithm of its key type; the token's (one of ALGORITHMS) is then used.
            return jwt.PyJWK(found, algorithm=None if "alg" in found else alg)
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"the JWKS key {str(kid)[:64]!r} cannot verify a {alg} signature: {error}") from None

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        signing = [k for k in self._keys if k.get("use", "sig") == "sig"]
        if kid is None:
            return signing[0] if len(signing) == 1 else None
        return next((k for k in signing if k.get("kid") == kid), None)

    async def _load(self) -> None:
        self._loaded_at = time.monotonic()  # a failed fetch waits JWKS_RETRY_SECONDS too
        try:
            document = json.loads(await self._read())
            keys = document["keys"]
            if not isinstance(keys, list):
                raise TypeError("keys is not a list")
        except (OSError, httpx2.HTTPError, ValueError, KeyError, TypeError) as error:
            log.warning("jwks_unavailable", source=self.source, error=f"{type(error).__name__}: {str(error)[:200]}")
            return  # the keys fetched before stay in use
        self._keys = [k for k in keys if isinstance(k, dict)]

    async def _read(self) -> str:
        if self.source.startswith(("https://", "http://")):
            async with httpx2.AsyncClient(timeout=10, follow_redirects=False) as client:
                response = await client.get(self.source)
                response.raise_for_status()
                return response.text
        return await anyio.Path(self.source).read_text()


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self.jwks = Jwks(settings.jwks)

    async def verify(self, token: str) -> CallerToken:
        """The caller a valid token names; NotAuthenticated saying what is wrong with any other."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticated("the bearer token is neither an API key (mcpp_...) nor a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise NotAuthenticated(f"the JWT's algorithm {str(alg)[:20]!r} is not accepted; use one of {ALGORITHMS}")
        key = await self.jwks.key(header.get("kid"), alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"], "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"the JWT is refused: {error}") from None
        subject = str(claims["sub"])
        if not 0 < len(subject) <= MAX_SUBJECT or not subject.isprintable():
            # It names the principal in every audit record and log line: plain, bounded text only.
            raise NotAuthenticated(f"the JWT's sub must be 1-{MAX_SUBJECT} printable characters")
        scopes = _scopes(claims)
        role = self._role(claims, scopes)
        return CallerToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or subject),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.settings.audience,
            subject=subject,
            claims={"iss": claims["iss"]},
            principal=f"oauth:{subject}",
            role=role,
            credential=_credential(claims, token),
            credential_type=CredentialType.JWT,
        )

    def _role(self, claims: dict[str, Any], scopes: list[str]) -> Role:
        name = self.settings.role_claim
        value = claims.get(name, _nested(claims, name))
        if value is not None:
            names = value if isinstance(value, list) else [value]
            role = highest([r for r in map(_role_named, names) if r is not None])
            if role is None:
                raise NotAuthenticated(f"the JWT's {name!r} claim names no role (viewer, agent, operator, admin)")
            return role
        role = highest([r for s in scopes if s.startswith(SCOPE_PREFIX) and (r := _role_named(s)) is not None])
        if role is None:
            raise NotAuthenticated(
                f"the JWT grants no role: it needs a {name!r} claim or a scope such as {SCOPE_PREFIX}agent"
            )
        return role


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope", claims.get("scp", []))
    return scope.split() if isinstance(scope, str) else [str(s) for s in scope] if isinstance(scope, list) else []


def _nested(claims: dict[str, Any], path: str) -> Any:
    """A claim inside an object, by a dotted path (realm_access.roles); only tried when no claim has that name."""
    value: Any = claims
    for part in path.split(".") if "." in path else []:
        value = value.get(part) if isinstance(value, dict) else None
    return value if "." in path else None


def _role_named(value: object) -> Role | None:
    text = str(value).removeprefix(SCOPE_PREFIX)
    try:
        return Role.parse(text)
    except ValueError:
        return None


MAX_SUBJECT = 200


def _credential(claims: dict[str, Any], token: str) -> str:
    """The token's id (jti), or a digest of the token when it has none: what logs and the audit chain name."""
    jti = claims.get("jti")
    if jti is not None and str(jti).isprintable():
        return f"jwt:{str(jti)[:100]}"
    return "jwt:sha256:" + hashlib.sha256(token.encode()).hexdigest()[:32]
