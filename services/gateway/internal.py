"""Routes other services call on the gateway (never exposed): who to pay for consumer accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select, tuple_

from services.gateway.models import ProviderIdentity
from shared.auth import ServiceCaller
from shared.contracts.common import ID_PATTERN, Input
from shared.db import Session

router = APIRouter(prefix="/internal", include_in_schema=False)


class PayeeQuery(Input):
    account_id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    # The login whose user id is paid (a payout provider's payee_identity): an account without one has no payee.
    login: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


class PayeesIn(Input):
    accounts: list[PayeeQuery] = Field(max_length=1000)


class Payee(BaseModel):
    account_id: str
    login: str
    payee: str | None = Field(
        description="the account's user id at that login (WeChat openid, Alipay user id); null when it has none"
    )


class PayeesOut(BaseModel):
    payees: list[Payee]


@router.post("/payees")
async def payees(body: PayeesIn, caller: ServiceCaller, session: Session) -> PayeesOut:
    """Where payouts to these accounts go, in one query: their openid (WeChat) or user id (Alipay)."""
    wanted = {(q.account_id, q.login) for q in body.accounts}
    found: dict[tuple[str, str], str] = {}
    if wanted:
        rows = await session.execute(
            select(ProviderIdentity.account_id, ProviderIdentity.provider, ProviderIdentity.external_id).where(
                tuple_(ProviderIdentity.account_id, ProviderIdentity.provider).in_(sorted(wanted))
            )
        )
        found = {(account, provider): external for account, provider, external in rows.all()}
    return PayeesOut(
        payees=[
            Payee(account_id=q.account_id, login=q.login, payee=found.get((q.account_id, q.login)))
            for q in body.accounts
        ]
    )
