"""The lists: red follows the grade; key supervision and dishonest open with a notice, a defence, a listing.

The scorecard's criteria decide: the red list follows the grade with no notice; the key-supervision and
dishonest lists open with a notice (by an official, a grade that meets them, or enough records of a kind
within a period), a defence period, then the listing for its publication period, which ends by expiry,
early removal after the minimum, or repair (repairs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.errors import (
    AlreadyOnList,
    DefenceAlreadyStated,
    DefencePeriodOver,
    DurationOutOfBounds,
    ListingNotFound,
    ListIsAutomatic,
    MinimumPeriodNotOver,
    NotOnNotice,
    NotRemovable,
    RecordNotApplicable,
)
from services.credit.models import CreditRecord, Listing
from services.credit.refs import SubjectRef, SubjectRefs
from services.credit.scorecard import Scorecard
from shared.clock import Clock
from shared.contracts.credit import ListingDecision, ListName
from shared.contracts.events import SubjectDelisted, SubjectListed
from shared.contracts.identity import Identity, Role
from shared.db import for_update_skip_locked
from shared.ids import new_id
from shared.outbox import Outbox
from shared.pagination import Keyset, key

# The lists, newest listing first, page by key: a listing made between pages never shifts them.
LISTINGS_NEWEST = Keyset("newest", (key(Listing.listed_at), key(Listing.id)), descending=True)


@dataclass
class Lists:
    """Notices, listings and their ends, by the scorecard's criteria."""

    session: AsyncSession
    clock: Clock
    outbox: Outbox
    card: Scorecard
    defence_days: int
    refs: SubjectRefs

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
        for move, name in self.card.moves_for(ref.kind, grade, open_lists):
            if move == "list":
                await self.list_now(self._new_listing(ref, name, f"信用等级 {grade}", [], "system"))
            elif move == "end":
                await self.end(open_lists[name], "criteria_no_longer_met", "system", f"信用等级 {grade}")
            else:
                await self.open_notice(ref, ListName(name), reason=f"信用等级降为 {grade}", basis=[], by="system")

    async def check_record_triggers(self, ref: SubjectRef, added: list[CreditRecord]) -> None:
        """Enough records of a kind within a list's period (its trigger: 3 at-fault complaints in 90 days) open a
        notice for that list, with those records as its basis."""
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
            raise ListIsAutomatic(f"The {list_name.value} list follows the grade; it takes no notices.")
        if ref.kind not in rule.applies_to:
            raise RecordNotApplicable(f"The {list_name.value} list does not apply to a {ref.kind}.")
        duration = duration_days or rule.default_days
        assert rule.min_days is not None and rule.max_days is not None and duration is not None
        if not rule.min_days <= duration <= rule.max_days:
            raise DurationOutOfBounds(
                f"The {list_name.value} list publishes for {rule.min_days} to {rule.max_days} days, not {duration}."
            )
        if any(listing.list_name == list_name.value for listing in await self.open_listings(ref.id)):
            raise AlreadyOnList(f"{ref.id} is already on notice for or on the {list_name.value} list.")
        now = self.clock.now()
        listing = self._new_listing(ref, list_name.value, reason, basis, by)
        listing.duration_days, listing.noticed_at = duration, now
        listing.defence_until = now + timedelta(days=self.defence_days)
        await self.session.flush()
        return listing

    async def list_now(self, listing: Listing) -> None:
        """The listing is published now, for its publication period; subscribers hear subject.listed."""
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

    async def end(self, listing: Listing, why: str, by: str, note: str | None) -> None:
        """A notice or listing ends (`why`: expired, withdrawn, repaired, ...); a listed one says subject.delisted."""
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
        ref = await self.refs.subject(listing.subject_id) if listing is not None else None
        if listing is None or ref is None or not (ref.visible_to(caller) or ref.speaks_for(caller)):
            raise ListingNotFound(f"No listing {listing_id} that you may see.")
        return listing, ref

    async def defend(self, listing: Listing, ref: SubjectRef, caller: Identity, statement: str) -> Listing:
        """The subject states its case (陈述申辩) within the defence period; an official then decides."""
        if not ref.speaks_for(caller):
            raise ListingNotFound(f"No listing {listing.id} of yours.")
        if listing.state != "noticed":
            raise NotOnNotice("Only a notice can be answered.", state=listing.state)
        if listing.defence is not None:
            raise DefenceAlreadyStated("The case has already been stated.")
        if listing.defence_until is not None and self.clock.now() > listing.defence_until:
            raise DefencePeriodOver("The defence period is over.")
        listing.defence, listing.defence_at = statement, self.clock.now()
        return listing

    async def decide(self, listing: Listing, caller: Identity, decision: ListingDecision, note: str) -> Listing:
        """An official lists now, withdraws the notice, or removes a listing early after its minimum."""
        if decision in (ListingDecision.list, ListingDecision.withdraw) and listing.state != "noticed":
            raise NotOnNotice("Only a notice can be listed or withdrawn.", state=listing.state)
        if decision == ListingDecision.list:
            listing.decided_by, listing.decision_note = caller.subject, note
            await self.list_now(listing)
        elif decision == ListingDecision.withdraw:
            await self.end(listing, "withdrawn", caller.subject, note)
        else:
            if listing.state != "listed" or listing.removable_from is None:
                raise NotRemovable(
                    "Only a listing with a publication period can be removed early.", state=listing.state
                )
            if self.clock.now() < listing.removable_from:
                raise MinimumPeriodNotOver(
                    f"The minimum publication period runs until {listing.removable_from.isoformat()}.",
                    params={"removable_from": listing.removable_from.date().isoformat()},
                )
            await self.end(listing, "removed_early", caller.subject, note)
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
            await self.list_now(listing)
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
            await self.end(listing, "expired", "system", None)
        return len(due) + len(expired)

    async def listed(self, list_name: ListName, caller: Identity, *, cursor: str | None, limit: int) -> list[Listing]:
        """Who is on the list, newest first, after `cursor` (one row more when there is more)."""
        query = select(Listing).where(Listing.list_name == list_name.value, Listing.state == "listed")
        if caller.role not in (Role.admin, Role.official):
            query = query.where(Listing.subject_kind != "consumer")  # the public list names no consumer
        return list((await self.session.scalars(LISTINGS_NEWEST.page(query, cursor, limit))).all())

    async def listings_of(self, subject_id: str) -> list[Listing]:
        return list(
            (
                await self.session.scalars(
                    select(Listing).where(Listing.subject_id == subject_id).order_by(Listing.id.desc())
                )
            ).all()
        )
