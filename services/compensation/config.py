"""Compensation's settings, from COMPENSATION_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, on_loopback_among

DEMO_APIV3_KEY = "demo-apiv3-key-0123456789abcdef0"
DEMO_PAYEE_NAME_SECRET = "dev-only-payee-name-secret-change-me-0123456789"


class CompensationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMPENSATION_", extra="ignore")

    port: int = Field(8002, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/compensation.db", description="SQLAlchemy async URL")
    payout_providers: str = Field(
        "services.compensation.providers.wechatpay,services.compensation.providers.alipay",
        description=(
            "the payout providers: modules defining PROVIDER (services/compensation/providers/base.py), "
            "comma-separated; the gateway's GATEWAY_PAYOUT_CALLBACKS must name their callbacks (`python -m "
            "services.compensation.cli payout-callbacks` prints its value)"
        ),
    )
    # WeChat Pay v3 merchant transfers (商家转账), public-key mode.
    wechatpay_mchid: str = Field("1900000001", description="WeChat Pay merchant id")
    wechatpay_appid: str = Field("wx-demo-app", description="the mini-program AppID the transfers are made under")
    wechatpay_gateway_url: str = Field(
        "http://127.0.0.1:8012", description="https://api.mch.weixin.qq.com in production"
    )
    wechatpay_private_key_file: Path = Field(
        Path("var/keys/wechatpay_merchant_private.pem"), description="the merchant's API private key (PEM)"
    )
    wechatpay_cert_serial_no: str = Field(
        "DEMO-MERCHANT-SERIAL", description="serial of the merchant's API certificate"
    )
    wechatpay_apiv3_key: str = Field(DEMO_APIV3_KEY, description="APIv3 key (32 bytes)")
    wechatpay_public_key_file: Path = Field(
        Path("var/keys/wechatpay_platform_public.pem"), description="WeChat Pay's platform public key (PEM)"
    )
    wechatpay_public_key_id: str = Field("PUB_KEY_ID_DEMO", description="id of WeChat Pay's public key")
    wechatpay_transfer_scene_id: str = Field("1000", description="transfer scene reported to WeChat Pay")
    # Alipay fund transfers.
    alipay_appid: str = Field("2021000000000000", description="the Alipay app id")
    alipay_gateway_url: str = Field("http://127.0.0.1:8011/gateway.do", description="Alipay's OpenAPI gateway")
    alipay_app_private_key_file: Path = Field(
        Path("var/keys/alipay_app_private.pem"), description="the app's RSA private key (PEM)"
    )
    alipay_public_key_file: Path = Field(
        Path("var/keys/alipay_platform_public.pem"), description="Alipay's RSA public key (PEM)"
    )
    notify_base_url: str = Field(
        "http://127.0.0.1:8000", description="public base URL the providers notify (the gateway's /callbacks/...)"
    )
    provider_timeout_seconds: float = Field(5.0, description="timeout of a call to a payment provider")
    payout_interval_seconds: float = Field(1.0, description="how often the payout worker looks for work")
    payout_batch: int = Field(100, ge=1, le=1000, description="payouts one worker pass sends and applies together")
    payout_passes: int = Field(
        2,
        ge=1,
        le=8,
        description=(
            "worker passes run at once per process: one's transfers are on the wire "
            "while another's outcomes are written"
        ),
    )
    payout_poll_seconds: float = Field(30.0, description="how long to wait for a notification before querying")
    recovery_days: int = Field(30, description="days a merchant has to pay a recovery order before it defaults")
    payee_name_secret: str = Field(
        DEMO_PAYEE_NAME_SECRET,
        description=(
            "encrypts payees' real names at rest (each name its own Fernet token, keyed by HKDF from this); 32+ "
            "characters. Rotate: set the old one as COMPENSATION_PAYEE_NAME_PREVIOUS_SECRET and a new one here, roll, "
            "run `python -m services.compensation.cli rotate-payee-names`, then empty the previous one"
        ),
    )
    payee_name_previous_secret: str = Field(
        "", description="the payee-name secret before a rotation: names encrypted with it are still read"
    )
    payee_name_unclaimed_hours: int = Field(
        24,
        ge=1,
        description=(
            "a payee name given with a compensation request whose claim never opened (the request failed after the "
            "name was stored) is deleted after this"
        ),
    )

    @property
    def payee_name_secrets(self) -> list[str]:
        """The payee-name secrets, newest first: the newest encrypts, either decrypts."""
        return [secret for secret in (self.payee_name_secret, self.payee_name_previous_secret) if secret]

    def development_only(self) -> list[str]:
        found = super().development_only()
        if self.wechatpay_apiv3_key == DEMO_APIV3_KEY:
            found.append("COMPENSATION_WECHATPAY_APIV3_KEY is the demo key")
        if self.payee_name_secret == DEMO_PAYEE_NAME_SECRET or len(self.payee_name_secret) < 32:
            found.append("COMPENSATION_PAYEE_NAME_SECRET must be a real secret (32+ characters)")
        if self.payee_name_previous_secret and len(self.payee_name_previous_secret) < 32:
            found.append("COMPENSATION_PAYEE_NAME_PREVIOUS_SECRET is too short to have been a real secret")
        if self.payee_name_secret == self.internal_secret:
            found.append("COMPENSATION_PAYEE_NAME_SECRET must differ from the internal secret")
        providers = {
            "COMPENSATION_WECHATPAY_GATEWAY_URL": self.wechatpay_gateway_url,
            "COMPENSATION_ALIPAY_GATEWAY_URL": self.alipay_gateway_url,
            "COMPENSATION_NOTIFY_BASE_URL": self.notify_base_url,
        }
        return found + on_loopback_among(providers)


settings = CompensationSettings()
