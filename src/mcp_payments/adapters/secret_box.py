"""Sealing secrets that must be used again: a webhook endpoint's signing secret.

It signs every delivery, so it cannot be kept as a one-way hash like an API key; it is kept encrypted (Fernet:
AES-128-CBC with HMAC-SHA256) under a key derived from the deployment's secret key (MCP_PAYMENTS_SECRET_KEY or
secrets.json), which is not in the database: a copy of the database alone cannot forge deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cached_property
from typing import Any


class FernetBox:
    def __init__(self, secret: bytes) -> None:
        self._key = base64.urlsafe_b64encode(hmac.new(secret, b"mcp-payments webhook secrets", hashlib.sha256).digest())

    @cached_property
    def _fernet(self) -> Any:
        # Imported on first use: start-up should not pay for the cryptography package.
        from cryptography.fernet import Fernet

        return Fernet(self._key)

    def seal(self, secret: str) -> str:
        return str(self._fernet.encrypt(secret.encode()).decode())

    def open(self, sealed: str) -> str:
        return str(self._fernet.decrypt(sealed.encode()).decode())
