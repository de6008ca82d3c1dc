"""A government channel that exists only for its test (test_example_channel.py): a provincial tourism
hotline that pushes tickets in its own shape and hears back when a case is accepted and closed.

It is what adding a government channel takes: this module (its `INFO` and `ADAPTER`), its dotted path
(`tests.e2e.example_channel`) in every service's `*_CHANNEL_MODULES`, and that path in
`GATEWAY_GOVERNMENT_CHANNELS`. A module under shared/channels needs neither list but the last."""

from __future__ import annotations

from typing import Any

from shared.channels import ChannelInfo
from shared.channels.government import Reader, StatusUpdate, shanghai_text

INFO = ChannelInfo("example_hotline", "示例旅游热线", "example tourism hotline", governmental=True)

_STATUS = {"accepted": "ACCEPTED", "resolved": "CLOSED", "response_accepted": "CLOSED"}


class ExampleHotline:
    info = INFO
    title = "example tourism hotline"
    example: dict[str, Any] = {
        "ticket": "EX-2026-0001",
        "received": "2026-11-20 14:03:11",
        "region": "460200",
        "phone": "13800001111",
        "merchant": "三亚湾海鲜排档",
        "category": "餐饮",
        "text": "结账时多收了钱，老板拒绝退还。",
        "ask": "退款",
        "amount": "120.00",
    }
    fields = {
        "external_id": "ticket",
        "received_at": "received",
        "region_code": "region",
        "contact_phone": "phone",
        "merchant_name": "merchant",
        "industry": "category",
        "occurred_at": "received",
        "description": "text",
        "remedy": "ask",
        "amount_involved_fen": "amount",
    }

    def work_order(self, payload: Any) -> dict[str, Any]:
        r = Reader(payload)
        received = r.time("received", required=True)
        return r.done(
            self,
            {
                "external_id": r.text("ticket", required=True),
                "received_at": received,
                "region_code": r.text("region", required=True),
                "contact_phone": r.text("phone", required=True),
                "merchant_name": r.text("merchant", required=True),
                "industry": r.industry("category"),
                "occurred_at": received,
                "description": r.text("text", required=True),
                "remedy": r.remedy("ask"),
                "amount_involved_fen": r.yuan("amount") or 0,
            },
        )

    def update(self, update: StatusUpdate) -> dict[str, Any] | None:
        status = _STATUS.get(update.action)
        if status is None:
            return None
        return {
            "ticket": update.external_id,
            "platform_id": update.handled_as or update.complaint_id,
            "status": status,
            "at": shanghai_text(update.occurred_at),
            "note": update.note or "",
        }


ADAPTER = ExampleHotline()
