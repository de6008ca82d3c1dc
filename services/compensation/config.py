"""Compensation's settings, from COMPENSATION_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CompensationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMPENSATION_", extra="ignore")

    port: int = Field(8002, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/compensation.db", description="SQLAlchemy async URL")


settings = CompensationSettings()
