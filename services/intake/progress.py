"""What a complainant's progress page shows (the gateway's /p/, for whoever holds the complaint's signed link
or its case number and phone): the state, the public steps, the merchant's response, the next deadline and
what the complainant may do now. No names, no phone numbers, no officials' notes."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import cast

from services.intake.models import Complaint, TimelineEntry
from shared.contracts.common import INDUSTRY_LABELS_ZH
from shared.contracts.complaints import (
    STATE_LABELS_ZH,
    ComplaintState,
    DeadlineKind,
    ProgressOut,
    ProgressStep,
    ResolutionOutcome,
)

S = ComplaintState

# The steps a complainant sees, in their words; every other kind (notifications, possible links, evidence
# files, officials' own records) stays off the page.
PUBLIC_STEPS: dict[str, str] = {
    "submitted": "提交投诉",
    "imported": "登记投诉",
    "accepted": "已受理",
    "assigned": "已交办处理",
    "returned": "承办方退回，重新派单",
    "reopened": "重新办理",
    "extension_approved": "办理期限已延长",
    "responded": "商家答复",
    "response_accepted": "接受答复",
    "response_rejected": "不接受答复，转工作人员调解",
    "escalated": "升级处理",
    "overdue": "超过办理时限，已督办",
    "transferred": "转交其他地区办理",
    "resolved": "已办结",
    "closed": "已结案",
    "evaluated": "评价办理情况",
    "withdrawn": "撤回投诉",
    "not_accepted": "不予受理",
    "linked": "与同一案件合并办理",
    "callback_visit": "工作人员回访",
    "compensation_requested": "申请先行赔付",
    "compensation_approved": "先行赔付已批准",
    "compensation_rejected": "先行赔付未获批准",
    "advance_compensation_paid": "先行赔付已支付",
    "compensation_payout_failed": "先行赔付支付未成功",
    "payee_name_required": "请补充收款人真实姓名",
    "payee_name_given": "收款人姓名已提供",
}
ACTOR_LABELS = {
    "consumer": "您",
    "complaint_holder": "您",
    "merchant_staff": "商家",
    "official": "工作人员",
    "admin": "工作人员",
    "partner": "受理渠道",
    "service": "系统",
}
DEADLINE_LABELS: dict[str, str] = {
    DeadlineKind.accept: "受理",
    DeadlineKind.dispose: "处置",
    DeadlineKind.settle: "办结",
}
# By the stored text: a StrEnum member is the str it stands for, so a plain str finds it.
INDUSTRY_LABELS = cast(Mapping[str, str], INDUSTRY_LABELS_ZH)
# The industry as a tourist says it (the catalogue's own labels are the one-character 吃住行游购娱).
INDUSTRY_WORDS = {
    "food": "餐饮",
    "lodging": "住宿",
    "transport": "交通出行",
    "sightseeing": "景区游览",
    "shopping": "购物",
    "entertainment": "休闲娱乐",
}
# What the complainant's page says of the result: an official's outcome, or one the platform recorded.
OUTCOMES = {
    ResolutionOutcome.refunded: "商家已退款",
    ResolutionOutcome.compensated: "商家已赔偿",
    ResolutionOutcome.mediated: "调解成功",
    ResolutionOutcome.apologized: "商家已赔礼道歉",
    ResolutionOutcome.explained: "已向您解释说明",
    ResolutionOutcome.merchant_not_liable: "经核实商家无责",
    ResolutionOutcome.unfounded: "经核实投诉不成立",
    ResolutionOutcome.other: "已办结",
    "response_accepted": "已按商家答复办结",
    "imported": "已办结",
}


def phone_matches(given: str, kept: str | None) -> bool:
    """The phone typed on the page against the complaint's, digits only, in constant time."""
    digits = "".join(ch for ch in given if ch.isdigit())[-11:]
    stored = "".join(ch for ch in kept or "" if ch.isdigit())[-11:]
    return bool(stored) and hmac.compare_digest(digits.encode(), stored.encode())


def progress_of(c: Complaint, timeline: list[TimelineEntry]) -> ProgressOut:
    steps = [
        ProgressStep(
            at=e.at,
            kind=e.kind,
            label=PUBLIC_STEPS[e.kind],
            by=ACTOR_LABELS.get(e.actor_role, "系统"),
            state_label=STATE_LABELS_ZH.get(e.state_to) if e.state_to else None,
        )
        for e in timeline
        if e.kind in PUBLIC_STEPS
    ]
    kind = c.next_deadline_kind
    return ProgressOut(
        case_number=c.case_number,
        state=S(c.state),
        state_label=STATE_LABELS_ZH.get(c.state, c.state),
        merchant_name=c.merchant_name,
        industry_label=INDUSTRY_WORDS.get(c.industry) or INDUSTRY_LABELS.get(c.industry, "其他"),
        submitted_at=c.submitted_at,
        next_deadline=kind,
        next_deadline_label=DEADLINE_LABELS.get(kind) if kind else None,
        next_due_at=c.next_deadline_at,
        overdue=bool(c.accept_overdue or c.dispose_overdue or c.settle_overdue),
        response_text=c.response_text,
        offered_refund_fen=c.offered_refund_fen,
        responded_at=c.responded_at,
        outcome_text=OUTCOMES.get(c.outcome or "") or ("已办结" if c.resolved_at else None),
        amount_refunded_fen=c.amount_refunded_fen or 0,
        satisfaction=c.satisfaction,
        may_accept=c.state == S.responded,
        may_reject=c.state == S.responded,
        may_evaluate=c.satisfaction is None and c.state in (S.resolved, S.closed),
        timeline=steps,
    )
