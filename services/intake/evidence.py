"""Evidence on a complaint: cleaned (services/intake/evidence_files.py), stored, held to quotas, removed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from services.intake.errors import ActionNotAllowed, DailyEvidenceQuotaExceeded, EmptyFile, EvidenceQuotaExceeded
from services.intake.evidence_files import clean_evidence
from services.intake.models import Complaint, Evidence
from services.intake.storage import sha256_hex
from services.intake.transitions import Transitions
from shared.contracts.complaints import OPEN_STATES, ComplaintState
from shared.contracts.identity import Identity, Role
from shared.errors import InvalidTransition, PayloadTooLarge
from shared.ids import new_id

S = ComplaintState


@dataclass
class EvidenceDesk:
    """The files on a complaint: added within quotas, removed by their uploader or an admin."""

    work: Transitions

    async def add(self, c: Complaint, actor: Identity, filename: str, content: bytes) -> Evidence:
        """Keep a file as evidence on a complaint: its type read from its bytes, markup refused, a photo
        re-encoded without its EXIF (GPS) data, within the complaint's and the uploader's quota."""
        self.work.require(
            c, actor, Role.consumer, Role.merchant_staff, Role.official, Role.admin, action="add evidence to"
        )
        if c.state not in OPEN_STATES and c.state != S.resolved:
            raise InvalidTransition(
                "Evidence can be added while the complaint is open.", state=c.state, action="evidence_added"
            )
        limits = self.work.settings
        if len(content) > limits.evidence_max_bytes:
            raise PayloadTooLarge(f"Evidence files are limited to {limits.evidence_max_bytes} bytes.")
        if not content:
            raise EmptyFile("The file is empty.")
        await self._check_quota(c, actor, adding=0)  # before the decoding, which costs CPU
        kept = await asyncio.to_thread(clean_evidence, content, limits.evidence_max_image_pixels)
        await self.work.complaints.lock_ids([c.id])  # two uploads at once cannot both take the last place
        await self._check_quota(c, actor, adding=len(kept.content))
        evidence_id = new_id("evd")
        key = f"{c.id}/{evidence_id}"
        assert self.work.storage is not None
        await self.work.storage.save(key, kept.content, kept.content_type)
        evidence = Evidence(
            id=evidence_id,
            complaint_id=c.id,
            filename=(filename or "evidence")[:200],
            content_type=kept.content_type,
            size_bytes=len(kept.content),
            sha256=sha256_hex(kept.content),
            storage_key=key,
            uploaded_by=actor.subject,
            uploaded_at=self.work.clock.now(),
        )
        self.work.evidence.add(evidence)
        self.work.record(
            c,
            "evidence_added",
            actor,
            data={"evidence_id": evidence_id, "content_type": kept.content_type, "size_bytes": len(kept.content)},
        )
        return evidence

    async def remove(self, c: Complaint, actor: Identity, evidence: Evidence) -> None:
        """Remove a file: its uploader while the complaint is open, an admin at any time (a file that shows a
        third party, say). The file is deleted from storage; the row stays out of every list, and the timeline
        says who removed which file."""
        is_admin = actor.role == Role.admin
        if not is_admin and evidence.uploaded_by != actor.subject:
            raise ActionNotAllowed("Only the uploader or an administrator may remove a file.", action="remove evidence")
        self.work.require(
            c, actor, Role.consumer, Role.merchant_staff, Role.official, Role.admin, action="remove evidence"
        )
        if not is_admin and c.state not in OPEN_STATES:
            raise InvalidTransition(
                "Evidence can be removed while the complaint is open.", state=c.state, action="evidence_removed"
            )
        if evidence.removed_at is not None:
            return  # removed before: a retry, or a second admin
        evidence.removed_at, evidence.removed_by = self.work.clock.now(), actor.subject
        self.work.record(
            c, "evidence_removed", actor, data={"evidence_id": evidence.id, "size_bytes": evidence.size_bytes}
        )
        await self.work.session.flush()
        assert self.work.storage is not None
        await self.work.storage.delete(
            evidence.storage_key
        )  # last: if it fails, the request rolls back and nothing changed

    async def _check_quota(self, c: Complaint, actor: Identity, *, adding: int) -> None:
        """A complaint holds so many files and bytes; a tourist's or merchant's account uploads so many in any
        24 hours (officials adding what a caller sent are not held to that)."""
        limits = self.work.settings
        files, size = await self.work.evidence.held(c.id)
        if files >= limits.evidence_max_files_per_complaint:
            raise EvidenceQuotaExceeded(
                f"A complaint holds at most {limits.evidence_max_files_per_complaint} files.",
                message="evidence_quota_exceeded.files",
                params={"files": limits.evidence_max_files_per_complaint},
            )
        if size + adding > limits.evidence_max_bytes_per_complaint:
            raise EvidenceQuotaExceeded(
                f"A complaint's files may take at most "
                f"{limits.evidence_max_bytes_per_complaint // (1024 * 1024)} MB together.",
                message="evidence_quota_exceeded.bytes",
                params={"mb": limits.evidence_max_bytes_per_complaint // (1024 * 1024)},
            )
        if actor.role not in (Role.consumer, Role.merchant_staff):
            return
        files, size = await self.work.evidence.uploaded_by(actor.subject, self.work.clock.now() - timedelta(days=1))
        if files >= limits.evidence_daily_files_per_account or size + adding > limits.evidence_daily_bytes_per_account:
            raise DailyEvidenceQuotaExceeded(
                f"An account may upload at most {limits.evidence_daily_files_per_account} files a day, "
                f"{limits.evidence_daily_bytes_per_account // (1024 * 1024)} MB together; try again later.",
                message="evidence_quota_exceeded.daily",
                params={
                    "files": limits.evidence_daily_files_per_account,
                    "mb": limits.evidence_daily_bytes_per_account // (1024 * 1024),
                },
            )
