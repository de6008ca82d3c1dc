"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own env prefix."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-only-change-me"
Environment = Literal["development", "staging", "production"]


class ServiceSettings(BaseSettings):
    """What every service reads. Subclasses set `env_prefix` (INTAKE_, CREDIT_, ...)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: Environment = Field(
        "development",
        description=(
            "development (the embedded default and the test suite: placeholder secrets, SQLite and local fakes "
            "allowed), staging or production (both refuse them at start); any other value is refused"
        ),
    )
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
    port: int = Field(8000, description="port to listen on")
    database_url: str = Field(
        "sqlite+aiosqlite:///var/service.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    database_schema: str | None = Field(None, description="PostgreSQL schema (search_path) of this service")
    database_transaction_pooling: bool = Field(
        False,
        description=(
            "true when database_url names PgBouncer (or another pooler) in transaction mode: a transaction may run on "
            "any server connection, so nothing is kept on one (no search_path at connect, tables named with their "
            "schema, no prepared statements kept)"
        ),
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        description=(
            "PostgreSQL connections a process keeps open: above its concurrent requests, or each request past it opens "
            "and closes a connection (replicas x (pool + overflow) must stay under the server's max_connections)"
        ),
    )
    database_max_overflow: int = Field(
        10, ge=0, description="connections a process may open beyond the pool for a burst, closed again after"
    )
    max_concurrent_requests: int = Field(
        20,
        ge=0,
        description=(
            "requests a process works on at once; the others wait their turn, in the order they came (0: no limit). "
            "At most database_pool_size, so that no request waits for a database connection"
        ),
    )
    admission_wait_seconds: float = Field(
        4.0,
        gt=0,
        description=(
            "how long a request waits its turn before it is answered 503 overloaded; under the gateway's 5 s wait "
            "for a service, so that the caller hears why"
        ),
    )
    max_request_bytes: int = Field(
        11 * 1024 * 1024,
        ge=1024,
        description=(
            "largest request body taken, with a length or chunked (413 past it); evidence uploads need 10 MiB"
        ),
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    internal_secret: str = Field(
        PLACEHOLDER_SECRET,
        description=("signs identity tokens between the gateway and services and between services; the same for all"),
    )
    internal_previous_secret: str = Field(
        "",
        description=(
            "the internal secret before a rotation, still accepted: set it on every service with the new secret, roll "
            "them all, then empty it"
        ),
    )
    channel_modules: str = Field(
        "",
        description=(
            "complaint channels this platform adds outside shared/channels: their modules' dotted paths, comma-"
            "separated; the same on every service, so that each knows the channels they declare (empty: none)"
        ),
    )
    gateway_url: str = Field("http://127.0.0.1:8000", description="where the gateway answers")
    intake_url: str = Field("http://127.0.0.1:8001", description="where intake answers")
    compensation_url: str = Field("http://127.0.0.1:8002", description="where compensation answers")
    credit_url: str = Field("http://127.0.0.1:8003", description="where credit answers")
    keep_alive_seconds: int = Field(
        75,
        ge=5,
        description=(
            "how long this server keeps an idle client connection open: longer than any client keeps one idle (the "
            "internal client 4 s, an ingress or load balancer typically 60 s), so it never closes a connection just "
            "as a client reuses it (that request would fail with 'failed to answer')"
        ),
    )
    http_timeout_seconds: float = Field(5.0, description="timeout of a call to another service")
    http_retries: int = Field(2, description="retries of a call that did not reach the other service")
    outbox_poll_seconds: float = Field(1.0, description="how often the outbox dispatcher looks when not woken")
    outbox_batch_size: int = Field(100, description="events the dispatcher claims at a time")
    outbox_refusal_attempts: int = Field(
        20,
        ge=1,
        description=(
            "refusals in a row after which an event a subscriber refuses with 401, 403, 404 or 409 (a deployment's "
            "mistake, fixed later) is given up as a dead letter to replay (cli outbox replay); 20 is about an hour "
            "with the backoff. 408, 425, 429 and 5xx are retried for as long as it takes"
        ),
    )
    outbox_listen: bool = Field(
        True,
        description=(
            "on PostgreSQL, NOTIFY at each commit with events and LISTEN on a connection of the dispatcher's own, so "
            "every replica's dispatcher wakes at once; that connection must reach PostgreSQL in session mode, so with "
            "database_transaction_pooling it listens only at outbox_listen_url; polling goes on either way"
        ),
    )
    outbox_listen_url: str | None = Field(
        None, description="where the LISTEN connection goes, if not database_url (e.g. past a PgBouncer)"
    )
    event_retention_days: float = Field(
        14, gt=0, description="delivered outbox rows and the inbox's record of applied events are kept this long"
    )
    retention_interval_seconds: float = Field(
        3600, gt=0, description="how often each process prunes what has passed its retention (shared/retention.py)"
    )
    run_background_workers: bool = Field(True, description="run the outbox dispatcher and schedulers here")
    trace_exporter: Literal["none", "console", "otlp"] = Field(
        "none",
        description=(
            "where OpenTelemetry spans go: none (tracing off), console (stdout, for development) or otlp (OTLP/HTTP)"
        ),
    )
    trace_endpoint: str | None = Field(
        None,
        description=(
            "OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces; unset: OTEL_EXPORTER_OTLP_* or the "
            "exporter's default"
        ),
    )
    trace_sample_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description=(
            "share of new traces recorded (0 to 1); a request arriving with a trace follows its caller's decision"
        ),
    )

    @property
    def is_production(self) -> bool:
        """Anything but development: deployed somewhere real, where no placeholder or fake may stand."""
        return self.environment != "development"

    def channel_module_names(self) -> list[str]:
        """The dotted paths in channel_modules."""
        return [name for name in (n.strip() for n in self.channel_modules.split(",")) if name]

    def service_urls(self) -> dict[str, str]:
        return {
            "gateway": self.gateway_url,
            "intake": self.intake_url,
            "compensation": self.compensation_url,
            "credit": self.credit_url,
        }

    def development_only(self) -> list[str]:
        """What these settings hold that only development may; each service adds its own."""
        found = []
        if self.internal_secret == PLACEHOLDER_SECRET or len(self.internal_secret) < 32:
            found.append("internal_secret must be set to a real secret (32+ characters)")
        if self.internal_previous_secret and len(self.internal_previous_secret) < 32:
            found.append("internal_previous_secret is too short to have been a real secret")
        if self.database_url.startswith("sqlite"):
            found.append("a deployed service runs on PostgreSQL, not SQLite")
        return found

    @model_validator(mode="after")
    def _refuse_development_settings(self) -> ServiceSettings:
        if self.is_production:
            found = self.development_only()
            if found:
                raise ValueError(f"not allowed in {self.environment}: " + "; ".join(found))
        return self


def on_loopback_among(urls: dict[str, str]) -> list[str]:
    """One finding per setting in `urls` (name -> URL) that points at this machine."""
    return [f"{name} points at this machine (a local fake)" for name, url in urls.items() if on_loopback(url)]


def on_loopback(url: str) -> bool:
    """Whether a URL points at this machine (a local fake), which no deployed service may call or announce."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
