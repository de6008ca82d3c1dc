"""The returns desk (退货监理): Yunnan's 30-day no-reason return for goods bought on a tour.

A tourist (or the desk's staff for a walk-in tourist) names the shop, the goods, the receipt and the
amount. A request is accepted only within 30 days of the purchase and for goods that are not
custom-made or altered; the shop sees it in its queue and must refund by the deadline, or it
escalates to the region's officials as an overdue complaint does.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Channel, Day, Fen, Input, Phone, RegionCode
from shared.contracts.complaints import Note, Text200


class ReturnState(StrEnum):
    requested = "requested"  # the shop is told and must refund
    escalated = "escalated"  # the shop missed its deadline or refused: officials act
    refunded = "refunded"
    exchanged = "exchanged"  # the shop exchanged the goods (换货): concluded, nothing refunded
    rejected = "rejected"  # an official found the request not covered
    withdrawn = "withdrawn"
    referred = "referred"  # bought in another jurisdiction: the tourist was referred there


OPEN_RETURN_STATES = frozenset({ReturnState.requested, ReturnState.escalated})


class ReturnIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "region_code": "530103",
                    "merchant_id": "mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "goods": "银手镯一只（足银999，38克）",
                    "receipt_no": "NO.20210108-0031",
                    "purchased_on": "2021-01-08",
                    "amount_fen": 286000,
                    "custom_made": False,
                    "reason": "回家后觉得价格过高，申请无理由退货。",
                    "contact_phone": "13812341234",
                }
            ]
        },
    )

    channel: Channel | None = Field(None, description="staff only: how the request came (walk_in at the desk)")
    region_code: RegionCode
    merchant_id: str | None = Field(None, max_length=40, description="a registered shop's id")
    merchant_name: Text200 | None = Field(None, description="as the tourist gives it, when not registered")
    goods: Text200
    receipt_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    purchased_on: Day = Field(description="the day of purchase (Asia/Shanghai)")
    amount_fen: Annotated[int, Field(gt=0, le=100_000_000, strict=True, description="the amount to return, in fen")]
    custom_made: bool = Field(description="custom-made or altered goods are not covered")
    reason: Note | None = None
    contact_phone: Phone | None = None
    purchase_region_code: RegionCode | None = Field(
        None,
        description=(
            "where the goods were bought, when not in the desk's region: a purchase in another jurisdiction is "
            "referred there at once (state referred), on the request's history and in the report"
        ),
    )
    referred_to: Text200 | None = Field(
        None,
        examples=["西双版纳州市场监管局12315热线、西双版纳游客购物退货监理中心"],
        description="to whom it is referred",
    )


class ReturnRefundIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_refunded_fen": 286000, "note": "已原路退款"}]}
    )

    amount_refunded_fen: Fen
    note: Note | None = None


class ReturnRejectionIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "商品已刻字，属个性化定制。"}]})

    note: Note


class ReturnWithdrawalIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "已与商家协商一致"}]})

    reason: Note | None = None


class ReturnExchangeIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "已为游客调换同款商品"}]})

    note: Note | None = None


class ReturnVisitIn(Input):
    """A follow-up visit (回访) to the tourist once the request is concluded: what the tourist says."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "satisfied": True,
                    "withdrawal_induced": False,
                    "shirking_reported": False,
                    "note": "电话回访，游客表示满意，系自愿撤销投诉",
                }
            ]
        },
    )

    satisfied: bool = Field(description="the tourist is satisfied with how the request was handled")
    withdrawal_induced: bool = Field(
        description="the tourist says the withdrawal was induced (诱导撤销), not their own choice; only for a "
        "withdrawn request"
    )
    shirking_reported: bool = Field(description="the tourist reports that staff or the shop shirked (推诿责任)")
    note: Note | None = None


class ReturnVisit(BaseModel):
    at: datetime
    by: str = Field(examples=["盘龙区指挥中心 李明"], description="the official who visited")
    satisfied: bool
    withdrawal_induced: bool
    shirking_reported: bool


class ReturnHistoryEntry(BaseModel):
    at: datetime
    action: str = Field(examples=["requested", "refunded", "overdue", "escalated"])
    actor_role: str
    note: str | None = None


class ReturnOut(BaseModel):
    id: str = Field(examples=["ret_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    state: ReturnState
    channel: Channel
    region_code: str
    merchant_id: str | None
    merchant_name: str
    goods: str
    receipt_no: str
    purchased_on: date
    amount_fen: int
    reason: str | None
    contact_phone: str | None = Field(description="masked but for the tourist who asked")
    consumer_id: str | None
    requested_at: datetime
    refund_by: datetime = Field(description="the shop's deadline to refund")
    overdue: bool
    escalated_at: datetime | None
    concluded_at: datetime | None
    amount_refunded_fen: int
    source_name: str | None = Field(None, examples=["“一机游”退换货处置平台"], description="imported: the platform")
    referred_to_region: str | None = Field(None, examples=["532800"], description="referred: where it was bought")
    referred_to: str | None = Field(None, description="referred: to whom")
    visit: ReturnVisit | None = Field(None, description="the latest follow-up visit (回访), once concluded")
    history: list[ReturnHistoryEntry]


class ReturnFigures(BaseModel):
    """The returns desk's lines of the report (seeds/004: 退换货件15件，合计退货金额42565.00元)."""

    received: int = Field(examples=[15])
    amount_fen: int = Field(
        examples=[4256500], description="合计退货金额: the amount of the requests received, exchanges excepted"
    )
    refunded: int = Field(examples=[15])
    amount_refunded_fen: int = Field(examples=[4256500])
    exchanged: int = Field(0, description="concluded by exchanging the goods (换货): no amount returned")
    withdrawn: int
    overdue: int = Field(description="requests whose shop missed the refund deadline")
    referred: int = Field(0, description="walk-in cases bought in another jurisdiction, referred there (not received)")
    visited: int = Field(0, examples=[15], description="requests received whose tourist was visited (回访)")
    satisfied: int = Field(0, examples=[15], description="visited, and the tourist satisfied")
    withdrawal_induced: int = Field(0, examples=[0], description="visited, and the withdrawal said to be induced")
    shirking_reported: int = Field(0, examples=[0], description="visited, and shirking (推诿) reported")
