"""handled minutes on complaints, so reports sum them in the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_minutes", sa.Integer(), nullable=True))
    # Complaints resolved before this column: whole minutes from receipt to resolution, truncated.
    complaints = sa.table(
        "complaints",
        sa.column("id", sa.String),
        sa.column("handled_minutes", sa.Integer),
        sa.column("submitted_at", shared.db.UTCDateTime()),
        sa.column("resolved_at", shared.db.UTCDateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(complaints.c.id, complaints.c.submitted_at, complaints.c.resolved_at).where(
            complaints.c.resolved_at.is_not(None)
        )
    ).all()
    for complaint_id, submitted_at, resolved_at in rows:
        minutes = max(0, int((resolved_at - submitted_at).total_seconds() // 60))
        bind.execute(complaints.update().where(complaints.c.id == complaint_id).values(handled_minutes=minutes))


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("handled_minutes")
