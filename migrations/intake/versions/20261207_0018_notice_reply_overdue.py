"""notice replies: a public-opinion notice whose reply deadline passed unanswered is marked and escalated once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_overdue", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_complaints_reply_by", ["reply_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_reply_by")
        batch_op.drop_column("reply_overdue")
