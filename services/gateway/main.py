"""The gateway: logins, sessions, rate limits, and the one public entrance to every service."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import httpx
import redis
import redis.asyncio
from fastapi import FastAPI
from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.gateway.auth import SessionCache
from services.gateway.config import GatewaySettings
from services.gateway.config import settings as default_settings
from services.gateway.internal import router as internal_router
from services.gateway.logins.alipay import AlipayMiniProgramLogin
from services.gateway.logins.base import LoginAdapter
from services.gateway.logins.bytedance_kuaishou import DouyinMiniProgramLogin, KuaishouMiniProgramLogin
from services.gateway.logins.wechat import WeChatMiniProgramLogin
from services.gateway.models import LoginAudit, Notification, PartnerNonce, UsedRefreshToken, WebhookDelivery, inbox
from services.gateway.notifications import FINAL as FINAL_NOTIFICATION_STATES
from services.gateway.notifications import handlers as notification_handlers
from services.gateway.notifications import notification_worker
from services.gateway.openapi import install_openapi
from services.gateway.pages import install_pages
from services.gateway.partner_routes import admin_router, install_government_channels, partner_router
from services.gateway.partners import WINDOW as NONCE_WINDOW
from services.gateway.partners import handlers as partner_handlers
from services.gateway.partners import webhook_worker
from services.gateway.progress import links_router as progress_links_router
from services.gateway.progress import router as progress_router
from services.gateway.provider_tokens import DatabaseTokens, RedisTokens, TokenBackend, TokenStorage
from services.gateway.ratelimit import InFlightLimit, RateLimiter, SharedRateLimiter
from services.gateway.routes import auth_router, proxy_router
from shared.app import create_service_app, serve
from shared.channels import government
from shared.clock import Clock
from shared.db import table_of
from shared.logging import configure_logging
from shared.outbox import EventHandler
from shared.retention import Retention, days

log = logging.getLogger("gateway")


def build_logins(settings: GatewaySettings, tokens: TokenStorage) -> dict[str, LoginAdapter]:
    """One login adapter per mini-program provider, each pointed at its base URL from settings; WeChat's access
    token kept in `tokens`, shared by the replicas."""
    logins: dict[str, LoginAdapter] = {
        "wechat": WeChatMiniProgramLogin(
            settings.wechat_appid,
            settings.wechat_secret,
            settings.wechat_api_base,
            timeout=settings.provider_timeout_seconds,
            tokens=tokens,
        ),
    }
    for adapter, appid, secret, base in (
        (DouyinMiniProgramLogin, settings.douyin_appid, settings.douyin_secret, settings.douyin_api_base),
        (KuaishouMiniProgramLogin, settings.kuaishou_appid, settings.kuaishou_secret, settings.kuaishou_api_base),
    ):
        if appid:
            logins[adapter.provider] = adapter(appid, secret, base, timeout=settings.provider_timeout_seconds)
    private, public = settings.alipay_app_private_key_file, settings.alipay_public_key_file
    if private.is_file() and public.is_file():
        logins["alipay"] = AlipayMiniProgramLogin(
            settings.alipay_appid,
            settings.alipay_gateway_url,
            private.read_text(),
            public.read_text(),
            timeout=settings.provider_timeout_seconds,
        )
    else:
        log.warning("Alipay login disabled: key files %s / %s not found", private, public)
    return logins


def event_handlers(app: FastAPI) -> dict[str, EventHandler]:
    """What the gateway does with the events it hears: a state change goes to the partners' webhooks and to
    the tourists' notifications, one after the other in the same transaction."""
    partners, notifications = partner_handlers(app), notification_handlers(app)

    async def state_changed(session: Any, event: Any, envelope: Any) -> None:
        await partners["complaint.state_changed"](session, event, envelope)
        await notifications["complaint.state_changed"](session, event, envelope)

    return {**partners, **notifications, "complaint.state_changed": state_changed}


