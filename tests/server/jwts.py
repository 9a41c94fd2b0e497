"""An authorization server of the tests' own: a signing key pair, its JWKS, and JWTs signed with it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://auth.example.test"
AUDIENCE = "http://127.0.0.1:8000/mcp"


class Issuer:
    def __init__(self, kid: str | None = None, *, algorithm: str = "RS256", issuer: str = ISSUER) -> None:
        self.kid = kid or uuid.uuid4().hex[:8]
        self.algorithm = algorithm
        self.issuer = issuer
        if algorithm.startswith("ES"):
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            self.jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        self.jwk |= {"kid": self.kid, "use": "sig", "alg": algorithm}

    def jwks(self, *others: Issuer) -> dict[str, Any]:
        return {"keys": [self.jwk, *(o.jwk for o in others)]}

    def write_jwks(self, path: Path, *others: Issuer) -> str:
        path.write_text(json.dumps(self.jwks(*others)))
        return str(path)

    def token(
        self, audience: str = AUDIENCE, *, lifetime: float = 300, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": audience, "sub": "user-1", "iat": now, "exp": now + int(lifetime)}
        body |= {"jti": uuid.uuid4().hex, "role": "agent"}
        body |= claims
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **(headers or {})})
