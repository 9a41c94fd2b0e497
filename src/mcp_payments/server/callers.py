"""Who is calling, found again for every request and held for the tool call it serves.

On http and sse the caller is the principal of the bearer token that the SDK's authentication middleware
verified for this very request (server/tokens.py); a request without one never reaches a tool. On stdio
(and in-memory clients) it is the process's own principal: the key in MCP_PAYMENTS_API_KEY, read from
the database again on every call so that a revoke takes effect at once, or else the local OS user.
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from pydantic import Field

from mcp_payments.domain.errors import NotAuthenticated
from mcp_payments.domain.roles import Role
from mcp_payments.services.access import AuthMode, Caller, CredentialType

_in_call: ContextVar[Caller | None] = ContextVar("mcp_payments_caller", default=None)


class CallerToken(AccessToken):
    """An access token this server verified (an API key or a JWT), with the caller it stands for."""

    token: str = Field(repr=False)  # the bearer secret itself: never in a repr or a log line
    principal: str
    role: Role
    credential: str
    credential_type: CredentialType

    def caller(self) -> Caller:
        expires = None if self.expires_at is None else _from_timestamp(self.expires_at)
        return Caller(self.principal, self.role, AuthMode.BEARER, self.credential, self.credential_type, expires)


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return "unknown"


def local_principal(name: str | None = None) -> str:
    """The principal of the local user (stdio without a key): local:<name>, by default the OS user's name."""
    return f"local:{name or local_user()}"


OwnCaller = Callable[[], Awaitable[Caller]]


class Callers:
    """Finds the caller of the request being served. `own` is the process's principal where the transport has no
    tokens (stdio, in-memory, http --no-auth); None where every request must carry one (http, sse)."""

    def __init__(self, own: OwnCaller | None, mode: AuthMode) -> None:
        self._own = own
        self.mode = mode

    @classmethod
    def fixed(cls, caller: Caller) -> Callers:
        async def own() -> Caller:
            return caller

        return cls(own, caller.auth_mode)

    async def current(self) -> Caller:
        """The caller of this request; NotAuthenticated when there is none."""
        token = get_access_token()
        if token is not None:
            if not isinstance(token, CallerToken):
                raise NotAuthenticated("the request's credential was not verified by this server")
            return token.caller()
        if self._own is None:
            # Unreachable through the SDK's middleware (it answers 401 first); refused rather than assumed.
            raise NotAuthenticated("this server needs a bearer token (an API key or a JWT) on every request")
        return await self._own()


@contextmanager
def serving(caller: Caller) -> Iterator[None]:
    """Hold `caller` for the tool call being served (current_caller() inside it)."""
    token = _in_call.set(caller)
    try:
        yield
    finally:
        _in_call.reset(token)


def current_caller() -> Caller:
    """The caller of the tool call being served. Only ever set by the server's call_tool, after its checks."""
    caller = _in_call.get()
    if caller is None:
        raise NotAuthenticated("no caller: a tool runs only inside a call the server has checked")
    return caller


def _from_timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def log_fields(caller: Caller) -> dict[str, Any]:
    """Who called, for the canonical log line: the principal and, when there is one, the credential's id."""
    return {"principal": caller.principal, **({"credential": caller.credential} if caller.credential else {})}
