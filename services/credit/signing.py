"""The keys that sign eligibility answers (Ed25519): the current one signs, the ones it replaced are still
published, so that an answer signed just before a rotation verifies.

An answer is a compact JWS (alg EdDSA, the key's `kid` in its header) that any JOSE library verifies with the
JWKS at `/v1/benefits/jwks.json`, without calling back. The older form (`signature` over a canonical JSON,
the key at `/v1/benefits/signing-key`) is kept for one release.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.contracts.credit import SigningKey


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_raw(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_raw: bytes) -> str:
    """A key's id (`kid`): the first 8 bytes of its public key's SHA-256, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


class Signer:
    """Signs eligibility answers with the current key; publishes it and the keys it replaced (a JWKS), so that an
    answer signed just before a rotation still verifies."""

    def __init__(self, seed_b64: str, previous_seeds: list[str] | None = None) -> None:
        self.private = Ed25519PrivateKey.from_private_bytes(_unb64(seed_b64))
        self.public_raw = _public_raw(self.private)
        self.key_id = key_id_of(self.public_raw)
        previous = [_public_raw(Ed25519PrivateKey.from_private_bytes(_unb64(s))) for s in previous_seeds or ()]
        self.previous_raw = [raw for raw in previous if raw != self.public_raw]

    def published(self) -> SigningKey:
        return SigningKey(key_id=self.key_id, public_key=_b64(self.public_raw))

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JSON Web Key Set (RFC 7517, OKP keys of RFC 8037): current first, then previous."""
        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": key_id_of(raw), "use": "sig", "alg": "EdDSA"}
                for raw in (self.public_raw, *self.previous_raw)
            ]
        }

    def sign(self, fields: dict[str, Any]) -> str:
        return _b64(self.private.sign(canonical(fields)))

    def sign_jws(self, claims: dict[str, Any]) -> str:
        """A compact JWS (RFC 7515) of `claims`, EdDSA with the current key, its `kid` in the header."""
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.key_id, "typ": "JWT"})


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes that are signed: every field but the signature, as JSON with sorted keys and no spaces."""
    plain = {k: v for k, v in fields.items() if k != "signature"}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def verify(answer: dict[str, Any], public_key_b64: str) -> bool:
    """What a gate did with an answer in the older form (kept for one release, with the tests of that form).
    A gate now verifies `answer["jws"]` with any JOSE library against the JWKS (see docs/security.md)."""
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(public_key_b64)).verify(
            _unb64(answer["signature"]), canonical(answer)
        )
    except Exception:
        return False
    return True
