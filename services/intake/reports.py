"""The complaint report of a region and period (`GET /v1/reports/complaints`), as seeds/004 writes it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Complaint, Merchant, ReturnRequest
from services.intake.regions import Region
from shared.clock import local_day_bounds
from shared.contracts.common import CHANNEL_LABELS_ZH, INDUSTRY_LABELS_ZH
from shared.contracts.complaints import ComplaintState
from shared.contracts.identity import region_prefix
from shared.contracts.reports import (
    ComplaintReport,
    Count,
    DayCount,
    HandledComplaint,
    HandlingTime,
    MonthFigures,
    PublicFigures,
    SlaShares,
)
from shared.contracts.returns import ReturnFigures, ReturnState
from shared.db import shanghai_day
from shared.errors import Problem

MAX_DAYS = 366


class BadPeriod(Problem):
    status, code, title = 422, "bad_period", "Bad report period"


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants bounding the Asia/Shanghai days first..last, both included; refuses a bad period."""
    if last < first:
        raise BadPeriod(
            f"The period ends ({last}) before it starts ({first}).",
            field="to",
            message="bad_period.backwards",
            params={"first": first, "last": last},
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(
            f"A report covers at most {MAX_DAYS} days; {first} to {last} is {(last - first).days + 1}.",
            field="to",
            message="bad_period.too_long",
            params={"max_days": MAX_DAYS, "days": (last - first).days + 1},
        )
    return local_day_bounds(first, last)


def minutes_text(minutes: int) -> str:
    """79 -> "1小时19分钟", 44 -> "44分钟", 120 -> "2小时"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}分钟"
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def truncated_average(total: int, count: int) -> str:
    """Two decimals, truncated as the reports do: 79 / 6 = 13.1666... -> "13.16"."""
    if not count:
        return "0.00"
    return str((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def _n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sla(due: Any, done: Any, now: datetime) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """Of the complaints a deadline applied to (done, or due by now), how many were done by it: from the
    recorded timestamps, so imported history counts the same as live complaints."""
    applied = due.is_not(None) & (done.is_not(None) | (due <= now))
    return _n(applied), _n(applied & done.is_not(None) & (done <= due))


# Handled to a conclusion (办结): resolved, or resolved then closed, with its minutes recorded.
HANDLED = Complaint.handled_minutes.is_not(None) & Complaint.state.in_([ComplaintState.resolved, ComplaintState.closed])
HANDLED_MINUTES = func.coalesce(func.sum(case((HANDLED, Complaint.handled_minutes), else_=0)), 0)


def _share(applied: int, met: int) -> float | None:
    return round(met / applied, 4) if applied else None


# A district's week lists each handled complaint, as seeds/004 does; a province's month would list
# thousands, so the list (and the paragraph's per-complaint sentences) stop at these.
HANDLED_LISTED = 500
HANDLED_IN_TEXT = 30


async def complaint_report(
    session: AsyncSession, region: Region, first: date, last: date, now: datetime
) -> ComplaintReport:
    """Aggregated in the database (GROUP BY over the region's complaints of the period): a province's
    report reads a few hundred grouped rows, never its complaints one by one."""
    S = ComplaintState
    start, end = period_bounds(first, last)
    scope = (
        Complaint.submitted_at >= start,
        Complaint.submitted_at < end,
        Complaint.region_code.startswith(region_prefix(region.code)),
    )
    concluded = func.coalesce(Complaint.resolved_at, Complaint.closed_at)
    disposed = case(
        (
            Complaint.responded_at.is_not(None) & (concluded.is_(None) | (Complaint.responded_at <= concluded)),
            Complaint.responded_at,
        ),
        else_=concluded,
    )
    (
        received,
        not_accepted,
        withdrawn,
        transferred,
        valid,
        handled_count,
        total,
        accept_applied,
        accept_met,
        dispose_applied,
        dispose_met,
        settle_applied,
        settle_met,
        refunded,
        paid,
        rated,
        rating_sum,
    ) = (
        await session.execute(
            select(
                func.count(),
                _n(Complaint.state == S.not_accepted),
                _n(Complaint.state == S.withdrawn),
                _n(Complaint.transferred_from.is_not(None)),
                _n(Complaint.accepted_at.is_not(None) & Complaint.state.not_in([S.withdrawn, S.not_accepted])),
                _n(HANDLED),
                HANDLED_MINUTES,
                *_sla(Complaint.accept_by, Complaint.accepted_at, now),
                *_sla(Complaint.dispose_by, disposed, now),
                *_sla(Complaint.settle_by, concluded, now),
                func.coalesce(func.sum(Complaint.amount_refunded_fen), 0),
                func.coalesce(func.sum(Complaint.compensation_paid_fen), 0),
                func.count(Complaint.satisfaction),
                func.coalesce(func.sum(Complaint.satisfaction), 0),
            ).where(*scope)
        )
    ).one()

    async def grouped(
        key: Any, labels: Mapping[Any, str], *where: ColumnElement[bool], name: Any = None, limit: int | None = None
    ) -> list[Count]:
        """Counts per `key`, most first; labelled from `labels`, else from the `name` column, else the key."""
        query = (
            select(key, func.count(), func.max(name) if name is not None else null())
            .where(*scope, *where)
            .group_by(key)
            .order_by(func.count().desc(), key)
            .limit(limit)
        )
        return [
            Count(key=k, label=labels.get(k) or label or k, count=n) for k, n, label in await session.execute(query)
        ]

    by_channel = await grouped(Complaint.channel, CHANNEL_LABELS_ZH)
    by_industry = await grouped(Complaint.industry, INDUSTRY_LABELS_ZH)
    by_unit = await grouped(Complaint.assignee_name, {}, Complaint.assignee_name.is_not(None))
    top = await grouped(
        func.coalesce(Complaint.merchant_id, Complaint.merchant_name), {}, name=Complaint.merchant_name, limit=10
    )
    day = shanghai_day(session, Complaint.submitted_at)
    by_day = [
        DayCount(day=date.fromisoformat(d), channel=channel, count=n)
        for d, channel, n in await session.execute(
            select(day, Complaint.channel, func.count())
            .where(*scope)
            .group_by(day, Complaint.channel)
            .order_by(day, Complaint.channel)
        )
    ]
    listed = [
        HandledComplaint(
            complaint_id=r.id,
            case_number=r.case_number,
            channel=r.channel,
            merchant_name=r.merchant_name,
            handling_unit=r.assignee_name,
            minutes=r.handled_minutes,
        )
        for r in await session.execute(
            select(
                Complaint.id,
                Complaint.case_number,
                Complaint.channel,
                Complaint.merchant_name,
                Complaint.assignee_name,
                Complaint.handled_minutes,
            )
            .where(*scope, HANDLED)
            .order_by(Complaint.submitted_at, Complaint.id)
            .limit(HANDLED_LISTED)
        )
    ]
    average = truncated_average(total, handled_count)
    time_ = HandlingTime(
        complaints=handled_count,
        total_minutes=total,
        total_text=minutes_text(total),
        average_minutes=average,
        average_text=f"{average}分钟",
    )
    each = listed if handled_count <= HANDLED_IN_TEXT else []
    text = (
        f"{first.month}月{first.day}日—{last.month}月{last.day}日，共收到投诉件{received}件，"
        + "，".join(f"{c.label}{c.count}件" for c in by_channel)
        + ("。" if received else "")
        + "".join(
            f"1件投诉{h.merchant_name}，处理单位：{h.handling_unit or '未指派'}，办结时长{h.minutes}分钟；"
            for h in each
        )
        + (f"办结{handled_count}件；" if handled_count and not each else "")
        + f"有效投诉件{valid}件，办结总时长{time_.total_text}，平均办结时长{time_.average_text}。"
    )
    returns = await _return_figures(session, region, start, end)
    returns_text = (
        f"{first.month}月{first.day}日—{last.month}月{last.day}日，退换货处置平台收到退换货件"
        f"{returns.received}件，合计退货金额{yuan(returns.amount_fen)}元；已退货退款{returns.refunded}件，"
        f"退款金额{yuan(returns.amount_refunded_fen)}元"
        + (f"；撤销{returns.withdrawn}件" if returns.withdrawn else "")
        + (f"；商家逾期未退{returns.overdue}件" if returns.overdue else "")
        + "。"
    )
    return ComplaintReport(
        region_code=region.code,
        region_name=region.name,
        period_from=first,
        period_to=last,
        received=received,
        valid=valid,
        not_accepted=not_accepted,
        withdrawn=withdrawn,
        transferred=transferred,
        by_channel=by_channel,
        by_industry=by_industry,
        by_handling_unit=by_unit,
        top_merchants=top,
        by_day=by_day,
        handling_time=time_,
        handled=listed,
        sla=SlaShares(
            accepted_within_deadline=_share(accept_applied, accept_met),
            disposed_within_deadline=_share(dispose_applied, dispose_met),
            settled_within_deadline=_share(settle_applied, settle_met),
        ),
        amount_refunded_fen=refunded,
        compensation_paid_fen=paid,
        satisfaction_average=round(rating_sum / rated, 2) if rated else None,
        text=text,
        returns=returns,
        returns_text=returns_text,
    )


async def _return_figures(session: AsyncSession, region: Region, start: datetime, end: datetime) -> ReturnFigures:
    R = ReturnRequest
    received, amount, refunded, amount_refunded, withdrawn, overdue = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(R.amount_fen), 0),
                _n(R.state == ReturnState.refunded),
                func.coalesce(func.sum(R.amount_refunded_fen), 0),
                _n(R.state == ReturnState.withdrawn),
                _n(R.overdue),
            ).where(R.requested_at >= start, R.requested_at < end, R.region_code.startswith(region_prefix(region.code)))
        )
    ).one()
    return ReturnFigures(
        received=received,
        amount_fen=amount,
        refunded=refunded,
        amount_refunded_fen=amount_refunded,
        withdrawn=withdrawn,
        overdue=overdue,
    )


def yuan(fen: int) -> str:
    """4256500 -> "42565.00", as the reports write amounts."""
    return f"{fen // 100}.{fen % 100:02d}"


MAX_PUBLIC_MONTHS = 24


def month_range(first: str, last: str) -> list[date]:
    """ "2026-01".."2026-03" -> the first days of those months; refuses a bad or over-long range."""
    try:
        start, end = (date.fromisoformat(f"{m}-01") for m in (first, last))
    except ValueError as exc:
        raise BadPeriod("Months are written YYYY-MM.", field="from", message="bad_period.month") from exc
    if end < start:
        raise BadPeriod(
            f"The period ends ({last}) before it starts ({first}).",
            field="to",
            message="bad_period.backwards",
            params={"first": first, "last": last},
        )
    months = [start]
    while months[-1] < end:
        months.append((months[-1] + timedelta(days=32)).replace(day=1))
    if len(months) > MAX_PUBLIC_MONTHS:
        raise BadPeriod(
            f"Figures cover at most {MAX_PUBLIC_MONTHS} months.",
            field="to",
            message="bad_period.too_many_months",
            params={"max_months": MAX_PUBLIC_MONTHS},
        )
    return months


async def public_figures(session: AsyncSession, region: Region, months: list[date]) -> PublicFigures:
    """Counts and sums per month, nothing else: what a bureau publishes (received, resolved, average
    handling time, compensation paid) and the merchants settled in."""
    in_region = Complaint.region_code.startswith(region_prefix(region.code))
    start, end = local_day_bounds(months[0], (months[-1] + timedelta(days=32)).replace(day=1) - timedelta(days=1))
    month = func.substr(shanghai_day(session, Complaint.submitted_at), 1, 7)
    rows = {
        m: row
        for m, *row in await session.execute(
            select(
                month,
                func.count(),
                _n(HANDLED),
                HANDLED_MINUTES,
                func.coalesce(func.sum(Complaint.compensation_paid_fen), 0),
            )
            .where(in_region, Complaint.submitted_at >= start, Complaint.submitted_at < end)
            .group_by(month)
        )
    }
    out = []
    for first_day in months:
        key = first_day.strftime("%Y-%m")
        received, resolved, minutes, paid = rows.get(key, (0, 0, 0, 0))
        out.append(
            MonthFigures(
                month=key,
                received=received,
                resolved=resolved,
                average_handling_minutes=truncated_average(minutes, resolved),
                compensation_paid_fen=paid,
            )
        )
    settled = await session.scalar(
        select(func.count())
        .select_from(Merchant)
        .where(Merchant.settled.is_(True), Merchant.region_code.startswith(region_prefix(region.code)))
    )
    return PublicFigures(region_code=region.code, region_name=region.name, merchants_settled=settled or 0, months=out)
