"""The payout providers this platform pays through, loaded from COMPENSATION_PAYOUT_PROVIDERS.

Each entry is a module path whose module names its adapter class in `PROVIDER` (see base.py). All
else is derived from the loaded classes: which provider pays a complaint's claim, whose account the
gateway names as payee, the callback routes, the CLI's choices, the labels the console shows
(GET /v1/payout-providers), and the value of the gateway's GATEWAY_PAYOUT_CALLBACKS (the gateway imports
no service: it learns the callbacks from that setting, whose default is `gateway_callbacks()` of the default
COMPENSATION_PAYOUT_PROVIDERS, checked by tests/compensation/test_example_provider.py).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache

from services.compensation.config import CompensationSettings
from services.compensation.providers.base import PayoutProvider
from shared.contracts.compensation import PAYOUT_PROVIDER_PATTERN

NAME = re.compile(PAYOUT_PROVIDER_PATTERN)


@dataclass(frozen=True)
class Registry:
    kinds: dict[str, type[PayoutProvider]]  # by name, in the setting's order

    @property
    def names(self) -> list[str]:
        return list(self.kinds)

    def provider_for(self, complaint_channel: str) -> str:
        """The provider that pays a claim on a complaint from this channel: the one naming it, else the catch-all."""
        named = [name for name, kind in self.kinds.items() if complaint_channel in kind.complaint_channels]
        return named[0] if named else next(name for name, kind in self.kinds.items() if not kind.complaint_channels)

    def build(self, settings: CompensationSettings) -> dict[str, PayoutProvider]:
        """The adapters as configured; a provider without its keys is off (its payouts wait)."""
        providers: dict[str, PayoutProvider] = {}
        for name, kind in self.kinds.items():
            notify_url = f"{settings.notify_base_url.rstrip('/')}/callbacks/{kind.callback}"
            provider = kind.from_settings(settings, notify_url)
            if provider is not None:
                providers[name] = provider
        return providers

    def gateway_callbacks(self) -> str:
        """GATEWAY_PAYOUT_CALLBACKS for these providers: `name:path[:header-prefix...]`, comma-separated."""
        return ",".join(":".join((name, kind.callback, *kind.callback_headers)) for name, kind in self.kinds.items())


@cache
def load(paths: str) -> Registry:
    """The provider classes of the modules named (comma-separated module paths), checked."""
    kinds: dict[str, type[PayoutProvider]] = {}
    for path in (p.strip() for p in paths.split(",")):
        if not path:
            continue
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            raise ValueError(f"COMPENSATION_PAYOUT_PROVIDERS: there is no module {path}") from exc
        kind: type[PayoutProvider] | None = getattr(module, "PROVIDER", None)
        if kind is None:
            raise ValueError(f"COMPENSATION_PAYOUT_PROVIDERS: {path} defines no PROVIDER")
        if not NAME.fullmatch(kind.name) or kind.name in kinds:
            raise ValueError(f"COMPENSATION_PAYOUT_PROVIDERS: {path}'s name {kind.name!r} is invalid or taken")
        kinds[kind.name] = kind
    catch_alls = [name for name, kind in kinds.items() if not kind.complaint_channels]
    if len(catch_alls) != 1:
        raise ValueError(
            "COMPENSATION_PAYOUT_PROVIDERS: exactly one provider must pay every channel the others do not name "
            f"(empty complaint_channels); here: {', '.join(catch_alls) or 'none'}"
        )
    return Registry(kinds)


def registry(settings: CompensationSettings) -> Registry:
    return load(settings.payout_providers)
