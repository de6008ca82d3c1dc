"""The mini-program logins, and what follows from the facts each login module declares (`base.LoginAdapter`):
the complaint channel of an account a login makes, the login a tourist who complained from a channel is
reached through, and the login's name as the timeline words it (sent to intake with each notification's
outcome, so intake keeps no copy). A new login is a module here, its settings, its route and its tests."""

from __future__ import annotations

from services.gateway.logins.alipay import AlipayMiniProgramLogin
from services.gateway.logins.base import LoginAdapter
from services.gateway.logins.bytedance_kuaishou import DouyinMiniProgramLogin, KuaishouMiniProgramLogin
from services.gateway.logins.wechat import WeChatMiniProgramLogin

KINDS: dict[str, type[LoginAdapter]] = {
    kind.provider: kind
    for kind in (WeChatMiniProgramLogin, AlipayMiniProgramLogin, DouyinMiniProgramLogin, KuaishouMiniProgramLogin)
}
_BY_CHANNEL = {kind.channel: name for name, kind in KINDS.items()}


def channel_of(login: str) -> str:
    """The complaint channel of the mini-program this login is made in."""
    return KINDS[login].channel


def login_of(channel: str) -> str | None:
    """The login of the mini-program a complaint from this channel was filed in (None: not a mini-program's)."""
    return _BY_CHANNEL.get(channel)


def label_zh(login: str) -> str:
    """The login's name as the tourist knows it, in Chinese (微信); an unknown one as it is."""
    kind = KINDS.get(login)
    return kind.label_zh if kind is not None else login
