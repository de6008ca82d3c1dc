"""One unit of intake's work: the session, the clock, the settings, and the timeline and outbox it writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.config import IntakeSettings
from services.intake.models import Complaint, TimelineEntry
from services.intake.regions import RegionCatalogue
from services.intake.repository.complaints import Complaints
from services.intake.repository.due import Due
from services.intake.repository.evidence import EvidenceRows
from services.intake.repository.links import Links
from services.intake.repository.oversight import Extensions, Supervisions
from services.intake.repository.timeline import Timeline
from services.intake.storage import EvidenceStorage
from shared.clock import Clock
from shared.contracts.events import ComplaintEvent, ComplaintStateChanged
from shared.contracts.identity import Identity, Role
from shared.outbox import Outbox

SYSTEM = Identity(subject="system", role=Role.service, display_name="system")


@dataclass
class Work:
    """One unit of work (one request or one scheduler run): what every part of intake writes through. It puts
    entries on complaints' timelines and events in the outbox, holding both back in a busy step to write each
    kind in one INSERT at its end."""

    session: AsyncSession
    clock: Clock
    settings: IntakeSettings
    regions: RegionCatalogue
    outbox: Outbox
    storage: EvidenceStorage | None = None
    # Events and timeline entries held back to be written in one INSERT each at the end of a busy step
    # (held_until_the_end).
    _held: list[ComplaintEvent] | None = field(default=None, init=False)
    _held_timeline: list[dict[str, Any]] | None = field(default=None, init=False)

    # Intake's queries over this unit of work's session, by part (services/intake/repository).
    @property
    def complaints(self) -> Complaints:
        return Complaints(self.session)

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.session)

    @property
    def evidence(self) -> EvidenceRows:
        return EvidenceRows(self.session)

    @property
    def links(self) -> Links:
        return Links(self.session)

    @property
    def extensions(self) -> Extensions:
        return Extensions(self.session)

    @property
    def supervisions(self) -> Supervisions:
        return Supervisions(self.session)

    @property
    def due(self) -> Due:
        return Due(self.session)

    def record(self, c: Complaint, kind: str, actor: Identity, **fields: Any) -> None:
        """An entry on the complaint's timeline (record_on's fields)."""
        self.record_on(c.id, kind, actor, **fields)

    def record_on(
        self,
        complaint_id: str,
        kind: str,
        actor: Identity,
        *,
        state_from: str | None = None,
        state_to: str | None = None,
        note: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """A timeline entry, held for the one INSERT at the end of a busy step or added to the session."""
        entry = {
            "complaint_id": complaint_id,
            "at": at or self.clock.now(),
            "kind": kind,
            "actor_role": actor.role.value,
            "actor_id": actor.subject,
            "actor_name": actor.display_name,
            "state_from": state_from,
            "state_to": state_to,
            "note": note,
            "data": data,
        }
        if self._held_timeline is not None:
            self._held_timeline.append(entry)
        else:
            self.timeline.add(TimelineEntry(**entry))

    def _base_event(self, c: Complaint) -> dict[str, Any]:
        return {
            "complaint_id": c.id,
            "case_number": c.case_number,
            "region_code": c.region_code,
            "channel": c.channel,
            "industry": c.industry,
            "merchant_id": c.merchant_id,
            "consumer_id": c.consumer_id,
            "source_id": c.source_id,
            "external_id": c.external_id,
            "links": c.links or [],
        }

    @asynccontextmanager
    async def held_until_the_end(self) -> AsyncIterator[None]:
        """Hold the timeline entries and events written inside and write each kind in one INSERT at the end
        (after the complaints themselves): a submission writes three entries and five events, a scheduler
        pass two or three of each for every deadline it fires."""
        self._held, self._held_timeline = [], []
        try:
            yield
            await self.session.flush()
            await self.timeline.add_rows(self._held_timeline)
            await self.outbox.emit_all(self.session, self._held)
        finally:
            self._held = self._held_timeline = None

    async def announce(
        self, c: Complaint, action: str, *, note: str | None, data: dict[str, Any], asks_consumer: bool = False
    ) -> None:
        """A change that moves no state but that those following the complaint hear of: the channels' centres (a
        callback visit's answers, an approved extension's new deadline) and, when it asks them for something,
        the tourist."""
        c.changes = (c.changes or 0) + 1
        await self.emit(
            c,
            ComplaintStateChanged,
            action=action,
            state_from=c.state,
            state_to=c.state,
            note=note,
            data=data,
            revision=c.changes,
            asks_consumer=asks_consumer,
        )

    async def emit(self, c: Complaint, event_type: type[ComplaintEvent], **fields: Any) -> None:
        """An event about the complaint to the outbox, held for the one INSERT at the end of a busy step."""
        event = event_type(**self._base_event(c), **fields)  # as the complaint is now, even when held
        if self._held is not None:
            self._held.append(event)
        else:
            await self.outbox.emit(self.session, event)
