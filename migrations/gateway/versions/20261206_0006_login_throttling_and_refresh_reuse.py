"""login throttling, login audit, refresh-token reuse

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:40:00
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
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_reason", sa.String(length=32), nullable=True))
    op.create_table(
        "used_refresh_tokens",
        sa.Column("refresh_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("used_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_used_refresh_tokens_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("refresh_hash", name=op.f("pk_used_refresh_tokens")),
    )
    with op.batch_alter_table("used_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_refresh_tokens_session_id"), ["session_id"], unique=False)
    op.create_table(
        "login_throttles",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", shared.db.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", shared.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttles")),
    )
    op.create_table(
        "login_audit",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_audit")),
    )
    with op.batch_alter_table("login_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_audit_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_audit_username_at", ["username", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_login_audit_username_at")
        batch_op.drop_index(batch_op.f("ix_login_audit_at"))
    op.drop_table("login_audit")
    op.drop_table("login_throttles")
    with op.batch_alter_table("used_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_refresh_tokens_session_id"))
    op.drop_table("used_refresh_tokens")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("end_reason")
