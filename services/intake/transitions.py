"""How a complaint moves: the steps the lifecycle's actions share (services/intake/lifecycle.py holds the table of
who may take which action from which state; services/intake/deadlines.py the clock it restarts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake.deadlines import schedule, start_handling
from services.intake.errors import ActionNotAllowed
from services.intake.lifecycle import ACTIONS, BEING_HANDLED, may_take
from services.intake.models import Complaint, Merchant
from services.intake.regions import Region
from services.intake.work import Work
from shared import channels
from shared.contracts.complaints import (
    OPEN_STATES,
    STATE_LABELS_ZH,
    AssigneeKind,
    ComplaintState,
    ExtensionState,
    NotAcceptedReason,
)
from shared.contracts.events import ComplaintAccepted, ComplaintMerged, ComplaintStateChanged
from shared.contracts.identity import Identity, Role, region_covers
from shared.errors import InvalidTransition

S = ComplaintState

NOTE_CAME_AGAIN = "同一案件又经{channel}提交（{id}），合并办理。"
NOTE_EXTENSION_LAPSED = "延期申请未经审批即失效（{why}）"


def channel_label(channel: str) -> str:
    return channels.label_zh(channel)


@dataclass
class Transitions(Work):
    """The steps every action is made of: a checked, recorded, announced state change; who may take an action;
    acceptance, escalation and assignment; linking and merging one complaint into another."""

    async def move(
        self,
        c: Complaint,
        action: str,
        to: ComplaintState,
        actor: Identity,
        *,
        allowed_from: frozenset[str] | frozenset[ComplaintState] | set[str] | set[ComplaintState],
        note: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """One transition: checked against the allowed states, recorded, deadlines recomputed, announced."""
        if c.state not in allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action}.", state=c.state, action=action
            )
        before = c.state
        c.state = to.value
        c.changes = (c.changes or 0) + 1
        self.record(c, action, actor, state_from=before, state_to=to.value, note=note, data=data)
        if before in BEING_HANDLED and to not in BEING_HANDLED:
            await self.lapse_extension(c, actor)
        schedule(c)
        await self.emit(
            c,
            ComplaintStateChanged,
            action=action,
            state_from=before,
            state_to=to.value,
            note=note,
            data=data,
            revision=c.changes,
        )

    def authorize(self, c: Complaint, actor: Identity, path: str) -> None:
        """The caller's part in the complaint lets them take this action (services/intake/lifecycle.py)."""
        if not may_take(c, actor, path):
            raise ActionNotAllowed(f"Your part in this complaint does not allow {path}.", action=ACTIONS[path].kind)

    def check_state(self, c: Complaint, path: str) -> None:
        """The complaint's state allows the action (services/intake/lifecycle.py)."""
        action = ACTIONS[path]
        if c.state not in action.allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action.kind}.", state=c.state, action=action.kind
            )

    def require(self, c: Complaint, actor: Identity, *roles: Role, action: str) -> None:
        """The actor may read the complaint (checked before); may they do this to it?"""
        allowed = actor.role in roles and (
            actor.role in (Role.admin, Role.service)
            or (actor.role == Role.consumer and c.consumer_id == actor.subject)
            or (actor.role == Role.complaint_holder and actor.complaint_id == c.id)
            or (actor.role == Role.merchant_staff and c.merchant_id is not None and c.merchant_id == actor.merchant_id)
            or (
                actor.role == Role.official
                and actor.region_code is not None
                and region_covers(actor.region_code, c.region_code)
            )
        )
        if not allowed:
            raise ActionNotAllowed(f"Your role may not {action} this complaint.", action=action)

    async def lapse_extension(self, c: Complaint, actor: Identity) -> None:
        """A request nobody decided while the complaint was being handled lapses when it stops being handled."""
        request = await self.extensions.pending(c.id)
        if request is None:
            return
        request.state = ExtensionState.lapsed.value
        request.decided_at = self.clock.now()
        why = STATE_LABELS_ZH.get(c.state, c.state) if c.state not in BEING_HANDLED else "已超过办结时限"
        self.record(
            c, "extension_lapsed", actor, note=NOTE_EXTENSION_LAPSED.format(why=why), data={"extension_id": request.id}
        )

    async def accept(self, c: Complaint, actor: Identity, merchant: Merchant | None, note: str | None) -> None:
        """Accepted (受理), its handling clocks started, and assigned at once: to the merchant when it is settled in,
        otherwise to the handling unit the region's rules choose."""
        start_handling(c, self.clock.now(), self.regions.get(c.region_code).sla)
        await self.move(c, "accepted", S.accepted, actor, allowed_from={S.submitted, S.transferred}, note=note)
        if merchant is not None and merchant.settled:
            self.assign_to(c, AssigneeKind.merchant, merchant.id, merchant.name)
        else:
            self.assign_to_unit(c)
        await self.emit(c, ComplaintAccepted, assigned_to=f"{c.assignee_kind}:{c.assignee_id}")
        await self.move(
            c,
            "assigned",
            S.assigned,
            actor,
            allowed_from={S.accepted},
            data={"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name},
        )

    async def escalate(
        self,
        c: Complaint,
        actor: Identity,
        *,
        action: str,
        note: str | None,
        allowed_from: frozenset[ComplaintState] | set[ComplaintState],
    ) -> Complaint:
        """Escalated (升级) to the region's handling unit: officials mediate."""
        c.escalated_at = self.clock.now()
        self.assign_to_unit(c)
        await self.move(
            c, action, S.escalated, actor, allowed_from=allowed_from, note=note, data={"assignee_name": c.assignee_name}
        )
        return c

    def assign_to(self, c: Complaint, kind: AssigneeKind, assignee_id: str, name: str | None) -> None:
        """Dispatched to this assignee, now."""
        c.assignee_kind, c.assignee_id, c.assignee_name = kind.value, assignee_id, name
        c.assigned_at = self.clock.now()

    def choose_unit(self, c: Complaint, region: Region) -> None:
        """The handling unit (处理单位) the region's rules choose for the complaint (industry x region x source)."""
        unit = region.unit_for(industry=c.industry, channel=c.channel, source=c.source_name, region_code=c.region_code)
        c.unit_id, c.unit_name = (unit.id, unit.name) if unit else (None, None)

    def assign_to_unit(self, c: Complaint) -> None:
        """Dispatched to its handling unit (the one the region's rules choose, if none was chosen yet)."""
        if c.unit_id is None:
            self.choose_unit(c, self.regions.get(c.region_code))
        self.assign_to(c, AssigneeKind.unit, c.unit_id or c.region_code, c.unit_name)

    def link(self, first: Complaint, again: Complaint, actor: Identity) -> None:
        """The same case from a second channel: the first is worked, and its progress goes to both (each
        through its own channel). By the system only for the same account; otherwise an official confirms."""
        link = {
            "complaint_id": again.id,
            "case_number": again.case_number,
            "channel": again.channel,
            "source_id": again.source_id,
            "external_id": again.external_id,
            "consumer_id": again.consumer_id,
        }
        first.links = [*(first.links or []), link]
        note = NOTE_CAME_AGAIN.format(channel=channel_label(again.channel), id=again.id)
        self.record(first, "linked", actor, note=note, data=link)

    async def merge_into(
        self, duplicate: Complaint, kept: Complaint, actor: Identity, *, note: str, data: dict[str, Any]
    ) -> None:
        """`duplicate` is worked as `kept` from now on: not accepted as a duplicate of it, linked to it (with every
        case linked to it before) so that each origin hears of the progress through its own channel, and no
        longer counted in the merchant's credit (complaint.merged)."""
        duplicate.not_accepted_reason, duplicate.not_accepted_note = NotAcceptedReason.duplicate.value, note
        duplicate.duplicate_of = kept.id
        self.link(kept, duplicate, actor)
        known = {link.get("complaint_id") for link in kept.links or []}
        carried = [link for link in duplicate.links or [] if link.get("complaint_id") not in known]
        if carried:
            kept.links = [*(kept.links or []), *carried]
        await self.move(
            duplicate,
            "linked",
            S.not_accepted,
            actor,
            allowed_from=OPEN_STATES,
            note=note,
            data={"reason": NotAcceptedReason.duplicate.value, "duplicate_of": kept.id, **data},
        )
        await self.emit(duplicate, ComplaintMerged, merged_into=kept.id)
