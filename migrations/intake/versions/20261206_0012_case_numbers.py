"""case numbers people can say on the phone: region-day-sequence, existing complaints numbered by receipt

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06 21:30:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "case_number_counters",
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "day", name=op.f("pk_case_number_counters")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_number", sa.String(length=32), nullable=True))
    _backfill()
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.alter_column("case_number", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ux_complaints_case_number", ["case_number"], unique=True)


def _backfill() -> None:
    """Every complaint numbered in the order it was received within its region's day (Asia/Shanghai), and each
    counter left at its day's last number."""
    bind = op.get_bind()
    complaints = sa.table(
        "complaints",
        sa.column("id", sa.String),
        sa.column("region_code", sa.String),
        sa.column("submitted_at", sa.DateTime),
        sa.column("case_number", sa.String),
    )
    counters = sa.table(
        "case_number_counters",
        sa.column("region_code", sa.String),
        sa.column("day", sa.Date),
        sa.column("last_seq", sa.Integer),
    )
    rows = bind.execute(
        sa.select(complaints.c.id, complaints.c.region_code, complaints.c.submitted_at).order_by(
            complaints.c.submitted_at, complaints.c.id
        )
    ).all()
    last: dict[tuple[str, date], int] = {}
    updates = []
    for complaint_id, region_code, submitted_at in rows:
        at = submitted_at if submitted_at.tzinfo else submitted_at.replace(tzinfo=UTC)
        day = at.astimezone(SHANGHAI).date()
        seq = last[(region_code, day)] = last.get((region_code, day), 0) + 1
        updates.append({"complaint_id": complaint_id, "number": f"{region_code}-{day:%Y%m%d}-{seq:04d}"})
    update = (
        sa.update(complaints)
        .where(complaints.c.id == sa.bindparam("complaint_id"))
        .values(case_number=sa.bindparam("number"))
    )
    for start in range(0, len(updates), BATCH):
        bind.execute(update, updates[start : start + BATCH])
    if last:
        bind.execute(
            sa.insert(counters),
            [{"region_code": region, "day": day, "last_seq": seq} for (region, day), seq in sorted(last.items())],
        )


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ux_complaints_case_number")
        batch_op.drop_column("case_number")
    op.drop_table("case_number_counters")
