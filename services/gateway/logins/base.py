"""What every login adapter is, and the problems it (and its message sending) raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ProviderIdentity:
    """Who a provider says the user is: WeChat's openid, Alipay's user id."""

    provider: str
    external_id: str
    unionid: str | None = None


class LoginAdapter(Protocol):
    """A provider's mini-program login: a one-time code in, the user's identity at the provider out."""

    provider: str

    async def identify(self, code: str) -> ProviderIdentity:
        """Trade a mini-program's login code for the user's identity at the provider."""
        ...


class MessageRefused(Exception):
    """The provider will not deliver this message to this user, and asking again will not change that: no
    subscription left, an unknown or blocked user, a template it rejects. Not a fault of the provider's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
