"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-only-change-me"


class ServiceSettings(BaseSettings):
    """What every service reads. Subclasses set `env_prefix` (INTAKE_, CREDIT_, ...)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: str = Field("development", description="development, test or production")
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
    port: int = Field(8000, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/service.db",
                              description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...")
    database_schema: str | None = Field(None, description="PostgreSQL schema (search_path) of this service")
    database_pool_size: int = Field(20, ge=1, description=(
        "PostgreSQL connections a process keeps open: above its concurrent requests, or each request past it opens "
        "and closes a connection (replicas x (pool + overflow) must stay under the server's max_connections)"))
    database_max_overflow: int = Field(10, ge=0, description="connections a process may open beyond the pool "
                                       "for a burst, closed again after")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    internal_secret: str = Field(PLACEHOLDER_SECRET, description=(
        "signs identity tokens between the gateway and services and between services; the same for all"))
    gateway_url: str = Field("http://127.0.0.1:8000", description="where the gateway answers")
    intake_url: str = Field("http://127.0.0.1:8001", description="where intake answers")
    compensation_url: str = Field("http://127.0.0.1:8002", description="where compensation answers")
    credit_url: str = Field("http://127.0.0.1:8003", description="where credit answers")
    http_timeout_seconds: float = Field(5.0, description="timeout of a call to another service")
    http_retries: int = Field(2, description="retries of a call that did not reach the other service")
    outbox_poll_seconds: float = Field(1.0, description="how often the outbox dispatcher looks when not woken")
    outbox_batch_size: int = Field(100, description="events the dispatcher claims at a time")
    run_background_workers: bool = Field(True, description="run the outbox dispatcher and schedulers here")
    trace_exporter: Literal["none", "console", "otlp"] = Field("none", description=(
        "where OpenTelemetry spans go: none (tracing off), console (stdout, for development) or otlp (OTLP/HTTP)"))
    trace_endpoint: str | None = Field(None, description=(
        "OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces; unset: OTEL_EXPORTER_OTLP_* or the "
        "exporter's default"))
    trace_sample_ratio: float = Field(1.0, ge=0.0, le=1.0, description=(
        "share of new traces recorded (0 to 1); a request arriving with a trace follows its caller's decision"))

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def service_urls(self) -> dict[str, str]:
        return {
            "gateway": self.gateway_url,
            "intake": self.intake_url,
            "compensation": self.compensation_url,
            "credit": self.credit_url,
        }

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.is_production:
            if self.internal_secret == PLACEHOLDER_SECRET or len(self.internal_secret) < 32:
                raise ValueError("internal_secret must be set to a real secret (32+ characters) in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL, not SQLite")
        return self
