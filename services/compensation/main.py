"""The compensation service: funds, deposits, rules, claims, payouts, the ledger, recovery."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI

from services.compensation.config import CompensationSettings
from services.compensation.config import settings as default_settings
from services.compensation.events import handlers
from services.compensation.metrics import CompensationMetrics
from services.compensation.models import inbox, outbox
from services.compensation.payee_names import unclaimed_name_sweeper
from services.compensation.payouts import payout_worker, recovery_scheduler, wake_payouts
from services.compensation.providers.base import PayoutProvider
from services.compensation.router import internal, router
from shared.app import create_service_app, serve
from shared.clock import Clock
from shared.logging import configure_logging

log = logging.getLogger("compensation")


def build_providers(settings: CompensationSettings) -> dict[str, PayoutProvider]:
    """One adapter per payment provider, each at its base URL from settings; a provider without keys is off."""
    from services.compensation.providers.alipay import AlipayTransfers
    from services.compensation.providers.wechatpay import WeChatPayTransfers

    providers: dict[str, PayoutProvider] = {}
    wechat_keys = (settings.wechatpay_private_key_file, settings.wechatpay_public_key_file)
    if all(path.is_file() for path in wechat_keys):
        providers["wechat"] = WeChatPayTransfers(
            mchid=settings.wechatpay_mchid,
            appid=settings.wechatpay_appid,
            private_key_pem=wechat_keys[0].read_text(),
            cert_serial_no=settings.wechatpay_cert_serial_no,
            apiv3_key=settings.wechatpay_apiv3_key,
            platform_public_key_pem=wechat_keys[1].read_text(),
            public_key_id=settings.wechatpay_public_key_id,
            notify_url=settings.notify_base_url.rstrip("/") + "/callbacks/wechatpay/transfer",
            gateway_url=settings.wechatpay_gateway_url,
            transfer_scene_id=settings.wechatpay_transfer_scene_id,
            timeout=settings.provider_timeout_seconds,
        )
    else:
        log.warning("WeChat Pay payouts off: key files %s not found", [str(p) for p in wechat_keys])
    alipay_keys = (settings.alipay_app_private_key_file, settings.alipay_public_key_file)
    if all(path.is_file() for path in alipay_keys):
        providers["alipay"] = AlipayTransfers(
            appid=settings.alipay_appid,
            gateway_url=settings.alipay_gateway_url,
            app_private_key_pem=alipay_keys[0].read_text(),
            alipay_public_key_pem=alipay_keys[1].read_text(),
            notify_url=settings.notify_base_url.rstrip("/") + "/callbacks/alipay/notify",
            timeout=settings.provider_timeout_seconds,
        )
    else:
        log.warning("Alipay payouts off: key files %s not found", [str(p) for p in alipay_keys])
    return providers


async def _startup(app: FastAPI) -> None:
    app.state.providers = build_providers(app.state.settings)
    app.state.payout_wake = asyncio.Event()

    def wake(notes: dict[str, Any]) -> None:
        if notes.get("payouts_queued"):
            wake_payouts(app)

    app.state.after_commit.append(wake)


def create_app(settings: CompensationSettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    return create_service_app(
        name="compensation",
        title="Compensation",
        description="Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, ledger, recovery.",
        settings=settings or default_settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers=handlers,
        routers=[router, internal],
        background=[payout_worker, recovery_scheduler, unclaimed_name_sweeper],
        on_startup=_startup,
        metrics=CompensationMetrics,
        **options,
    )


def main() -> None:
    configure_logging("compensation", default_settings.log_level)
    serve(create_app(), default_settings)


if __name__ == "__main__":
    main()
