"""The payee's real name (收款人实名): kept with consent, encrypted per field, masked, deleted when done.

WeChat Pay's transfer needs the payee's real name from 2,000 yuan (`user_name`, which the adapter has
the SDK encrypt with WeChat Pay's public key); Alipay checks a name when one is given. The tourist, or
an official for the tourist with the tourist's consent, gives it:

- with the compensation request: intake hands it here (`PUT /internal/payee-names/{complaint_id}`)
  before it records the request, so the name never rides an event or sits in an outbox;
- or later on the claim (`PUT /v1/claims/{claim_id}/payee-name`), typically when a payout that needs it
  waits for it (claim and payout `awaiting_payee_name`, and the tourist is asked in the mini-program).

At rest each name is its own Fernet token (MultiFernet: `COMPENSATION_PAYEE_NAME_SECRET` encrypts, it or
`COMPENSATION_PAYEE_NAME_PREVIOUS_SECRET` decrypts; `cli rotate-payee-names` re-encrypts), and what it
encrypts names the complaint, so a token copied onto another row does not read as that row's name.

Who sees it: the tourist and the officials who pay the claim (those of its region) in full, everyone
else masked (王**); it is in no event, log line or timeline entry.

How long it is kept: while the claim needs it. It is deleted in the same transaction as the claim is
finished: paid (the payout succeeded) or rejected (including a failed payout an official cancels). A
failed payout keeps it (an official may retry; a wrong name is replaced by giving the right one). The
tourist may withdraw it (`DELETE .../payee-name`): a payout that needs it then waits again. A name
whose claim never opened (the request failed after the name was stored) is deleted after
`COMPENSATION_PAYEE_NAME_UNCLAIMED_HOURS`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.config import CompensationSettings
from services.compensation.errors import ClaimFinished, PayeeNameNotAllowed
from services.compensation.models import Claim, PayeeName, Payout
from shared.background import periodic
from shared.contracts.compensation import ClaimState, PayoutState
from shared.contracts.identity import Identity, Role, region_covers
from shared.logging import mask_name

log = logging.getLogger("compensation.payee_names")
FINISHED = (ClaimState.paid, ClaimState.rejected)


def _fernet(secret: str) -> Fernet:
    # The setting is a secret of 32+ characters, not a Fernet key: HKDF derives one from it.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"assured-tour payee names v1").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def payee_name_cipher(settings: CompensationSettings) -> MultiFernet:
    """The keys newest first: the newest encrypts, any of them decrypts."""
    return _cipher(tuple(settings.payee_name_secrets))


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key) for key in keys])


def seal(cipher: MultiFernet, complaint_id: str, name: str) -> str:
    return cipher.encrypt(json.dumps({"c": complaint_id, "n": name}, ensure_ascii=False).encode()).decode()


def unseal(cipher: MultiFernet, complaint_id: str, token: str) -> str:
    """The name, if `token` is this complaint's; InvalidToken otherwise (another key, another row)."""
    data = json.loads(cipher.decrypt(token.encode()))
    if data.get("c") != complaint_id:
        raise InvalidToken
    return str(data["n"])


def sees_in_full(identity: Identity, claim: Claim) -> bool:
    """The tourist paid, and the officials who pay the claim (its region's); not admins, merchants or others."""
    if identity.role == Role.consumer:
        return claim.consumer_id is not None and claim.consumer_id == identity.subject
    if identity.role == Role.official:
        return identity.region_code is not None and region_covers(identity.region_code, claim.region_code)
    return False


def may_give(identity: Identity, claim: Claim) -> None:
    """The tourist gives their own name; an official of the claim's region gives it for them, with their consent."""
    if not sees_in_full(identity, claim):
        raise PayeeNameNotAllowed("Only the tourist, or an official of the claim's region for them, gives the name.")


def given_by(identity: Identity) -> str:
    return "consumer" if identity.role == Role.consumer else identity.subject


