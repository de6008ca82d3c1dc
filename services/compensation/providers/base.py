"""What every payout provider adapter is, and what it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.errors import Problem

THREADS = 32  # concurrent calls per provider: the SDKs block, one thread per call in flight


@dataclass(frozen=True)
class TransferResult:
    """What a provider says of one transfer, in our words; money in integer fen."""

    state: str  # "processing" | "succeeded" | "failed" | "not_found"
    out_no: str  # our idempotency key: out_bill_no (WeChat Pay) / out_biz_no (Alipay)
    provider_ref: str | None = None  # transfer_bill_no (WeChat Pay) / order_id (Alipay)
    amount_fen: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TransferNotification:
    """A verified notification of a transfer's outcome."""

    notification_id: str  # WeChat Pay: the notification's `id`; Alipay: notify_id
    out_no: str
    state: str  # "succeeded" | "failed" | "processing"
    amount_fen: int
    provider_ref: str | None
    reason: str | None = None


@dataclass(frozen=True)
class BillLine:
    """One transfer in a provider's bill of a day."""

    out_no: str
    provider_ref: str
    amount_fen: int
    state: str  # "succeeded" | "failed"


class ProviderTimeout(Exception):
    """The request may or may not have reached the provider: query before any retry."""


class ProviderError(Exception):
    """The provider refused or failed in a way that says nothing was done (refused connection, 5xx, bad request)."""


class NotificationRejected(Problem):
    """A notification that is not verifiably the provider's (bad signature, stale, malformed); detail says why."""

    status, code, title = 400, "notification_rejected", "Notification rejected"


class PayoutProvider(Protocol):
    """A payment provider's transfers to a user's balance, as the payout worker uses them."""

    name: str  # "wechat" or "alipay"

    def payee_name_required(self, amount_fen: int) -> bool:
        """Whether a transfer of this amount needs the payee's real name (the worker holds it back without one)."""
        ...

    async def transfer(
        self, *, out_no: str, payee: str, amount_fen: int, remark: str, user_name: str | None = None
    ) -> TransferResult:
        """Pay `amount_fen` to `payee`; the same `out_no` never pays twice. `user_name`, the payee's real name,
        goes as the provider wants it (encrypted for WeChat Pay) and the provider checks it against the account."""
        ...

    async def query(self, out_no: str) -> TransferResult:
        """What the provider knows of `out_no`; state "not_found" when it never created it."""
        ...

    def parse_notification(self, headers: dict[str, str], body: bytes) -> TransferNotification:
        """Verify and read a notification; raises NotificationRejected."""
        ...

    async def bill(self, day: date) -> list[BillLine]:
        """The provider's record of the day's transfers (Asia/Shanghai date)."""
        ...
