"""The complaint report of a region and period (`GET /v1/reports/complaints`), as seeds/004 writes it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, case, distinct, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.errors import BadPeriod
from services.intake.models import Complaint, ExtensionRequest, Merchant, ReturnRequest
from services.intake.regions import Region, RegionCatalogue
from shared import channels
from shared.clock import SHANGHAI, local_day_bounds
from shared.contracts.common import INDUSTRY_LABELS_ZH, Channel
from shared.contracts.complaints import OPEN_STATES, AssigneeKind, ComplaintState, ExtensionState
from shared.contracts.identity import region_prefix
from shared.contracts.reports import (
    ComplaintReport,
    Count,
    DayCount,
    ExtensionFigures,
    HandledComplaint,
    HandlingTime,
    MonthFigures,
    NoticeFigures,
    PublicFigures,
    SlaShares,
    SourceCount,
)
from shared.contracts.returns import OPEN_RETURN_STATES, ReturnFigures, ReturnState
from shared.db import shanghai_day
from shared.divisions import divisions

MAX_DAYS = 366


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


def _n(condition: SQLColumnExpression[bool]) -> ColumnElement[int]:
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


# What the report counts, in its own words (the bureau's, seeds/004), with the definitions it says it uses.
DEFINITIONS = {
    "received": "收到投诉件：期间内收到的投诉，含撤销、不予受理的；舆情通报单另计",
    "by_source": "涉旅投诉件（按来源平台）：期间内收到的投诉，不含游客撤销的、不予受理的（含重复件）和舆情通报单",
    "valid": ("有效投诉件：期间内收到、已办结且报有办结时长的投诉（正在处理的、已转处理单位办结而未报办结时长的不计）"),
    "handling_minutes": "办结时长：自收到至办结的整分钟数，不足一分钟的舍去",
    "total": "办结总时长：各有效投诉件办结时长之和",
    "average": "平均办结时长：办结总时长除以有效投诉件数，保留两位小数，截断不四舍五入",
    "notices": "舆情通报单：上级指挥中心转来的涉旅信息通报单，另计；按时反馈以反馈时限为准，逾期未反馈的督办并升级处理",
    "returns": (
        "退换货件：期间内收到的退换货申请（不含转其他辖区处理的）；合计退货金额为其中退货申请（不含换货的）的申请金额之和"
    ),
    "return_visits": (
        "回访：退换货件办结后回访游客；游客均表示满意指每件均已回访且游客满意，"
        "无推诿责任、诱导撤销指已回访的均未反映工作人员或商家推诿责任、诱导撤销"
    ),
}
NOTICE = Complaint.channel == Channel.public_opinion
NOT_NOTICE = Complaint.channel != Channel.public_opinion
# 涉旅投诉件 per source: what stands as a complaint (neither withdrawn nor refused, nor a notice).
STANDING = NOT_NOTICE & Complaint.state.not_in([ComplaintState.withdrawn, ComplaintState.not_accepted])


def period_text(first: date, last: date) -> str:
    """ "2021年1月8日—1月14日", as the weekly reports write a period."""
    start = f"{first.year}年{first.month}月{first.day}日"
    if last == first:
        return start
    return f"{start}—{f'{last.year}年' if last.year != first.year else ''}{last.month}月{last.day}日"


def complaint_items(rows: list[Any], label: Any) -> str:
    """The complaints of one source, as seeds/004 writes them: consecutive ones alike (merchant, unit, how
    they stand) in one item: "2件投诉X，处理单位：区文化和旅游局，办结时长分别是7分钟、7分钟"."""
    groups: list[tuple[tuple[str, str, str], list[Any]]] = []
    for r in rows:
        if r.state in (ComplaintState.resolved, ComplaintState.closed):
            # Concluded: with its handling time as the center's own; without one (a case forwarded to the unit
            # and concluded there, its time not reported), as seeds/004 writes such a case: 督促…及时办结.
            how = "concluded" if r.handled_minutes is not None else "settled"
        elif r.state in OPEN_STATES and r.accepted_at is not None:
            # With the merchant or with the unit, the unit sees to it (seeds/004): one way of writing both.
            how = "merchant" if r.assignee_kind == AssigneeKind.merchant and not label(r) else "forwarded"
        else:
            how = r.state
        key = (r.merchant_name, label(r), how)
        if groups and groups[-1][0] == key:
            groups[-1][1].append(r)
        else:
            groups.append((key, [r]))
    items = []
    for (merchant, unit, how), alike in groups:
        head = f"投诉{merchant}" if len(rows) == 1 else f"{len(alike)}件投诉{merchant}"
        if how == "concluded":
            minutes = "、".join(f"{r.handled_minutes}分钟" for r in alike)
            tail = f"处理单位：{unit or '未指派'}，办结时长{'分别是' if len(alike) > 1 else ''}{minutes}"
        elif how == "forwarded":
            tail = f"已转{unit or '处理单位'}督促企业按要求及时处理"
        elif how == "settled":
            tail = f"已转{unit}督促企业按要求及时办结" if unit else "已办结"
        elif how == "merchant":
            tail = "已转企业按要求及时处理"
        else:
            tail = "正在受理"
        items.append(f"{head}，{tail}")
    return "；".join(items)


async def complaint_report(
    session: AsyncSession, region: Region, first: date, last: date, now: datetime, catalogue: RegionCatalogue
) -> ComplaintReport:
    """Aggregated in the database (GROUP BY over the region's complaints of the period): a province's
    report reads a few hundred grouped rows, never its complaints one by one."""
    S = ComplaintState
    start, end = period_bounds(first, last)
    in_period = (
        Complaint.submitted_at >= start,
        Complaint.submitted_at < end,
        Complaint.region_code.startswith(region_prefix(region.code)),
    )
    scope = (*in_period, NOT_NOTICE)
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
    handled_count, total = int(handled_count), int(total)  # PostgreSQL sums integers as numeric

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

    def unit_label(r: Any) -> str | None:
        """The unit as the report's region writes it: its own units by their short name, others' in full."""
        unit = catalogue.get(r.region_code).unit(r.unit_id) if r.unit_id else None
        if unit is None:
            name: str | None = r.unit_name
            return name
        return unit.name if unit.id in region.known_units or not unit.full_name else unit.full_name

    by_industry = await grouped(Complaint.industry, INDUSTRY_LABELS_ZH)
    by_unit = [
        Count(key=r.unit_id, label=unit_label(r) or r.unit_id, count=r.n)
        for r in await session.execute(
            select(
                Complaint.unit_id,
                func.max(Complaint.unit_name).label("unit_name"),
                func.max(Complaint.region_code).label("region_code"),
                func.count().label("n"),
            )
            .where(*scope, Complaint.unit_id.is_not(None))
            .group_by(Complaint.unit_id)
            .order_by(func.count().desc(), Complaint.unit_id)
        )
    ]
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
    # One pass over the period for the channels, the named sources and the notices.
    source = func.coalesce(Complaint.source_name, Complaint.channel)
    per_channel: dict[str, int] = {}
    counted: dict[tuple[str, str], int] = {}
    notice_count = 0
    for channel, name, n, standing_n in await session.execute(
        select(Complaint.channel, source, func.count(), func.coalesce(func.sum(case((STANDING, 1), else_=0)), 0))
        .where(*in_period)
        .group_by(Complaint.channel, source)
    ):
        if channel == Channel.public_opinion:
            notice_count += n
            continue
        per_channel[channel] = per_channel.get(channel, 0) + n
        if standing_n:
            counted[(channel, name)] = int(standing_n)
    by_channel = [
        Count(key=channel, label=channels.label_zh(channel), count=n)
        for channel, n in sorted(per_channel.items(), key=lambda item: (-item[1], item[0]))
    ]
    configured = [(s.channel.value, s.name) for s in region.settings.sources]
    # The region's own sources in its order, then any other by count; each with the key it is stored under
    # (a complaint from before sources were named is under its channel).
    order = [k for k in configured if k in counted] + sorted(
        (k for k in counted if k not in configured), key=lambda k: (-counted[k], k)
    )
    by_source = [
        SourceCount(channel=channel, source=_source_label(name), count=counted[(channel, name)])
        for channel, name in order
    ]
    without = [name for key in configured if key not in counted for name in key[1:]]
    columns = (
        Complaint.id,
        Complaint.case_number,
        Complaint.channel,
        source.label("source"),
        Complaint.region_code,
        Complaint.merchant_name,
        Complaint.unit_id,
        Complaint.unit_name,
        Complaint.state,
        Complaint.accepted_at,
        Complaint.assignee_kind,
        Complaint.handled_minutes,
    )
    standing = list(
        await session.execute(
            select(*columns)
            .where(*scope, STANDING)
            .order_by(Complaint.submitted_at, Complaint.id)
            .limit(HANDLED_IN_TEXT + 1)
        )
    )
    listed = [
        HandledComplaint(
            complaint_id=r.id,
            case_number=r.case_number,
            channel=r.channel,
            source=_source_label(r.source),
            merchant_name=r.merchant_name,
            handling_unit=unit_label(r),
            minutes=r.handled_minutes,
        )
        for r in await session.execute(
            select(*columns).where(*scope, HANDLED).order_by(Complaint.submitted_at, Complaint.id).limit(HANDLED_LISTED)
        )
    ]
    extensions = await _extension_figures(session, scope)
    average = truncated_average(total, handled_count)
    time_ = HandlingTime(
        complaints=handled_count,
        total_minutes=total,
        total_text=minutes_text(total),
        average_minutes=average,
        average_text=f"{average}分钟",
    )
    each = len(standing) <= HANDLED_IN_TEXT
    sentences = []
    if without:
        sentences.append("、".join(without) + ("均无涉旅投诉件。" if len(without) > 1 else "无涉旅投诉件。"))
    for (channel, name), count in zip(order, by_source, strict=True):
        rows = [r for r in standing if (r.channel, r.source) == (channel, name)]
        finished = sum(r.handled_minutes is not None for r in rows)
        detail = complaint_items(rows, unit_label) if each else f"其中已办结{finished}件"
        sentences.append(f"{count.source}涉旅投诉件{count.count}件，{detail}。")
    text = (
        f"{period_text(first, last)}，"
        + "".join(sentences)
        + f"有效投诉件{handled_count}件，办结总时长{time_.total_text}，平均办结时长{time_.average_text}。"
        + (f"申请延期{extensions.requested}件，批准{extensions.approved}件。" if extensions.requested else "")
    )
    notices, notices_text = await _notices(session, in_period, first, last) if notice_count else (NoticeFigures(), "")
    returns, returns_text = await _returns(session, region, first, last, start, end, catalogue)
    return ComplaintReport(
        region_code=region.code,
        region_name=region.name,
        period_from=first,
        period_to=last,
        received=received,
        valid=handled_count,
        not_accepted=not_accepted,
        withdrawn=withdrawn,
        transferred=transferred,
        by_channel=by_channel,
        by_source=by_source,
        sources_without_complaints=without,
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
            accept_seconds=region.settings.sla.accept_seconds,
            dispose_seconds=region.settings.sla.dispose_seconds,
            settle_seconds=region.settings.sla.settle_seconds,
        ),
        amount_refunded_fen=refunded,
        compensation_paid_fen=paid,
        satisfaction_average=round(rating_sum / rated, 2) if rated else None,
        extensions=extensions,
        text=text,
        notices=notices,
        notices_text=notices_text,
        returns=returns,
        returns_text=returns_text,
        definitions=DEFINITIONS,
    )


async def _extension_figures(session: AsyncSession, scope: tuple[ColumnElement[bool], ...]) -> ExtensionFigures:
    """The extension requests of the complaints in scope, by how they were decided (one grouped query)."""
    E = ExtensionRequest
    approved = E.state == ExtensionState.approved
    requested, n_approved, rejected, pending, lapsed, extended, hours = (
        await session.execute(
            select(
                func.count(),
                _n(approved),
                _n(E.state == ExtensionState.rejected),
                _n(E.state == ExtensionState.requested),
                _n(E.state == ExtensionState.lapsed),
                func.count(distinct(case((approved, E.complaint_id), else_=None))),
                func.coalesce(func.sum(case((approved, E.extend_hours), else_=0)), 0),
            )
            .select_from(E)
            .join(Complaint, Complaint.id == E.complaint_id)
            .where(*scope)
        )
    ).one()
    return ExtensionFigures(
        requested=requested,
        approved=n_approved,
        rejected=rejected,
        pending=pending,
        lapsed=lapsed,
        complaints_extended=extended,
        hours_granted=hours,
    )


def _source_label(stored: str) -> str:
    """A named source, or the channel's label for a complaint kept before sources were named."""
    return channels.label_zh(stored)


def _day(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日"


async def _notices(
    session: AsyncSession, in_period: tuple[ColumnElement[bool], ...], first: date, last: date
) -> tuple[NoticeFigures, str]:
    """The public-opinion notices of the period: each, what became of it, and whether the center heard back."""
    rows = list(
        await session.execute(
            select(
                Complaint.id,
                Complaint.source_name,
                Complaint.external_id,
                Complaint.case_number,
                Complaint.state,
                Complaint.duplicate_of,
                Complaint.reply_by,
                Complaint.replied_at,
                Complaint.reply_overdue,
            )
            .where(*in_period, NOTICE)
            .order_by(Complaint.submitted_at, Complaint.id)
        )
    )
    repeated_ids = [r.duplicate_of for r in rows if r.duplicate_of]
    repeated = {
        i: name
        for i, name in await session.execute(
            select(Complaint.id, func.coalesce(Complaint.source_name, Complaint.channel)).where(
                Complaint.id.in_(repeated_ids)
            )
        )
    }
    in_time = sum(1 for r in rows if r.replied_at and (r.reply_by is None or r.replied_at <= r.reply_by))
    figures = NoticeFigures(
        received=len(rows),
        linked=sum(1 for r in rows if r.duplicate_of),
        replied=sum(1 for r in rows if r.replied_at),
        replied_in_time=in_time,
        overdue=sum(1 for r in rows if r.reply_overdue),
    )
    if not rows:
        return figures, ""
    items = []
    for r in rows:
        what = (r.source_name or "舆情通报单") + (f"（{r.external_id}）" if r.external_id else "")
        if r.duplicate_of:
            what += f"，与{_source_label(repeated.get(r.duplicate_of, ''))}投诉件内容一致，合并办理"
        elif r.state in (ComplaintState.resolved, ComplaintState.closed):
            what += "，已办结"
        else:
            what += "，正在处理"
        if r.replied_at:
            late = r.reply_by is not None and r.replied_at > r.reply_by
            what += f"，{'逾期' if late else '已'}于{_day(r.replied_at)}反馈"
        elif r.reply_overdue:
            what += f"，逾期未反馈（应于{_day(r.reply_by)}前反馈），已督办"
        elif r.reply_by is not None:
            what += f"，应于{_day(r.reply_by)}前反馈"
        items.append(what)
    return figures, f"{period_text(first, last)}，收到舆情通报{len(rows)}件：" + "；".join(items) + "。"


async def _returns(
    session: AsyncSession,
    region: Region,
    first: date,
    last: date,
    start: datetime,
    end: datetime,
    catalogue: RegionCatalogue,
) -> tuple[ReturnFigures, str]:
    R = ReturnRequest
    scope = (R.requested_at >= start, R.requested_at < end, R.region_code.startswith(region_prefix(region.code)))
    taken = R.state != ReturnState.referred
    exchanged = R.state == ReturnState.exchanged
    visited = taken & R.visited_at.is_not(None)
    (
        received,
        amount,
        refunded,
        amount_refunded,
        n_exchanged,
        withdrawn,
        overdue,
        open_,
        referred,
        n_visited,
        satisfied,
        induced,
        shirking,
    ) = map(
        int,  # PostgreSQL sums integers as numeric
        (
            await session.execute(
                select(
                    _n(taken),
                    func.coalesce(func.sum(case((taken & ~exchanged, R.amount_fen), else_=0)), 0),
                    _n(R.state == ReturnState.refunded),
                    func.coalesce(func.sum(R.amount_refunded_fen), 0),
                    _n(exchanged),
                    _n(R.state == ReturnState.withdrawn),
                    _n(R.overdue),
                    _n(R.state.in_(OPEN_RETURN_STATES)),
                    _n(R.state == ReturnState.referred),
                    _n(visited),
                    _n(visited & R.visit_satisfied.is_(True)),
                    _n(visited & R.withdrawal_induced.is_(True)),
                    _n(visited & R.shirking_reported.is_(True)),
                ).where(*scope)
            )
        ).one(),
    )
    figures = ReturnFigures(
        received=received,
        amount_fen=amount,
        refunded=refunded,
        amount_refunded_fen=amount_refunded,
        exchanged=n_exchanged,
        withdrawn=withdrawn,
        overdue=overdue,
        referred=referred,
        visited=n_visited,
        satisfied=satisfied,
        withdrawal_induced=induced,
        shirking_reported=shirking,
    )
    platforms = [p for (p,) in await session.execute(select(R.source_name).where(*scope, taken).distinct()) if p]
    units = {u for (u,) in await session.execute(select(R.unit_name).where(*scope, taken).distinct())}
    platform = "、".join(sorted(platforms)) or region.settings.returns_platform
    clauses = []
    if received and len(units) == 1 and None not in units:
        clauses.append(f"{'均' if received > 1 else ''}由{units.pop()}督促商家与游客积极沟通协商处理")
    # The follow-up visits (回访): "游客均表示满意" only when every request was visited and every tourist
    # satisfied; otherwise what the visits found, counted.
    tourist, found = "游客", []
    if received and satisfied == received:
        clauses.append(f"游客{'均' if received > 1 else ''}表示满意")
        tourist = ""
    elif n_visited:
        found.append(f"回访{n_visited}件" if n_visited < received else "均已回访")
        if satisfied:
            found.append(f"{satisfied}件游客表示满意")
        if n_visited - satisfied:
            found.append(f"{n_visited - satisfied}件游客表示不满意")
    if refunded:
        every = "均" if refunded == received > 1 else "" if refunded == received else f"{refunded}件"
        clauses.append(f"{every}已退货退款，退款金额{yuan(amount_refunded)}元")
    if n_exchanged:
        every = "均" if n_exchanged == received > 1 else "" if n_exchanged == received else f"{n_exchanged}件"
        clauses.append(f"{every}已换货")
    if withdrawn:
        every = "均" if withdrawn == received > 1 else ""
        clauses.append(f"{tourist}{every}已自行撤销投诉" if withdrawn == received else f"撤销{withdrawn}件")
    if overdue:
        clauses.append(f"商家逾期未退{overdue}件")
    if open_:
        clauses.append(f"正在处理{open_}件")
    clauses.extend(found)
    if n_visited and not (induced or shirking):
        clauses.append("无工作人员或商家推诿责任、诱导撤销的情况发生")
    if shirking:
        clauses.append(f"{shirking}件游客反映工作人员或商家推诿责任")
    if induced:
        clauses.append(f"{induced}件游客反映被诱导撤销")
    text = f"{period_text(first, last)}，{platform}收到退换货件{received}件，合计退货金额{yuan(amount)}元"
    text += "".join(f"，{c}" for c in clauses) + "。"
    if referred:
        places = [
            catalogue.get(code).name if code in divisions() else code
            for (code,) in await session.execute(
                select(R.referred_to_region).where(*scope, R.state == ReturnState.referred).distinct()
            )
            if code
        ]
        text += (
            f"现场受理辖区外购物的退货问题{referred}件，购买地在{'、'.join(sorted(places)) or '其他辖区'}，"
            "不属于本辖区，已转当地处理。"
        )
    return figures, text


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
            .where(in_region, NOT_NOTICE, Complaint.submitted_at >= start, Complaint.submitted_at < end)
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
