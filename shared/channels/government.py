"""Government channels (12345, 12301, 12315 ODR): one adapter module per channel, behind one interface.

A channel's center is a partner with that channel (`POST /v1/partners` with `channel`), signing its
requests as every partner does (`services/gateway/partners.py`). It pushes work orders in its own
format to `POST /callbacks/{channel}`; its adapter turns one into a complaint, keeping the channel's
id (`external_id`) and its received and dispatched times. Every change of the case goes back to the
center's webhook URL in the channel's format, as the adapter writes it: disposal, closing,
callback visit, and whatever else that channel wants to hear.

Adding a channel is one module (here, or anywhere by its dotted path) that declares `INFO` (its
`ChannelInfo`, governmental) and `ADAPTER` (a `GovernmentChannel`), and its name in
`GATEWAY_GOVERNMENT_CHANNELS`; `tests/e2e/example_channel.py` is one, added by its test alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Protocol

from shared import channels
from shared.channels import ChannelInfo
from shared.clock import SHANGHAI
from shared.contracts.common import Industry
from shared.contracts.complaints import Remedy
from shared.errors import NotFound, Problem

MAX_YUAN = Decimal(100_000_000)  # 10,000,000,000 fen: the most any amount may be (shared.contracts.common.Fen)
CENT = Decimal("0.01")


class WorkOrderInvalid(Problem):
    """The channel's payload is not a work order its adapter understands; the errors name its own fields."""

    status, code, title = 422, "work_order_invalid", "Work order not understood"


class UnknownChannel(NotFound):
    code, title = "unknown_channel", "Unknown channel"


@dataclass(frozen=True)
class StatusUpdate:
    """A change of a complaint that a channel pushed, as its adapter needs it to tell the channel."""

    event_id: str
    occurred_at: datetime
    complaint_id: str  # the platform's id of the complaint the channel pushed
    external_id: str | None  # the channel's own id of it
    handled_as: str | None  # the complaint it is worked as, when the same case came first by another channel
    action: str
    state_from: str | None
    state_to: str
    note: str | None
    data: dict[str, Any]
    case_number: str | None = None  # the platform's case number of the complaint worked
    progress_url: str | None = None  # the tourist's progress page, for the channel to pass on (an SMS)

    @property
    def new_deadline(self) -> datetime | None:
        """The settlement deadline this change set, where it set one: a reopened case's, an approved extension's."""
        raw = {"reopened": "settle_by", "extension_approved": "due_after"}.get(self.action)
        value = self.data.get(raw) if raw else None
        return datetime.fromisoformat(value) if value else None


class GovernmentChannel(Protocol):
    info: ChannelInfo  # the channel's name, labels, and that it is governmental
    title: str  # what the channel is called, for the API's documentation
    example: dict[str, Any]  # a work order as the channel sends it
    # Our complaint's fields by the channel's names, so that a refusal names the field the channel sent.
    fields: dict[str, str]

    def work_order(self, payload: Any) -> dict[str, Any]:
        """The complaint (ComplaintSubmit's fields) in a work order, or WorkOrderInvalid naming every fault."""
        ...

    def update(self, update: StatusUpdate) -> dict[str, Any] | None:
        """The channel's message for this change, or None when the channel does not hear of it."""
        ...


def load(names: str) -> dict[str, GovernmentChannel]:
    """The adapters of the channel modules named in GATEWAY_GOVERNMENT_CHANNELS, by the channel they serve."""
    adapters: dict[str, GovernmentChannel] = {}
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        try:
            module = channels.load(name)
        except ValueError as exc:
            raise ValueError(f"GATEWAY_GOVERNMENT_CHANNELS: {exc}") from exc
        adapter: GovernmentChannel | None = getattr(module, "ADAPTER", None)
        if adapter is None or not adapter.info.governmental:
            raise ValueError(f"GATEWAY_GOVERNMENT_CHANNELS: {name} is not a government channel's module")
        adapters[adapter.info.name] = adapter
    return adapters


