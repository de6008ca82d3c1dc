"""the staff queue's order as two indexed columns, and newest-first by (submitted_at, id)

The queue puts open complaints that missed a deadline first, the longest late first, then open ones by
their next deadline, then concluded ones; lists page by key (rank, time, id). Kept on the row (the
service sets them with the deadlines), one index serves the order and every page of it, and the overdue
count is a range of the same index. Newest-first lists page by (submitted_at, id), which replaces the
index on submitted_at alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "('submitted', 'accepted', 'assigned', 'responded', 'escalated', 'transferred')"


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_rank", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("queue_at", shared.db.UTCDateTime(timezone=True), nullable=True))
    # Late: the earliest missed deadline; open: the next deadline; concluded: when received.
    op.execute(f"""
        UPDATE complaints SET
          queue_rank = CASE WHEN state NOT IN {OPEN} THEN 2
                            WHEN accept_overdue OR dispose_overdue OR settle_overdue THEN 0 ELSE 1 END,
          queue_at = CASE
            WHEN state NOT IN {OPEN} THEN submitted_at
            WHEN accept_overdue THEN accept_by
            WHEN dispose_overdue THEN dispose_by
            WHEN settle_overdue THEN settle_by
            ELSE COALESCE(next_deadline_at, submitted_at) END
    """)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.alter_column("queue_at", existing_type=shared.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_complaints_queue", ["queue_rank", "queue_at", "id"], unique=False)
        batch_op.drop_index("ix_complaints_submitted_at")
        batch_op.create_index("ix_complaints_submitted_at_id", ["submitted_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_submitted_at_id")
        batch_op.create_index("ix_complaints_submitted_at", ["submitted_at"], unique=False)
        batch_op.drop_index("ix_complaints_queue")
        batch_op.drop_column("queue_at")
        batch_op.drop_column("queue_rank")
