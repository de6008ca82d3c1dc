"""The gateway's notifications to complainants, as they show on the complaint's timeline."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.errors import ComplaintNotFound
from services.intake.transitions import Transitions
from shared.contracts.complaints import STATE_LABELS_ZH
from shared.contracts.identity import Identity
from shared.contracts.notifications import (
    NOTIFICATION_FAILED,
    NOTIFIED,
    NotificationOutcome,
    NotificationOutcomeIn,
    NotificationRecordedOut,
)


@dataclass
class Notifications:
    """Whether each complainant was told of a change, on the timeline once."""

    work: Transitions

    async def record(self, actor: Identity, outcomes: list[NotificationOutcomeIn]) -> list[NotificationRecordedOut]:
        """Put on the timeline whether each complainant was told of a change (the gateway's notifications):
        once per notification, however often it is reported (a retry after a lost answer adds nothing).
        The complaints are locked first, in id order, so two reports of one notification never both write."""
        ids = sorted({outcome.complaint_id for outcome in outcomes})
        found = await self.work.complaints.lock_ids(ids)
        recorded = await self.work.timeline.notifications_recorded(ids)
        results = []
        for outcome in outcomes:
            if outcome.complaint_id not in found:
                results.append(
                    NotificationRecordedOut(
                        notification_id=outcome.notification_id, kind=None, recorded=False, error=ComplaintNotFound.code
                    )
                )
                continue
            kind = recorded.get(outcome.notification_id)
            fresh = kind is None
            if fresh:
                kind = NOTIFIED if outcome.outcome == NotificationOutcome.sent else NOTIFICATION_FAILED
                recorded[outcome.notification_id] = kind
                self.work.record_on(
                    outcome.complaint_id,
                    kind,
                    actor,
                    at=outcome.at,
                    note=_notification_note(outcome),
                    data={
                        "notification_id": outcome.notification_id,
                        "provider": outcome.provider,
                        "state": outcome.outcome.value,
                        "state_told": outcome.state_told.value,
                        "error": outcome.error,
                        "attempts": outcome.attempts,
                    },
                )
            results.append(NotificationRecordedOut(notification_id=outcome.notification_id, kind=kind, recorded=fresh))
        await self.work.session.flush()
        return results


def _notification_note(body: NotificationOutcomeIn) -> str:
    """The timeline's words; the login is named as the gateway's login module names it (`provider_label`)."""
    by = body.provider_label or body.provider or ""
    state = STATE_LABELS_ZH.get(body.state_told.value, body.state_told.value)
    if body.outcome == NotificationOutcome.sent:
        return f"已通过{by}消息告知投诉人：{state}"
    if body.outcome == NotificationOutcome.refused:
        return f"{by}拒收了告知消息（{state}）：{body.error or '未说明原因'}"
    if body.outcome == NotificationOutcome.failed:
        return f"{by}消息发送{body.attempts}次均失败（{state}）：{body.error}"
    return f"未能告知投诉人（{state}）：{body.error or (f'{by}消息未接入' if by else '投诉人没有小程序登录')}"
