"""Credit's settings, from CREDIT_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, on_loopback

# An Ed25519 seed for development and tests only: production refuses to start with it.
PLACEHOLDER_SIGNING_KEY = "ZGV2LW9ubHktY3JlZGl0LXNpZ25pbmcta2V5LTMyYnk"


class CreditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    port: int = Field(8003, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/credit.db", description="SQLAlchemy async URL")
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description=("where tourists reach the gateway: assured-code QR images encode <public_base_url>/c/<code>"),
    )
    signing_key: str = Field(
        PLACEHOLDER_SIGNING_KEY,
        description=("Ed25519 private key seed (32 bytes, base64url) that signs benefit eligibility answers"),
    )
    signing_previous_keys: str = Field(
        "",
        description=(
            "the seeds CREDIT_SIGNING_KEY had before its last rotations, comma-separated: their public keys stay in "
            "the JWKS (/v1/benefits/jwks.json) so that answers they signed still verify (keep one for at least "
            "CREDIT_ELIGIBILITY_VALID_SECONDS plus the gates' JWKS cache time, then drop it)"
        ),
    )
    code_profile_max_age_seconds: int = Field(
        30,
        ge=0,
        le=300,
        description=(
            "how long a CDN or browser may reuse a scanned code's public profile: a suspended or replaced code "
            "answers 410 within this at the latest"
        ),
    )
    defence_days: int = Field(5, ge=1, description="days a subject on notice has to state its case before listing")
    eligibility_valid_seconds: int = Field(300, ge=10, description="how long a signed eligibility answer holds")
    lists_interval_seconds: float = Field(
        60.0, gt=0, description=("how often the lists scheduler lists unanswered notices and ends expired listings")
    )

    @property
    def signing_previous_key_list(self) -> list[str]:
        return [seed.strip() for seed in self.signing_previous_keys.split(",") if seed.strip()]

    def development_only(self) -> list[str]:
        found = super().development_only()
        if self.signing_key == PLACEHOLDER_SIGNING_KEY:
            found.append("signing_key must be set to a real Ed25519 seed")
        if on_loopback(self.public_base_url):
            found.append("CREDIT_PUBLIC_BASE_URL is this machine: assured-code QR images would point nowhere")
        return found


settings = CreditSettings()
