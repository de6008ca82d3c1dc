"""Alembic environment of the gateway service."""

from services.gateway.config import settings
from services.gateway.models import metadata
from shared.migrate import run_env

run_env(metadata, settings)