# --- what the adapters share: reading a channel's payload, writing its times ---------------------------
_INDUSTRIES = (
    (Industry.food, ("餐饮", "美食", "饭店", "餐厅", "food")),
    (Industry.lodging, ("住宿", "酒店", "宾馆", "民宿", "lodging", "hotel")),
    (Industry.transport, ("交通", "出行", "租车", "客运", "出租", "transport")),
    (Industry.shopping, ("购物", "商品", "商店", "shopping")),
    (Industry.entertainment, ("娱乐", "演出", "游乐", "entertainment")),
    (Industry.sightseeing, ("景区", "游览", "旅行社", "导游", "旅游", "sightseeing")),
)
_REMEDIES = (
    (Remedy.refund, ("退款", "退费", "退还", "refund")),
    (Remedy.compensation, ("赔偿", "compensation")),
    (Remedy.exchange, ("换货", "更换", "exchange")),
    (Remedy.apology, ("道歉", "apology")),
)


def shanghai_text(at: datetime) -> str:
    """2026-11-20 14:03:11: how Chinese government systems write a time (Beijing time, no offset)."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def shanghai_iso(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat(timespec="seconds")


@dataclass
class Reader:
    """Reads one payload, collecting every fault (by the channel's field names) before refusing it."""

    payload: Any
    errors: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.payload, dict):
            self.payload = {}
            self.errors.append({"field": "body", "message": "a work order is a JSON object"})

    def _get(self, path: str) -> Any:
        value: Any = self.payload
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def fail(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def text(self, path: str, *, required: bool = False) -> str | None:
        value = self._get(path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, "must be text")
            return None
        return value.strip()

    def time(self, path: str, *, required: bool = False) -> datetime | None:
        """`2026-11-20 14:03:11` (Beijing time, as government systems write it) or ISO 8601 with an offset."""
        value = self.text(path, required=required)
        if value is None:
            return None
        try:
            at = datetime.fromisoformat(value.replace("/", "-"))
            at = (at if at.tzinfo else at.replace(tzinfo=SHANGHAI)).astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(path, "must be a time like 2026-11-20 14:03:11 (Beijing time) or ISO 8601 with an offset")
            return None
        if not 2000 <= at.year <= 2100:
            self.fail(path, "must be a time between the years 2000 and 2100")
            return None
        return at

    def yuan(self, path: str) -> int | None:
        """An amount in yuan (`1280.00` or 1280) as integer fen, exactly."""
        value = self._get(path)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(path, "must be an amount in yuan")
            return None
        try:
            amount = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            self.fail(path, "must be an amount in yuan, like 1280.00")
            return None
        if (
            not amount.is_finite()
            or amount < 0
            or amount > MAX_YUAN
            or amount != amount.quantize(CENT, rounding=ROUND_DOWN)
        ):
            self.fail(path, f"must be an amount in yuan from 0 to {MAX_YUAN} with at most two decimals")
            return None
        return int(amount * 100)

    def industry(self, path: str) -> Industry | None:
        label = self.text(path, required=True)
        if label is None:
            return None
        for industry, words in _INDUSTRIES:
            if any(word in label.lower() for word in words):
                return industry
        self.fail(path, "is not a tourism category (餐饮, 住宿, 交通, 景区/旅行社, 购物, 娱乐)")
        return None

    def remedy(self, path: str) -> Remedy:
        label = self.text(path) or ""
        return next((remedy for remedy, words in _REMEDIES if any(w in label.lower() for w in words)), Remedy.other)

    def done(self, adapter: GovernmentChannel, fields: dict[str, Any]) -> dict[str, Any]:
        if self.errors:
            raise WorkOrderInvalid(
                f"This is not a {adapter.title} work order this platform understands.", errors=self.errors
            )
        return {name: value for name, value in fields.items() if value is not None}
