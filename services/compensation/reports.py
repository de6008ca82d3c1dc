"""Compensation's figures per region and period, and the daily reconciliation with a provider."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.models import Claim, LedgerEntry, LedgerTransaction, Payout, RecoveryOrder
from services.compensation.providers.base import PayoutProvider
from services.compensation.statements import RECOVERED
from shared.clock import SHANGHAI, Clock, local_day_bounds
from shared.contracts.compensation import (
    ClaimState,
    CompensationFigures,
    Mismatch,
    PayoutState,
    ReconciliationOut,
    RecoveryState,
)
from shared.contracts.identity import region_prefix

EPOCH = date(2000, 1, 1)


async def figures(
    session: AsyncSession, clock: Clock, region_code: str, first: date | None = None, last: date | None = None
) -> CompensationFigures:
    """Figures of a region (and its sub-regions) over Asia/Shanghai days; all time when no period is given."""
    first = first or EPOCH
    last = last or clock.now().astimezone(SHANGHAI).date()
    start, end = local_day_bounds(first, last)
    prefix = region_prefix(region_code) + "%"

    async def scalar(query) -> int:  # type: ignore[no-untyped-def]
        return int((await session.execute(query)).scalar_one() or 0)

    opened = await scalar(
        select(func.count(Claim.id)).where(
            Claim.region_code.like(prefix), Claim.created_at >= start, Claim.created_at < end
        )
    )
    rejected = await scalar(
        select(func.count(Claim.id)).where(
            Claim.region_code.like(prefix),
            Claim.state == ClaimState.rejected,
            Claim.decided_at >= start,
            Claim.decided_at < end,
        )
    )
    paid_filter = (
        Payout.region_code.like(prefix),
        Payout.state == PayoutState.succeeded,
        Payout.succeeded_at >= start,
        Payout.succeeded_at < end,
    )
    paid_count = await scalar(select(func.count(Payout.id)).where(*paid_filter))
    paid = await scalar(select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(*paid_filter))
    recovered = await scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerTransaction.kind.in_(RECOVERED),
            LedgerTransaction.region_code.like(prefix),
            LedgerEntry.account_id.like("fund:%"),
            LedgerTransaction.created_at >= start,
            LedgerTransaction.created_at < end,
        )
    )
    outstanding = await scalar(
        select(func.coalesce(func.sum(RecoveryOrder.amount_fen - RecoveryOrder.recovered_fen), 0)).where(
            RecoveryOrder.region_code.like(prefix),
            RecoveryOrder.state.in_([RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted]),
        )
    )
    return CompensationFigures(
        region_code=region_code,
        period_from=first,
        period_to=last,
        claims_opened=opened,
        claims_paid=paid_count,
        claims_rejected=rejected,
        paid_fen=paid,
        recovered_fen=recovered,
        outstanding_fen=outstanding,
    )


async def reconcile(session: AsyncSession, provider: PayoutProvider, name: str, day: date) -> ReconciliationOut:
    """Our succeeded payouts of the day through the provider `name` against its bill of the day."""
    start, end = local_day_bounds(day, day)
    ours = {
        p.out_no: p
        for p in (
            await session.scalars(
                select(Payout).where(
                    Payout.provider == name,
                    Payout.state == PayoutState.succeeded,
                    Payout.succeeded_at >= start,
                    Payout.succeeded_at < end,
                )
            )
        ).all()
    }
    theirs = {line.out_no: line for line in await provider.bill(day) if line.state == "succeeded"}
    mismatches: list[Mismatch] = []
    for out_no, payout in sorted(ours.items()):
        line = theirs.get(out_no)
        if line is None:
            mismatches.append(
                Mismatch(
                    kind="missing_at_provider",
                    out_no=out_no,
                    ledger_amount_fen=payout.amount_fen,
                    provider_amount_fen=None,
                    detail="paid in the ledger, absent from the bill",
                )
            )
        elif line.amount_fen != payout.amount_fen:
            mismatches.append(
                Mismatch(
                    kind="amount_mismatch",
                    out_no=out_no,
                    ledger_amount_fen=payout.amount_fen,
                    provider_amount_fen=line.amount_fen,
                    detail="the amounts differ",
                )
            )
    unknown = [o for o in theirs if o not in ours]
    if unknown:
        others = {p.out_no: p for p in (await session.scalars(select(Payout).where(Payout.out_no.in_(unknown)))).all()}
        for out_no in sorted(unknown):
            other = others.get(out_no)
            mismatches.append(
                Mismatch(
                    kind="state_mismatch" if other else "missing_in_ledger",
                    out_no=out_no,
                    ledger_amount_fen=other.amount_fen if other else None,
                    provider_amount_fen=theirs[out_no].amount_fen,
                    detail=f"the provider paid it; the ledger has it {other.state}"
                    if other
                    else "the provider paid it; the ledger has no such payout",
                )
            )
    return ReconciliationOut(
        date=day,
        provider=name,
        channel=name,
        ledger_count=len(ours),
        ledger_total_fen=sum(p.amount_fen for p in ours.values()),
        provider_count=len(theirs),
        provider_total_fen=sum(line.amount_fen for line in theirs.values()),
        mismatches=mismatches,
        balanced=not mismatches,
    )
