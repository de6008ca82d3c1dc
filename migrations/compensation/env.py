"""Alembic environment of the compensation service."""

from services.compensation.config import settings
from services.compensation.models import metadata
from shared.migrate import run_env

run_env(metadata, settings)
