"""What every login adapter is, what it tells a tourist of their complaint's progress, and the problems it (and
its message sending) raises.

A login module owns its facts: its name (`provider`, as kept on the account's provider identity), the complaint
channel of its mini-program, its name as people read it, and, where its provider has a message API, how a
progress message is put and sent. The rest of the gateway derives from them (`registry.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from services.gateway.config import GatewaySettings

DEFAULT_REMARK = "点击查看投诉处理进度"


@dataclass(frozen=True)
class ProviderIdentity:
    """Who a provider says the user is: WeChat's openid, Alipay's user id."""

    provider: str
    external_id: str
    unionid: str | None = None


@dataclass(frozen=True)
class ProgressMessage:
    """What a tourist is told: which complaint, its new state, when, and the note that came with it."""

    complaint_id: str
    state: str
    changed_at: datetime
    note: str | None = None
    case_number: str | None = None

    @property
    def number(self) -> str:
        """What the tourist knows the complaint by: its case number (older rows: the id)."""
        return self.case_number or self.complaint_id


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters, an ellipsis marking what was cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class LoginAdapter(Protocol):
    """A provider's mini-program login: a one-time code in, the user's identity at the provider out."""

    provider: ClassVar[str]  # the login's name: "wechat", kept with each account's identity at the provider
    channel: ClassVar[str]  # the complaint channel of its mini-program (an account made by it complains from there)
    label_zh: ClassVar[str]  # its name as people read it: "微信" (on the timeline: 已通过微信消息告知投诉人)
    label_en: ClassVar[str]

    async def identify(self, code: str) -> ProviderIdentity:
        """Trade a mini-program's login code for the user's identity at the provider."""
        ...


@runtime_checkable
class ProgressSender(Protocol):
    """A login whose provider delivers messages to its mini-program's users (WeChat, Alipay)."""

    async def send_progress(
        self, settings: GatewaySettings, recipient: str, message: ProgressMessage, page: str
    ) -> None:
        """Tell `recipient` (the user id at the provider) of the complaint's progress, with the template the
        settings name; `MessageRefused` when the provider will not deliver it, a Problem when it may later."""
        ...


class MessageRefused(Exception):
    """The provider will not deliver this message to this user, and asking again will not change that: no
    subscription left, an unknown or blocked user, a template it rejects. Not a fault of the provider's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
