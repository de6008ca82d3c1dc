"""12315 online dispute resolution (ODR, 在线消费纠纷解决): cases for enrolled enterprises.

12315 sends an ODR case to the platform when the enterprise complained about is enrolled here. It
names the enterprise by its unified social credit code; intake gives the case straight to that
merchant to settle with the consumer (no official's acceptance first). If the merchant does not
settle, officials mediate. 12315 hears each step as an ODR status.
"""

from __future__ import annotations

from typing import Any

from shared.channels import ChannelInfo
from shared.channels.government import Reader, StatusUpdate, shanghai_text
from shared.contracts.common import yuan

# A case naming an enrolled merchant goes straight to it to settle (services/intake/service.py).
INFO = ChannelInfo("platform_12315", "12315平台", "12315 platform", governmental=True, to_enrolled_merchant=True)

_STATUS = {
    "assigned": ("negotiating", "协商中"),  # given to the enrolled merchant
    "linked": ("merged", "已并案处理"),  # the same case came here first: handled as that one
    "responded": ("enterprise_replied", "企业已答复"),
    "resolved": ("settled", "和解成功"),
    "response_accepted": ("settled", "和解成功"),
    "escalated": ("negotiation_failed", "和解失败，转行政调解"),
    "response_rejected": ("negotiation_failed", "和解失败，转行政调解"),
    "withdrawn": ("withdrawn", "消费者撤回"),
    "not_accepted": ("rejected", "不予受理"),
    "transferred": ("transferred", "已转办"),
    "callback_visit": ("callback_visit", "已回访"),
    "reopened": ("reopened", "重新处理"),  # a case reported settled is worked again
    "extension_approved": ("extended", "延期处理"),  # its settlement deadline moved
}


class Odr12315:
    info = INFO
    title = "12315 online dispute resolution (ODR)"
    example: dict[str, Any] = {
        "odr_case_id": "ODR46020020261120000007",
        "created_at": "2026-11-20 14:03:11",
        "pushed_at": "2026-11-20 14:03:15",
        "region_code": "460200",
        "enterprise": {"uscc": "91460200MA5T00001R", "name": "三亚免税购物中心"},
        "consumer": {"name": "王先生", "phone": "13612345678"},
        "category": "购物",
        "occurred_at": "2026-11-19 16:00:00",
        "content": "购买的手表与宣传不符，要求七日无理由退货被拒。",
        "claim": "退款",
        "claim_amount": "3999.00",
    }
    fields = {
        "external_id": "odr_case_id",
        "received_at": "created_at",
        "dispatched_at": "pushed_at",
        "region_code": "region_code",
        "merchant_uscc": "enterprise.uscc",
        "merchant_name": "enterprise.name",
        "contact_name": "consumer.name",
        "contact_phone": "consumer.phone",
        "industry": "category",
        "occurred_at": "occurred_at",
        "description": "content",
        "remedy": "claim",
        "amount_involved_fen": "claim_amount",
    }

    def work_order(self, payload: Any) -> dict[str, Any]:
        r = Reader(payload)
        return r.done(
            self,
            {
                "external_id": r.text("odr_case_id", required=True),
                "received_at": r.time("created_at", required=True),
                "dispatched_at": r.time("pushed_at"),
                "region_code": r.text("region_code", required=True),
                "merchant_uscc": r.text("enterprise.uscc", required=True),
                "merchant_name": r.text("enterprise.name", required=True),
                "contact_name": r.text("consumer.name"),
                "contact_phone": r.text("consumer.phone", required=True),
                "industry": r.industry("category"),
                "occurred_at": r.time("occurred_at", required=True),
                "description": r.text("content", required=True),
                "remedy": r.remedy("claim"),
                "amount_involved_fen": r.yuan("claim_amount") or 0,
            },
        )

    def update(self, update: StatusUpdate) -> dict[str, Any] | None:
        data = update.data
        status = _STATUS.get(update.action)
        if update.action == "assigned" and data.get("assignee_kind") != "merchant":
            status = ("mediating", "行政调解")  # the merchant is not enrolled here: officials handle it
        if status is None:
            return None
        message: dict[str, Any] = {
            "odr_case_id": update.external_id,
            "platform_case_id": update.handled_as or update.complaint_id,
            "status": status[0],
            "status_name": status[1],
            "time": shanghai_text(update.occurred_at),
            "remark": update.note or "",
            "event_id": update.event_id,
        }
        if data.get("offered_refund_fen") is not None:
            message["enterprise_offer"] = yuan(data["offered_refund_fen"])
        if status[0] == "settled":
            message["settled_amount"] = yuan(data.get("amount_refunded_fen") or 0)
        if status[0] == "callback_visit":
            message.update(reached=data.get("reached"), satisfied=data.get("satisfied"))
        if status[0] == "extended" and update.new_deadline:
            message["deadline"] = shanghai_text(update.new_deadline)
        if status[0] == "negotiating":
            message["enterprise"] = data.get("assignee_name")
        if update.case_number:  # the platform's case number and the tourist's progress page, to pass on
            message["platform_case_no"] = update.case_number
        if update.progress_url:
            message["progress_url"] = update.progress_url
        return message


ADAPTER = Odr12315()