async def _startup(app: FastAPI) -> None:
    settings: GatewaySettings = app.state.settings
    app.state.sessions = SessionCache(settings.session_check_seconds, timedelta(minutes=settings.access_token_minutes))
    per_minute = {
        "identity": settings.rate_limit_per_identity,
        "ip": settings.rate_limit_per_ip,
        "login": settings.rate_limit_logins_per_ip,
        "progress_ip": settings.progress_lookups_per_ip,
        "progress_case": settings.progress_lookups_per_case,
    }
    app.state.redis = app.state.redis_blocking = None
    tokens: TokenBackend
    if settings.redis_url:
        timeout = settings.redis_timeout_seconds
        app.state.redis = redis.asyncio.Redis.from_url(
            settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        # The token store is called from the SDK's worker threads: a blocking client, with the provider's timeout.
        app.state.redis_blocking = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.provider_timeout_seconds,
            socket_connect_timeout=settings.provider_timeout_seconds,
        )
        app.state.limits = {
            name: SharedRateLimiter(app.state.redis, name, limit, prefix=settings.redis_prefix)
            for name, limit in per_minute.items()
        }
        tokens = RedisTokens(app.state.redis_blocking, prefix=f"{settings.redis_prefix}token:")
    else:
        app.state.limits = {name: RateLimiter(limit) for name, limit in per_minute.items()}
        tokens = DatabaseTokens(app.state.sessionmaker, asyncio.get_running_loop())
    app.state.logins = build_logins(settings, TokenStorage(tokens))
    app.state.webhook_client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False)


async def _shutdown(app: FastAPI) -> None:
    await app.state.webhook_client.aclose()
    if app.state.redis is not None:
        await app.state.redis.aclose()
        app.state.redis_blocking.close()
    for login in app.state.logins.values():
        if hasattr(login, "aclose"):
            await login.aclose()


# What the gateway prunes (shared/retention.py). A used refresh token is useless once its session would have
# expired anyway: presented later, it is refused as expired.
RETENTION = [
    Retention(
        "webhook_deliveries",
        table_of(WebhookDelivery),
        "created_at",
        days("delivery_retention_days"),
        lambda t: t.c.state.in_(("delivered", "failed")),
    ),
    Retention(
        "notifications",
        table_of(Notification),
        "created_at",
        days("delivery_retention_days"),
        lambda t: t.c.state.in_((*FINAL_NOTIFICATION_STATES, "superseded")) & t.c.recorded.is_(True),
    ),
    Retention("used_refresh_tokens", table_of(UsedRefreshToken), "used_at", days("refresh_token_days")),
    Retention("login_audit", table_of(LoginAudit), "at", days("login_audit_retention_days")),
    # A signed request's nonce matters only while its timestamp is accepted.
    Retention("partner_nonces", table_of(PartnerNonce), "seen_at", lambda _: 2 * NONCE_WINDOW),
]


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    settings = settings or default_settings
    app = create_service_app(
        name="gateway",
        title="Assured Tour API",
        description=(
            "The public API of the tourism complaint platform: logins for WeChat and Alipay mini-programs "
            "and staff, complaints and their lifecycle, merchants. Errors are RFC 9457 problem+json with a "
            "stable `code`. Money is integer fen; times are RFC 3339 UTC."
        ),
        settings=settings,
        clock=clock,
        routers=[auth_router, internal_router, admin_router, partner_router, progress_router, progress_links_router],
        inbox=inbox,
        event_handlers=event_handlers,
        background=[webhook_worker, notification_worker],
        on_startup=_startup,
        on_shutdown=_shutdown,
        body_limits=[("/callbacks/", settings.max_callback_bytes)],
        retention=RETENTION,
        **options,
    )
    if settings.trusted_proxies.strip():
        # Outermost: every later step (rate limits, logs) sees the client, not the proxy.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Innermost, so that the request-id middleware logs and counts what it refuses.
    app.user_middleware.append(Middleware(InFlightLimit, limit=settings.max_in_flight))
    app.state.government_channels = government.load(settings.government_channels)
    install_government_channels(app)
    install_pages(app)
    app.include_router(proxy_router)  # last: it catches every /v1 path the gateway does not serve itself
    install_openapi(app)
    return app


def main() -> None:
    configure_logging("gateway", default_settings.log_level)
    serve(create_app(), default_settings)


if __name__ == "__main__":
    main()
