"""Complaint channels: where a complaint comes from (a mini-program, a walk-in, the 12345 hotline).

Each channel is declared once, by the module that owns it: a government channel's module (here, one per
channel: `hotline_12345`, `platform_12301`, `odr_12315`) declares its `INFO` beside its work-order
adapter; the platform's own sources are declared in `own_sources.py`. Everything else is derived from the
declarations: the names the API accepts (`shared.contracts.common.Channel`), which channels are
governmental, the labels in both languages (reports, the console at `/console/channels.json`).

Every module in this package is known to every service on first use. A module elsewhere (a test's
example channel) is known once it is loaded by name (`load`), in that process: every service loads the
modules its `*_CHANNEL_MODULES` names when its app is made, so the platform lists such a module there on
each service, and the gateway serves it only then.

Not to be confused with the mini-program logins (`services/gateway/logins/`) or payout providers
(`services/compensation/providers/`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel is, as its module declares it."""

    name: str  # the wire value (`hotline_12345`), in the API, events and the database
    label_zh: str  # 12345市长热线: reports, the console, a complaint's default source
    label_en: str  # 12345 hotline
    # Its centre is a partner registered with this channel (`POST /v1/partners` with `channel`): no other
    # partner submits as it, and the gateway takes its work orders at `/callbacks/{name}`.
    governmental: bool = False
    officials_file: bool = False  # an official may key in a case that came by it (a call taken on the line)
    # A case naming a merchant enrolled here goes straight to that merchant to settle first (12315 ODR).
    to_enrolled_merchant: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", self.name):
            raise ValueError(f"a channel's name is 2-32 of a-z, 0-9 and _, starting with a letter: {self.name!r}")


_REGISTRY: dict[str, ChannelInfo] = {}
_MODULES: dict[str, ModuleType] = {}
_discovered = False


def _register(module: ModuleType) -> None:
    infos: tuple[ChannelInfo, ...] = (module.INFO,) if hasattr(module, "INFO") else tuple(getattr(module, "INFOS", ()))
    for info in infos:
        known = _REGISTRY.get(info.name)
        if known is not None and known != info:
            raise ValueError(f"two modules declare the channel {info.name} differently")
        _REGISTRY[info.name] = info
    _MODULES[module.__name__] = module


def _discover() -> None:
    """Every module of this package, once: the channels every service knows."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for found in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "own_sources", m.name)):
        _register(importlib.import_module(f"{__name__}.{found.name}"))


def load(name: str) -> ModuleType:
    """A channel module by name: one of this package's (`hotline_12345`) or a dotted path
    (`tests.e2e.example_channel`). Its channels are known from then on, in this process."""
    _discover()
    if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", name):
        raise ValueError(f"{name!r} is not a module name")
    path = name if "." in name else f"{__name__}.{name}"
    module = _MODULES.get(path)
    if module is None:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            raise ValueError(f"there is no channel module {name}") from exc
        _register(module)
    return module


def all_channels() -> list[ChannelInfo]:
    """Every channel known, the platform's own sources first."""
    _discover()
    return list(_REGISTRY.values())


def info(name: str) -> ChannelInfo | None:
    _discover()
    return _REGISTRY.get(name)


def names() -> list[str]:
    return [c.name for c in all_channels()]


def governmental() -> frozenset[str]:
    """The channels whose centres are registered partners of that channel."""
    return frozenset(c.name for c in all_channels() if c.governmental)


def label_zh(name: str) -> str:
    """The channel's Chinese label; an unknown name stands for itself."""
    known = info(name)
    return known.label_zh if known else name
