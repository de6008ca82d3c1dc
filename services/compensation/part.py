"""What each part of compensation's rules in motion shares: the unit of work of the Compensation it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.compensation.models import Claim

if TYPE_CHECKING:
    from services.compensation.service import Compensation


class Part:
    """One concern (claims, payout outcomes, recovery, rule versions) over its Compensation's session,
    ledger and events; the parts reach each other through `compensation`."""

    def __init__(self, compensation: Compensation) -> None:
        self.compensation = compensation
        self.session = compensation.session
        self.clock = compensation.clock
        self.settings = compensation.settings
        self.ledger = compensation.ledger
        self.payee_names = compensation.payee_names
        self.batch = compensation.batch

    async def _emit(self, event: Any) -> None:
        await self.compensation.emit(event)

    async def _claim_finished(self, claim: Claim) -> None:
        await self.compensation.claim_finished(claim)
