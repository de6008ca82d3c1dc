"""Reports for officials, in the shape of a command center's weekly report (seeds/004).

Handling time is counted the way such reports count it: each complaint in whole minutes (truncated),
the total as the sum of those minutes written "1小时19分钟", the average truncated (not rounded) to two
decimals: 79 minutes over 6 complaints is "13.16分钟".
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from shared.contracts.returns import ReturnFigures


class Count(BaseModel):
    key: str = Field(examples=["hotline_12345"], description="a channel, an industry, a handling unit or a merchant id")
    label: str = Field(examples=["12345市长热线"])
    count: int = Field(examples=[6])


class DayCount(BaseModel):
    day: date = Field(examples=["2021-01-08"], description="Asia/Shanghai")
    channel: str = Field(examples=["hotline_12345"])
    count: int = Field(examples=[3])


class SourceCount(BaseModel):
    """涉旅投诉件 of one named source: what stands as a complaint (not withdrawn, not refused, not a notice)."""

    channel: str = Field(examples=["partner"], description="the channel kind")
    source: str = Field(examples=["智旅通投诉平台"], description="the named platform")
    count: int = Field(examples=[2])


class NoticeFigures(BaseModel):
    """Public-opinion notices (涉旅信息通报单) a higher command center sent in the period."""

    received: int = Field(0, examples=[2])
    linked: int = Field(0, examples=[1], description="found to repeat a complaint already being handled")
    replied: int = Field(0, examples=[2], description="reported back to the center")
    replied_in_time: int = Field(0, examples=[2], description="reported back by the deadline")
    overdue: int = Field(0, examples=[0], description="not reported back by the deadline: marked and escalated")


class HandledComplaint(BaseModel):
    complaint_id: str = Field(examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    case_number: str | None = Field(None, examples=["460200-20261206-0042"])
    channel: str = Field(examples=["hotline_12345"])
    source: str | None = Field(None, examples=["“一机游”游客投诉平台"], description="the named platform")
    merchant_name: str = Field(examples=["云南中青国际旅行社有限公司"])
    handling_unit: str | None = Field(examples=["区文化和旅游局"])
    minutes: int = Field(examples=[6], description="from receipt to resolution, whole minutes (truncated)")


class HandlingTime(BaseModel):
    complaints: int = Field(examples=[6], description="complaints handled to a conclusion in the period")
    total_minutes: int = Field(examples=[79])
    total_text: str = Field(examples=["1小时19分钟"])
    average_minutes: str = Field(examples=["13.16"], description="truncated to two decimals, as a string")
    average_text: str = Field(examples=["13.16分钟"])


class SlaShares(BaseModel):
    """Share of the complaints each deadline applied to that met it (None when it applied to none), and the
    report region's deadlines in effect (its own, else inherited), which the labels are written from:
    "3分钟内受理占比"."""

    accepted_within_deadline: float | None = Field(examples=[1.0])
    disposed_within_deadline: float | None = Field(examples=[0.83])
    settled_within_deadline: float | None = Field(examples=[1.0])
    accept_seconds: int = Field(examples=[180], description="the deadline to accept (受理)")
    dispose_seconds: int = Field(examples=[1800], description="the deadline to dispose (处置)")
    settle_seconds: int = Field(examples=[172800], description="the deadline to settle (办结)")


class ExtensionFigures(BaseModel):
    """The period's complaints' extension requests (延期): asked for, and how each was decided."""

    requested: int = Field(0, examples=[3], description="extension requests made")
    approved: int = Field(0, examples=[2])
    rejected: int = Field(0, examples=[1])
    pending: int = Field(0, examples=[0], description="waiting for a supervising official")
    lapsed: int = Field(0, examples=[0], description="the complaint stopped being handled before a decision")
    complaints_extended: int = Field(0, examples=[2], description="complaints whose settlement deadline moved")
    hours_granted: int = Field(0, examples=[120], description="hours added to settlement deadlines in all")


class ComplaintReport(BaseModel):
    region_code: str = Field(examples=["530103"])
    region_name: str = Field(examples=["盘龙区"])
    period_from: date = Field(examples=["2021-01-08"])
    period_to: date = Field(examples=["2021-01-14"])
    time_zone: str = Field("Asia/Shanghai", examples=["Asia/Shanghai"])
    received: int = Field(examples=[9])
    valid: int = Field(
        examples=[6],
        description="有效投诉件: received in the period and concluded with a handling time (see definitions)",
    )
    not_accepted: int
    withdrawn: int
    transferred: int = Field(description="handed to another region's handling unit")
    by_channel: list[Count]
    by_source: list[SourceCount] = Field(
        description="涉旅投诉件 per named source: the region's configured sources in its order, then any other"
    )
    sources_without_complaints: list[str] = Field(
        examples=[["数字旅游平台", "12301平台"]], description="the region's configured sources that had none"
    )
    by_industry: list[Count]
    by_handling_unit: list[Count]
    top_merchants: list[Count] = Field(description="the ten merchants with the most complaints")
    by_day: list[DayCount] = Field(description="complaints received per day and channel, for the charts")
    handling_time: HandlingTime
    handled: list[HandledComplaint] = Field(description="each complaint handled in the period, oldest first")
    sla: SlaShares
    amount_refunded_fen: int
    compensation_paid_fen: int
    satisfaction_average: float | None = Field(examples=[4.5], description="1-5, of the complaints evaluated")
    extensions: ExtensionFigures = Field(
        default_factory=ExtensionFigures,
        description=(
            "the extension requests of the period's complaints; the settlement share counts against each "
            "complaint's deadline as extended"
        ),
    )
    text: str = Field(
        description="the handling paragraph in the report's own wording",
        examples=[
            "2021年1月8日—1月14日，数字旅游平台、12301平台均无涉旅投诉件。12345市长投诉热线涉旅投诉件1件，投诉云南中青"
            "国际旅行社有限公司，已转区文化和旅游局督促企业按要求及时处理。…有效投诉件6件，办结总时长1小时19分钟，平均"
            "办结时长13.16分钟。"
        ],
    )
    notices: NoticeFigures = Field(description="public-opinion notices of the period, counted apart")
    notices_text: str = Field(
        examples=["2021年1月8日—1月14日，收到舆情通报2件：…，与12301平台投诉件内容一致，合并办理，已于1月14日反馈。"]
    )
    returns: ReturnFigures = Field(description="the returns desk's requests of the period")
    returns_text: str = Field(
        examples=[
            "2021年1月8日—1月14日，“一机游”退换货处置平台收到退换货件15件，合计退货金额42565.00元，"
            "均由区指挥中心督促商家与游客积极沟通协商处理，游客均表示满意，均已自行撤销投诉，"
            "无工作人员或商家推诿责任、诱导撤销的情况发生。"
        ]
    )
    definitions: dict[str, str] = Field(
        description="what each figure counts, in the report's words (有效投诉件, 办结时长, 平均办结时长, ...)"
    )


class MonthFigures(BaseModel):
    month: str = Field(examples=["2026-10"], description="a calendar month in Asia/Shanghai")
    received: int = Field(examples=[1284])
    resolved: int = Field(examples=[1201], description="complaints of the month handled to a conclusion")
    average_handling_minutes: str = Field(examples=["13.16"], description="truncated to two decimals")
    compensation_paid_fen: int = Field(examples=[4256500], description="advance compensation paid to tourists")


class PublicFigures(BaseModel):
    """Open data: aggregate figures only; no complaint text, no personal data, nothing that identifies a
    consumer."""

    region_code: str = Field(examples=["460000"])
    region_name: str = Field(examples=["海南省"])
    time_zone: str = "Asia/Shanghai"
    merchants_settled: int = Field(examples=[5210], description="merchants settled in (入驻) today")
    months: list[MonthFigures]
