"""The credit archive: records in, scores out; its parts put together over one session (`Archive.open`).

Every record rescoring its subject at once (`Records.record_all`, which takes a batch of events' records
with a query or statement each) and the batch (`recompute_all`) use the one scorer in scorecard.py. A new
score moves the subject's lists (lists.py); an approved repair (repairs.py) moves the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.errors import RecordNotApplicable
from services.credit.lists import Lists
from services.credit.models import CreditRecord, CreditScore, Listing, ScoreChange
from services.credit.refs import SubjectRef, SubjectRefs
from services.credit.repairs import Repairs
from services.credit.scorecard import Line, Result, Scorecard, current, score
from shared.clock import Clock
from shared.errors import TimestampInFuture
from shared.ids import new_id
from shared.outbox import Outbox


@dataclass(frozen=True)
class Archive:
    """The archive over one session, in the parts that change apart: whom it is about (`refs`), records and
    scores (`records`), the lists (`lists`) and credit repair (`repairs`)."""

    refs: SubjectRefs
    records: Records
    lists: Lists
    repairs: Repairs

    @classmethod
    def open(
        cls, session: AsyncSession, clock: Clock, outbox: Outbox, defence_days: int, card: Scorecard | None = None
    ) -> Archive:
        """The parts with the current scorecard (or `card`), each given the ones it calls."""
        card = card or current()
        refs = SubjectRefs(session=session, clock=clock)
        lists = Lists(session=session, clock=clock, outbox=outbox, card=card, defence_days=defence_days, refs=refs)
        records = Records(session=session, clock=clock, card=card, refs=refs, lists=lists)
        repairs = Repairs(session=session, clock=clock, refs=refs, lists=lists, records=records)
        return cls(refs=refs, records=records, lists=lists, repairs=repairs)


@dataclass(frozen=True)
class Entry:
    """Records of one cause about one subject: an event, an official's act, a tourist's rating."""

    ref: SubjectRef
    records: list[tuple[str, int | None]]  # (kind, value)
    by: str
    source: str | None = None  # an event id: each kind of record is made from it once
    reference: str | None = None
    note: str | None = None
    occurred_at: datetime | None = None

    def source_of(self, kind: str) -> str | None:
        return f"{self.source}:{kind}" if self.source else None


@dataclass
class Records:
    """Credit records made and voided, each subject rescored with them, and the score's history."""

    session: AsyncSession
    clock: Clock
    card: Scorecard
    refs: SubjectRefs
    lists: Lists

    async def record_and_rescore(
        self,
        ref: SubjectRef,
        records: list[tuple[str, int | None]],
        *,
        by: str,
        source: str | None = None,
        reference: str | None = None,
        note: str | None = None,
        occurred_at: datetime | None = None,
    ) -> list[CreditRecord]:
        """Several records from one cause, one rescore, then the lists' criteria. With a `source` (an event
        id), a record already made from it is not made again."""
        [added] = await self.record_all(
            [Entry(ref, records, by=by, source=source, reference=reference, note=note, occurred_at=occurred_at)]
        )
        return added

    async def record_all(self, entries: list[Entry]) -> list[list[CreditRecord]]:
        """Each entry's records (a record once per source), then each subject rescored once with all of its
        new records and the lists' criteria applied: the records a batch of events brings are checked,
        written, scored and listed in one query or statement each, however many subjects they are about.
        The records each entry added, in order."""
        now = self.clock.now()
        for entry in entries:
            for kind, _ in entry.records:
                rule = self.card.records.get(kind)
                if rule is None or entry.ref.kind not in rule.applies_to:
                    raise RecordNotApplicable(f"A {kind} record does not apply to a {entry.ref.kind}.")
            if entry.occurred_at is not None and entry.occurred_at > now + timedelta(minutes=5):
                raise TimestampInFuture("A credit record cannot have happened in the future.")
        sources = {entry.source_of(kind) for entry in entries if entry.source for kind, _ in entry.records}
        seen = (
            set((await self.session.scalars(select(CreditRecord.source).where(CreditRecord.source.in_(sources)))).all())
            if sources
            else set()
        )
        added_by_entry: list[list[CreditRecord]] = []
        touched: dict[str, tuple[SubjectRef, list[CreditRecord]]] = {}
        for entry in entries:
            added = []
            for kind, value in entry.records:
                source = entry.source_of(kind)
                if source is not None:
                    if source in seen:
                        continue
                    seen.add(source)
                added.append(
                    CreditRecord(
                        id=new_id("rec"),
                        subject_id=entry.ref.id,
                        subject_kind=entry.ref.kind,
                        kind=kind,
                        value=value,
                        source=source,
                        reference=entry.reference,
                        note=entry.note,
                        recorded_by=entry.by,
                        occurred_at=entry.occurred_at or now,
                    )
                )
            self.session.add_all(added)
            added_by_entry.append(added)
            if added:
                touched.setdefault(entry.ref.id, (entry.ref, []))[1].extend(added)
        if touched:
            ids = list(touched)
            await self.session.flush()  # the new records, in one statement
            lines = await self.lines_of(ids)
            rows = {
                row.subject_id: row
                for row in (
                    await self.session.scalars(select(CreditScore).where(CreditScore.subject_id.in_(ids)))
                ).all()
            }
            listings = await self.lists.open_listings_of(ids)
            for subject_id, (ref, added) in touched.items():
                cause = " ".join(f"record {r.kind} {r.id}" for r in added)[:200]
                await self._rescored(
                    ref, lines.get(subject_id, []), rows.get(subject_id), listings.get(subject_id, []), cause=cause
                )
                await self.lists.check_record_triggers(ref, added)
        return added_by_entry

    async def void(self, reference: str, *, by: str, kinds: frozenset[str] | None, reason: str) -> list[CreditRecord]:
        """Void the records `by` made about `reference` (of these kinds, or all), once: what they counted no longer
        stands. Each subject they were about is rescored; the records stay, marked, for the record."""
        query = select(CreditRecord).where(
            CreditRecord.reference == reference, CreditRecord.recorded_by == by, CreditRecord.voided_at.is_(None)
        )
        if kinds is not None:
            query = query.where(CreditRecord.kind.in_(kinds))
        voided = list((await self.session.scalars(query)).all())
        if not voided:
            return []
        now = self.clock.now()
        for record in voided:
            record.voided_at, record.void_reason = now, reason[:200]
        await self.session.flush()
        refs = await self.refs.subjects({record.subject_id: False for record in voided})
        for ref in refs.values():
            await self.rescore(ref, cause=f"{reason} {reference}"[:200])
        return voided

    async def lines(self, subject_id: str) -> list[Line]:
        return (await self.lines_of([subject_id])).get(subject_id, [])

    async def lines_of(self, subject_ids: list[str]) -> dict[str, list[Line]]:
        rows = await self.session.execute(
            select(
                CreditRecord.subject_id,
                CreditRecord.kind,
                CreditRecord.value,
                CreditRecord.occurred_at,
                CreditRecord.repaired_at,
            ).where(CreditRecord.subject_id.in_(subject_ids), CreditRecord.voided_at.is_(None))
        )
        lines: dict[str, list[Line]] = {}
        for subject_id, *line in rows:
            lines.setdefault(subject_id, []).append(tuple(line))  # type: ignore[arg-type]
        return lines

    async def rescore(self, ref: SubjectRef, *, cause: str) -> CreditScore:
        """Recompute one subject now, keep the change in the history, and follow the grade's lists."""
        return await self._rescored(
            ref,
            await self.lines(ref.id),
            await self.session.get(CreditScore, ref.id),
            await self.lists.open_listings(ref.id),
            cause=cause,
        )

    async def _rescored(
        self, ref: SubjectRef, lines: list[Line], row: CreditScore | None, open_now: list[Listing], *, cause: str
    ) -> CreditScore:
        now = self.clock.now()
        result = score(self.card, lines, now)
        before = (row.score, row.grade) if row else (None, None)
        row = self.store(row, ref.id, ref.kind, result, now)
        if before != (result.score, result.grade):
            self.session.add(
                ScoreChange(
                    subject_id=ref.id,
                    at=now,
                    score_before=before[0],
                    score_after=result.score,
                    grade_before=before[1],
                    grade_after=result.grade,
                    cause=cause,
                    scorecard=self.card.version,
                )
            )
        await self.lists.follow_grade(ref, result.grade, open_now)
        return row

    def store(self, row: CreditScore | None, subject_id: str, kind: str, result: Result, now: datetime) -> CreditScore:
        if row is None:
            row = CreditScore(subject_id=subject_id, subject_kind=kind)
            self.session.add(row)
        row.score, row.grade, row.scorecard = result.score, result.grade, self.card.version
        row.reasons, row.figures, row.computed_at = result.reasons, result.figures, now
        return row

    async def grade_of(self, subject_id: str) -> str:
        """The grade on file, or the base score's grade for a subject with no record yet."""
        grade = await self.session.scalar(select(CreditScore.grade).where(CreditScore.subject_id == subject_id))
        return grade or self.card.grade_of(self.card.base)

    async def history(self, subject_id: str, limit: int = 20) -> list[ScoreChange]:
        return list(
            (
                await self.session.scalars(
                    select(ScoreChange)
                    .where(ScoreChange.subject_id == subject_id)
                    .order_by(ScoreChange.at.desc(), ScoreChange.id.desc())
                    .limit(limit)
                )
            ).all()
        )


