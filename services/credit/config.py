"""Credit's settings, from CREDIT_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CreditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    port: int = Field(8003, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/credit.db", description="SQLAlchemy async URL")


settings = CreditSettings()
