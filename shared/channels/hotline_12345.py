"""The 12345 government service hotline (12345政务服务便民热线): work orders in, results back.

The hotline center pushes a work order (工单) when it dispatches a tourism call to the platform, with
its own order number and times in Beijing time. The platform answers with 签收 (accepted), 处置
(disposal), 办结 (closing), 回访 (callback visit), 退回 (returned: not accepted) and 转办 (transferred),
each naming the center's order number and the platform's.
"""

from __future__ import annotations

from typing import Any

from shared.channels import ChannelInfo
from shared.channels.government import Reader, StatusUpdate, shanghai_text
from shared.contracts.common import yuan

# An official may key in a call taken on the line (services/intake/filing.py).
INFO = ChannelInfo("hotline_12345", "12345市长热线", "12345 hotline", governmental=True, officials_file=True)

# Each change the hotline hears of: its message type and the type's Chinese name.
_TYPES = {
    "accepted": ("sign_for", "签收"),
    "linked": ("sign_for", "签收"),  # the same case came here first: taken in, handled as that one
    "responded": ("disposal", "处置"),
    "resolved": ("closing", "办结"),
    "response_accepted": ("closing", "办结"),
    "withdrawn": ("closing", "办结"),
    "callback_visit": ("callback_visit", "回访"),
    "not_accepted": ("return", "退回"),
    "transferred": ("transfer", "转办"),
    "reopened": ("reopen", "重办"),  # a case reported settled is worked again: the centre must not count it closed
    "extension_approved": ("extension", "延期"),  # the settlement deadline moved, as a supervising official approved
}


class Hotline12345:
    info = INFO
    title = "12345 hotline"
    example: dict[str, Any] = {
        "order_no": "HN12345-20261120-000123",
        "received_time": "2026-11-20 14:03:11",
        "dispatch_time": "2026-11-20 14:05:40",
        "area_code": "460200",
        "caller_name": "张先生",
        "caller_phone": "13812341234",
        "respondent": {"name": "三亚湾海鲜排档", "address": "三亚市天涯区三亚湾路88号", "credit_code": None},
        "category": "餐饮",
        "incident_time": "2026-11-20 12:30:00",
        "content": "点了一斤皮皮虾，结账时按三斤收费，老板拒绝退还多收的钱。",
        "appeal": "退还多收费用",
        "amount": "356.00",
    }
    fields = {
        "external_id": "order_no",
        "received_at": "received_time",
        "dispatched_at": "dispatch_time",
        "region_code": "area_code",
        "contact_name": "caller_name",
        "contact_phone": "caller_phone",
        "merchant_name": "respondent.name",
        "merchant_address": "respondent.address",
        "merchant_uscc": "respondent.credit_code",
        "industry": "category",
        "occurred_at": "incident_time",
        "description": "content",
        "remedy": "appeal",
        "amount_involved_fen": "amount",
    }

    def work_order(self, payload: Any) -> dict[str, Any]:
        r = Reader(payload)
        received = r.time("received_time", required=True)
        return r.done(
            self,
            {
                "external_id": r.text("order_no", required=True),
                "received_at": received,
                "dispatched_at": r.time("dispatch_time"),
                "region_code": r.text("area_code", required=True),
                "contact_name": r.text("caller_name"),
                "contact_phone": r.text("caller_phone", required=True),
                "merchant_name": r.text("respondent.name", required=True),
                "merchant_address": r.text("respondent.address"),
                "merchant_uscc": r.text("respondent.credit_code"),
                "industry": r.industry("category"),
                # A caller reports what just happened: without an incident time, the call's time stands for it.
                "occurred_at": r.time("incident_time") or received,
                "description": r.text("content", required=True),
                "remedy": r.remedy("appeal"),
                "amount_involved_fen": r.yuan("amount") or 0,
            },
        )

    def update(self, update: StatusUpdate) -> dict[str, Any] | None:
        kind = _TYPES.get(update.action)
        if kind is None:
            return None
        data = update.data
        message: dict[str, Any] = {
            "order_no": update.external_id,
            "platform_order_no": update.handled_as or update.complaint_id,
            "type": kind[0],
            "type_name": kind[1],
            "time": shanghai_text(update.occurred_at),
            "content": update.note or "",
            "event_id": update.event_id,
        }
        if update.case_number:  # what the tourist quotes when calling back, and the page to follow it on
            message["platform_case_no"] = update.case_number
        if update.progress_url:
            message["progress_url"] = update.progress_url
        if update.action == "responded" and data.get("offered_refund_fen") is not None:
            message["refund_offered"] = yuan(data["offered_refund_fen"])
        if kind[0] == "closing":
            message["result"] = "withdrawn" if update.action == "withdrawn" else data.get("outcome")
            message["refund_amount"] = yuan(data.get("amount_refunded_fen") or 0)
            message["at_fault"] = data.get("at_fault")
        if kind[0] == "callback_visit":
            message["reached"], message["satisfied"] = data.get("reached"), data.get("satisfied")
        if kind[0] == "return":
            message["reason"] = data.get("reason")
        if kind[0] == "transfer":
            message["to_area_code"] = data.get("to_region")
        if update.new_deadline:
            message["deadline"] = shanghai_text(update.new_deadline)
        return message


ADAPTER = Hotline12345()
