"""payout provider: payouts.channel and provider_notifications.channel become `provider`, as wide as a provider's name

The registry takes provider names of up to 32 characters (COMPENSATION_PAYOUT_PROVIDERS); the columns held 10,
which "examplepay" just fits and PostgreSQL refuses beyond. "Channel" is where a complaint came from, so the
columns take the word the code uses for the one who pays.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("payouts", "provider_notifications")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "channel",
                new_column_name="provider",
                existing_type=sa.String(length=10),
                type_=sa.String(length=32),
                existing_nullable=False,
            )


def downgrade() -> None:
    # Back to 10 characters: on PostgreSQL a longer provider name would not fit, so such a downgrade fails rather
    # than cut it (SQLite does not check the length and keeps it).
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "provider",
                new_column_name="channel",
                existing_type=sa.String(length=32),
                type_=sa.String(length=10),
                existing_nullable=False,
            )
