"""Alembic environment of the intake service."""

from services.intake.config import settings
from services.intake.models import metadata
from shared.migrate import run_env

run_env(metadata, settings)
