"""inherited funds: each claim and recovery order names the fund that pays (the region's own or an ancestor's)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("claims", "recovery_orders")


def upgrade() -> None:
    # Until now every claim drew on its own region's fund: that is the fund of the claims already made.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("fund_region_code", sa.String(length=6), nullable=True))
        op.execute(f"UPDATE {table} SET fund_region_code = region_code")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("fund_region_code", existing_type=sa.String(length=6), nullable=False)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("fund_region_code")
