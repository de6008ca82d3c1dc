"""Recovery: every payout is owed back by the merchant; an order drawn from its deposit, paid, contested,
written off or defaulted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.compensation import ledger as accounts
from services.compensation.errors import ActionNotAllowed, AmountAboveOutstanding, InsufficientBalance
from services.compensation.models import Claim, Payout, RecoveryOrder
from services.compensation.part import Part
from shared.auth import may_see
from shared.contracts.compensation import ContestIn, RecoveryPaymentIn, RecoveryState, WriteOffIn
from shared.contracts.events import RecoveryDefaulted, RecoverySettled
from shared.contracts.identity import Identity, Role
from shared.errors import InvalidTransition
from shared.ids import new_id


class Recovery(Part):
    """A merchant's debt for a payout, from its opening to its end."""

    def new_order(self, claim: Claim, payout: Payout) -> RecoveryOrder:
        """Every payout is owed back by the merchant."""
        assert claim.merchant_id is not None
        now = self.clock.now()
        order = RecoveryOrder(
            id=new_id("rcv"),
            claim_id=claim.id,
            complaint_id=claim.complaint_id,
            merchant_id=claim.merchant_id,
            region_code=claim.region_code,
            fund_region_code=claim.fund_region_code,
            amount_fen=payout.amount_fen,
            recovered_fen=0,
            state=RecoveryState.open,
            due_by=now + timedelta(days=self.settings.recovery_days),
            created_at=now,
        )
        self.session.add(order)
        return order

    async def open_order(self, order: RecoveryOrder) -> None:
        """Book what the merchant owes, and draw it from the deposit at once where the deposit can."""
        await self.ledger.post(
            "recovery_opened",
            order.id,
            [
                (accounts.receivable(order.merchant_id), order.amount_fen),
                (accounts.advanced(order.fund_region_code), -order.amount_fen),
            ],
            region_code=order.region_code,
        )
        available = await self.ledger.balance(accounts.deposit(order.merchant_id))
        draw = min(available, order.amount_fen)
        if draw > 0:
            await self._recover(order, draw, source=accounts.deposit(order.merchant_id), kind="deposit_drawn")

    async def _recover(
        self, order: RecoveryOrder, amount: int, *, source: str, kind: str, reference: str | None = None
    ) -> None:
        await self.ledger.post(
            kind,
            reference or order.id,
            [
                (source, -amount),
                (accounts.fund(order.fund_region_code), amount),
                (accounts.receivable(order.merchant_id), -amount),
                (accounts.advanced(order.fund_region_code), amount),
            ],
            region_code=order.region_code,
        )
        order.recovered_fen += amount
        if order.recovered_fen >= order.amount_fen:
            order.state, order.closed_at = RecoveryState.settled, self.clock.now()
            await self._emit(
                RecoverySettled(
                    claim_id=order.claim_id,
                    complaint_id=order.complaint_id,
                    merchant_id=order.merchant_id,
                    recovery_id=order.id,
                    amount_fen=order.recovered_fen,
                )
            )

    def _open_for_action(self, order: RecoveryOrder, *states: RecoveryState) -> None:
        if order.state not in states:
            raise InvalidTransition(f"A recovery order in state {order.state} does not allow that.", state=order.state)

    async def record_payment(self, order: RecoveryOrder, actor: Identity, body: RecoveryPaymentIn) -> RecoveryOrder:
        """Money recovered: paid by the merchant, or returned by the consumer after a private settlement."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        outstanding = order.amount_fen - order.recovered_fen
        if body.amount_fen > outstanding:
            raise AmountAboveOutstanding(f"Only {outstanding} fen is outstanding.")
        source = accounts.external("consumers" if body.source == "private_settlement" else "merchants")
        await self._recover(
            order, body.amount_fen, source=source, kind=f"recovery_{body.source}", reference=body.reference
        )
        return order

    async def draw_deposit(self, order: RecoveryOrder, actor: Identity, amount_fen: int | None) -> RecoveryOrder:
        """An official draws the merchant's deposit for a recovery order, at any time (all it can, by default)."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        outstanding = order.amount_fen - order.recovered_fen
        available = await self.ledger.balance(accounts.deposit(order.merchant_id))
        amount = amount_fen if amount_fen is not None else min(outstanding, available)
        if amount > outstanding:
            raise AmountAboveOutstanding(f"Only {outstanding} fen is outstanding.")
        if amount <= 0 or amount > available:
            raise InsufficientBalance(
                f"The deposit holds {available} fen; {amount} fen cannot be drawn from it.",
                account=accounts.deposit(order.merchant_id),
            )
        await self._recover(order, amount, source=accounts.deposit(order.merchant_id), kind="deposit_drawn")
        return order

    async def contest(self, order: RecoveryOrder, actor: Identity, body: ContestIn) -> RecoveryOrder:
        if actor.role != Role.merchant_staff or actor.merchant_id != order.merchant_id:
            raise ActionNotAllowed("Only the merchant can contest its recovery order.")
        self._open_for_action(order, RecoveryState.open, RecoveryState.defaulted)
        order.state, order.contest_reason = RecoveryState.contested, body.reason
        return order

    async def write_off(self, order: RecoveryOrder, actor: Identity, body: WriteOffIn) -> RecoveryOrder:
        """An official gives up the rest (a contest upheld, a merchant gone); the fund bears the loss."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        rest = order.amount_fen - order.recovered_fen
        await self.ledger.post(
            "recovery_written_off",
            order.id,
            [(accounts.receivable(order.merchant_id), -rest), (accounts.advanced(order.fund_region_code), rest)],
            region_code=order.region_code,
        )
        order.state, order.write_off_reason, order.closed_at = RecoveryState.written_off, body.reason, self.clock.now()
        return order

    def _require_official(self, order: RecoveryOrder, actor: Identity) -> None:
        if actor.role not in (Role.official, Role.admin) or not may_see(actor, region=order.region_code):
            raise ActionNotAllowed("Only the region's officials can do that.")

    async def default_overdue_recoveries(self) -> int:
        """Open orders past their due date default; credit hears of it."""
        now = self.clock.now()
        orders = (
            await self.session.scalars(
                select(RecoveryOrder)
                .where(RecoveryOrder.state == RecoveryState.open, RecoveryOrder.due_by <= now)
                .with_for_update()
            )
        ).all()
        for order in orders:
            order.state = RecoveryState.defaulted
            await self._emit(
                RecoveryDefaulted(
                    claim_id=order.claim_id,
                    complaint_id=order.complaint_id,
                    merchant_id=order.merchant_id,
                    recovery_id=order.id,
                    amount_fen=order.amount_fen - order.recovered_fen,
                )
            )
        return len(orders)
