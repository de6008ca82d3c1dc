"""Monthly statements of a fund and of a merchant's deposit, read from the ledger's entries alone.

A month is a calendar month in Asia/Shanghai. Opening is the sum of the account's entries before the
month, closing the sum before the next; every entry in between is on a line and counted under one
heading by its transaction's kind (what no heading names is `other`), so opening + movements = closing
to the fen, and the closing of the current month is the account's balance.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation import ledger as accounts
from services.compensation.models import Claim, LedgerEntry, LedgerTransaction, Payout
from shared.clock import SHANGHAI, DateOutOfRange, local_day_bounds
from shared.contracts.compensation import DepositStatement, FundStatement, PayoutState, StatementLine
from shared.spreadsheet import append_row, csv_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FUND_PAID = ("claim_approved", "claim_cancelled")  # reserved for an approved claim; a cancelled one returns
RECOVERED = ("deposit_drawn", "recovery_merchant_transfer", "recovery_private_settlement")
KIND_LABELS_ZH = {
    "fund_top_up": "基金注资",
    "claim_approved": "先行赔付支出",
    "claim_cancelled": "赔付撤销退回",
    "deposit_drawn": "划扣保证金追偿",
    "recovery_merchant_transfer": "商户还款",
    "recovery_private_settlement": "私下和解退回",
    "deposit_top_up": "保证金缴纳",
    "recovery_written_off": "追偿核销",
}


def first_day(month: str) -> date:
    """2026-11 -> 2026-11-01; a month no statement can cover (year 0) is a 422."""
    try:
        return date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise DateOutOfRange(f"No statement can cover {month}.", field="month") from exc


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The UTC instants that bound a calendar month in Asia/Shanghai."""
    first = month.replace(day=1)
    if first.year >= 9999 and first.month == 12:  # its next month is past the calendar
        raise DateOutOfRange(f"No statement can cover {first:%Y-%m}.", field="month")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return local_day_bounds(first, last)


async def _sum(
    session: AsyncSession, account_id: str, before: datetime | None, kinds: tuple[str, ...] | None = None
) -> int:
    """What moved on the account before `before` (all time: None), of these kinds of transaction (any: None)."""
    query = (
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == account_id)
    )
    if before is not None:
        query = query.where(LedgerTransaction.created_at < before)
    if kinds is not None:
        query = query.where(LedgerTransaction.kind.in_(kinds))
    return int((await session.execute(query)).scalar_one() or 0)


async def _lines(session: AsyncSession, account_id: str, start: datetime, end: datetime) -> list[StatementLine]:
    rows = (
        await session.execute(
            select(
                LedgerTransaction.id,
                LedgerTransaction.created_at,
                LedgerTransaction.kind,
                LedgerTransaction.reference,
                LedgerEntry.amount_fen,
            )
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                LedgerEntry.account_id == account_id,
                LedgerTransaction.created_at >= start,
                LedgerTransaction.created_at < end,
            )
            .order_by(LedgerTransaction.created_at, LedgerEntry.id)
        )
    ).all()
    return [
        StatementLine(transaction_id=t, at=at, kind=kind, reference=reference, amount_fen=int(amount))
        for t, at, kind, reference, amount in rows
    ]


def _moved(lines: list[StatementLine], kinds: tuple[str, ...]) -> int:
    return sum(line.amount_fen for line in lines if line.kind in kinds)


