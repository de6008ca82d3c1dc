"""The complaint report of a region and period (`GET /v1/reports/complaints`), as seeds/004 writes it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Complaint
from services.intake.regions import Region
from shared.clock import local_day_bounds
from shared.contracts.common import CHANNEL_LABELS_ZH, INDUSTRY_LABELS_ZH
from shared.contracts.complaints import ComplaintState
from shared.contracts.identity import region_prefix
from shared.contracts.reports import ComplaintReport, Count, HandledComplaint, HandlingTime, SlaShares
from shared.errors import Problem

MAX_DAYS = 366


class BadPeriod(Problem):
    status, code, title = 422, "bad_period", "Bad report period"


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants bounding the Asia/Shanghai days first..last, both included; refuses a bad period."""
    if last < first:
        raise BadPeriod(f"The period ends ({last}) before it starts ({first}).", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"A report covers at most {MAX_DAYS} days; {first} to {last} is "
                        f"{(last - first).days + 1}.", field="to")
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


@dataclass
class _Share:
    """Of the complaints a deadline applied to (done, or due by now), how many were done by it:
    from the recorded timestamps, so imported history counts the same as live complaints."""

    now: datetime
    applied: int = 0
    met: int = 0

    def add(self, due: datetime | None, done: datetime | None) -> None:
        if due is None or (done is None and due > self.now):
            return
        self.applied += 1
        self.met += done is not None and done <= due

    def value(self) -> float | None:
        return round(self.met / self.applied, 4) if self.applied else None


def _counts(counter: Counter[str], labels: Mapping[Any, str], limit: int | None = None) -> list[Count]:
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [Count(key=k, label=labels.get(k, k), count=n) for k, n in ordered]


# What the report reads of a complaint (not its text, nor whole ORM objects).
_COLUMNS = (Complaint.id, Complaint.channel, Complaint.industry, Complaint.merchant_id, Complaint.merchant_name,
            Complaint.assignee_name, Complaint.state, Complaint.submitted_at, Complaint.accepted_at,
            Complaint.responded_at, Complaint.resolved_at, Complaint.closed_at, Complaint.accept_by,
            Complaint.dispose_by, Complaint.settle_by, Complaint.transferred_from, Complaint.satisfaction,
            Complaint.amount_refunded_fen, Complaint.compensation_paid_fen)