@dataclass
class PayeeNames:
    session: AsyncSession
    cipher: MultiFernet

    @classmethod
    def of(cls, session: AsyncSession, settings: CompensationSettings) -> PayeeNames:
        return cls(session, payee_name_cipher(settings))

    async def keep(self, complaint_id: str, consumer_id: str, name: str, by: str, now: datetime) -> PayeeName:
        """Keep (or replace) the name for a complaint's claim, encrypted."""
        row = await self.session.get(PayeeName, complaint_id)
        token = seal(self.cipher, complaint_id, name)
        if row is None:
            row = PayeeName(
                complaint_id=complaint_id, consumer_id=consumer_id, name_encrypted=token, consent_at=now, given_by=by
            )
            self.session.add(row)
        else:
            row.consumer_id, row.name_encrypted, row.consent_at, row.given_by = consumer_id, token, now, by
        await self.session.flush()
        return row

    async def rows(self, complaint_ids: Iterable[str]) -> dict[str, PayeeName]:
        ids = sorted(set(complaint_ids))
        if not ids:
            return {}
        found = await self.session.scalars(select(PayeeName).where(PayeeName.complaint_id.in_(ids)))
        return {row.complaint_id: row for row in found}

    def read(self, row: PayeeName) -> str | None:
        """The name in clear; None when no configured key reads it (a key dropped too early): it must be given again."""
        try:
            return unseal(self.cipher, row.complaint_id, row.name_encrypted)
        except (InvalidToken, ValueError, KeyError):
            return None

    def shown(self, row: PayeeName | None, claim: Claim, viewer: Identity | None) -> str | None:
        if row is None:
            return None
        name = self.read(row)
        return name if viewer is not None and sees_in_full(viewer, claim) else mask_name(name)

    async def for_payouts(self, payout_ids: Iterable[str]) -> dict[str, str]:
        """payout id -> the payee's name in clear, for the payouts that have one (the payout worker's send)."""
        ids = sorted(set(payout_ids))
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Payout.id, PayeeName)
            .join(Claim, Claim.id == Payout.claim_id)
            .join(PayeeName, PayeeName.complaint_id == Claim.complaint_id)
            .where(Payout.id.in_(ids))
        )
        return {payout_id: name for payout_id, row in rows if (name := self.read(row)) is not None}

    async def forget(self, complaint_ids: Iterable[str]) -> None:
        ids = sorted(set(complaint_ids))
        if ids:
            await self.session.execute(delete(PayeeName).where(PayeeName.complaint_id.in_(ids)))

    async def purge_unclaimed(self, now: datetime, hours: int) -> int:
        """Names given with a request whose claim never opened, older than `hours`."""
        result = await self.session.execute(
            delete(PayeeName).where(
                PayeeName.consent_at < now - timedelta(hours=hours),
                ~exists().where(Claim.complaint_id == PayeeName.complaint_id),
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def rotate(self) -> int:
        """Encrypt every name again with the newest key; returns how many."""
        rows = (await self.session.scalars(select(PayeeName))).all()
        for row in rows:
            row.name_encrypted = self.cipher.rotate(row.name_encrypted.encode()).decode()
        await self.session.flush()
        return len(rows)


async def _sweep_unclaimed(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        settings = app.state.settings
        purged = await PayeeNames.of(session, settings).purge_unclaimed(
            app.state.clock.now(), settings.payee_name_unclaimed_hours
        )
        await session.commit()
    if purged:
        log.info("deleted %d payee names whose claim never opened", purged)


# Delete names whose claim never opened, once they are `payee_name_unclaimed_hours` old (every 10 minutes).
unclaimed_name_sweeper = periodic("payee_names", 600, _sweep_unclaimed, log)


def awaits_name(claim: Claim, payout: Payout | None) -> bool:
    """Whether the claim's payout is held back for want of the payee's name."""
    if payout is None:
        return False
    return claim.state == ClaimState.awaiting_payee_name and payout.state == PayoutState.awaiting_payee_name


def check_open(claim: Claim) -> None:
    if claim.state in FINISHED:
        raise ClaimFinished(f"The claim is {claim.state}: it needs no payee name any more.", state=claim.state)
