"""named sources and handling units on complaints; public-opinion notices; imported and referred returns

A complaint keeps the named platform it came through and its handling unit (处理单位) by id and name;
a public-opinion notice its deadline to report back and when it did. A return request keeps where it was
imported from (one per source and external id), the platform's and the unit's names, and the region it
was referred to when bought elsewhere. Existing complaints assigned to a unit keep it as their unit.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("unit_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("unit_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reply_by", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replied_at", shared.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE complaints SET unit_name = assignee_name WHERE assignee_kind = 'unit'")
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("source_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("unit_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("referred_to_region", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("referred_to", sa.String(length=200), nullable=True))
        batch_op.create_index("ux_return_requests_source_external", ["source_id", "external_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.drop_index("ux_return_requests_source_external")
        for column in ("referred_to", "referred_to_region", "unit_name", "source_name", "external_id", "source_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        for column in ("replied_at", "reply_by", "unit_name", "unit_id", "source_name"):
            batch_op.drop_column(column)
