"""Merchants' deposits beyond what payouts draw: floors, requests to top up, and their views.

The money itself moves only through the ledger (a draw for a recovery order is `Compensation.draw_deposit`);
here are the terms and the requests an official makes of a merchant whose deposit fell below its floor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation import ledger as accounts
from services.compensation.errors import DepositAboveFloor, TopUpAlreadyRequested
from services.compensation.ledger import Ledger
from services.compensation.models import DepositTerms, DepositTopUpRequest, ProgramMerchant
from shared.contracts.compensation import DepositOut, DepositTopUpRequestIn, DepositTopUpRequestOut
from shared.contracts.identity import Identity
from shared.ids import new_id


async def floor_of(session: AsyncSession, merchant_id: str) -> int:
    terms = await session.get(DepositTerms, merchant_id)
    return terms.floor_fen if terms else 0


async def set_floor(session: AsyncSession, merchant_id: str, floor_fen: int, actor: Identity, now: datetime) -> None:
    terms = await session.get(DepositTerms, merchant_id)
    if terms is None:
        terms = DepositTerms(merchant_id=merchant_id)
        session.add(terms)
    terms.floor_fen, terms.updated_by, terms.updated_at = floor_fen, actor.subject, now
    await session.flush()


async def open_request(session: AsyncSession, merchant_id: str) -> DepositTopUpRequest | None:
    return (
        await session.execute(
            select(DepositTopUpRequest)
            .where(DepositTopUpRequest.merchant_id == merchant_id, DepositTopUpRequest.met_at.is_(None))
            .order_by(DepositTopUpRequest.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def request_top_up(
    session: AsyncSession,
    ledger: Ledger,
    merchant: ProgramMerchant,
    body: DepositTopUpRequestIn,
    actor: Identity,
    now: datetime,
) -> DepositTopUpRequest:
    """Ask the merchant to bring its deposit back to its floor; only when it is below it, once at a time."""
    balance = await ledger.balance(accounts.deposit(merchant.id))
    floor = await floor_of(session, merchant.id)
    if balance >= floor:
        raise DepositAboveFloor(f"The deposit holds {balance} fen, not below its floor of {floor} fen.")
    if await open_request(session, merchant.id) is not None:
        raise TopUpAlreadyRequested("The merchant was already asked to top up and has not yet done so.")
    request = DepositTopUpRequest(
        id=new_id("dtr"),
        merchant_id=merchant.id,
        region_code=merchant.region_code,
        balance_fen=balance,
        floor_fen=floor,
        amount_fen=floor - balance,
        due_by=now + timedelta(days=body.due_days),
        note=body.note,
        requested_by=actor.subject,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    return request


async def note_top_up(session: AsyncSession, ledger: Ledger, merchant_id: str, now: datetime) -> None:
    """A top-up that brings the deposit back to its floor meets the open request."""
    request = await open_request(session, merchant_id)
    if request is not None and await ledger.balance(accounts.deposit(merchant_id)) >= request.floor_fen:
        request.met_at = now
        await session.flush()


def request_out(request: DepositTopUpRequest) -> DepositTopUpRequestOut:
    return DepositTopUpRequestOut(
        id=request.id,
        merchant_id=request.merchant_id,
        balance_fen=request.balance_fen,
        floor_fen=request.floor_fen,
        amount_fen=request.amount_fen,
        due_by=request.due_by,
        note=request.note,
        requested_by=request.requested_by,
        created_at=request.created_at,
        met_at=request.met_at,
    )


async def deposit_out(session: AsyncSession, ledger: Ledger, merchant_id: str) -> DepositOut:
    balance = await ledger.balance(accounts.deposit(merchant_id))
    floor = await floor_of(session, merchant_id)
    request = await open_request(session, merchant_id)
    return DepositOut(
        merchant_id=merchant_id,
        balance_fen=balance,
        receivable_fen=await ledger.balance(accounts.receivable(merchant_id)),
        floor_fen=floor,
        below_floor=balance < floor,
        top_up_request=request_out(request) if request else None,
    )


async def requests_of(session: AsyncSession, merchant_id: str) -> list[DepositTopUpRequestOut]:
    rows = (
        await session.scalars(
            select(DepositTopUpRequest)
            .where(DepositTopUpRequest.merchant_id == merchant_id)
            .order_by(DepositTopUpRequest.created_at.desc())
            .limit(100)
        )
    ).all()
    return [request_out(r) for r in rows]
