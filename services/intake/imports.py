"""Historical import: work orders exported by another platform (CSV or JSON lines), with their own times.

Columns: channel, external_id, region_code, merchant_id (optional), merchant_name, industry,
description, received_at, accepted_at (optional), closed_at (optional), amount_refunded_fen
(optional, integer fen), source (optional: the named platform, 智旅通投诉平台; default the region's
name for the channel), handling_unit (optional: a unit of the region by name, 区文化和旅游局; default
the one the region's rules choose), withdrawn_at (optional: the tourist withdrew it then, on that
platform), handling_time_reported (optional, default true: false for a case the source reports concluded
but without its handling time, as a case forwarded to a unit and concluded there; it is closed at closed_at
and not counted among 有效投诉件). Times are ISO 8601 with an offset (2026-03-01T10:15:00+08:00). A row becomes
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
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.deadlines import handled_minutes, queue_position
from services.intake.errors import (
    ImportColumnsMissing,
    ImportEncodingInvalid,
    ImportFileInvalid,
    ImportTooLarge,
    TimestampsOutOfOrder,
    UnknownMerchant,
    UnknownRegion,
    UnknownUnit,
)
from services.intake.models import Complaint, Merchant, ReturnRequest, TimelineEntry
from services.intake.regions import Region, RegionCatalogue
from services.intake.repository.complaints import Complaints
from services.intake.returns import record_visit, referral_note, visit_note
from shared.auth import may_see
from shared.clock import SHANGHAI, Clock
from shared.contracts.common import Channel, Industry
from shared.contracts.complaints import ComplaintState, case_number_of
from shared.contracts.identity import Identity, region_covers
from shared.contracts.returns import OPEN_RETURN_STATES, ReturnState
from shared.divisions import divisions
from shared.errors import Problem, TimestampInFuture
from shared.ids import new_id

COLUMNS = ("channel", "external_id", "region_code", "merchant_name", "industry", "description", "received_at")
OPTIONAL = (
    "merchant_id",
    "accepted_at",
    "closed_at",
    "amount_refunded_fen",
    "source",
    "handling_unit",
    "withdrawn_at",
    "handling_time_reported",
)
MAX_ROWS = 50_000
OUT_OF_ORDER = TimestampsOutOfOrder.code
Made = TypeVar("Made", Complaint, ReturnRequest)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)


def read_rows(
    raw: bytes, filename: str, columns: tuple[str, ...] = COLUMNS, optional: tuple[str, ...] = OPTIONAL
) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for a CSV (header line first) or JSON-lines file; the file-level problems."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportEncodingInvalid(
            f"The file is not UTF-8 (byte {exc.start} cannot be read): save it as UTF-8 "
            "(Excel: CSV UTF-8) and import it again."
        ) from exc
    if "\x00" in text:
        raise ImportFileInvalid("The file has NUL characters: it is not a text export.")
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
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        rows = [(number, row) for number, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise ImportFileInvalid(f"The CSV cannot be read: {exc}.") from exc
    if missing:
        raise ImportColumnsMissing(
            f"The file lacks the columns {', '.join(missing)}; it needs {', '.join(columns)} "
            f"and may have {', '.join(optional)}.",
            params={"missing": "、".join(missing)},
        )
    return rows


TRUE, FALSE = frozenset({"true", "1", "yes", "是"}), frozenset({"false", "0", "no", "否"})


def _flag(row: dict[str, Any], name: str, default: bool | None = None) -> bool:
    """A yes/no column: true/false, 1/0, yes/no, 是/否 (or a JSON boolean); blank is the default, if any."""
    value = row.get(name)
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if not text and default is not None:
        return default
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ValueError(f"bad_row:{name} is true or false, not {value!r}")


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
class RowImporter(Generic[Made]):
    """What every import shares: the file's rows each checked on its own (a bad row is reported by line with a
    stable code and the reason, and the others go in), what was imported before counted and skipped, and nothing
    written in a dry run. A kind of import says its columns, how a row becomes a record (`_made`, raising
    ValueError("code:reason") for a bad row, None when it is there already) and how the records are written."""

    columns: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]]

    session: AsyncSession
    clock: Clock
    regions: RegionCatalogue

    async def run(self, rows: list[tuple[int, dict[str, Any]]], actor: Identity, *, dry_run: bool) -> ImportReport:
        if len(rows) > MAX_ROWS:
            raise ImportTooLarge(f"At most {MAX_ROWS:,} rows a file; split it.", params={"max_rows": MAX_ROWS})
        report = ImportReport(dry_run=dry_run, rows=len(rows))
        seen: set[Any] = set()
        made: list[Made] = []
        for number, row in rows:
            try:
                if "__error__" in row:
                    raise ValueError(f"bad_row:{row['__error__']}")
                record = await self._made(row, seen, actor)
            except ValueError as exc:
                code, _, reason = str(exc).partition(":")
                report.bad.append({"line": number, "code": code, "reason": reason})
                continue
            if record is None:
                report.already_present += 1
                continue
            report.imported += 1
            made.append(record)
        if not dry_run:
            await self._write(made, actor)
            await self.session.flush()
        return report

    async def _made(self, row: dict[str, Any], seen: set[Any], actor: Identity) -> Made | None:
        raise NotImplementedError

    async def _write(self, made: list[Made], actor: Identity) -> None:
        self.session.add_all(made)

    def _region(self, row: dict[str, Any], actor: Identity) -> Region:
        """The row's region: served here, and the importing official's own (or under it)."""
        region_code = str(row.get("region_code") or "").strip()
        try:
            region = self.regions.served(region_code)
        except Problem as exc:
            raise ValueError(f"{UnknownRegion.code}:region {region_code!r} is not served by this platform") from exc
        if not may_see(actor, region=region.code):
            raise ValueError(f"region_not_yours:region {region.code} is outside your own")
        return region

    async def _merchant_id(self, row: dict[str, Any]) -> str | None:
        """The registered merchant the row names, if it names one."""
        merchant_id = str(row.get("merchant_id") or "").strip() or None
        if merchant_id and await self.session.get(Merchant, merchant_id) is None:
            raise ValueError(f"{UnknownMerchant.code}:no merchant {merchant_id} is registered")
        return merchant_id


def _external_id(row: dict[str, Any]) -> str:
    external_id = str(row.get("external_id") or "").strip()
    if not external_id or len(external_id) > 64:
        raise ValueError("missing:external_id is required (at most 64 characters)")
    return external_id


@dataclass
class Importer(RowImporter[Complaint]):
    """Complaints another platform exported, as complaints received, accepted and closed at their own times."""

    columns: ClassVar[tuple[str, ...]] = COLUMNS
    optional: ClassVar[tuple[str, ...]] = OPTIONAL

    async def _write(self, made: list[Complaint], actor: Identity) -> None:
        numbered: dict[tuple[str, date], list[Complaint]] = {}
        for complaint in made:
            day = complaint.submitted_at.astimezone(SHANGHAI).date()
            numbered.setdefault((complaint.region_code, day), []).append(complaint)
        await self._number(numbered)
        for complaint in made:
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

    async def _number(self, numbered: dict[tuple[str, date], list[Complaint]]) -> None:
        """Case numbers dated by each complaint's own receipt, in the order received within its day; the
        counters taken in (region, day) order, one statement per day."""
        repo = Complaints(self.session)
        for (region_code, day), complaints in sorted(numbered.items()):
            first = await repo.next_case_seq(region_code, day, len(complaints))
            for seq, c in enumerate(sorted(complaints, key=lambda c: (c.submitted_at, c.id)), first):
                c.case_number = case_number_of(region_code, day, seq)

    async def _made(self, row: dict[str, Any], seen: set[Any], actor: Identity) -> Complaint | None:
        try:
            channel = Channel(str(row.get("channel") or "").strip())
        except ValueError as exc:
            raise ValueError(
                f"unknown_channel:no channel {row.get('channel')!r}; one of {', '.join(c.value for c in Channel)}"
            ) from exc
        external_id = _external_id(row)
        region = self._region(row, actor)
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
        withdrawn = _time(row, "withdrawn_at")
        assert received is not None
        now = self.clock.now()
        if any(t is not None and t > now for t in (received, accepted, closed, withdrawn)):
            raise ValueError(f"{TimestampInFuture.code}:a time is in the future")
        if (accepted and accepted < received) or (closed and closed < (accepted or received)):
            raise ValueError(f"{OUT_OF_ORDER}:received, accepted and closed must follow each other")
        if withdrawn and (closed or withdrawn < (accepted or received)):
            raise ValueError(f"{OUT_OF_ORDER}:withdrawn_at follows receipt, and a closed case is not withdrawn")
        time_reported = _flag(row, "handling_time_reported", True)
        if not time_reported and not closed:
            raise ValueError("missing:handling_time_reported false is for a closed case: give closed_at")
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
        merchant_id = await self._merchant_id(row)
        source_name = str(row.get("source") or "").strip()[:100] or region.source_name(channel.value)
        unit_named = str(row.get("handling_unit") or "").strip()
        unit = (
            region.unit_named(unit_named)
            if unit_named
            else region.unit_for(
                industry=industry.value, channel=channel.value, source=source_name, region_code=region.code
            )
        )
        if unit_named and unit is None:
            raise ValueError(f"{UnknownUnit.code}:region {region.code} has no handling unit {unit_named!r}")
        state = (
            ComplaintState.closed
            if closed
            else ComplaintState.withdrawn
            if withdrawn
            else ComplaintState.assigned
            if unit
            else ComplaintState.accepted
        )
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
            source_name=source_name,
            unit_id=unit.id if unit else None,
            unit_name=unit.name if unit else None,
            assignee_kind="unit" if unit else None,
            assignee_id=unit.id if unit else None,
            assignee_name=unit.name if unit else None,
            assigned_at=(accepted or received) if unit else None,
            resolved_at=closed,
            closed_at=closed or withdrawn,
            outcome="imported" if closed else None,
            handled_minutes=handled_minutes(received, closed) if closed and time_reported else None,
            accept_overdue=False,
            dispose_overdue=False,
            settle_overdue=False,
            amount_refunded_fen=refunded,
            compensation_paid_fen=0,
            version=1,
        )
        imported.queue_rank, imported.queue_at = queue_position(imported)
        return imported


# --- return requests ------------------------------------------------------------------------------
RETURN_COLUMNS = ("external_id", "region_code", "merchant_name", "goods", "amount_fen", "requested_at")
RETURN_OPTIONAL = (
    "source",
    "channel",
    "merchant_id",
    "receipt_no",
    "purchased_on",
    "state",
    "concluded_at",
    "amount_refunded_fen",
    "handling_unit",
    "reason",
    "referred_to_region",
    "referred_to",
    "visited_at",
    "visited_by",
    "visit_satisfied",
    "withdrawal_induced",
    "shirking_reported",
)
RETURNS_SOURCE = "import:returns"
VISIT_COLUMNS = ("visited_by", "visit_satisfied", "withdrawal_induced", "shirking_reported")


def _fen(row: dict[str, Any], name: str, default: int | None = None) -> int:
    raw = row.get(name)
    if raw in (None, "") and default is not None:
        return default
    try:
        fen = int(raw)  # type: ignore[arg-type]
        if fen < 0 or str(raw).strip() != str(fen):
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad_amount:{name} is whole fen, not {raw!r}") from exc
    return fen


def _visit(
    row: dict[str, Any], state: ReturnState, concluded: datetime | None, now: datetime
) -> tuple[datetime, bool, bool, bool] | None:
    """The row's follow-up visit (回访), if it has one: when, satisfied, withdrawal induced, shirking reported."""
    visited = _time(row, "visited_at")
    if visited is None:
        if any(row.get(n) not in (None, "") for n in VISIT_COLUMNS):
            raise ValueError("missing:visited_at is required with the visit's columns")
        return None
    if visited > now:
        raise ValueError(f"{TimestampInFuture.code}:a time is in the future")
    if state in OPEN_RETURN_STATES or (concluded and visited < concluded):
        raise ValueError(f"{OUT_OF_ORDER}:visited_at follows the conclusion (a request is visited once concluded)")
    induced = _flag(row, "withdrawal_induced", False)
    if induced and state != ReturnState.withdrawn:
        raise ValueError("bad_row:withdrawal_induced is for a withdrawn request only")
    return visited, _flag(row, "visit_satisfied"), induced, _flag(row, "shirking_reported", False)


