"""What every login adapter is, and the problems it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.errors import Problem


@dataclass(frozen=True)
class ProviderIdentity:
    """Who a provider says the user is: WeChat's openid, Alipay's user id."""

    provider: str
    external_id: str
    unionid: str | None = None


class LoginAdapter(Protocol):
    provider: str

    async def identify(self, code: str) -> ProviderIdentity:
        """Trade a mini-program's login code for the user's identity at the provider."""
        ...


class LoginCodeInvalid(Problem):
    status, code, title = 401, "login_code_invalid", "Login code rejected"


class ProviderUnavailable(Problem):
    status, code, title = 503, "provider_unavailable", "Provider unavailable"


class ProviderSignatureInvalid(Problem):
    status, code, title = 502, "provider_signature_invalid", "Provider answer not trusted"