async def fund_statement(session: AsyncSession, region_code: str, month: date) -> FundStatement:
    """A fund's month: opening, paid, recovered, topped up, other, closing; and what was written off."""
    start, end = month_bounds(month)
    account = accounts.fund(region_code)
    opening = await _sum(session, account, start)
    closing = await _sum(session, account, end)
    lines = await _lines(session, account, start, end)
    paid, recovered, topped_up = -_moved(lines, FUND_PAID), _moved(lines, RECOVERED), _moved(lines, ("fund_top_up",))
    other = sum(line.amount_fen for line in lines) - (topped_up - paid + recovered)
    # Writing off moves no money of the fund (it was paid already): it is the part of what the region's
    # merchants owed that the fund gives up, booked against `advanced:<region>`.
    advanced = accounts.advanced(region_code)
    written_off = await _sum(session, advanced, end, ("recovery_written_off",)) - await _sum(
        session, advanced, start, ("recovery_written_off",)
    )
    return FundStatement(
        region_code=region_code,
        month=month.strftime("%Y-%m"),
        opening_fen=opening,
        paid_fen=paid,
        recovered_fen=recovered,
        written_off_fen=written_off,
        topped_up_fen=topped_up,
        other_fen=other,
        closing_fen=closing,
        owed_by_merchants_fen=-(await _sum(session, advanced, end)),
        lines=lines,
    )


async def deposit_statement(session: AsyncSession, merchant_id: str, month: date) -> DepositStatement:
    """A merchant's deposit month: opening, drawn for recovery, topped up, other, closing."""
    start, end = month_bounds(month)
    account = accounts.deposit(merchant_id)
    lines = await _lines(session, account, start, end)
    drawn, topped_up = -_moved(lines, ("deposit_drawn",)), _moved(lines, ("deposit_top_up",))
    return DepositStatement(
        merchant_id=merchant_id,
        month=month.strftime("%Y-%m"),
        opening_fen=await _sum(session, account, start),
        drawn_fen=drawn,
        topped_up_fen=topped_up,
        other_fen=sum(line.amount_fen for line in lines) - topped_up + drawn,
        closing_fen=await _sum(session, account, end),
        lines=lines,
    )


def yuan(fen: int) -> Decimal:
    """Yuan as a number cell with two decimals (a text "-12.00" would be taken for a formula and quoted)."""
    return Decimal(fen).scaleb(-2)


def _fund_rows(statement: FundStatement) -> list[list[object]]:
    """The statement in the rows every format shares: the summary in yuan, then one line per entry."""
    summary: list[list[object]] = [
        ["赔付基金月度报表", statement.region_code, statement.month],
        ["期初余额（元）", yuan(statement.opening_fen)],
        ["本月注资（元）", yuan(statement.topped_up_fen)],
        ["本月赔付（元）", yuan(statement.paid_fen)],
        ["本月追偿收回（元）", yuan(statement.recovered_fen)],
        ["本月核销（元）", yuan(statement.written_off_fen)],
        ["其他变动（元）", yuan(statement.other_fen)],
        ["期末余额（元）", yuan(statement.closing_fen)],
        ["期末商户欠款（元）", yuan(statement.owed_by_merchants_fen)],
        [],
        ["序号", "时间（北京时间）", "类别", "业务编号", "金额（元）", "账务流水号"],
    ]
    lines = [
        [
            n,
            line.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            KIND_LABELS_ZH.get(line.kind, line.kind),
            line.reference,
            yuan(line.amount_fen),
            line.transaction_id,
        ]
        for n, line in enumerate(statement.lines, 1)
    ]
    return summary + lines


async def fund_totals(session: AsyncSession, region_code: str) -> tuple[int, int]:
    """What a fund has paid out (the succeeded payouts of the claims it pays) and had back from merchants, all
    time: its own, not its sub-regions' (a district with a fund of its own is not counted in its city's)."""
    paid = await session.scalar(
        select(func.coalesce(func.sum(Payout.amount_fen), 0))
        .join(Claim, Claim.id == Payout.claim_id)
        .where(Claim.fund_region_code == region_code, Payout.state == PayoutState.succeeded)
    )
    recovered = await _sum(session, accounts.fund(region_code), None, RECOVERED)
    return int(paid or 0), recovered


def fund_statement_csv(statement: FundStatement) -> str:
    return csv_text(_fund_rows(statement))


def fund_statement_xlsx(statement: FundStatement) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "赔付基金月度报表"
    for row in _fund_rows(statement):
        append_row(sheet, row)
    sheet["A1"].font = Font(bold=True)
    for column, width in zip("ABCDEF", (20, 22, 16, 36, 14, 32), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