async def recompute_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    outbox: Outbox,
    defence_days: int,
    *,
    batch: int = 5000,
) -> dict[str, int]:
    """The batch job: every subject rescored with the current scorecard (after a new version, say).

    One ordered pass over the records (streamed, never all in memory) with the same scorer as the
    per-event rescoring; scores are written in batches; a changed score is kept in the history with
    the cause `batch <version>`, and a changed grade moves the subject's lists as a single rescore does.
    Subjects with no records keep the base score they are shown anyway.
    """
    card = current()
    now = clock.now()
    totals = {"subjects": 0, "records": 0, "changed": 0}
    async with sessionmaker() as reader, sessionmaker() as writer:
        old = {
            row.subject_id: (row.score, row.grade)
            for row in await writer.execute(select(CreditScore.subject_id, CreditScore.score, CreditScore.grade))
        }
        stream = await reader.stream(
            select(
                CreditRecord.subject_id,
                CreditRecord.subject_kind,
                CreditRecord.kind,
                CreditRecord.value,
                CreditRecord.occurred_at,
                CreditRecord.repaired_at,
            )
            .where(CreditRecord.voided_at.is_(None))
            .order_by(CreditRecord.subject_id)
            .execution_options(yield_per=20_000)
        )
        pending: list[tuple[str, str, Result]] = []
        subject: tuple[str, str] | None = None
        lines: list[Line] = []
        async for subject_id, kind, record_kind, value, occurred_at, repaired_at in stream:
            if subject is not None and subject_id != subject[0]:
                pending.append((*subject, score(card, lines, now)))
                totals["subjects"] += 1
                lines = []
                if len(pending) >= batch:
                    totals["changed"] += await _write_scores(
                        writer, card, pending, old, now, clock, outbox, defence_days
                    )
                    pending = []
            subject = (subject_id, kind)
            lines.append((record_kind, value, occurred_at, repaired_at))
            totals["records"] += 1
        if subject is not None:
            pending.append((*subject, score(card, lines, now)))
            totals["subjects"] += 1
        totals["changed"] += await _write_scores(writer, card, pending, old, now, clock, outbox, defence_days)
    return totals


