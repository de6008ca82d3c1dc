"""The complaint report as a spreadsheet (CSV, XLSX) and as a print-ready page, in the report's own words.

Every format is built from the same rows (`_summary`, `_handled`, `_breakdowns`), so a figure never
differs between the JSON, the spreadsheet and the page. The spreadsheets are written through
`shared.spreadsheet`: a merchant name that looks like a formula is text there, never a live formula.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.intake.reports import yuan
from shared import channels
from shared.contracts.reports import ComplaintReport, Count
from shared.spreadsheet import Formula, append_row, csv_text

CSV_EXAMPLE = (
    "\ufeff地区,三亚市,460200\r\n...\r\n序号,案件编号,渠道,被投诉商户,处理单位,办结时长（分钟）\r\n"
    "1,460200-20210108-0003,微信小程序,...,6\r\n"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HANDLED_HEADER = ["序号", "案件编号", "来源", "被投诉商户", "处理单位", "办结时长（分钟）"]


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def within(seconds: int) -> str:
    """A deadline as the reports write it: 180 -> "3分钟", 172800 -> "48小时"."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}小时"
    return f"{seconds // 60}分钟" if seconds % 60 == 0 else f"{seconds}秒"


def _summary(report: ComplaintReport) -> list[list[Any]]:
    t, r, sla = report.handling_time, report.returns, report.sla
    return [
        ["地区", report.region_name, report.region_code],
        ["期间", str(report.period_from), str(report.period_to)],
        ["收到投诉件", report.received],
        ["有效投诉件", report.valid],
        ["不予受理", report.not_accepted],
        ["撤销", report.withdrawn],
        ["转办", report.transferred],
        ["办结件数", t.complaints],
        ["办结总时长", t.total_text],
        ["平均办结时长", t.average_text],
        [f"{within(sla.accept_seconds)}内受理占比", _share(sla.accepted_within_deadline)],
        [f"{within(sla.dispose_seconds)}内处置占比", _share(sla.disposed_within_deadline)],
        [f"{within(sla.settle_seconds)}内办结占比", _share(sla.settled_within_deadline)],
        ["申请延期件", report.extensions.requested],
        ["批准延期件", report.extensions.approved],
        ["退还金额（元）", yuan(report.amount_refunded_fen)],
        ["先行赔付金额（元）", yuan(report.compensation_paid_fen)],
        ["满意度（1-5）", "—" if report.satisfaction_average is None else report.satisfaction_average],
        ["舆情通报", report.notices.received],
        ["按时反馈", report.notices.replied_in_time],
        ["逾期未反馈", report.notices.overdue],
        ["退换货件", r.received],
        ["合计退货金额（元）", yuan(r.amount_fen)],
        ["已退货退款件", r.refunded],
        ["退款金额（元）", yuan(r.amount_refunded_fen)],
        ["已换货件", r.exchanged],
        ["已回访件", r.visited],
        ["回访满意件", r.satisfied],
        ["反映推诿责任件", r.shirking_reported],
        ["反映诱导撤销件", r.withdrawal_induced],
    ]


def _handled(report: ComplaintReport) -> list[list[Any]]:
    return [
        [
            n,
            h.case_number or h.complaint_id,
            h.source or channels.label_zh(h.channel),
            h.merchant_name,
            h.handling_unit or "",
            h.minutes,
        ]
        for n, h in enumerate(report.handled, 1)
    ]


def _breakdowns(report: ComplaintReport) -> list[tuple[str, list[Count]]]:
    sources = [Count(key=s.channel, label=s.source, count=s.count) for s in report.by_source]
    none = [Count(key="", label=name, count=0) for name in report.sources_without_complaints]
    return [
        ("来源平台（涉旅投诉件）", sources + none),
        ("渠道", report.by_channel),
        ("行业", report.by_industry),
        ("处理单位", report.by_handling_unit),
        ("被投诉商户（前10）", report.top_merchants),
    ]


def filename(report: ComplaintReport, extension: str) -> str:
    return f"complaints-{report.region_code}-{report.period_from}-{report.period_to}.{extension}"


def report_csv(report: ComplaintReport) -> str:
    """The report as a spreadsheet opens it (UTF-8 with BOM for Excel): the summary, then one line per
    handled complaint, then the counts per channel, industry, handling unit and merchant, then what each
    figure counts (统计口径)."""
    rows = [*_summary(report), [], HANDLED_HEADER, *_handled(report)]
    for title, counts in _breakdowns(report):
        rows.extend([[], [title, "件数"], *([c.label, c.count] for c in counts)])
    rows.extend([[], [DEFINITIONS_TITLE], *([d] for d in report.definitions.values())])
    return csv_text(rows)


