"""The national tourism service platform 12301 (全国旅游投诉举报平台): complaints in, status back.

12301 pushes a complaint when it assigns it to the local platform, in camelCase with ISO 8601 times
that carry their offset, and follows it by status messages keyed by its complaint number.
"""

from __future__ import annotations

from typing import Any

from shared.channels import ChannelInfo
from shared.channels.government import Reader, StatusUpdate, shanghai_iso
from shared.contracts.common import yuan

INFO = ChannelInfo("platform_12301", "12301平台", "12301 platform", governmental=True)

_STATUS = {
    "accepted": "ACCEPTED",
    "linked": "ACCEPTED",  # the same case came here first: taken in, handled as that one (platformNo)
    "responded": "DISPOSED",
    "resolved": "CONCLUDED",
    "response_accepted": "CONCLUDED",
    "withdrawn": "WITHDRAWN",
    "callback_visit": "REVISITED",
    "not_accepted": "RETURNED",
    "transferred": "TRANSFERRED",
    "escalated": "MEDIATING",
    "response_rejected": "MEDIATING",
    "reopened": "REOPENED",  # a case reported concluded is worked again, with a new deadline
    "extension_approved": "EXTENDED",  # its settlement deadline moved
}


class Platform12301:
    info = INFO
    title = "12301 national tourism complaint platform"
    example: dict[str, Any] = {
        "complaintNo": "12301202611200042",
        "submitTime": "2026-11-20T14:03:11+08:00",
        "assignTime": "2026-11-20T14:10:00+08:00",
        "regionCode": "460200",
        "tourist": {"name": "李女士", "mobile": "13912345678"},
        "defendant": {"name": "三亚某旅行社有限公司", "creditCode": None, "address": None},
        "businessType": "旅行社",
        "happenTime": "2026-11-19T09:00:00+08:00",
        "content": "行程中导游强制购物，不购物不让上车，要求退还团费差价。",
        "demand": "退款",
        "amount": 1280.00,
    }
    fields = {
        "external_id": "complaintNo",
        "received_at": "submitTime",
        "dispatched_at": "assignTime",
        "region_code": "regionCode",
        "contact_name": "tourist.name",
        "contact_phone": "tourist.mobile",
        "merchant_name": "defendant.name",
        "merchant_uscc": "defendant.creditCode",
        "merchant_address": "defendant.address",
        "industry": "businessType",
        "occurred_at": "happenTime",
        "description": "content",
        "remedy": "demand",
        "amount_involved_fen": "amount",
    }

    def work_order(self, payload: Any) -> dict[str, Any]:
        r = Reader(payload)
        return r.done(
            self,
            {
                "external_id": r.text("complaintNo", required=True),
                "received_at": r.time("submitTime", required=True),
                "dispatched_at": r.time("assignTime"),
                "region_code": r.text("regionCode", required=True),
                "contact_name": r.text("tourist.name"),
                "contact_phone": r.text("tourist.mobile", required=True),
                "merchant_name": r.text("defendant.name", required=True),
                "merchant_uscc": r.text("defendant.creditCode"),
                "merchant_address": r.text("defendant.address"),
                "industry": r.industry("businessType"),
                "occurred_at": r.time("happenTime", required=True),
                "description": r.text("content", required=True),
                "remedy": r.remedy("demand"),
                "amount_involved_fen": r.yuan("amount") or 0,
            },
        )

    def update(self, update: StatusUpdate) -> dict[str, Any] | None:
        status = _STATUS.get(update.action)
        if status is None:
            return None
        data = update.data
        message: dict[str, Any] = {
            "complaintNo": update.external_id,
            "platformNo": update.handled_as or update.complaint_id,
            "status": status,
            "statusTime": shanghai_iso(update.occurred_at),
            "remark": update.note or "",
            "eventId": update.event_id,
        }
        if "offered_refund_fen" in data and data["offered_refund_fen"] is not None:
            message["refundOffered"] = yuan(data["offered_refund_fen"])
        if status == "CONCLUDED":
            message.update(
                outcome=data.get("outcome"),
                atFault=data.get("at_fault"),
                refundAmount=yuan(data.get("amount_refunded_fen") or 0),
            )
        if status == "REVISITED":
            message.update(reached=data.get("reached"), satisfied=data.get("satisfied"))
        if status == "RETURNED":
            message["returnReason"] = data.get("reason")
        if status == "TRANSFERRED":
            message["toRegionCode"] = data.get("to_region")
        if update.new_deadline:
            message["deadline"] = shanghai_iso(update.new_deadline)
        if update.case_number:  # the platform's case number and the tourist's progress page, to pass on
            message["platformCaseNo"] = update.case_number
        if update.progress_url:
            message["progressUrl"] = update.progress_url
        return message


ADAPTER = Platform12301()