@dataclass
class ReturnImporter(RowImporter[ReturnRequest]):
    """Return requests another platform exported (一机游退换货处置平台), with their own dates and outcomes: a
    past week's returns paragraph is reproducible. One request per external id, however often imported."""

    columns: ClassVar[tuple[str, ...]] = RETURN_COLUMNS
    optional: ClassVar[tuple[str, ...]] = RETURN_OPTIONAL

    refund_hours: int

    async def _made(self, row: dict[str, Any], seen: set[Any], actor: Identity) -> ReturnRequest | None:
        external_id = _external_id(row)
        region = self._region(row, actor)
        merchant_name, goods = (str(row.get(n) or "").strip() for n in ("merchant_name", "goods"))
        if not merchant_name or not goods:
            raise ValueError("missing:merchant_name and goods are required")
        if len(merchant_name) > 200 or len(goods) > 200:
            raise ValueError("too_long:merchant_name and goods are at most 200 characters")
        amount = _fen(row, "amount_fen")
        if amount == 0:
            raise ValueError("bad_amount:amount_fen must be more than 0")
        requested = _time(row, "requested_at", required=True)
        concluded = _time(row, "concluded_at")
        assert requested is not None
        try:
            state = ReturnState(str(row.get("state") or ReturnState.requested).strip())
        except ValueError as exc:
            raise ValueError(
                f"unknown_state:no state {row.get('state')!r}; one of {', '.join(s.value for s in ReturnState)}"
            ) from exc
        if (state in OPEN_RETURN_STATES) != (concluded is None):
            raise ValueError("missing:concluded_at is given for a concluded request (refunded, withdrawn, ...) only")
        now = self.clock.now()
        if requested > now or (concluded and concluded > now):
            raise ValueError(f"{TimestampInFuture.code}:a time is in the future")
        if concluded and concluded < requested:
            raise ValueError(f"{OUT_OF_ORDER}:requested and concluded must follow each other")
        refunded = _fen(row, "amount_refunded_fen", amount if state == ReturnState.refunded else 0)
        if refunded > amount:
            raise ValueError("bad_amount:amount_refunded_fen exceeds amount_fen")
        if refunded and state == ReturnState.exchanged:
            raise ValueError("bad_amount:an exchanged request refunds nothing: leave amount_refunded_fen out")
        target, referred_to = self._referral(row, region, state)
        visit = _visit(row, state, concluded, now)
        try:
            channel = Channel(str(row.get("channel") or Channel.partner).strip())
            purchased_on = date.fromisoformat(
                str(row.get("purchased_on") or "").strip() or requested.date().isoformat()
            )
        except ValueError as exc:
            raise ValueError("bad_row:channel is a channel, purchased_on a day (YYYY-MM-DD)") from exc
        unit_named = str(row.get("handling_unit") or "").strip()
        unit = region.unit_named(unit_named) if unit_named else region.unit(region.settings.returns_unit)
        if unit_named and unit is None:
            raise ValueError(f"{UnknownUnit.code}:region {region.code} has no handling unit {unit_named!r}")
        if external_id in seen:
            raise ValueError(f"repeated_in_file:{external_id} appears twice in the file")
        seen.add(external_id)
        if await self.session.scalar(
            select(ReturnRequest.id).where(
                ReturnRequest.source_id == RETURNS_SOURCE, ReturnRequest.external_id == external_id
            )
        ):
            return None
        merchant_id = await self._merchant_id(row)
        reason = str(row.get("reason") or "").strip()[:2000] or None
        history = [
            {"at": requested.isoformat(), "action": "requested", "actor_role": "partner"},
            {"at": now.isoformat(), "action": "imported", "actor_role": actor.role.value, "note": external_id},
        ]
        if concluded:
            entry = {"at": concluded.isoformat(), "action": state.value, "actor_role": "partner"}
            if target is not None:
                entry["note"] = referral_note(target, region, referred_to or "")
            history.append(entry)
        made = ReturnRequest(
            id=new_id("ret", int(requested.timestamp() * 1000)),
            consumer_id=None,
            channel=channel.value,
            region_code=region.code,
            merchant_id=merchant_id,
            merchant_name=merchant_name,
            goods=goods,
            receipt_no=str(row.get("receipt_no") or external_id).strip()[:60],
            purchased_on=purchased_on,
            amount_fen=amount,
            reason=reason,
            contact_phone=None,
            state=state.value,
            requested_at=requested,
            refund_by=requested + timedelta(hours=self.refund_hours),
            overdue=False,
            concluded_at=concluded,
            amount_refunded_fen=refunded,
            history=history,
            source_id=RETURNS_SOURCE,
            external_id=external_id,
            source_name=str(row.get("source") or "").strip()[:100] or region.settings.returns_platform,
            unit_name=unit.name if unit else None,
            referred_to_region=target.code if target else None,
            referred_to=referred_to,
            version=1,
        )
        if visit is not None:
            visited, satisfied, induced, shirking = visit
            by = str(row.get("visited_by") or "").strip() or (unit.name if unit else "") or made.source_name or ""
            record_visit(made, visited, by, satisfied=satisfied, induced=induced, shirking=shirking)
            made.history.append(
                {"at": visited.isoformat(), "action": "visited", "actor_role": "partner", "note": visit_note(made)}
            )
        return made

    def _referral(self, row: dict[str, Any], region: Region, state: ReturnState) -> tuple[Region | None, str | None]:
        """A referred request's target: the region it was bought in (not this one's) and to whom it went."""
        code = str(row.get("referred_to_region") or "").strip()
        named = str(row.get("referred_to") or "").strip()[:200]
        if state != ReturnState.referred:
            if code or named:
                raise ValueError("bad_row:referred_to_region and referred_to are for a referred request only")
            return None, None
        if not code or code not in divisions():
            raise ValueError(f"{UnknownRegion.code}:a referred request names referred_to_region, a region code")
        if region_covers(region.code, code):
            raise ValueError(f"bad_row:{code} is within {region.code}: a request bought here is not referred")
        target = self.regions.get(code)
        return target, named or target.handling_unit or target.name
