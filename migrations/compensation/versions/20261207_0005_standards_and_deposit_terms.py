"""scenario standards as conditions over facts; deposit floors and top-up requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:05:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _as_conditions(scenario: dict) -> dict:
    """A standard of the first form (a flat percent of the amount involved) as one unconditional outcome."""
    if "percent" not in scenario:
        return scenario
    return {
        "code": scenario["code"],
        "title": scenario["title"],
        "industry": scenario.get("industry"),
        "facts": [],
        "base_fact": "amount_involved_fen",
        "refusals": [],
        "outcomes": [{"code": "applies", "title": scenario["title"], "percent": scenario["percent"]}],
    }


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=90), nullable=True))
    op.create_table(
        "deposit_terms",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("floor_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_deposit_terms")),
    )
    op.create_table(
        "deposit_top_up_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("floor_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_by", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("met_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_top_up_requests")),
    )
    with op.batch_alter_table("deposit_top_up_requests", schema=None) as batch_op:
        batch_op.create_index("ix_deposit_top_up_requests_merchant", ["merchant_id", "created_at"], unique=False)

    rule_sets = sa.table("rule_sets", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))
    bind = op.get_bind()
    for version, document in bind.execute(sa.select(rule_sets.c.version, rule_sets.c.document)).all():
        document = json.loads(document) if isinstance(document, str) else document
        scenarios = [_as_conditions(s) for s in document.get("scenarios", [])]
        if scenarios != document.get("scenarios", []):
            bind.execute(
                rule_sets.update()
                .where(rule_sets.c.version == version)
                .values(document={**document, "scenarios": scenarios})
            )


def downgrade() -> None:
    with op.batch_alter_table("deposit_top_up_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_deposit_top_up_requests_merchant")
    op.drop_table("deposit_top_up_requests")
    op.drop_table("deposit_terms")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("decided_by")
