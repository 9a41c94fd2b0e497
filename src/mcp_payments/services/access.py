"""Who may call what: the role each kind of tool needs, and the caller a request is made by.

A caller is found per request (server/callers.py): the bearer token's principal on HTTP, the key in
MCP_PAYMENTS_API_KEY or the local OS user on stdio. The rule is one table, REQUIRED_ROLE; tools/list
shows a caller only the tools its role covers, and every call is checked against the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from mcp_payments.domain.api_keys import ApiKey
from mcp_payments.domain.errors import RoleRequired
from mcp_payments.domain.roles import Role
from mcp_payments.services.commands import Kind

REQUIRED_ROLE: Mapping[Kind, Role] = MappingProxyType(
    {
        Kind.READ: Role.VIEWER,
        Kind.OVERSEE: Role.OPERATOR,
        Kind.WRITE: Role.AGENT,
        Kind.MONEY: Role.AGENT,
        Kind.OPERATE: Role.OPERATOR,
        Kind.APPROVE: Role.OPERATOR,
        Kind.ADMIN: Role.ADMIN,
    }
)


class AuthMode(StrEnum):
    """How the transport a caller came through establishes who it is."""

    BEARER = "bearer"  # http/sse: a bearer token (API key or JWT) on every request
    NONE = "none"  # http/sse on a loopback address with --no-auth: whoever can connect is the local user
    PROCESS = "process"  # stdio: the process's principal, MCP_PAYMENTS_API_KEY or the local OS user


class CredentialType(StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: str
    role: Role
    auth_mode: AuthMode
    credential: str | None = None  # the credential's id: an API key's id, or jwt:<jti> for a JWT
    credential_type: CredentialType | None = None
    expires_at: datetime | None = None  # when the credential stops working

    @classmethod
    def of_key(cls, key: ApiKey, auth_mode: AuthMode) -> Caller:
        return cls(key.principal, key.role, auth_mode, key.id, CredentialType.API_KEY, key.expires_at)

    def may_call(self, kind: Kind) -> bool:
        return self.role.covers(REQUIRED_ROLE[kind])

    def refusal(self, tool: str, kind: Kind) -> RoleRequired:
        needed = REQUIRED_ROLE[kind]
        return RoleRequired(
            f"{tool} is {_article(kind)} {kind} tool and needs role {needed} or higher; you ({self.principal}) have "
            f"role {self.role}. Use the tools that tools/list shows you, or ask an administrator for a key with "
            f"role {needed}",
            tool=tool,
            required_role=needed.value,
            role=self.role.value,
        )


def _article(kind: Kind) -> str:
    return "an" if kind.value[0] in "aeiou" else "a"