async def _write_scores(
    session: AsyncSession,
    card: Scorecard,
    results: list[tuple[str, str, Result]],
    old: dict[str, tuple[int, str]],
    now: datetime,
    clock: Clock,
    outbox: Outbox,
    defence_days: int,
) -> int:
    if not results:
        return 0
    rows = [
        {
            "subject_id": sid,
            "subject_kind": kind,
            "score": r.score,
            "grade": r.grade,
            "scorecard": card.version,
            "reasons": r.reasons,
            "figures": r.figures,
            "computed_at": now,
        }
        for sid, kind, r in results
    ]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CreditScore)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["subject_id"],
            set_={
                c: statement.excluded[c] for c in ("score", "grade", "scorecard", "reasons", "figures", "computed_at")
            },
        ),
        rows,
    )
    changes = [(sid, kind, r) for sid, kind, r in results if old.get(sid) != (r.score, r.grade)]
    if changes:
        await session.execute(
            insert(ScoreChange),
            [
                {
                    "subject_id": sid,
                    "at": now,
                    "score_before": old.get(sid, (None, None))[0],
                    "score_after": r.score,
                    "grade_before": old.get(sid, (None, None))[1],
                    "grade_after": r.grade,
                    "cause": f"batch {card.version}",
                    "scorecard": card.version,
                }
                for sid, _, r in changes
            ],
        )
        archive = Archive.open(session, clock, outbox, defence_days, card)
        regraded = {sid: r.grade for sid, _, r in changes if sid in old and old[sid][1] != r.grade}
        refs = await archive.refs.subjects(dict.fromkeys(regraded, False)) if regraded else {}
        for sid, grade in regraded.items():
            if sid in refs:
                await archive.lists.follow_grade(refs[sid], grade)
    await session.commit()
    return len(changes)