async def complaint_report(session: AsyncSession, region: Region, first: date, last: date,
                           now: datetime) -> ComplaintReport:
    start, end = period_bounds(first, last)
    rows = (await session.execute(select(*_COLUMNS).where(
        Complaint.region_code.startswith(region_prefix(region.code)),
        Complaint.submitted_at >= start, Complaint.submitted_at < end).order_by(Complaint.submitted_at,
                                                                                Complaint.id))).all()
    channels: Counter[str] = Counter()
    industries: Counter[str] = Counter()
    units: Counter[str] = Counter()
    merchants: Counter[str] = Counter()
    merchant_names: dict[str, str] = {}
    handled: list[HandledComplaint] = []
    accept, dispose, settle = _Share(now), _Share(now), _Share(now)
    satisfaction: list[int] = []
    for c in rows:
        channels[c.channel] += 1
        industries[c.industry] += 1
        if c.assignee_name:
            units[c.assignee_name] += 1
        key = c.merchant_id or c.merchant_name
        merchants[key] += 1
        merchant_names[key] = c.merchant_name
        concluded = c.resolved_at or c.closed_at
        if concluded is not None and c.state in (ComplaintState.resolved, ComplaintState.closed):
            handled.append(HandledComplaint(
                complaint_id=c.id, channel=c.channel, merchant_name=c.merchant_name, handling_unit=c.assignee_name,
                minutes=int((concluded - c.submitted_at).total_seconds() // 60)))
        accept.add(c.accept_by, c.accepted_at)
        dispose.add(c.dispose_by, min((t for t in (c.responded_at, concluded) if t is not None), default=None))
        settle.add(c.settle_by, concluded)
        if c.satisfaction is not None:
            satisfaction.append(c.satisfaction)
    total = sum(h.minutes for h in handled)
    average = truncated_average(total, len(handled))
    by_state = Counter(c.state for c in rows)
    valid = sum(1 for c in rows if c.accepted_at is not None
                and c.state not in (ComplaintState.withdrawn, ComplaintState.not_accepted))
    time_ = HandlingTime(complaints=len(handled), total_minutes=total, total_text=minutes_text(total),
                         average_minutes=average, average_text=f"{average}分钟")
    by_channel = _counts(channels, CHANNEL_LABELS_ZH)
    text = (f"{first.month}月{first.day}日—{last.month}月{last.day}日，共收到投诉件{len(rows)}件，"
            + "，".join(f"{c.label}{c.count}件" for c in by_channel)
            + ("。" if rows else "")
            + "".join(f"1件投诉{h.merchant_name}，处理单位：{h.handling_unit or '未指派'}，办结时长{h.minutes}分钟；"
                      for h in handled)
            + f"有效投诉件{valid}件，办结总时长{time_.total_text}，平均办结时长{time_.average_text}。")
    return ComplaintReport(
        region_code=region.code, region_name=region.name, period_from=first, period_to=last, received=len(rows),
        valid=valid, not_accepted=by_state[ComplaintState.not_accepted],
        withdrawn=by_state[ComplaintState.withdrawn],
        transferred=sum(1 for c in rows if c.transferred_from is not None),
        by_channel=by_channel, by_industry=_counts(industries, INDUSTRY_LABELS_ZH),
        by_handling_unit=_counts(units, {}), top_merchants=_counts(merchants, merchant_names, 10),
        handling_time=time_, handled=handled,
        sla=SlaShares(accepted_within_deadline=accept.value(), disposed_within_deadline=dispose.value(),
                      settled_within_deadline=settle.value()),
        amount_refunded_fen=sum(c.amount_refunded_fen for c in rows),
        compensation_paid_fen=sum(c.compensation_paid_fen for c in rows),
        satisfaction_average=round(sum(satisfaction) / len(satisfaction), 2) if satisfaction else None,
        text=text)




CSV_EXAMPLE = ("\ufeff地区,三亚市,460200\r\n...\r\n序号,投诉编号,渠道,被投诉商户,处理单位,办结时长（分钟）\r\n"
               "1,cmp_...,微信小程序,...,6\r\n")


def report_csv(report: ComplaintReport) -> str:
    """The report as a spreadsheet opens it (UTF-8 with BOM for Excel): the summary, then one line per
    handled complaint, then the counts per channel, handling unit and merchant."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    t = report.handling_time
    w.writerows([
        ["地区", report.region_name, report.region_code], ["期间", str(report.period_from), str(report.period_to)],
        ["收到投诉件", report.received], ["有效投诉件", report.valid], ["不予受理", report.not_accepted],
        ["撤销", report.withdrawn], ["转办", report.transferred],
        ["办结件数", t.complaints], ["办结总时长", t.total_text], ["平均办结时长", t.average_text],
        ["退还金额（元）", f"{report.amount_refunded_fen / 100:.2f}"],
        ["先行赔付金额（元）", f"{report.compensation_paid_fen / 100:.2f}"], [],
        ["序号", "投诉编号", "渠道", "被投诉商户", "处理单位", "办结时长（分钟）"]])
    for n, h in enumerate(report.handled, 1):
        w.writerow([n, h.complaint_id, CHANNEL_LABELS_ZH.get(h.channel, h.channel), h.merchant_name,
                    h.handling_unit or "", h.minutes])
    for title, counts in (("渠道", report.by_channel), ("处理单位", report.by_handling_unit),
                          ("被投诉商户", report.top_merchants)):
        w.writerows([[], [title, "件数"], *([c.label, c.count] for c in counts)])
    return out.getvalue()
