"""Logins and sessions at the gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from shared.contracts.common import Channel, Input
from shared.contracts.identity import Role

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class _In(Input):
    pass


class WeChatLoginIn(_In):
    code: Code = Field(description="the code from wx.login()", examples=["demo-alice"])


class MiniProgramLoginIn(_In):
    code: Code = Field(
        description="the code from tt.login() (Douyin) or ks.login() (Kuaishou)", examples=["demo-alice"]
    )


class AlipayLoginIn(_In):
    auth_code: Code = Field(description="the authCode from my.getAuthCode()", examples=["demo-alice"])


class StaffLoginIn(_In):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        examples=["sanya"]
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(examples=["sanya-demo-pass"])


class LoginEventOut(BaseModel):
    """One line of the staff login audit."""

    id: str = Field(examples=["lga_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    username: str = Field(examples=["sanya"])
    account_id: str | None = Field(
        description="the account with that username, if any", examples=["usr_01JD3V0W8Q6M4Y2C1B9T7X5N3K"]
    )
    event: Literal["failed", "locked", "refused_locked", "succeeded", "unlocked"] = Field(examples=["failed"])
    client_ip: str | None = Field(examples=["203.0.113.7"])
    actor_id: str | None = Field(description="who unlocked (an admin's account id, or cli)", examples=[None])
    at: datetime = Field(examples=["2026-12-06T08:15:00Z"])


class RefreshIn(_In):
    refresh_token: Code


class Me(BaseModel):
    id: str = Field(examples=["usr_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    role: Role
    display_name: str | None
    region_code: str | None = Field(description="an official's region (and its sub-regions)")
    merchant_id: str | None = Field(description="merchant staff's merchant")
    channel: Channel | None = Field(description="the channel a consumer logged in through")
    scopes: list[str] = Field(examples=[["complaints:own"]])


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds the access token is valid", examples=[900])
    account: Me
