"""possible links: complaints from different accounts that may be one case, for an official to confirm

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "possible_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("complaint_id", sa.String(length=40), nullable=False),
        sa.Column("other_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("flagged_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_possible_links_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(["other_id"], ["complaints.id"], name=op.f("fk_possible_links_other_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_possible_links")),
    )
    with op.batch_alter_table("possible_links", schema=None) as batch_op:
        batch_op.create_index("ux_possible_links_pair", ["complaint_id", "other_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_possible_links_other_id"), ["other_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("possible_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_possible_links_other_id"))
        batch_op.drop_index("ux_possible_links_pair")
    op.drop_table("possible_links")
