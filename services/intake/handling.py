"""Handling a complaint: the actions on its main line, from the intake decision to the callback visit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake.deadlines import handled_minutes, minutes_between, restart_clock, start_handling
from services.intake.errors import (
    AlreadyEvaluated,
    ContactRevealNotAllowed,
    RefundAboveAmountInvolved,
    SameRegion,
    UnknownMerchant,
    UnknownUnit,
)
from services.intake.lifecycle import ACTIONS
from services.intake.models import Complaint, TimelineEntry
from services.intake.repository.merchants import MerchantRepository
from services.intake.transitions import Transitions
from shared.contracts.complaints import (
    AssigneeKind,
    AssignmentIn,
    AtFault,
    CallbackVisitIn,
    ClosureIn,
    ComplaintState,
    ConsumerVerdictIn,
    EscalationIn,
    EvaluationIn,
    IntakeDecisionIn,
    ResolutionIn,
    ResponseIn,
    TransferIn,
    WithdrawalIn,
)
from shared.contracts.events import ComplaintEvaluated, ComplaintResolved, ComplaintWithdrawn
from shared.contracts.identity import Identity, Role
from shared.errors import InvalidTransition, ValidationFailed

S = ComplaintState

CONTACT_REVEALED = "contact_revealed"  # the timeline's record of an official seeing the contact in full


@dataclass
class Handling:
    """The main line of a complaint's life: accepted, assigned, responded to, judged by the tourist, escalated,
    transferred, withdrawn, resolved, closed, rated, visited; its contact revealed to the official handling it."""

    work: Transitions

    async def decide(self, c: Complaint, actor: Identity, body: IntakeDecisionIn) -> Complaint:
        """An official accepts (受理) or declines (不予受理) a complaint waiting for a decision."""
        self.work.authorize(c, actor, "intake-decisions")
        if body.accept:
            merchant = await MerchantRepository(self.work.session).get(c.merchant_id) if c.merchant_id else None
            await self.work.accept(c, actor, merchant, note=body.note)
        else:
            if body.reason is None:
                raise ValidationFailed(
                    "Say why the complaint is not accepted.",
                    message="validation_failed.reason",
                    errors=[{"field": "body.reason", "message": "required when accept is false"}],
                )
            c.not_accepted_reason, c.not_accepted_note = body.reason.value, body.note
            await self.work.move(
                c,
                "not_accepted",
                S.not_accepted,
                actor,
                allowed_from=ACTIONS["intake-decisions"].allowed_from,
                note=body.note,
                data={"reason": body.reason.value},
            )
        return c

    async def assign(self, c: Complaint, actor: Identity, body: AssignmentIn) -> Complaint:
        self.work.authorize(c, actor, "assignments")
        if body.kind == AssigneeKind.merchant:
            merchant_id = body.merchant_id or c.merchant_id
            merchant = await MerchantRepository(self.work.session).get(merchant_id) if merchant_id else None
            if merchant is None:
                raise UnknownMerchant("Only a registered merchant can be assigned a complaint.", field="merchant_id")
            c.merchant_id, c.merchant_name = merchant.id, merchant.name
            self.work.assign_to(c, AssigneeKind.merchant, merchant.id, merchant.name)
        else:
            if body.unit_id is not None:
                unit = self.work.regions.get(c.region_code).unit(body.unit_id)
                if unit is None:
                    raise UnknownUnit(f"Region {c.region_code} has no handling unit {body.unit_id}.", field="unit_id")
                c.unit_id, c.unit_name = unit.id, unit.name
            self.work.assign_to_unit(c)
        if c.accepted_at is None:  # assigning a transferred or waiting complaint accepts it
            start_handling(c, self.work.clock.now(), self.work.regions.get(c.region_code).sla)
        await self.work.move(
            c,
            "assigned",
            S.assigned,
            actor,
            allowed_from=ACTIONS["assignments"].allowed_from,
            note=body.note,
            data={"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name},
        )
        return c

    async def respond(self, c: Complaint, actor: Identity, body: ResponseIn) -> Complaint:
        """The merchant's or handler's response (处置): the first one stops the 30-minute clock."""
        self.work.authorize(c, actor, "responses")
        self._check_refund(c, body.offered_refund_fen, "offered_refund_fen")
        now = self.work.clock.now()
        first = c.responded_at is None
        if first:
            c.responded_at = now
        c.response_text, c.offered_refund_fen = body.message, body.offered_refund_fen
        data: dict[str, Any] = {"offered_refund_fen": body.offered_refund_fen}
        if first and c.accepted_at is not None:
            data["minutes_to_respond"] = minutes_between(c.accepted_at, now)
            data["in_time"] = c.dispose_by is None or now <= c.dispose_by
        await self.work.move(
            c,
            "responded",
            S.responded,
            actor,
            allowed_from=ACTIONS["responses"].allowed_from,
            note=body.message,
            data=data,
        )
        return c

    async def accept_response(self, c: Complaint, actor: Identity, body: ConsumerVerdictIn) -> Complaint:
        """The complainant accepts the response: the complaint is resolved on its terms."""
        self.work.authorize(c, actor, "acceptances")
        if c.state != S.responded:
            raise InvalidTransition("There is no response to accept.", state=c.state, action="acceptance")
        return await self._resolve(
            c,
            actor,
            outcome="response_accepted",
            at_fault=AtFault.undetermined,
            refunded=c.offered_refund_fen or 0,
            note=body.note,
            action="response_accepted",
        )

    async def reject_response(self, c: Complaint, actor: Identity, body: ConsumerVerdictIn) -> Complaint:
        """The complainant rejects the response: officials mediate."""
        self.work.authorize(c, actor, "rejections")
        return await self.work.escalate(
            c, actor, action="response_rejected", note=body.note, allowed_from=ACTIONS["rejections"].allowed_from
        )

    async def escalate(self, c: Complaint, actor: Identity, body: EscalationIn) -> Complaint:
        self.work.authorize(c, actor, "escalations")
        if actor.role == Role.consumer and not (c.dispose_overdue or c.settle_overdue):
            raise InvalidTransition(
                "A complaint can be escalated by its complainant once a deadline is missed; "
                "until then, reject the response instead.",
                state=c.state,
                action="escalated",
            )
        return await self.work.escalate(
            c, actor, action="escalated", note=body.reason, allowed_from=ACTIONS["escalations"].allowed_from
        )

    async def transfer(self, c: Complaint, actor: Identity, body: TransferIn) -> Complaint:
        """Hand the complaint to another jurisdiction (转办); its clock starts again there."""
        self.work.authorize(c, actor, "transfers")
        target = self.work.regions.served(body.region_code)
        if target.code == c.region_code:
            raise SameRegion("The complaint is already in that region.")
        now = self.work.clock.now()
        origin = c.region_code
        allowed = ACTIONS["transfers"].allowed_from
        self.work.check_state(c, "transfers")
        c.transferred_from, c.region_code = origin, target.code
        restart_clock(c, now, target.sla)
        self.work.choose_unit(c, target)
        self.work.assign_to_unit(c)
        await self.work.move(
            c,
            "transferred",
            S.transferred,
            actor,
            allowed_from=allowed,
            note=body.reason,
            data={"from_region": origin, "to_region": target.code},
        )
        return c

    async def withdraw(self, c: Complaint, actor: Identity, body: WithdrawalIn) -> Complaint:
        self.work.authorize(c, actor, "withdrawals")
        await self.work.move(
            c, "withdrawn", S.withdrawn, actor, allowed_from=ACTIONS["withdrawals"].allowed_from, note=body.reason
        )
        await self.work.emit(c, ComplaintWithdrawn, reason=body.reason)
        return c

    async def resolve(self, c: Complaint, actor: Identity, body: ResolutionIn) -> Complaint:
        """An official records how the complaint was settled (办结), who was at fault, what was refunded."""
        self.work.authorize(c, actor, "resolutions")
        self._check_refund(c, body.amount_refunded_fen, "amount_refunded_fen")
        return await self._resolve(
            c,
            actor,
            outcome=body.outcome.value,
            at_fault=body.at_fault,
            refunded=body.amount_refunded_fen,
            note=body.note,
            action="resolved",
        )

    async def _resolve(
        self,
        c: Complaint,
        actor: Identity,
        *,
        outcome: str,
        at_fault: AtFault,
        refunded: int,
        note: str | None,
        action: str,
    ) -> Complaint:
        now = self.work.clock.now()
        allowed = ACTIONS["resolutions"].allowed_from
        if c.state not in allowed:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action}.", state=c.state, action=action
            )
        c.resolved_at, c.outcome, c.at_fault, c.amount_refunded_fen = now, outcome, at_fault.value, refunded
        c.handled_minutes = handled_minutes(c.submitted_at, now)
        await self.work.move(
            c,
            action,
            S.resolved,
            actor,
            allowed_from=allowed,
            note=note,
            data={"outcome": outcome, "at_fault": at_fault.value, "amount_refunded_fen": refunded},
        )
        minutes = minutes_between(c.accepted_at, c.responded_at) if c.accepted_at and c.responded_at else None
        in_time = (c.responded_at <= c.dispose_by) if c.responded_at and c.dispose_by else None
        await self.work.emit(
            c,
            ComplaintResolved,
            outcome=outcome,
            at_fault=at_fault.value,
            minutes_to_respond=minutes,
            responded_in_time=in_time,
            amount_refunded_fen=refunded,
        )
        return c

    async def close(self, c: Complaint, actor: Identity, body: ClosureIn) -> Complaint:
        self.work.authorize(c, actor, "closures")
        c.closed_at = self.work.clock.now()
        await self.work.move(
            c, "closed", S.closed, actor, allowed_from=ACTIONS["closures"].allowed_from, note=body.note
        )
        return c

    async def evaluate(self, c: Complaint, actor: Identity, body: EvaluationIn) -> Complaint:
        """The complainant's satisfaction (1-5); evaluating a resolved complaint closes it."""
        self.work.authorize(c, actor, "evaluations")
        if c.satisfaction is not None:
            raise AlreadyEvaluated("This complaint has already been evaluated.")
        if c.state not in ACTIONS["evaluations"].allowed_from:
            raise InvalidTransition("Only a resolved complaint can be evaluated.", state=c.state, action="evaluated")
        c.satisfaction, c.evaluation_comment = body.score, body.comment
        await self.work.emit(c, ComplaintEvaluated, score=body.score)
        data = {"score": body.score}
        if c.state == S.resolved:
            c.closed_at = self.work.clock.now()
            await self.work.move(
                c, "evaluated", S.closed, actor, allowed_from={S.resolved}, note=body.comment, data=data
            )
        else:
            self.work.record(c, "evaluated", actor, note=body.comment, data=data)
        return c

    async def callback_visit(self, c: Complaint, actor: Identity, body: CallbackVisitIn) -> Complaint:
        """The handler's callback visit (回访) after settlement; it changes no state."""
        self.work.authorize(c, actor, "callback-visits")
        if c.state not in ACTIONS["callback-visits"].allowed_from:
            raise InvalidTransition("Callback visits follow a resolution.", state=c.state, action="callback_visit")
        data = {"reached": body.reached, "satisfied": body.satisfied}
        self.work.record(c, "callback_visit", actor, note=body.note, data=data)
        # No state changes, but the channels the case came from want the visit's outcome (12345 回访).
        await self.work.announce(c, "callback_visit", note=body.note, data=data)
        return c

    async def reveal_contact(self, c: Complaint, actor: Identity, purpose: str | None) -> TimelineEntry:
        """The complainant's name and phone in full for the official handling the case (to call back, 回访):
        officials of the complaint's region (or above it) and admins; each reveal is on the timeline."""
        if actor.role not in (Role.official, Role.admin):
            raise ContactRevealNotAllowed("Only the officials handling the complaint may see the contact in full.")
        self.work.require(c, actor, Role.official, Role.admin, action="see the contact of")
        entry = TimelineEntry(
            complaint_id=c.id,
            at=self.work.clock.now(),
            kind=CONTACT_REVEALED,
            actor_role=actor.role.value,
            actor_id=actor.subject,
            actor_name=actor.display_name,
            note=purpose,
            data={"purpose": purpose, "region_code": actor.region_code},
        )
        self.work.timeline.add(entry)
        await self.work.session.flush()
        return entry

    def _check_refund(self, c: Complaint, amount: int | None, field: str) -> None:
        """No refund above what the complaint is about (when it says how much: 0 is 'not stated')."""
        if amount and c.amount_involved_fen and amount > c.amount_involved_fen:
            raise RefundAboveAmountInvolved(
                f"A refund of {amount} fen is more than the {c.amount_involved_fen} fen the complaint is about.",
                errors=[{"field": f"body.{field}", "message": "exceeds amount_involved_fen"}],
            )
