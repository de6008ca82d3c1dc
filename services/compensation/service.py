"""Compensation's rules in motion, one unit of work: the session, the ledger and the events its parts share.

The parts, each what changes together: rule versions (rule_versions.py), claims (claims.py), payout
outcomes and payee names (payout_outcomes.py), recovery (recovery.py); funds and deposits are here.
No HTTP here and no provider calls (payouts.py sends the money); every movement of money goes
through the ledger in the same transaction as the state it explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation import deposits
from services.compensation import ledger as accounts
from services.compensation.claims import Claims
from services.compensation.config import CompensationSettings
from services.compensation.ledger import Ledger
from services.compensation.models import Claim, Fund, ProgramMerchant
from services.compensation.payee_names import PayeeNames
from services.compensation.payout_outcomes import PayoutOutcomes
from services.compensation.recovery import Recovery
from services.compensation.rule_versions import RuleVersions
from shared.clock import Clock
from shared.contracts.compensation import TopUpIn
from shared.contracts.identity import Identity
from shared.outbox import Outbox


@dataclass
class Compensation:
    session: AsyncSession
    clock: Clock
    settings: CompensationSettings
    outbox: Outbox
    batch: bool = False  # the payout worker's mode: ledger postings and events are written by `flush()`

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.session, self.clock, deferred=self.batch)
        self.payee_names = PayeeNames.of(self.session, self.settings)
        self._events: list[Any] = []
        self._finished: set[str] = set()  # batch mode: complaints whose claims finished, their payee names to forget
        self.rules = RuleVersions(self)
        self.claims = Claims(self)
        self.payouts = PayoutOutcomes(self)
        self.recovery = Recovery(self)

    async def emit(self, event: Any) -> None:
        if self.batch:
            self._events.append(event)
        else:
            await self.outbox.emit(self.session, event)

    async def flush(self) -> None:
        """Batch mode: write the deferred ledger postings, then the events, each in one go."""
        await self.ledger.flush()
        events, self._events = self._events, []
        await self.outbox.emit_all(self.session, events)
        finished, self._finished = self._finished, set()
        await self.payee_names.forget(finished)

    async def claim_finished(self, claim: Claim) -> None:
        """A paid or rejected claim needs its payee's name no more: it goes in the same transaction."""
        if self.batch:
            self._finished.add(claim.complaint_id)
        else:
            await self.payee_names.forget([claim.complaint_id])

    # --- funds and deposits -----------------------------------------------------------------------
    async def fund(self, region_code: str) -> Fund:
        fund = await self.session.get(Fund, region_code)
        if fund is None:
            fund = Fund(region_code=region_code, floor_fen=0, created_at=self.clock.now())
            self.session.add(fund)
            await self.session.flush()
        return fund

    async def top_up_fund(self, region_code: str, body: TopUpIn, actor: Identity) -> None:
        await self.fund(region_code)
        await self.ledger.post(
            "fund_top_up",
            body.reference,
            [(accounts.external("budget"), -body.amount_fen), (accounts.fund(region_code), body.amount_fen)],
            region_code=region_code,
            memo=f"by {actor.subject}",
        )

    async def top_up_deposit(self, merchant: ProgramMerchant, body: TopUpIn, actor: Identity) -> None:
        await self.ledger.post(
            "deposit_top_up",
            body.reference,
            [(accounts.external("merchants"), -body.amount_fen), (accounts.deposit(merchant.id), body.amount_fen)],
            region_code=merchant.region_code,
            memo=f"by {actor.subject}",
        )
        await deposits.note_top_up(self.session, self.ledger, merchant.id, self.clock.now())
