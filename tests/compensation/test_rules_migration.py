"""The migration that makes standards conditions over facts keeps rules issued in the first form: a flat
percent of the amount involved becomes one unconditional outcome, and the version still reads and decides."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, column, insert, select, table

from services.compensation.config import CompensationSettings
from services.compensation.models import RuleSet
from services.compensation.standards import decide, typed_facts
from shared.contracts.compensation import RuleSetIn
from shared.db import create_engine
from shared.migrate import upgrade
from tests.support import Databases, _drop_schema, postgres_url

FIRST_FORM = {
    "auto_approve_below_fen": 50000,
    "second_approval_from_fen": 500000,
    "cap_per_claim_fen": 3000000,
    "caps_per_industry_fen": {"transport": 1000000},
    "cap_per_consumer_per_year_fen": 5000000,
    "requires_evidence": True,
    "scenarios": [
        {
            "code": "ferry_queue_one_leg",
            "title": "轮渡单程超过排队时限：退还船票的 50%",
            "industry": "transport",
            "percent": 50,
        }
    ],
    "note": "as first issued",
}


def test_rules_of_the_first_form_become_unconditional_outcomes(tmp_path: Path) -> None:
    databases = Databases(tmp_path, postgres_url())
    settings = CompensationSettings(**databases.settings_fields("compensation", "_rulesmig"))
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
    upgrade("compensation", settings, "0003")

    async def insert_rules() -> None:
        engine = create_engine(settings)
        async with engine.begin() as conn:
            # The table as it was: the document as the first form stored it.
            rule_sets = table(
                "rule_sets", column("version"), column("document", JSON), column("created_by"), column("created_at")
            )
            now = datetime(2026, 11, 20, 2, tzinfo=UTC)
            await conn.execute(
                insert(rule_sets), [{"version": 1, "document": FIRST_FORM, "created_by": "system", "created_at": now}]
            )
        await engine.dispose()

    async def read() -> dict:
        engine = create_engine(settings)
        async with engine.connect() as conn:
            document = (await conn.execute(select(RuleSet.document).where(RuleSet.version == 1))).scalar_one()
        await engine.dispose()
        return document

    asyncio.run(insert_rules())
    upgrade("compensation", settings)
    rules = RuleSetIn.model_validate(asyncio.run(read()))
    (standard,) = rules.scenarios
    assert (standard.base_fact, [o.percent for o in standard.outcomes]) == ("amount_involved_fen", [50])
    facts, problems = typed_facts(standard, {}, {"registered_at": datetime.now(UTC), "amount_involved_fen": 16_000})
    assert problems == []
    decision = decide(standard, facts)
    assert (decision.amount_fen, decision.decided_by) == (8_000, "ferry_queue_one_leg/applies")
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
