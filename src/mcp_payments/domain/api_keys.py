"""API keys: what one is, how its text is spelt, and what the database keeps of it (a digest, never the secret).

A key's text is `mcpp_<key id>_<secret>`, e.g. `mcpp_key_01JB0X3S6K8Q2N4V7Y9Z1C3E5G_3fK...` (43 base62
characters of secret, 256 bits). The fixed prefix and shape let secret scanners find a leaked key
(regex KEY_PATTERN), and the key id in it is the credential id that logs and the audit chain name,
so a key can be traced and revoked without anyone handling its secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mcp_payments.domain.roles import Role

PREFIX = "mcpp_"
ID_PREFIX = "key"  # key ids are key_<26 Crockford base32 characters>, like every other id here
_SECRET_ALPHABET = string.digits + string.ascii_letters  # no "_" or "-": a double click selects the whole key
_SECRET_LENGTH = 43  # 43 * log2(62) > 256 bits
KEY_PATTERN = re.compile(rf"{PREFIX}(key_[0-9A-HJKMNP-TV-Z]{{26}})_([0-9A-Za-z]{{{_SECRET_LENGTH}}})")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))


def key_text(key_id: str, secret: str) -> str:
    return f"{PREFIX}{key_id}_{secret}"


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as one of our keys (and not a JWT): it starts with the prefix."""
    return token.startswith(PREFIX)


def parse_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(token)
    return (match[1], match[2]) if match else None


def secret_digest(secret: str) -> str:
    """What is stored of a secret: its SHA-256.

    A plain fast hash is enough here, unlike for passwords: the secret is 256 random bits, so no
    dictionary or brute-force search of the digest can find it, however fast the hash is; a slow hash
    (bcrypt, Argon2) would only add milliseconds to every request."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: Role
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def principal(self) -> str:
        """Who calls with this key. Keys that share a name (a rotation) are one principal, so an idempotency key
        used before the rotation still guards the call retried after it."""
        return f"key:{self.name}"

    def status(self, now: datetime) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE
