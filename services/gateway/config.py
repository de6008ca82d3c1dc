"""The gateway's settings, from GATEWAY_* environment variables."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import PLACEHOLDER_SECRET, ServiceSettings, on_loopback_among

DEMO_WECHAT_SECRET = "demo-secret"
DEMO_DOUYIN_SECRET = "demo-douyin-secret"
DEMO_KUAISHOU_SECRET = "demo-kuaishou-secret"
DEMO_PROGRESS_TEMPLATE = "demo-progress-template"
PLACEHOLDER_PARTNER_KEY = "dev-only-partner-secret-key-change-me"
PLACEHOLDER_PROGRESS_SECRET = "dev-only-progress-link-secret-change-me"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = Field(8000, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/gateway.db", description="SQLAlchemy async URL")
    jwt_secret: str = Field(PLACEHOLDER_SECRET, description="signs access tokens")
    jwt_previous_secret: str = Field(
        "",
        description=(
            "the JWT secret before the last rotation: access tokens it signed are still accepted until they expire "
            "(set it for one access-token lifetime after changing GATEWAY_JWT_SECRET, then empty it)"
        ),
    )
    partner_secret_keys: str = Field(
        PLACEHOLDER_PARTNER_KEY,
        description=(
            "keys that encrypt partners' signing secrets at rest (32+ characters each), comma-separated, newest "
            "first: the newest encrypts, any decrypts. Rotate: put a new key first, run `python -m "
            "services.gateway.cli rotate-partner-secrets`, then drop the old key"
        ),
    )
    access_token_minutes: int = Field(15, description="lifetime of an access token")
    refresh_token_days: int = Field(30, description="lifetime of a session (its refresh token)")
    session_check_seconds: float = Field(
        5.0,
        ge=0,
        description=(
            "how often a replica reads which sessions ended (one query for all); a logout at another replica takes "
            "effect here within this (0: read each request's session instead)"
        ),
    )
    # WeChat mini-program login; the embedded default points at the local fake.
    wechat_appid: str = Field("wx-demo-app", description="the mini-program's AppID")
    wechat_secret: str = Field(DEMO_WECHAT_SECRET, description="the mini-program's AppSecret")
    wechat_api_base: str = Field("http://127.0.0.1:8010", description="https://api.weixin.qq.com in production")
    # Alipay mini-program login; keys are PEM files.
    alipay_appid: str = Field("2021000000000000", description="the Alipay mini-program's app id")
    alipay_gateway_url: str = Field(
        "http://127.0.0.1:8011/gateway.do", description="https://openapi.alipay.com/gateway.do in production"
    )
    alipay_app_private_key_file: Path = Field(
        Path("var/keys/alipay_app_private.pem"), description="the app's RSA private key (PEM)"
    )
    alipay_public_key_file: Path = Field(
        Path("var/keys/alipay_platform_public.pem"), description="Alipay's RSA public key (PEM)"
    )
    douyin_appid: str = Field("tt-demo-app", description="the Douyin mini-program's appid (empty: no Douyin login)")
    douyin_secret: str = Field(DEMO_DOUYIN_SECRET, description="the Douyin mini-program's secret")
    douyin_api_base: str = Field(
        "http://127.0.0.1:8013/douyin", description="https://developer.toutiao.com in production"
    )
    kuaishou_appid: str = Field(
        "ks-demo-app", description="the Kuaishou mini-program's app id (empty: no Kuaishou login)"
    )
    kuaishou_secret: str = Field(DEMO_KUAISHOU_SECRET, description="the Kuaishou mini-program's app secret")
    kuaishou_api_base: str = Field(
        "http://127.0.0.1:8013/kuaishou", description="https://open.kuaishou.com in production"
    )
    government_channels: str = Field(
        "hotline_12345,platform_12301,odr_12315",
        description=(
            "the government channels served at /callbacks/{channel}: channel modules under shared/channels, or "
            "dotted paths listed in channel_modules, comma-separated (empty: none)"
        ),
    )
    # The gateway imports no service, so this default is a copy of what compensation's registry derives from
    # its default COMPENSATION_PAYOUT_PROVIDERS (`Registry.gateway_callbacks()`). They are kept in agreement by
    # tests/compensation/test_example_provider.py::test_the_gateway_passes_the_callbacks_of_the_default_providers,
    # which fails when a default provider's name, callback path or headers change without this value.
    payout_callbacks: str = Field(
        "wechat:wechatpay/transfer:wechatpay-,alipay:alipay/notify",
        description=(
            "the payout providers' notifications, passed to compensation: `provider:path[:header-prefix...]`, "
            "comma-separated, served at /callbacks/{path} with the headers named by prefix; set it to what "
            "compensation's registry gives for its COMPENSATION_PAYOUT_PROVIDERS (`python -m "
            "services.compensation.cli payout-callbacks`); the default is that of the default providers (a test "
            "checks)"
        ),
    )
    provider_timeout_seconds: float = Field(5.0, description="timeout of a call to WeChat or Alipay")
    redis_url: str = Field(
        "",
        description=(
            "Redis shared by the gateway's replicas (redis://host:6379/0): rate limits then hold across replicas, "
            "and the WeChat access token is kept there (empty: rate limits per replica, the token in the database)"
        ),
    )
    redis_prefix: str = Field(
        "gateway:", description="prefix of the gateway's Redis keys (to share one Redis database with others)"
    )
    redis_timeout_seconds: float = Field(
        0.5,
        gt=0,
        description=("timeout of a Redis call; past it a rate limit falls back to this replica's own bucket"),
    )
    rate_limit_per_identity: int = Field(600, description="requests per minute per logged-in identity (0: off)")
    rate_limit_per_ip: int = Field(1200, description="requests per minute per client IP (0: off)")
    login_free_failures: int = Field(
        5, ge=1, description=("wrong passwords a staff username may have in a row before each further one locks it")
    )
    login_delay_seconds: int = Field(
        15, ge=1, description=("the first lock after those failures; each further failure doubles it")
    )
    login_lock_minutes: int = Field(
        60, ge=1, description=("the longest lock: past it the doubling stops (an admin may unlock at any time)")
    )
    rate_limit_logins_per_ip: int = Field(60, description="login and refresh attempts per minute per IP")
    max_concurrent_requests: int = Field(
        0,
        ge=0,
        description=(
            "requests the gateway works on at once before others wait their turn (0: no wait; max_in_flight refuses "
            "past its cap instead, and a proxied request holds no database connection while the service answers)"
        ),
    )
    max_in_flight: int = Field(
        128,
        ge=0,
        description=(
            "requests a replica serves at once; past it a request is answered 503 overloaded at once instead of "
            "queueing (0: no cap). At about 150 submissions a second a replica, 128 in progress is already a "
            "wait of most of a second"
        ),
    )
    max_callback_bytes: int = Field(
        256 * 1024,
        ge=1024,
        description=("largest body of a provider's or a government channel's callback (/callbacks/...)"),
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "addresses or networks of the proxies in front of the gateway (the ingress), comma-separated: from those "
            "only, X-Forwarded-For is read, and the client is its right-most address that is not a proxy (empty: "
            "the peer address is the client)"
        ),
    )
    partner_key_overlap_hours: float = Field(
        168, ge=0, description=("how long a partner's previous signing key keeps working after a new one is issued")
    )
    webhook_interval_seconds: float = Field(1.0, gt=0, description="how often due webhook deliveries are sent")
    webhook_max_attempts: int = Field(
        10,
        ge=1,
        description=(
            "attempts of a webhook delivery before it is given up as failed (backoff doubles from 5 s to 1 h)"
        ),
    )
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="timeout of one webhook delivery")
    delivery_retention_days: float = Field(
        30,
        gt=0,
        description=(
            "webhook deliveries and tourists' notifications that are finished (delivered, failed, refused) are kept "
            "this long, for partners' and tourists' questions, then pruned"
        ),
    )
    login_audit_retention_days: float = Field(
        180, gt=0, description="staff login events (GET /v1/staff/login-events) are kept this long"
    )
    # Tourists' notifications of their complaint's progress (services/gateway/notifications.py).
    wechat_progress_template_id: str = Field(
        DEMO_PROGRESS_TEMPLATE,
        description=(
            "the WeChat subscribe-message template of a complaint's progress (fields character_string1 number, "
            "phrase2 state, time3 time, thing4 note)"
        ),
    )
    alipay_progress_template_id: str = Field(
        DEMO_PROGRESS_TEMPLATE,
        description=(
            "the Alipay mini-program subscribe-message template of a complaint's progress (keyword1 number, "
            "keyword2 state, keyword3 time, keyword4 note)"
        ),
    )
    progress_page: str = Field(
        "pages/complaint/detail?id={complaint_id}",
        pattern=r"\{complaint_id\}|\{progress_url\}",
        description=(
            "the mini-program page a progress message opens ({complaint_id} is replaced, "
            "and {progress_url} by the URL-encoded progress link, for a web-view page)"
        ),
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description=(
            "where tourists and partners reach the gateway from outside (https://...): the base of the progress links "
            "in messages, webhooks and submission answers"
        ),
    )
    progress_link_secret: str = Field(
        PLACEHOLDER_PROGRESS_SECRET,
        description=(
            "signs the tourists' progress links (HMAC-SHA256, 32+ characters), a secret of its own: rotating it "
            "ends every link given out"
        ),
    )
    progress_link_days: int = Field(
        60,
        ge=1,
        le=366,
        description=("how long a progress link (in messages, webhooks and submission answers) keeps working"),
    )
    progress_lookup_minutes: int = Field(
        120,
        ge=5,
        le=1440,
        description=("how long the progress page stays open after a look-up by case number and phone"),
    )
    progress_lookups_per_ip: int = Field(
        10, ge=0, description=("look-ups by case number and phone a client IP may make per minute (0: off)")
    )
    progress_lookups_per_case: int = Field(
        5,
        ge=0,
        description=("look-ups of one case number per minute, from anywhere (0: off): guessing a phone stays slow"),
    )
    notify_interval_seconds: float = Field(
        1.0,
        gt=0,
        description=(
            "how often an idle notification worker looks for due messages to tourists (while full batches wait, it "
            "runs pass after pass)"
        ),
    )
    notify_coalesce_seconds: float = Field(
        2.0,
        ge=0,
        description=(
            "how long a notification waits for later changes of the same complaint, so that a burst (submitted, "
            "accepted, assigned) is one message with the newest state"
        ),
    )
    notify_max_attempts: int = Field(
        8,
        ge=1,
        description=(
            "attempts of a notification while its provider is down before it is given up as failed (backoff "
            "doubles from 5 s to 1 h)"
        ),
    )

    @model_validator(mode="after")
    def _served_channels_known_everywhere(self) -> GatewaySettings:
        """A channel module outside shared/channels is served only if the platform knows it: intake, which takes
        its cases, knows only the modules in its own channel_modules, so the gateway's must list it too."""
        for name in (n.strip() for n in self.government_channels.split(",")):
            if "." in name and name not in self.channel_module_names():
                raise ValueError(
                    f"GATEWAY_GOVERNMENT_CHANNELS names {name}, which is not in GATEWAY_CHANNEL_MODULES: list it "
                    "there, and in every service's *_CHANNEL_MODULES"
                )
        return self

    @property
    def partner_secret_key_list(self) -> list[str]:
        return [key.strip() for key in self.partner_secret_keys.split(",") if key.strip()]

    @field_validator("payout_callbacks")
    @classmethod
    def _payout_callbacks_read(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if entry and not re.fullmatch(r"[a-z0-9_]+:[a-z0-9_]+/[a-z0-9_]+(:[A-Za-z0-9-]+)*", entry):
                raise ValueError(f"GATEWAY_PAYOUT_CALLBACKS: {entry!r} is not provider:path[:header-prefix...]")
        return value

    @property
    def payout_callback_routes(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """GATEWAY_PAYOUT_CALLBACKS read: the provider and the header prefixes passed, by callback path."""
        routes: dict[str, tuple[str, tuple[str, ...]]] = {}
        for entry in (e.strip() for e in self.payout_callbacks.split(",")):
            if entry:
                provider, path, *headers = entry.split(":")
                routes[path] = (provider, tuple(h.lower() for h in headers))
        return routes

    def development_only(self) -> list[str]:
        found = super().development_only()
        if self.jwt_secret == PLACEHOLDER_SECRET or len(self.jwt_secret) < 32:
            found.append("GATEWAY_JWT_SECRET must be a real secret (32+ characters)")
        if self.jwt_previous_secret and len(self.jwt_previous_secret) < 32:
            found.append("GATEWAY_JWT_PREVIOUS_SECRET is too short to have been a real secret")
        keys = self.partner_secret_key_list
        if not keys or any(key == PLACEHOLDER_PARTNER_KEY or len(key) < 32 for key in keys):
            found.append("GATEWAY_PARTNER_SECRET_KEYS must be real keys (32+ characters each)")
        if self.jwt_secret in keys or self.internal_secret in keys or self.jwt_secret == self.internal_secret:
            found.append("the JWT, internal and partner-secret keys must be three different secrets")
        if self.progress_link_secret == PLACEHOLDER_PROGRESS_SECRET or len(self.progress_link_secret) < 32:
            found.append("GATEWAY_PROGRESS_LINK_SECRET must be a real secret (32+ characters)")
        elif self.progress_link_secret in (self.jwt_secret, self.internal_secret, *keys):
            found.append("GATEWAY_PROGRESS_LINK_SECRET must differ from the JWT, internal and partner-secret keys")
        if self.wechat_secret == DEMO_WECHAT_SECRET:
            found.append("GATEWAY_WECHAT_SECRET is the demo placeholder")
        if self.douyin_appid and self.douyin_secret == DEMO_DOUYIN_SECRET:
            found.append("GATEWAY_DOUYIN_SECRET is the demo placeholder (or set GATEWAY_DOUYIN_APPID empty)")
        if self.kuaishou_appid and self.kuaishou_secret == DEMO_KUAISHOU_SECRET:
            found.append("GATEWAY_KUAISHOU_SECRET is the demo placeholder (or set GATEWAY_KUAISHOU_APPID empty)")
        if self.wechat_progress_template_id == DEMO_PROGRESS_TEMPLATE:
            found.append("GATEWAY_WECHAT_PROGRESS_TEMPLATE_ID is the demo placeholder")
        providers = {
            "GATEWAY_PUBLIC_URL": self.public_url,
            "GATEWAY_WECHAT_API_BASE": self.wechat_api_base,
            "GATEWAY_ALIPAY_GATEWAY_URL": self.alipay_gateway_url,
        }
        if self.douyin_appid:
            providers["GATEWAY_DOUYIN_API_BASE"] = self.douyin_api_base
        if self.kuaishou_appid:
            providers["GATEWAY_KUAISHOU_API_BASE"] = self.kuaishou_api_base
        return found + on_loopback_among(providers)


settings = GatewaySettings()
