"""The credit archive: records in, scores out, and the lists with their notice, defence, expiry and repair.

Every record rescoring its subject at once (`Archive.record_all`, which takes a batch of events' records
with a query or statement each) and the batch (`recompute_all`) use the
one scorer in scorecard.py. Lists follow the scorecard's criteria: the red list follows the grade with
no notice; the key-supervision and dishonest lists open with a notice, a defence period, then the
listing for its publication period, which ends by expiry, early removal after the minimum, or repair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.models import (
    Consumer,
    CreditRecord,
    CreditScore,
    Listing,
    Merchant,
    Practitioner,
    Repair,
    ScoreChange,
)
from services.credit.scorecard import Line, Result, Scorecard, current, score
from shared.auth import may_see
from shared.clock import Clock
from shared.contracts.credit import ListingDecision, ListName
from shared.contracts.events import SubjectDelisted, SubjectListed
from shared.contracts.identity import Identity, Role
from shared.db import for_update_skip_locked
from shared.errors import Conflict, InvalidTransition, NotFound, Problem
from shared.errors import TimestampInFuture as FutureTimestamp  # the one definition of timestamp_in_future
from shared.ids import new_id
from shared.outbox import Outbox
from shared.pagination import Keyset, key

# The lists, newest listing first, page by key: a listing made between pages never shifts them.
LISTINGS_NEWEST = Keyset("newest", (key(Listing.listed_at), key(Listing.id)), descending=True)


class SubjectNotFound(NotFound):
    code, title = "subject_not_found", "Subject not found"


class ListingNotFound(NotFound):
    code, title = "listing_not_found", "Listing not found"


class RepairNotFound(NotFound):
    code, title = "repair_not_found", "Repair application not found"


class RecordNotApplicable(Problem):
    status, code, title = 422, "record_kind_not_applicable", "Record kind does not apply"


class DurationOutOfBounds(Problem):
    status, code, title = 422, "duration_out_of_bounds", "Publication period out of bounds"


@dataclass(frozen=True)
class SubjectRef:
    """Whom credit is about, with the owner fields visibility needs."""

    id: str
    kind: str  # merchant, practitioner, consumer
    name: str | None
    region_code: str | None
    merchant_id: str | None  # the merchant itself, or the practitioner's employer

    def visible_to(self, caller: Identity) -> bool:
        if self.kind == "consumer" and caller.role == Role.official:
            return True  # officials handle consumers' complaints wherever they come from
        return may_see(
            caller,
            consumer=self.id if self.kind == "consumer" else None,
            merchant=self.merchant_id,
            region=self.region_code,
        )

    def speaks_for(self, caller: Identity) -> bool:
        """The subject's own side: the consumer, or the merchant's staff (for itself and its practitioners)."""
        if self.kind == "consumer":
            return caller.role == Role.consumer and caller.subject == self.id
        return caller.role == Role.merchant_staff and caller.merchant_id == self.merchant_id


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
class Archive:
    session: AsyncSession
    clock: Clock
    outbox: Outbox
    defence_days: int
    card: Scorecard | None = None

    def __post_init__(self) -> None:
        self.card = self.card or current()

    # --- subjects ---------------------------------------------------------------------------------
    async def subject(self, subject_id: str, *, consumer_on_first_use: bool = False) -> SubjectRef | None:
        return (await self.subjects({subject_id: consumer_on_first_use})).get(subject_id)

    async def subjects(self, wanted: dict[str, bool]) -> dict[str, SubjectRef]:
        """The subjects of these ids that exist, a query per kind; a consumer whose id maps to True is made
        on first use (a consumer's credit is keyed by their platform id)."""
        by_kind: dict[type, list[str]] = {}
        for subject_id in wanted:
            model = (
                Merchant
                if subject_id.startswith("mer_")
                else (Practitioner if subject_id.startswith("prc_") else Consumer)
            )
            by_kind.setdefault(model, []).append(subject_id)
        found: dict[str, SubjectRef] = {}
        for model, ids in by_kind.items():
            rows = (await self.session.scalars(select(model).where(model.id.in_(ids)))).all()
            for row in rows:
                if isinstance(row, Merchant):
                    found[row.id] = SubjectRef(row.id, "merchant", row.name, row.region_code, row.id)
                elif isinstance(row, Practitioner):
                    found[row.id] = SubjectRef(row.id, "practitioner", row.name, row.region_code, row.merchant_id)
                else:
                    found[row.id] = SubjectRef(row.id, "consumer", None, None, None)
            if model is Consumer:
                made = [
                    Consumer(id=subject_id, honours=[], created_at=self.clock.now())
                    for subject_id in ids
                    if subject_id not in found and wanted[subject_id]
                ]
                for consumer in made:
                    found[consumer.id] = SubjectRef(consumer.id, "consumer", None, None, None)
                if made:
                    self.session.add_all(made)
                    await self.session.flush()
        return found

    async def visible_subject(self, subject_id: str, caller: Identity) -> SubjectRef:
        ref = await self.subject(
            subject_id, consumer_on_first_use=caller.role == Role.consumer and caller.subject == subject_id
        )
        if ref is None or not ref.visible_to(caller):
            raise SubjectNotFound(f"No credit subject {subject_id} that you may see.")
        return ref

    # --- records and scores -----------------------------------------------------------------------
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
                raise FutureTimestamp("A credit record cannot have happened in the future.")
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
            listings = await self.open_listings_of(ids)
            for subject_id, (ref, added) in touched.items():
                cause = " ".join(f"record {r.kind} {r.id}" for r in added)[:200]
                await self._rescored(
                    ref, lines.get(subject_id, []), rows.get(subject_id), listings.get(subject_id, []), cause=cause
                )
                await self.check_record_triggers(ref, added)
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
        refs = await self.subjects({record.subject_id: False for record in voided})
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
            await self.open_listings(ref.id),
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
        await self.follow_grade(ref, result.grade, open_now)
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

    # --- lists ------------------------------------------------------------------------------------
    async def open_listings(self, subject_id: str) -> list[Listing]:
        return (await self.open_listings_of([subject_id])).get(subject_id, [])

    async def open_listings_of(self, subject_ids: list[str]) -> dict[str, list[Listing]]:
        listings: dict[str, list[Listing]] = {}
        for listing in (
            await self.session.scalars(
                select(Listing)
                .where(Listing.subject_id.in_(subject_ids), Listing.state != "ended")
                .order_by(Listing.noticed_at)
            )
        ).all():
            listings.setdefault(listing.subject_id, []).append(listing)
        return listings

    async def follow_grade(self, ref: SubjectRef, grade: str, open_now: list[Listing] | None = None) -> None:
        """Red list in and out with the grade; a grade that meets a list's criteria opens a notice.
        `open_now`: the subject's open listings, when the caller has read them."""
        if open_now is None:
            open_now = await self.open_listings(ref.id)
        open_lists = {listing.list_name: listing for listing in open_now}
        for name, rule in self.card.lists.items():
            if ref.kind not in rule.applies_to:
                continue
            meets = grade in rule.grades
            if rule.automatic:
                if meets and name not in open_lists and not _has_any(open_lists, "dishonest", "key_supervision"):
                    await self._list_now(self._new_listing(ref, name, f"信用等级 {grade}", [], "system"))
                elif not meets and name in open_lists:
                    await self._end(open_lists[name], "criteria_no_longer_met", "system", f"信用等级 {grade}")
            elif meets and name not in open_lists:
                await self.open_notice(ref, ListName(name), reason=f"信用等级降为 {grade}", basis=[], by="system")

    async def check_record_triggers(self, ref: SubjectRef, added: list[CreditRecord]) -> None:
        now = self.clock.now()
        for name, rule in self.card.lists.items():
            if ref.kind not in rule.applies_to:
                continue
            for record in added:
                trigger = rule.records.get(record.kind)
                if trigger is None:
                    continue
                recent = list(
                    (
                        await self.session.scalars(
                            select(CreditRecord.id).where(
                                CreditRecord.subject_id == ref.id,
                                CreditRecord.kind == record.kind,
                                CreditRecord.repaired_at.is_(None),
                                CreditRecord.voided_at.is_(None),
                                CreditRecord.occurred_at >= now - timedelta(days=trigger.within_days),
                            )
                        )
                    ).all()
                )
                if len(recent) >= trigger.count and not any(
                    listing.list_name == name for listing in await self.open_listings(ref.id)
                ):
                    label = self.card.records[record.kind].label
                    await self.open_notice(
                        ref, ListName(name), reason=f"{label}（{len(recent)} 次）", basis=recent, by="system"
                    )

    def _new_listing(self, ref: SubjectRef, name: str, reason: str, basis: list[str], by: str) -> Listing:
        listing = Listing(
            id=new_id("lst"),
            subject_id=ref.id,
            subject_kind=ref.kind,
            region_code=ref.region_code,
            list_name=name,
            state="noticed",
            reason=reason,
            basis=basis,
            opened_by=by,
        )
        self.session.add(listing)
        return listing

    async def open_notice(
        self,
        ref: SubjectRef,
        list_name: ListName,
        *,
        reason: str,
        basis: list[str],
        by: str,
        duration_days: int | None = None,
    ) -> Listing:
        """Tell the subject it is to be listed; it may state its case until the defence period ends."""
        rule = self.card.lists[list_name.value]
        if rule.automatic:
            raise InvalidTransition(
                f"The {list_name.value} list follows the grade; it takes no notices.", code="list_is_automatic"
            )
        if ref.kind not in rule.applies_to:
            raise RecordNotApplicable(f"The {list_name.value} list does not apply to a {ref.kind}.")
        duration = duration_days or rule.default_days
        assert rule.min_days is not None and rule.max_days is not None and duration is not None
        if not rule.min_days <= duration <= rule.max_days:
            raise DurationOutOfBounds(
                f"The {list_name.value} list publishes for {rule.min_days} to {rule.max_days} days, not {duration}."
            )
        if any(listing.list_name == list_name.value for listing in await self.open_listings(ref.id)):
            raise Conflict(
                f"{ref.id} is already on notice for or on the {list_name.value} list.", code="already_on_list"
            )
        now = self.clock.now()
        listing = self._new_listing(ref, list_name.value, reason, basis, by)
        listing.duration_days, listing.noticed_at = duration, now
        listing.defence_until = now + timedelta(days=self.defence_days)
        await self.session.flush()
        return listing

    async def _list_now(self, listing: Listing) -> None:
        now = self.clock.now()
        rule = self.card.lists[listing.list_name]
        listing.state, listing.listed_at = "listed", now
        if listing.duration_days:
            listing.until = now + timedelta(days=listing.duration_days)
            listing.removable_from = now + timedelta(days=rule.min_days or 0)
        await self.outbox.emit(
            self.session, SubjectListed(subject_id=listing.subject_id, list_name=listing.list_name, until=listing.until)
        )
        await self.session.flush()

    async def _end(self, listing: Listing, why: str, by: str, note: str | None) -> None:
        was_listed = listing.state == "listed"
        listing.state, listing.ended_at, listing.end_reason = "ended", self.clock.now(), why
        listing.decided_by, listing.decision_note = by, note
        if was_listed:
            await self.outbox.emit(
                self.session, SubjectDelisted(subject_id=listing.subject_id, list_name=listing.list_name)
            )
        await self.session.flush()

    async def listing(self, listing_id: str, caller: Identity) -> tuple[Listing, SubjectRef]:
        listing = await self.session.get(Listing, listing_id)
        ref = listing and await self.subject(listing.subject_id)
        if listing is None or ref is None or not (ref.visible_to(caller) or ref.speaks_for(caller)):
            raise ListingNotFound(f"No listing {listing_id} that you may see.")
        return listing, ref

    async def defend(self, listing: Listing, ref: SubjectRef, caller: Identity, statement: str) -> Listing:
        """The subject states its case (陈述申辩) within the defence period; an official then decides."""
        if not ref.speaks_for(caller):
            raise ListingNotFound(f"No listing {listing.id} of yours.")
        if listing.state != "noticed":
            raise InvalidTransition("Only a notice can be answered.", code="not_on_notice", state=listing.state)
        if listing.defence is not None:
            raise Conflict("The case has already been stated.", code="defence_already_stated")
        if listing.defence_until is not None and self.clock.now() > listing.defence_until:
            raise Conflict("The defence period is over.", code="defence_period_over")
        listing.defence, listing.defence_at = statement, self.clock.now()
        return listing

    async def decide(self, listing: Listing, caller: Identity, decision: ListingDecision, note: str) -> Listing:
        """An official lists now, withdraws the notice, or removes a listing early after its minimum."""
        if decision in (ListingDecision.list, ListingDecision.withdraw) and listing.state != "noticed":
            raise InvalidTransition(
                "Only a notice can be listed or withdrawn.", code="not_on_notice", state=listing.state
            )
        if decision == ListingDecision.list:
            listing.decided_by, listing.decision_note = caller.subject, note
            await self._list_now(listing)
        elif decision == ListingDecision.withdraw:
            await self._end(listing, "withdrawn", caller.subject, note)
        else:
            if listing.state != "listed" or listing.removable_from is None:
                raise InvalidTransition(
                    "Only a listing with a publication period can be removed early.",
                    code="not_removable",
                    state=listing.state,
                )
            if self.clock.now() < listing.removable_from:
                raise Conflict(
                    f"The minimum publication period runs until {listing.removable_from.isoformat()}.",
                    code="minimum_period_not_over",
                    params={"removable_from": listing.removable_from.date().isoformat()},
                )
            await self._end(listing, "removed_early", caller.subject, note)
        return listing

    async def run_due(self) -> int:
        """The scheduler's pass: notices whose defence period ended unanswered are listed; listings expire."""
        now = self.clock.now()
        # Claimed with SKIP LOCKED: replicas running this at once each take different rows.
        claim = for_update_skip_locked(self.session)
        due = (
            await self.session.scalars(
                select(Listing)
                .where(Listing.state == "noticed", Listing.defence_until <= now, Listing.defence.is_(None))
                .order_by(Listing.defence_until)
                .limit(500)
                .with_for_update(**claim)
            )
        ).all()
        for listing in due:
            listing.decided_by, listing.decision_note = "system", "陈述申辩期满未申辩"
            await self._list_now(listing)
        expired = (
            await self.session.scalars(
                select(Listing)
                .where(Listing.state == "listed", Listing.until <= now)
                .order_by(Listing.until)
                .limit(500)
                .with_for_update(**claim)
            )
        ).all()
        for listing in expired:
            await self._end(listing, "expired", "system", None)
        return len(due) + len(expired)

    async def listed(self, list_name: ListName, caller: Identity, *, cursor: str | None, limit: int) -> list[Listing]:
        """Who is on the list, newest first, after `cursor` (one row more when there is more)."""
        query = select(Listing).where(Listing.list_name == list_name.value, Listing.state == "listed")
        if caller.role not in (Role.admin, Role.official):
            query = query.where(Listing.subject_kind != "consumer")  # the public list names no consumer
        return list((await self.session.scalars(LISTINGS_NEWEST.page(query, cursor, limit))).all())

    # --- repair -----------------------------------------------------------------------------------
    async def apply_for_repair(
        self, listing: Listing, ref: SubjectRef, caller: Identity, statement: str, evidence: list[str]
    ) -> Repair:
        if not ref.speaks_for(caller):
            raise ListingNotFound(f"No listing {listing.id} of yours.")
        if listing.state != "listed" or listing.list_name == ListName.red.value:
            raise InvalidTransition(
                "Only a current key-supervision or dishonest listing can be repaired.",
                code="listing_not_repairable",
                state=listing.state,
            )
        if listing.removable_from and self.clock.now() < listing.removable_from:
            raise Conflict(
                f"Credit repair can be applied for from {listing.removable_from.isoformat()}, the end "
                "of the minimum publication period.",
                code="repair_too_early",
                params={"removable_from": listing.removable_from.date().isoformat()},
            )
        if await self.session.scalar(
            select(Repair.id).where(Repair.listing_id == listing.id, Repair.state == "pending")
        ):
            raise Conflict("A repair application for this listing is waiting for a decision.", code="repair_pending")
        repair = Repair(
            id=new_id("rep"),
            listing_id=listing.id,
            subject_id=ref.id,
            region_code=ref.region_code,
            applicant=caller.subject,
            statement=statement,
            evidence=evidence,
            state="pending",
            created_at=self.clock.now(),
        )
        self.session.add(repair)
        await self.session.flush()
        return repair

    async def repair(self, repair_id: str, caller: Identity) -> Repair:
        repair = await self.session.get(Repair, repair_id)
        ref = repair and await self.subject(repair.subject_id)
        if repair is None or ref is None or not (ref.visible_to(caller) or ref.speaks_for(caller)):
            raise RepairNotFound(f"No repair application {repair_id} that you may see.")
        return repair

    async def decide_repair(self, repair: Repair, caller: Identity, approve: bool, note: str) -> Repair:
        """Approved: the listing ends, the records behind it count at the repaired factor, the score moves."""
        if repair.state != "pending":
            raise InvalidTransition(
                f"This application was already {repair.state}.", code="already_decided", state=repair.state
            )
        now = self.clock.now()
        repair.state = "approved" if approve else "rejected"
        repair.decided_by, repair.decided_at, repair.decision_note = caller.subject, now, note
        if approve:
            listing = await self.session.get(Listing, repair.listing_id)
            assert listing is not None
            await self._end(listing, "repaired", caller.subject, note)
            if listing.basis:
                await self.session.execute(
                    update(CreditRecord).where(CreditRecord.id.in_(listing.basis)).values(repaired_at=now)
                )
            ref = await self.subject(repair.subject_id)
            assert ref is not None
            await self.rescore(ref, cause=f"repair {repair.id}")
        return repair

    # --- reading ----------------------------------------------------------------------------------
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

    async def listings_of(self, subject_id: str) -> list[Listing]:
        return list(
            (
                await self.session.scalars(
                    select(Listing).where(Listing.subject_id == subject_id).order_by(Listing.id.desc())
                )
            ).all()
        )


def _has_any(open_lists: dict[str, Listing], *names: str) -> bool:
    return any(name in open_lists for name in names)


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
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
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
        archive = Archive(session=session, clock=clock, outbox=outbox, defence_days=defence_days, card=card)
        regraded = {sid: r.grade for sid, _, r in changes if sid in old and old[sid][1] != r.grade}
        refs = await archive.subjects(dict.fromkeys(regraded, False)) if regraded else {}
        for sid, grade in regraded.items():
            if sid in refs:
                await archive.follow_grade(refs[sid], grade)
    await session.commit()
    return len(changes)
