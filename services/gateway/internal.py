"""Routes other services call on the gateway (never exposed): who to pay for a consumer account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlalchemy import select

from services.gateway.models import ProviderIdentity
from shared.auth import ServiceCaller
from shared.contracts.common import ID_PATTERN
from shared.db import Session
from shared.errors import NotFound

router = APIRouter(prefix="/internal", include_in_schema=False)


class Payee(BaseModel):
    channel: str
    payee: str


@router.get("/accounts/{account_id}/payee")
async def payee(account_id: Annotated[str, Path(pattern=ID_PATTERN)], caller: ServiceCaller, session: Session,
                channel: Annotated[str, Query(pattern="^(wechat|alipay)$")]) -> Payee:
    """The account's openid (WeChat) or user id (Alipay): where a payout to it goes."""
    query = select(ProviderIdentity.external_id).where(ProviderIdentity.account_id == account_id,
                                                       ProviderIdentity.provider == channel)
    external_id = (await session.execute(query)).scalar_one_or_none()
    if external_id is None:
        raise NotFound(f"Account {account_id} has no {channel} identity.", code="payee_not_found")
    return Payee(channel=channel, payee=external_id)
