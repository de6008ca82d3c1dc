"""The returns desk's rules: who may ask, what is covered, the shop's deadline, escalation. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.config import IntakeSettings
from services.intake.errors import (
    ActionNotAllowed,
    RefundAboveAmount,
    ReturnNotCovered,
    ReturnWindowPassed,
    UnknownMerchant,
)
from services.intake.models import Merchant, ReturnRequest
from services.intake.regions import Region, RegionCatalogue
from services.intake.repository.merchants import MerchantRepository
from services.intake.repository.returns import ReturnRepository
from services.intake.work import SYSTEM
from shared.clock import SHANGHAI, Clock
from shared.contracts.common import Channel
from shared.contracts.identity import Identity, Role, region_covers
from shared.contracts.returns import (
    OPEN_RETURN_STATES,
    ReturnExchangeIn,
    ReturnIn,
    ReturnRefundIn,
    ReturnRejectionIn,
    ReturnState,
    ReturnVisitIn,
    ReturnWithdrawalIn,
)
from shared.errors import InvalidTransition, ValidationFailed
from shared.ids import new_id

R = ReturnState


@dataclass
class ReturnsDesk:
    """Return requests, for one unit of work (one request or one scheduler run)."""

    session: AsyncSession
    clock: Clock
    settings: IntakeSettings
    regions: RegionCatalogue

    @property
    def returns(self) -> ReturnRepository:
        return ReturnRepository(self.session)

    def _log(self, r: ReturnRequest, action: str, actor: Identity, note: str | None = None) -> None:
        entry: dict[str, Any] = {"at": self.clock.now().isoformat(), "action": action, "actor_role": actor.role.value}
        if note:
            entry["note"] = note
        r.history = [*r.history, entry]

    def _require(self, actor: Identity, *roles: Role, action: str) -> None:
        if actor.role not in roles:
            raise ActionNotAllowed(f"A {actor.role.value} may not {action} a return request.")

    def _move(
        self,
        r: ReturnRequest,
        action: str,
        to: ReturnState,
        actor: Identity,
        note: str | None = None,
        allowed_from: frozenset[ReturnState] = OPEN_RETURN_STATES,
    ) -> ReturnRequest:
        if r.state not in allowed_from:
            raise InvalidTransition(
                f"A return request in state {r.state} does not allow {action}.", state=r.state, action=action
            )
        r.state = to.value
        if to not in OPEN_RETURN_STATES:
            r.concluded_at = self.clock.now()
        self._log(r, action, actor, note)
        return r

    async def request(self, actor: Identity, body: ReturnIn) -> ReturnRequest:
        """A return request: refused, and nothing stored, when the window has passed or the goods are not
        covered; otherwise the shop is told and must refund by the deadline."""
        now = self.clock.now()
        today = now.astimezone(SHANGHAI).date()
        region = self.regions.served(body.region_code)
        if actor.role == Role.consumer:
            channel, consumer_id = actor.channel or Channel.wechat_miniprogram, actor.subject
        elif actor.role in (Role.official, Role.admin) and (
            actor.role == Role.admin or region_covers(actor.region_code or "", region.code)
        ):
            channel, consumer_id = body.channel or Channel.walk_in, None
        else:
            raise ActionNotAllowed("Tourists, and the desk's officials for their region, file return requests.")
        if body.purchase_region_code and not region_covers(region.code, body.purchase_region_code):
            return await self._refer(actor, body, region, channel, consumer_id)
        if body.purchased_on > today:
            raise ValidationFailed(
                "The purchase cannot be in the future.",
                errors=[{"field": "body.purchased_on", "message": "is in the future"}],
            )
        window = region.settings.returns_window_days
        if (today - body.purchased_on).days > window:
            raise ReturnWindowPassed(
                f"Goods are returned within {window} days of purchase; {body.purchased_on} was "
                f"{(today - body.purchased_on).days} days ago.",
                field="purchased_on",
                params={"days": window},
            )
        if body.custom_made:
            raise ReturnNotCovered(
                "Custom-made or altered goods are not covered by the no-reason return.", field="custom_made"
            )
        r = await self._new(
            body,
            region,
            channel,
            consumer_id,
            now,
            state=R.requested.value,
            refund_by=now + timedelta(hours=self.settings.return_refund_hours),
            source_name=region.settings.returns_platform if consumer_id else None,
        )
        self._log(r, "requested", actor, body.reason)
        self.returns.add(r)
        await self.session.flush()
        return r

    async def _new(
        self,
        body: ReturnIn,
        region: Region,
        channel: Channel,
        consumer_id: str | None,
        now: datetime,
        **fields: Any,
    ) -> ReturnRequest:
        """A request as the tourist describes it, for the shop they name; `fields` say what becomes of it."""
        merchant = await self._merchant(body)
        unit = region.unit(region.settings.returns_unit)
        return ReturnRequest(
            id=new_id("ret"),
            consumer_id=consumer_id,
            channel=channel.value,
            region_code=region.code,
            merchant_id=merchant.id if merchant else None,
            merchant_name=merchant.name if merchant else (body.merchant_name or ""),
            goods=body.goods,
            receipt_no=body.receipt_no,
            purchased_on=body.purchased_on,
            amount_fen=body.amount_fen,
            reason=body.reason,
            contact_phone=body.contact_phone,
            requested_at=now,
            overdue=False,
            amount_refunded_fen=0,
            history=[],
            unit_name=unit.name if unit else None,
            **fields,
        )

    async def _merchant(self, body: ReturnIn) -> Merchant | None:
        merchant = None
        if body.merchant_id:
            merchant = await MerchantRepository(self.session).get(body.merchant_id)
            if merchant is None:
                raise UnknownMerchant(f"No merchant {body.merchant_id} is registered.", field="merchant_id")
        if merchant is None and not body.merchant_name:
            raise ValidationFailed(
                "Name the shop: pick a registered one or give its name.",
                message="validation_failed.shop",
                errors=[{"field": "body.merchant_name", "message": "required"}],
            )
        return merchant

    async def _refer(
        self, actor: Identity, body: ReturnIn, region: Region, channel: Channel, consumer_id: str | None
    ) -> ReturnRequest:
        """Goods bought in another jurisdiction: the desk refers the tourist there (as Panlong's desk did for
        tourists who had bought in Xishuangbanna); kept, concluded at once, on the history and in the report."""
        target = self.regions.get(body.purchase_region_code or "")
        now = self.clock.now()
        to = body.referred_to or target.handling_unit or target.name
        r = await self._new(
            body,
            region,
            channel,
            consumer_id,
            now,
            state=R.referred.value,
            refund_by=now,
            concluded_at=now,
            referred_to_region=target.code,
            referred_to=to,
        )
        self._log(r, "requested", actor, body.reason)
        self._log(r, "referred", actor, referral_note(target, region, to))
        self.returns.add(r)
        await self.session.flush()
        return r

    async def refund(self, r: ReturnRequest, actor: Identity, body: ReturnRefundIn) -> ReturnRequest:
        self._require(actor, Role.merchant_staff, Role.official, Role.admin, action="record the refund of")
        if body.amount_refunded_fen > r.amount_fen:
            raise RefundAboveAmount(
                "The refund exceeds the amount of the request.",
                errors=[{"field": "body.amount_refunded_fen", "message": "exceeds amount_fen"}],
            )
        r.amount_refunded_fen = body.amount_refunded_fen
        return self._move(r, "refunded", R.refunded, actor, body.note)

    async def exchange(self, r: ReturnRequest, actor: Identity, body: ReturnExchangeIn) -> ReturnRequest:
        """The shop exchanged the goods (换货) instead of taking them back: concluded, nothing refunded."""
        self._require(actor, Role.merchant_staff, Role.official, Role.admin, action="record the exchange of")
        return self._move(r, "exchanged", R.exchanged, actor, body.note)

    async def visit(self, r: ReturnRequest, actor: Identity, body: ReturnVisitIn) -> ReturnRequest:
        """The follow-up visit (回访) once a request is concluded: whether the tourist is satisfied, whether a
        withdrawal was their own, whether anyone shirked. A later visit replaces the earlier; each is on the
        history."""
        self._require(actor, Role.official, Role.admin, action="record a visit on")
        if r.state in OPEN_RETURN_STATES:
            raise InvalidTransition(
                f"A return request in state {r.state} is still open; it is visited once concluded.",
                state=r.state,
                action="visits",
            )
        if body.withdrawal_induced and r.state != R.withdrawn:
            raise ValidationFailed(
                "Only a withdrawn request's withdrawal can have been induced.",
                errors=[{"field": "body.withdrawal_induced", "message": "the request was not withdrawn"}],
            )
        record_visit(
            r,
            self.clock.now(),
            actor.display_name or actor.subject,
            satisfied=body.satisfied,
            induced=body.withdrawal_induced,
            shirking=body.shirking_reported,
        )
        self._log(r, "visited", actor, visit_note(r, body.note))
        return r

    async def escalate(self, r: ReturnRequest, actor: Identity, body: ReturnRejectionIn) -> ReturnRequest:
        """The shop disputes the request (or an official takes it over): officials decide."""
        self._require(actor, Role.merchant_staff, Role.official, Role.admin, action="escalate")
        r.escalated_at = self.clock.now()
        return self._move(r, "escalated", R.escalated, actor, body.note, allowed_from=frozenset({R.requested}))

    async def reject(self, r: ReturnRequest, actor: Identity, body: ReturnRejectionIn) -> ReturnRequest:
        self._require(actor, Role.official, Role.admin, action="reject")
        return self._move(r, "rejected", R.rejected, actor, body.note)

    async def withdraw(self, r: ReturnRequest, actor: Identity, body: ReturnWithdrawalIn) -> ReturnRequest:
        self._require(actor, Role.consumer, Role.official, Role.admin, action="withdraw")
        return self._move(r, "withdrawn", R.withdrawn, actor, body.reason)

    async def fire_due(self) -> int:
        """Requests whose shop missed the refund deadline escalate to the region's officials, once each."""
        now, fired = self.clock.now(), 0
        for r in await self.returns.due(now, self.settings.scheduler_batch_size):
            r.overdue, r.escalated_at = True, now
            self._log(r, "overdue", SYSTEM, f"refund deadline {r.refund_by.isoformat()} missed")
            self._move(r, "escalated", R.escalated, SYSTEM, allowed_from=frozenset({R.requested}))
            fired += 1
        await self.session.flush()
        return fired


def referral_note(target: Region, region: Region, to: str) -> str:
    return f"购买地在{target.name}，不属于{region.name}辖区，已转{to}处理"


def record_visit(r: ReturnRequest, at: datetime, by: str, *, satisfied: bool, induced: bool, shirking: bool) -> None:
    r.visited_at, r.visited_by = at, by[:200]
    r.visit_satisfied, r.withdrawal_induced, r.shirking_reported = satisfied, induced, shirking


def visit_note(r: ReturnRequest, note: str | None = None) -> str:
    """What the visit found, as the history writes it: "回访：游客表示满意；无推诿责任、诱导撤销"."""
    said = ["游客表示满意" if r.visit_satisfied else "游客表示不满意"]
    if r.withdrawal_induced:
        said.append("反映被诱导撤销")
    if r.shirking_reported:
        said.append("反映工作人员或商家推诿责任")
    if not (r.withdrawal_induced or r.shirking_reported):
        said.append("无推诿责任、诱导撤销")
    return "回访：" + "；".join(said) + (f"。{note}" if note else "")
