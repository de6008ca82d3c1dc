"""provider access tokens shared by the gateway's replicas

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_tokens",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_provider_tokens")),
    )


def downgrade() -> None:
    op.drop_table("provider_tokens")
