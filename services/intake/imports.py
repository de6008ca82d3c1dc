"""Historical import: work orders exported by another platform (CSV or JSON lines), with their own times.

Columns: channel, external_id, region_code, merchant_id (optional), merchant_name, industry,
description, received_at, accepted_at (optional), closed_at (optional), amount_refunded_fen
(optional, integer fen). Times are ISO 8601 with an offset (2026-03-01T10:15:00+08:00). A row becomes
a complaint received, accepted and (when closed_at is given) closed at those times, so reports and
SLA figures cover history. One complaint per (channel, external_id): importing the same file twice
adds nothing. A bad row is reported with its line number, a stable code and the reason; the other
rows go in. A dry run checks everything and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Complaint, Merchant, TimelineEntry
from services.intake.regions import RegionCatalogue
from services.intake.repository import ComplaintRepository
from services.intake.service import handled_minutes, queue_position
from shared.auth import may_see
from shared.clock import SHANGHAI, Clock
from shared.contracts.common import Channel, Industry
from shared.contracts.complaints import ComplaintState, case_number_of
from shared.contracts.identity import Identity
from shared.errors import Problem
from shared.ids import new_id

COLUMNS = ("channel", "external_id", "region_code", "merchant_name", "industry", "description", "received_at")
OPTIONAL = ("merchant_id", "accepted_at", "closed_at", "amount_refunded_fen")
MAX_ROWS = 50_000


class ImportFileInvalid(Problem):
    status, code, title = 422, "import_file_invalid", "Import file not readable"


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)


def read_rows(raw: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for a CSV (header line first) or JSON-lines file; the file-level problems."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileInvalid(
            f"The file is not UTF-8 (byte {exc.start} cannot be read): save it as UTF-8 "
            "(Excel: CSV UTF-8) and import it again.",
            code="import_encoding_invalid",
        ) from exc
    if "\x00" in text:
        raise ImportFileInvalid("The file has NUL characters: it is not a text export.", code="import_file_invalid")
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = None
            rows.append((number, value if isinstance(value, dict) else {"__error__": "not a JSON object"}))
        return rows
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        rows = [(number, row) for number, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise ImportFileInvalid(f"The CSV cannot be read: {exc}.", code="import_file_invalid") from exc
    if missing:
        raise ImportFileInvalid(
            f"The file lacks the columns {', '.join(missing)}; it needs {', '.join(COLUMNS)} "
            f"and may have {', '.join(OPTIONAL)}.",
            code="import_columns_missing",
            params={"missing": "、".join(missing)},
        )
    return rows


def _time(row: dict[str, Any], name: str, required: bool = False) -> datetime | None:
    value = (row.get(name) or "").strip() if isinstance(row.get(name), str | type(None)) else row.get(name)
    if not value:
        if required:
            raise ValueError(f"missing:{name} is required")
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"bad_timestamp:{name} is not an ISO 8601 time: {value}") from exc
    if moment.tzinfo is None:
        raise ValueError(f"bad_timestamp:{name} has no UTC offset (write +08:00 for Beijing time): {value}")
    return moment


@dataclass
class Importer:
    session: AsyncSession
    clock: Clock
    regions: RegionCatalogue

    async def run(self, rows: list[tuple[int, dict[str, Any]]], actor: Identity, *, dry_run: bool) -> ImportReport:
        if len(rows) > MAX_ROWS:
            raise ImportFileInvalid(
                f"At most {MAX_ROWS:,} rows a file; split it.", code="import_too_large", params={"max_rows": MAX_ROWS}
            )
        report = ImportReport(dry_run=dry_run, rows=len(rows))
        seen: set[tuple[str, str]] = set()
        numbered: dict[tuple[str, date], list[Complaint]] = {}
        for number, row in rows:
            try:
                complaint = await self._complaint(row, seen, actor)
            except ValueError as exc:
                code, _, reason = str(exc).partition(":")
                report.bad.append({"line": number, "code": code, "reason": reason})
                continue
            if complaint is None:
                report.already_present += 1
                continue
            report.imported += 1
            if not dry_run:
                day = complaint.submitted_at.astimezone(SHANGHAI).date()
                numbered.setdefault((complaint.region_code, day), []).append(complaint)
                self.session.add(complaint)
                self.session.add(
                    TimelineEntry(
                        complaint_id=complaint.id,
                        at=self.clock.now(),
                        kind="imported",
                        actor_role=actor.role.value,
                        actor_id=actor.subject,
                        actor_name=actor.display_name,
                        note=f"imported from {complaint.channel}",
                        data={"external_id": complaint.external_id, "state_to": complaint.state},
                    )
                )
        if not dry_run:
            await self._number(numbered)
            await self.session.flush()
        return report

    async def _number(self, numbered: dict[tuple[str, date], list[Complaint]]) -> None:
        """Case numbers dated by each complaint's own receipt, in the order received within its day; the
        counters taken in (region, day) order, one statement per day."""
        repo = ComplaintRepository(self.session)
        for (region_code, day), complaints in sorted(numbered.items()):
            first = await repo.next_case_seq(region_code, day, len(complaints))
            for seq, c in enumerate(sorted(complaints, key=lambda c: (c.submitted_at, c.id)), first):
                c.case_number = case_number_of(region_code, day, seq)

    async def _complaint(self, row: dict[str, Any], seen: set[tuple[str, str]], actor: Identity) -> Complaint | None:
        if "__error__" in row:
            raise ValueError(f"bad_row:{row['__error__']}")
        try:
            channel = Channel(str(row.get("channel") or "").strip())
        except ValueError as exc:
            raise ValueError(
                f"unknown_channel:no channel {row.get('channel')!r}; one of {', '.join(c.value for c in Channel)}"
            ) from exc
        external_id = str(row.get("external_id") or "").strip()
        if not external_id or len(external_id) > 64:
            raise ValueError("missing:external_id is required (at most 64 characters)")
        region_code = str(row.get("region_code") or "").strip()
        try:
            region = self.regions.get(region_code)
        except Problem as exc:
            raise ValueError(f"unknown_region:region {region_code!r} is not served by this platform") from exc
        if not may_see(actor, region=region.code):
            raise ValueError(f"region_not_yours:region {region.code} is outside your own")
        try:
            industry = Industry(str(row.get("industry") or "").strip())
        except ValueError as exc:
            raise ValueError(f"unknown_industry:no industry {row.get('industry')!r}") from exc
        description = str(row.get("description") or "").strip()
        merchant_name = str(row.get("merchant_name") or "").strip()
        if not description or not merchant_name:
            raise ValueError("missing:description and merchant_name are required")
        if len(description) > 4000 or len(merchant_name) > 200:
            raise ValueError("too_long:description is at most 4,000 characters, merchant_name 200")
        received = _time(row, "received_at", required=True)
        accepted, closed = _time(row, "accepted_at"), _time(row, "closed_at")
        assert received is not None
        now = self.clock.now()
        if any(t is not None and t > now for t in (received, accepted, closed)):
            raise ValueError("timestamp_in_future:a time is in the future")
        if (accepted and accepted < received) or (closed and closed < (accepted or received)):
            raise ValueError("timestamps_out_of_order:received, accepted and closed must follow each other")
        refunded_raw = row.get("amount_refunded_fen") or 0
        try:
            refunded = int(refunded_raw)
            if refunded < 0 or str(refunded_raw).strip() not in (str(refunded), "0", ""):
                raise ValueError
        except ValueError as exc:
            raise ValueError(f"bad_amount:amount_refunded_fen is whole fen, not {refunded_raw!r}") from exc
        source = f"import:{channel.value}"
        if (source, external_id) in seen:
            raise ValueError(f"repeated_in_file:{channel.value} {external_id} appears twice in the file")
        seen.add((source, external_id))
        if await self.session.scalar(
            select(Complaint.id).where(Complaint.source_id == source, Complaint.external_id == external_id)
        ):
            return None
        merchant_id = str(row.get("merchant_id") or "").strip() or None
        if merchant_id and await self.session.get(Merchant, merchant_id) is None:
            raise ValueError(f"unknown_merchant:no merchant {merchant_id} is registered")
        state = ComplaintState.closed if closed else ComplaintState.accepted
        imported = Complaint(
            id=new_id("cmp", int(received.timestamp() * 1000)),
            consumer_id=None,
            channel=channel.value,
            source_id=source,
            external_id=external_id,
            region_code=region.code,
            merchant_id=merchant_id,
            merchant_name=merchant_name,
            industry=industry.value,
            description=description,
            amount_involved_fen=0,
            remedy="other",
            occurred_at=received,
            state=state.value,
            submitted_at=received,
            accepted_at=accepted or received,
            accept_by=received + region.sla.accept,
            assignee_kind="unit",
            assignee_id=region.code,
            resolved_at=closed,
            closed_at=closed,
            outcome="imported" if closed else None,
            handled_minutes=handled_minutes(received, closed) if closed else None,
            accept_overdue=False,
            dispose_overdue=False,
            settle_overdue=False,
            amount_refunded_fen=refunded,
            compensation_paid_fen=0,
            version=1,
        )
        imported.queue_rank, imported.queue_at = queue_position(imported)
        return imported
