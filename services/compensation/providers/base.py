"""What every payout provider adapter is, and what it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.errors import Problem

THREADS = 32  # concurrent calls per provider: the SDKs block, one thread per call in flight


@dataclass(frozen=True)
class TransferResult:
    state: str  # "processing" | "succeeded" | "failed" | "not_found"
    out_no: str
    provider_ref: str | None = None
    amount_fen: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TransferNotification:
    notification_id: str
    out_no: str
    state: str  # "succeeded" | "failed" | "processing"
    amount_fen: int
    provider_ref: str | None
    reason: str | None = None


@dataclass(frozen=True)
class BillLine:
    out_no: str
    provider_ref: str
    amount_fen: int
    state: str  # "succeeded" | "failed"


class ProviderTimeout(Exception):
    """The request may or may not have reached the provider: query before any retry."""


class ProviderError(Exception):
    """The provider failed in a way that says nothing was done (refused connection, 5xx)."""


class NotificationRejected(Problem):
    status, code, title = 400, "notification_rejected", "Notification rejected"


class PayoutProvider(Protocol):
    name: str

    async def transfer(self, *, out_no: str, payee: str, amount_fen: int, remark: str,
                       user_name: str | None = None) -> TransferResult:
        """Pay `amount_fen` to `payee`; the same `out_no` never pays twice."""
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
