"""API keys: issued and revoked by whoever can open the database (the CLI), checked on every request.

Issuing and revoking are commands like a tool call's, run through the CallRunner with the administrator's
principal (cli:<OS user>): each appends an audit record naming who did it, to which key, in the same
transaction as the change. The key's secret is handed back once, from the first run, and is never in the
stored answer, the audit record, the database or a log line; only its SHA-256 is kept.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.domain.api_keys import (
    ID_PREFIX,
    NAME_PATTERN,
    ApiKey,
    KeyStatus,
    key_text,
    new_secret,
    parse_key,
    secret_digest,
)
from mcp_payments.domain.errors import (
    ApiKeyNotFound,
    InvalidInput,
    InvalidStateTransition,
    NotAuthenticated,
    Unavailable,
)
from mcp_payments.domain.roles import Role
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.ports import API_KEYS, Clock, Ids, UnitOfWork

# A key's last use is written at most this often: a write per request would queue every request behind the
# database's write lock (SQLite), for a date nobody needs to the second.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    text: str = field(repr=False)  # the whole key, secret included: shown once to whoever issued it


class KeyService:
    def __init__(self, clock: Clock, ids: Ids, calls: CallRunner) -> None:
        self.clock = clock
        self.ids = ids
        self.calls = calls

    async def issue(self, by: str, name: str, role: Role, lifetime: timedelta | None = None) -> IssuedKey:
        """A new key for `name` with `role`, valid for `lifetime` (None: until revoked); audited under `by`."""
        if NAME_PATTERN.fullmatch(name) is None:
            raise InvalidInput(
                f"key name {name[:80]!r} is not 1-64 letters, digits and . _ @ - starting with a letter or digit"
            )
        if lifetime is not None and lifetime <= timedelta(0):
            raise InvalidInput("a key's lifetime must be positive")
        now = self.clock.now()
        expires_at = now + lifetime if lifetime is not None else None

        async def create(uow: UnitOfWork) -> Done:
            secret = new_secret()
            key = ApiKey(self.ids.new(ID_PREFIX), name, role, secret_digest(secret), now, expires_at)
            await uow.repo(API_KEYS).add(key)
            return Done(described(key), (key.id,), IssuedKey(key, key_text(key.id, secret)))

        arguments = {"name": name, "role": role.value, "expires_at": _iso(expires_at)}
        outcome = await self.calls.mutate(Command("create_api_key", by, arguments, _fresh_key()), create)
        assert isinstance(outcome.value, IssuedKey), "a fresh idempotency key is never a replay"
        return outcome.value

    async def revoke(self, by: str, key_id: str) -> ApiKey:
        """Revoke a key from the next request on; audited under `by`."""

        async def revoke(uow: UnitOfWork) -> Done:
            keys = uow.repo(API_KEYS)
            key = await keys.get(key_id, lock=True)
            if key is None:
                raise ApiKeyNotFound(f"no API key {key_id}: `mcp-payments keys list` shows them", key_id=key_id)
            if key.revoked_at is not None:
                raise InvalidStateTransition(
                    f"API key {key_id} was revoked already, at {_iso(key.revoked_at)}", key_id=key_id
                )
            at = self.clock.now()
            await keys.revoke(key_id, at)
            revoked = replace(key, revoked_at=at)
            return Done(described(revoked), (key_id,), revoked)

        outcome = await self.calls.mutate(Command("revoke_api_key", by, {"key_id": key_id}, _fresh_key()), revoke)
        assert isinstance(outcome.value, ApiKey), "a fresh idempotency key is never a replay"
        return outcome.value

    async def all(self) -> list[ApiKey]:
        return await self.calls.read(lambda uow: uow.repo(API_KEYS).all(), snapshot=False)

    async def authenticate(self, text: str) -> ApiKey:
        """The key `text` spells, if it is known, its secret matches and it is neither revoked nor expired; else
        NotAuthenticated saying which (never echoing the secret). Read from the database on every call: a revoke
        takes effect on the next request, in every process."""
        parsed = parse_key(text)
        if parsed is None:
            raise NotAuthenticated("the API key is malformed: keys look like mcpp_key_<26 characters>_<43 characters>")
        key_id, secret = parsed
        key = await self.calls.read(lambda uow: uow.repo(API_KEYS).get(key_id), snapshot=False)
        # An unknown id and a wrong secret get the same answer, compared in constant time.
        if key is None or not hmac.compare_digest(key.secret_sha256, secret_digest(secret)):
            raise NotAuthenticated(f"API key {key_id} is not known here", credential=key_id)
        now = self.clock.now()
        match key.status(now):
            case KeyStatus.REVOKED:
                raise NotAuthenticated(f"API key {key_id} was revoked at {_iso(key.revoked_at)}", credential=key_id)
            case KeyStatus.EXPIRED:
                raise NotAuthenticated(f"API key {key_id} expired at {_iso(key.expires_at)}", credential=key_id)
            case KeyStatus.ACTIVE:
                pass
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
            with contextlib.suppress(Unavailable):  # a busy database delays the date, never the request
                await self.calls.write(lambda uow: uow.repo(API_KEYS).touch(key_id, now))
        return key


def described(key: ApiKey) -> dict[str, Any]:
    """A key as the stored answer of its command: everything but the secret's digest."""
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role.value,
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _fresh_key() -> str:
    # Each administrative command is its own request: two identical `keys create` make two keys, where a key
    # derived from the arguments would answer the second with the first (and without its secret).
    return "admin-" + secrets.token_hex(16)
