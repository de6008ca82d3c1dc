"""return visits: the follow-up visit (回访) to a return request's tourist, and exchanges (换货) as an outcome

A return request keeps its latest follow-up visit: when, by whom, whether the tourist was satisfied, whether
the withdrawal was induced (诱导撤销) and whether shirking (推诿责任) was reported. The state `exchanged` is a
new value of the existing string column and needs no change to the table.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visited_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("visited_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("visit_satisfied", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_induced", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("shirking_reported", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # The code before this revision knows no exchanged request and would fail on reading one: refuse, not lose it.
    exchanged = op.get_bind().execute(sa.text("SELECT count(*) FROM return_requests WHERE state = 'exchanged'"))
    if exchanged.scalar_one():
        raise RuntimeError("return requests concluded by an exchange exist: the code before 0019 cannot read them")
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        for column in ("shirking_reported", "withdrawal_induced", "visit_satisfied", "visited_by", "visited_at"):
            batch_op.drop_column(column)
