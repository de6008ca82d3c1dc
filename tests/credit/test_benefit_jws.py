"""Eligibility answers as JWS (EdDSA), verified the way a third-party ticket gate would: PyJWT's PyJWKClient
fetches the JWKS over real HTTP, picks the key by `kid`, and checks signature, expiry and issuer."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from services.credit.main import create_app as create_credit
from services.credit.signing import Signer, verify
from services.gateway.main import create_app as create_gateway
from shared.clock import ManualClock
from shared.testing.fakes.server import ServerThread
from tests.conftest import SANYA, merchant_staff, official
from tests.credit.test_archive import ALICE, PUBLIC, SCENIC, credit_of, get, post
from tests.factories import settle_merchant
from tests.support import Databases, Stack, running_stack

ISSUER = "https://tour.example.cn"
GATE = merchant_staff(SCENIC, subject="usr_GATE")
ASK = {"consumer": ALICE.subject, "benefit": "free_first_ticket", "merchant": SCENIC}


def _seed() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


PREVIOUS_SEED = _seed()


@pytest.fixture
async def live(databases: Databases, tmp_path: Path) -> AsyncIterator[tuple[Stack, str]]:
    """The stack on real time (a gate checks `exp` against its own clock), with a key rotated once; and the
    credit service behind a gateway on loopback ports as well, for what a gate fetches over HTTP."""
    clock = ManualClock(datetime.now(UTC))
    overrides = {"credit": {"signing_previous_keys": PREVIOUS_SEED, "public_base_url": ISSUER}}
    async with running_stack(databases, tmp_path, clock=clock, overrides=overrides) as stack:
        with ServerThread(create_credit(stack.apps["credit"].state.settings, clock=clock)) as credit:
            edge = stack.apps["gateway"].state.settings.model_copy(update={"credit_url": credit.url})
            with ServerThread(create_gateway(edge, clock=clock)) as gateway:
                yield stack, gateway.url


async def _jws(stack: Stack) -> str:
    response = await stack.clients["credit"].get(
        "/v1/benefits/eligibility", params=ASK, headers={**stack.as_(GATE), "Accept": "application/jwt"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jwt")
    return response.text


def _tampered(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_a_gate_verifies_the_jws_answer_with_the_served_jwks_and_refuses_a_tampered_one(
    live: tuple[Stack, str],
) -> None:
    stack, gateway_url = live
    await settle_merchant(stack, SCENIC, name="南山文化旅游区", industry="sightseeing")
    await credit_of(stack, ALICE.subject, ALICE)
    await post(
        stack,
        official(SANYA),
        f"/v1/credit/{ALICE.subject}/records",
        {"kind": "honour", "note": "x", "honour": "中国好人"},
        201,
    )
    token = await _jws(stack)

    gate = jwt.PyJWKClient(f"{gateway_url}/v1/benefits/jwks.json", cache_keys=True)
    key = gate.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["EdDSA"], issuer=ISSUER, options={"require": ["exp", "iat", "sub"]})
    assert (claims["sub"], claims["benefit"], claims["merchant_id"]) == (ALICE.subject, "free_first_ticket", SCENIC)
    assert claims["eligible"] is True and claims["reasons"] == [] and claims["grade"] == "A"
    assert claims["exp"] - claims["iat"] == stack.apps["credit"].state.settings.eligibility_valid_seconds
    assert jwt.get_unverified_header(token)["kid"] == stack.apps["credit"].state.signer.key_id

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(_tampered(token, sub="usr_MALLORY"), key, algorithms=["EdDSA"], issuer=ISSUER)
    # A key of the forger's own under the platform's kid: the JWKS key does not verify it.
    forged = jwt.encode(
        {**claims, "sub": "usr_MALLORY"}, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": key.key_id}
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, gate.get_signing_key_from_jwt(forged), algorithms=["EdDSA"], issuer=ISSUER)
    # "alg": "none" or an HMAC under the public key: a gate that pins EdDSA refuses both.
    unsigned = jwt.encode({**claims, "eligible": True}, None, algorithm="none", headers={"kid": key.key_id})
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(unsigned, key, algorithms=["EdDSA"])

    # Past `exp` the gate refuses the answer by itself.
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key, algorithms=["EdDSA"], issuer=ISSUER, leeway=-400, options={"verify_iat": False})

    # The gateway serves the same set to anyone, and the older form is still there for one release.
    through_gateway = await stack.gateway.get("/v1/benefits/jwks.json")
    assert through_gateway.status_code == 200, through_gateway.text
    assert through_gateway.json() == stack.apps["credit"].state.signer.jwks()
    assert through_gateway.headers["content-type"].startswith("application/jwk-set+json")
    old = await get(stack, GATE, "/v1/benefits/eligibility", **ASK)
    assert old["eligible"] and verify(old, (await get(stack, PUBLIC, "/v1/benefits/signing-key"))["public_key"])


async def test_the_jwks_lists_the_previous_key_so_an_answer_signed_before_a_rotation_still_verifies(
    live: tuple[Stack, str],
) -> None:
    stack, gateway_url = live
    current = stack.apps["credit"].state.signer
    jwks = jwt.PyJWKSet.from_dict(current.jwks())
    assert [k.key_id for k in jwks.keys] == [current.key_id, Signer(PREVIOUS_SEED).key_id]
    assert all(k.algorithm_name == "EdDSA" for k in jwks.keys)

    now = int(datetime.now(UTC).timestamp())
    before_rotation = Signer(PREVIOUS_SEED).sign_jws({"iss": ISSUER, "sub": "usr_ALICE", "iat": now, "exp": now + 60})
    gate = jwt.PyJWKClient(f"{gateway_url}/v1/benefits/jwks.json")
    key = gate.get_signing_key_from_jwt(before_rotation)
    assert key.key_id == Signer(PREVIOUS_SEED).key_id
    assert jwt.decode(before_rotation, key, algorithms=["EdDSA"], issuer=ISSUER)["sub"] == "usr_ALICE"

    retired = Signer(_seed()).sign_jws({"iss": ISSUER, "sub": "usr_ALICE", "iat": now, "exp": now + 60})
    with pytest.raises(jwt.PyJWKClientError):  # a key no longer (or never) listed: no key to verify with
        gate.get_signing_key_from_jwt(retired)
