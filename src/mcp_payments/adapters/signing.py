"""Ed25519 signatures for audit checkpoints, with a key that lives outside the database.

The key is derived from the deployment's secret key (MCP_PAYMENTS_SECRET_KEY or secrets.json), so every
replica signs with the same key and none of it is in the database an attacker might rewrite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cached_property
from typing import Any


class Ed25519Signer:
    def __init__(self, secret: bytes) -> None:
        self._seed = hmac.new(secret, b"mcp-payments audit checkpoint signing key", hashlib.sha256).digest()

    @cached_property
    def _private(self) -> Any:
        # Imported on first use: signing is rare, and start-up should not pay for the cryptography package.
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self._seed)

    @cached_property
    def public_key(self) -> str:
        """The raw 32-byte public key, base64url: what anyone verifying a checkpoint needs."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._private.sign(message)
        return signature

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self._private.public_key().verify(signature, message)
        except InvalidSignature:
            return False
        return True
