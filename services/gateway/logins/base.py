"""What every login adapter is, and the problems it (and its message sending) raises."""

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
    """A provider's mini-program login: a one-time code in, the user's identity at the provider out."""

    provider: str

    async def identify(self, code: str) -> ProviderIdentity:
        """Trade a mini-program's login code for the user's identity at the provider."""
        ...


class LoginCodeInvalid(Problem):
    """The provider refused the login code (expired, used, made up): the client should log in again."""

    status, code, title = 401, "login_code_invalid", "Login code rejected"


class ProviderUnavailable(Problem):
    """The provider timed out, could not be reached or answered with an error: try again later."""

    status, code, title = 503, "provider_unavailable", "Provider unavailable"


class ProviderSignatureInvalid(Problem):
    """The provider's answer did not verify against the public key we trust for it."""

    status, code, title = 502, "provider_signature_invalid", "Provider answer not trusted"


class ProviderCredentialsRejected(Problem):
    """The provider refused this platform's own credentials (appid, secret, request signature): a setup fault."""

    status, code, title = 502, "provider_credentials_rejected", "Provider rejected our credentials"


class MessageRefused(Exception):
    """The provider will not deliver this message to this user, and asking again will not change that: no
    subscription left, an unknown or blocked user, a template it rejects. Not a fault of the provider's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
