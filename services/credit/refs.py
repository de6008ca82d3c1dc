"""Whom credit is about: a merchant, a practitioner or a consumer, found by id, with who may see it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.errors import SubjectNotFound
from services.credit.models import Consumer, Merchant, Practitioner
from shared.auth import may_see
from shared.clock import Clock
from shared.contracts.identity import Identity, Role


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


@dataclass
class SubjectRefs:
    """The subjects credit is about, read by id (a consumer is made on first use: their credit is keyed by
    their platform id)."""

    session: AsyncSession
    clock: Clock

    async def subject(self, subject_id: str, *, consumer_on_first_use: bool = False) -> SubjectRef | None:
        return (await self.subjects({subject_id: consumer_on_first_use})).get(subject_id)

    async def subjects(self, wanted: dict[str, bool]) -> dict[str, SubjectRef]:
        """The subjects of these ids that exist, a query per kind; a consumer whose id maps to True is made
        on first use (a consumer's credit is keyed by their platform id)."""
        by_kind: dict[type[Merchant | Practitioner | Consumer], list[str]] = {}
        for subject_id in wanted:
            model: type[Merchant | Practitioner | Consumer] = (
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
                elif isinstance(row, Consumer):
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