def report_xlsx(report: ComplaintReport) -> bytes:
    """A workbook: 汇总 (the summary and both paragraphs), 办结明细 (each handled complaint, minutes as
    numbers so the sheet can sum them), 分项统计 (the counts), 统计口径 (what each figure counts)."""
    book = Workbook()
    bold = Font(bold=True)
    summary = book.active
    assert isinstance(summary, Worksheet)  # a new workbook's one sheet
    summary.title = "汇总"
    append_row(summary, [f"{report.region_name}旅游投诉处理情况（{report.period_from}—{report.period_to}）"])
    summary["A1"].font = Font(bold=True, size=14)
    for row in _summary(report):
        append_row(summary, row)
        summary.cell(summary.max_row, 1).font = bold
    for paragraph in filter(None, (report.text, report.notices_text, report.returns_text)):
        append_row(summary, [])
        append_row(summary, [paragraph])
        summary.cell(summary.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        summary.merge_cells(start_row=summary.max_row, start_column=1, end_row=summary.max_row, end_column=6)
        summary.row_dimensions[summary.max_row].height = 15 * (1 + len(paragraph) // 60)
    handled = book.create_sheet("办结明细")
    append_row(handled, HANDLED_HEADER)
    for row in _handled(report):
        append_row(handled, row)
    if report.handled:
        last = handled.max_row
        append_row(handled, ["合计", "", "", "", "", Formula(f"=SUM(F2:F{last})")])
        append_row(handled, ["平均（截尾两位小数）", "", "", "", "", Formula(f"=TRUNC(AVERAGE(F2:F{last}),2)")])
    breakdown = book.create_sheet("分项统计")
    for title, counts in _breakdowns(report):
        append_row(breakdown, [title, "件数"])
        breakdown.cell(breakdown.max_row, 1).font = bold
        for c in counts:
            append_row(breakdown, [c.label, c.count])
        append_row(breakdown, [])
    terms = book.create_sheet(DEFINITIONS_TITLE)
    append_row(terms, [DEFINITIONS_TITLE])
    terms["A1"].font = bold
    for definition in report.definitions.values():
        append_row(terms, [definition])
        terms.cell(terms.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    for cell in handled[1]:
        cell.font = bold
    for sheet in book.worksheets:
        for column in range(1, sheet.max_column + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 16 if column > 1 else 24
    terms.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bars(counts: list[Count]) -> str:
    """A horizontal bar chart as inline SVG: it prints, and needs no script. Each name has a line of its own
    above its bar, so that a long one never runs under it; drawn 320 wide, the 12-unit text prints at 12 px
    or more in any column at least 320 px wide."""
    if not counts:
        return "<p class=none>无</p>"
    top = max(c.count for c in counts)
    rows = []
    for n, c in enumerate(counts):
        y, width = n * 40, 260 * c.count / top
        rows.append(
            f'<text x="0" y="{y + 14}">{escape(c.label)}</text>'
            f'<rect x="0" y="{y + 20}" width="{width:.1f}" height="14" />'
            f'<text x="{width + 6:.1f}" y="{y + 32}">{c.count}</text>'
        )
    return f'<svg class=bars viewBox="0 0 320 {len(counts) * 40}" role="img">' + "".join(rows) + "</svg>"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


PRINT_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em auto;
       max-width: 60em; color: #111; line-height: 1.6; }
h1 { font-size: 1.4em; text-align: center; } h2 { font-size: 1.1em; margin-top: 1.5em; }
p.text { text-indent: 2em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; font-size: .95em; }
th, td { border: 1px solid #999; padding: .2em .5em; text-align: left; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(22em, 1fr)); gap: 1em; }
svg.bars { width: 100%; max-width: 24rem; font-size: 12px; } svg.bars rect { fill: #2f6fb0; }
@media print { body { margin: 0; max-width: none; } .noprint { display: none; } h2 { break-after: avoid; }
               table { break-inside: auto; } tr { break-inside: avoid; } }
"""


DEFINITIONS_TITLE = "统计口径"


def report_html(report: ComplaintReport) -> str:
    """A page to print or save as PDF: the two paragraphs as seeds/004 writes them, the summary, each
    handled complaint, the counts with bar charts and what each figure counts. Self-contained: nothing fetched (no
    script, font or stylesheet from elsewhere), and it prints without its button."""
    title = f"{report.region_name}旅游投诉处理情况（{report.period_from}—{report.period_to}）"
    charts = "".join(
        f"<section><h2>{escape(name)}</h2>{_bars(counts)}</section>" for name, counts in _breakdowns(report)
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{PRINT_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class=noprint><button onclick="print()">打印</button></p>
<h2>投诉处理情况</h2>
<p class=text>{escape(report.text)}</p>
{f"<p class=text>{escape(report.notices_text)}</p>" if report.notices_text else ""}
<p class=text>{escape(report.returns_text)}</p>
<h2>汇总</h2>
{_table(["项目", "数值"], [row[:2] for row in _summary(report)[2:]])}
<h2>办结明细</h2>
{_table(HANDLED_HEADER, _handled(report))}
<div class=grid>{charts}</div>
<h2>{DEFINITIONS_TITLE}</h2>
<ul class=definitions>{"".join(f"<li>{escape(d)}</li>" for d in report.definitions.values())}</ul>
<p>时间均为北京时间（<span translate=no>{escape(report.time_zone)}</span>）。</p>
</body></html>
"""
