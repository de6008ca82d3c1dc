"""Submission: a complaint received, checked, numbered, and refused, linked or accepted where the rules decide."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.intake.deadlines import CLOCK_SKEW, accept_by, reply_by, schedule
from services.intake.errors import TimestampsOutOfOrder, UnknownMerchant
from services.intake.filing import filer_of
from services.intake.models import Complaint, Merchant, PossibleLink
from services.intake.regions import AcceptanceSettings
from services.intake.repository.merchants import MerchantRepository
from services.intake.transitions import Transitions, channel_label
from services.intake.work import SYSTEM
from shared import channels
from shared.clock import SHANGHAI
from shared.contracts.common import Channel
from shared.contracts.complaints import (
    ComplaintState,
    ComplaintSubmit,
    NotAcceptedReason,
    PossibleLinkState,
    case_number_of,
)
from shared.contracts.events import ComplaintStateChanged, ComplaintSubmitted
from shared.contracts.identity import Identity, Role
from shared.errors import TimestampInFuture, ValidationFailed
from shared.ids import new_id

S = ComplaintState

MAX_POSSIBLE_LINKS = 5  # look-alikes flagged on one complaint
SAME_PHONE_SIMILAR = "same_phone_similar_text"


def same_account(a: Complaint, b: Complaint) -> bool:
    """Filed by the same tourist's account, or pushed by the same partner: its repeat may be refused. A shared
    contact phone is never the same account."""
    return bool((a.consumer_id and a.consumer_id == b.consumer_id) or (a.source_id and a.source_id == b.source_id))


_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Lower-case, full-width folded, punctuation and spaces removed: what 'similar text' compares."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def similarity(a: str, b: str) -> float:
    a, b = normalise_text(a), normalise_text(b)
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


NOTE_NO_MERCHANT = "请写明被投诉的商家：选择已登记的商家，或填写商家名称和地址。"
NOTE_TOO_SHORT = "请至少用{n}个字描述事情经过。"
NOTE_TOO_OLD = "投诉须在消费纠纷发生之日起{days}日内提出。"
NOTE_DUPLICATE = "相同的投诉已经提交（{id}），正在办理中。"
NOTE_LINKED = "同一案件已经由{channel}提交（{id}），将合并办理，办理进展会同步告知您。"
NOTE_POSSIBLE_LINK = "另一账号经{channel}提交的投诉（{id}）联系电话相同、内容相似，可能是同一案件，请核实后确认或排除。"
NOTE_AUTO_ACCEPTED = "系统自动受理"
NOTE_ODR = "12315在线消费纠纷解决：直接交由入驻企业先行和解"


def _to_enrolled_merchant(channel: str) -> bool:
    """A channel whose case naming an enrolled merchant goes to it first (12315 ODR, 在线消费纠纷解决)."""
    info = channels.info(channel)
    return info is not None and info.to_enrolled_merchant


@dataclass
class Submission:
    """Taking a complaint in: who files it, the same case filed twice, what is refused, what is accepted at once."""

    work: Transitions

    async def submit(self, actor: Identity, body: ComplaintSubmit) -> Complaint:
        """Register a complaint, then accept and assign it at once where the rules decide."""
        async with self.work.held_until_the_end():
            return await self._submit(actor, body)

    async def _submit(self, actor: Identity, body: ComplaintSubmit) -> Complaint:
        filer = filer_of(actor, body)  # who may file this, before anything else is looked at
        now = self.work.clock.now()
        region = self.work.regions.served(body.region_code)
        received_at = self._channel_times(actor, body, now)
        if body.occurred_at > now + timedelta(minutes=10):
            raise ValidationFailed(
                "The event cannot have happened in the future.",
                message="validation_failed.future",
                errors=[{"field": "body.occurred_at", "message": "is in the future"}],
            )
        channel, consumer_id, source_id = filer.channel, filer.consumer_id, filer.source_id
        external_id = body.external_id if source_id else None
        if source_id and external_id is not None:
            earlier = await self.work.complaints.by_external_id(source_id, external_id)
            if earlier is not None:
                return earlier  # the same case pushed again
        merchant = await self._merchant_named(body)
        c = Complaint(
            id=new_id("cmp"),
            consumer_id=consumer_id,
            channel=channel.value,
            source_id=source_id,
            external_id=external_id,
            region_code=region.code,
            merchant_id=merchant.id if merchant else None,
            merchant_name=merchant.name if merchant else (body.merchant_name or ""),
            merchant_address=body.merchant_address,
            industry=body.industry.value,
            description=body.description,
            amount_involved_fen=body.amount_involved_fen,
            remedy=body.remedy.value,
            occurred_at=body.occurred_at,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            state=S.submitted.value,
            source_name=(body.source_name if actor.role != Role.consumer else None)
            or region.source_name(channel.value, source_id, actor.display_name if source_id else None),
            submitted_at=received_at or now,
            dispatched_at=body.dispatched_at,
            arrived_at=now if received_at else None,
            accept_by=accept_by(now, region.sla),
            accept_overdue=False,
            dispose_overdue=False,
            settle_overdue=False,
            amount_refunded_fen=0,
        )
        self.work.choose_unit(c, region)
        if channel == Channel.public_opinion:  # the center that sent the notice wants an answer
            c.reply_by = body.reply_by or reply_by(c.submitted_at, region.settings.notice_reply_hours)
        day = c.submitted_at.astimezone(SHANGHAI).date()
        c.case_number = case_number_of(region.code, day, await self.work.complaints.next_case_seq(region.code, day))
        schedule(c)
        self.work.complaints.add(c)
        submitted: dict[str, Any] = {"channel": channel.value}
        if external_id:
            submitted["external_id"] = external_id
        for name in ("received_at", "dispatched_at"):
            if getattr(body, name) is not None:
                submitted[name] = getattr(body, name).isoformat()
        if body.merchant_uscc and merchant is None:
            submitted["merchant_uscc"] = body.merchant_uscc  # named by the channel, not registered here
        self.work.record(c, "submitted", actor, state_to=S.submitted.value, data=submitted)
        await self.work.emit(c, ComplaintSubmitted, amount_involved_fen=c.amount_involved_fen)
        c.changes = 1
        await self.work.emit(
            c,
            ComplaintStateChanged,
            action="submitted",
            state_from=None,
            state_to=S.submitted.value,
            revision=c.changes,
        )

        suggestions: list[tuple[Complaint, float]] = []
        refusal = await self._acceptance_refusal(c, region.acceptance, suggestions)
        if refusal is None and suggestions:
            await self._flag_possible_links(c, suggestions)
        if refusal is not None:
            reason, note, duplicate_of, linked = refusal
            c.not_accepted_reason, c.not_accepted_note, c.duplicate_of = reason.value, note, duplicate_of
            # The same case from another channel is not refused but worked as the first: its channel hears
            # "linked" (taken in, handled as the first), not a refusal it would dispatch again.
            await self.work.move(
                c,
                "linked" if linked else "not_accepted",
                S.not_accepted,
                SYSTEM,
                allowed_from={S.submitted},
                note=note,
                data={"reason": reason.value, "duplicate_of": duplicate_of},
            )
        elif _to_enrolled_merchant(c.channel) and merchant is not None and merchant.settled:
            # 12315 ODR (在线消费纠纷解决): the case goes to the enrolled enterprise to settle with the consumer
            # first, whatever the region's acceptance rule; officials step in if that fails (escalation).
            await self.work.accept(c, SYSTEM, merchant, note=NOTE_ODR)
        elif region.acceptance.auto_accept:
            await self.work.accept(c, SYSTEM, merchant, note=NOTE_AUTO_ACCEPTED)
        await self.work.session.flush()
        return c

    def _channel_times(self, actor: Identity, body: ComplaintSubmit, now: datetime) -> datetime | None:
        """A channel's own receipt and dispatch times, checked: never in the future, never out of order."""
        stamps = {"received_at": body.received_at, "dispatched_at": body.dispatched_at}
        given = {name: at for name, at in stamps.items() if at is not None}
        if not given:
            return None
        if actor.role == Role.consumer:
            raise ValidationFailed(
                "Only channels and staff say when a case was received.",
                message="validation_failed.received_at",
                errors=[{"field": f"body.{name}", "message": "not for consumers"} for name in given],
            )
        future = [name for name, at in given.items() if at > now + CLOCK_SKEW]
        if future:
            raise TimestampInFuture(
                "A channel cannot have received or dispatched a case in the future.",
                errors=[{"field": f"body.{name}", "message": "is in the future"} for name in future],
            )
        received, dispatched = body.received_at, body.dispatched_at
        if (received and received < body.occurred_at - CLOCK_SKEW) or (
            received and dispatched and dispatched < received
        ):
            raise TimestampsOutOfOrder(
                "The event, its receipt and its dispatch must follow each other.",
                errors=[{"field": "body.received_at", "message": "after occurred_at and before dispatched_at"}],
            )
        return min(received or dispatched or now, now)

    async def _merchant_named(self, body: ComplaintSubmit) -> Merchant | None:
        """The registered merchant the complaint names, by id or (channels) by its credit code."""
        merchants = MerchantRepository(self.work.session)
        merchant = None
        if body.merchant_id:
            merchant = await merchants.get(body.merchant_id)
            if merchant is None:
                raise UnknownMerchant(f"No merchant {body.merchant_id} is registered.", field="merchant_id")
        if body.merchant_uscc:
            by_code = await merchants.by_uscc(body.merchant_uscc)
            if merchant is not None and by_code is not None and by_code.id != merchant.id:
                raise UnknownMerchant(
                    f"Merchant {merchant.id} does not have the credit code {body.merchant_uscc}.", field="merchant_uscc"
                )
            merchant = merchant or by_code
        return merchant

    async def _flag_possible_links(self, c: Complaint, suggestions: list[tuple[Complaint, float]]) -> None:
        """Put another account's look-alike complaints before the region's officials, on both timelines."""
        await self.work.session.flush()  # the complaint's row before the links that refer to it
        now = self.work.clock.now()
        for earlier, alike in suggestions[:MAX_POSSIBLE_LINKS]:
            link = PossibleLink(
                id=new_id("lnk"),
                complaint_id=c.id,
                other_id=earlier.id,
                reason=SAME_PHONE_SIMILAR,
                similarity=round(alike, 3),
                state=PossibleLinkState.suggested.value,
                flagged_at=now,
            )
            self.work.links.add(link)
            for this, other in ((c, earlier), (earlier, c)):
                self.work.record(
                    this,
                    "possible_link",
                    SYSTEM,
                    note=NOTE_POSSIBLE_LINK.format(channel=channel_label(other.channel), id=other.id),
                    data={"link_id": link.id, "complaint_id": other.id, "similarity": link.similarity},
                )

    async def _acceptance_refusal(
        self, c: Complaint, rules: AcceptanceSettings, suggestions: list[tuple[Complaint, float]]
    ) -> tuple[NotAcceptedReason, str, str | None, bool] | None:
        """Why the complaint is not accepted under its region's rules, if it is not: too little said, too old, or
        the same account's repeat. Another account's complaint that looks the same goes into `suggestions`, never
        refused."""
        now = self.work.clock.now()
        if not c.merchant_id and not c.merchant_name:
            return (NotAcceptedReason.insufficient_information, NOTE_NO_MERCHANT, None, False)
        if len(normalise_text(c.description)) < rules.min_description_chars:
            return (
                NotAcceptedReason.insufficient_information,
                NOTE_TOO_SHORT.format(n=rules.min_description_chars),
                None,
                False,
            )
        if c.occurred_at < now - timedelta(days=rules.complaint_window_days):
            return (NotAcceptedReason.out_of_scope, NOTE_TOO_OLD.format(days=rules.complaint_window_days), None, False)
        since = now - timedelta(hours=rules.duplicate_window_hours)
        for earlier in await self.work.links.recent_by_person(c.consumer_id, c.contact_phone, since):
            if earlier.id == c.id:
                continue
            same_merchant = (
                earlier.merchant_id == c.merchant_id
                if c.merchant_id
                else normalise_text(earlier.merchant_name) == normalise_text(c.merchant_name)
            )
            alike = similarity(earlier.description, c.description) if same_merchant else 0.0
            if alike < self.work.settings.duplicate_similarity:
                continue
            if not same_account(earlier, c):
                # Another account with the same phone: contact data, never an identity. The complaint is worked
                # as its own; an official of the region decides whether it is the same case.
                suggestions.append((earlier, alike))
                continue
            if earlier.channel != c.channel or earlier.source_id != c.source_id:
                self.work.link(earlier, c, SYSTEM)
                return (
                    NotAcceptedReason.duplicate,
                    NOTE_LINKED.format(channel=channel_label(earlier.channel), id=earlier.id),
                    earlier.id,
                    True,
                )
            return (NotAcceptedReason.duplicate, NOTE_DUPLICATE.format(id=earlier.id), earlier.id, False)
        return None
