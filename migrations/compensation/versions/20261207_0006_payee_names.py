"""payee names: the payee's real name per claim, encrypted; payouts may wait for it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payee_names",
        sa.Column("complaint_id", sa.String(length=40), nullable=False),
        sa.Column("consumer_id", sa.String(length=40), nullable=False),
        sa.Column("name_encrypted", sa.Text(), nullable=False),
        sa.Column("consent_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("given_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_payee_names")),
    )
    with op.batch_alter_table("payee_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payee_names_consent_at"), ["consent_at"], unique=False)
    # "awaiting_payee_name" is longer than the 12 characters a payout's state had.
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=12), type_=sa.String(length=24))


def downgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=24), type_=sa.String(length=12))
    with op.batch_alter_table("payee_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payee_names_consent_at"))
    op.drop_table("payee_names")
