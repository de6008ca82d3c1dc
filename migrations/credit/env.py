"""Alembic environment of the credit service."""

from services.credit.config import settings
from services.credit.models import metadata
from shared.migrate import run_env

run_env(metadata, settings)
