"""Outside credit scores (Sesame credit through Alipay, Hainan's 金椰分): optional inputs, kept apart.

They never enter the platform's own score, grade or lists: a listing rests on the archive's records
only. A benefit rule may accept one as a second way in (`external` thresholds, for the grades in
`external_grades`), and only while the observation is fresh. Scores arrive through an adapter: the
source's platform (or a partner acting for it, or an admin importing a file) pushes an observation
with the consumer's consent; each source says its range, so a score off the scale is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.errors import ScoreOffScale, UnknownSource
from services.credit.models import ExternalScore

MAX_AGE = timedelta(days=90)  # an observation older than this no longer counts for a benefit


@dataclass(frozen=True)
class Source:
    name: str
    low: int
    high: int


SOURCES = {
    "sesame": Source("芝麻信用 (Alipay)", 350, 950),
    "jinye": Source("金椰分 (Hainan)", 0, 1000),
}


def check(source: str, score: int) -> None:
    known = SOURCES.get(source)
    if known is None:
        raise UnknownSource(f"There is no external score source {source}; known: {', '.join(SOURCES)}.")
    if not known.low <= score <= known.high:
        raise ScoreOffScale(f"{known.name} runs from {known.low} to {known.high}, not {score}.")


async def record(
    session: AsyncSession, consumer_id: str, source: str, score: int, observed_at: datetime, by: str
) -> ExternalScore:
    """Keep the latest observation per consumer and source."""
    check(source, score)
    row = await session.scalar(
        select(ExternalScore).where(ExternalScore.subject_id == consumer_id, ExternalScore.source == source)
    )
    if row is None:
        row = ExternalScore(subject_id=consumer_id, source=source)
        session.add(row)
    if row.observed_at is None or observed_at >= row.observed_at:
        row.score, row.observed_at, row.recorded_by = score, observed_at, by
    await session.flush()
    return row


async def fresh(session: AsyncSession, consumer_id: str, now: datetime) -> dict[str, int]:
    rows = await session.scalars(
        select(ExternalScore).where(ExternalScore.subject_id == consumer_id, ExternalScore.observed_at >= now - MAX_AGE)
    )
    return {row.source: row.score for row in rows}


async def on_file(session: AsyncSession, consumer_id: str) -> list[ExternalScore]:
    return list(
        (
            await session.scalars(
                select(ExternalScore).where(ExternalScore.subject_id == consumer_id).order_by(ExternalScore.source)
            )
        ).all()
    )
