"""What every payout provider adapter is, and what it may raise.

A provider is one module that names its adapter class in `PROVIDER` and is listed in
COMPENSATION_PAYOUT_PROVIDERS (services/compensation/providers/registry.py loads them). The class says
everything that varies between providers: its name and its label, the complaints it pays, whose account
it pays, where and how it notifies us, how it is built from settings and how it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from fastapi.responses import Response

from services.compensation.errors import NotificationRejected

if TYPE_CHECKING:
    from services.compensation.config import CompensationSettings

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


class PayoutProvider(Protocol):
    """A payment provider's transfers to a user's balance, as the payout worker uses them."""

    name: ClassVar[str]  # "wechat", "alipay" (kept on each payout as its provider; at most 32 characters)
    label_zh: ClassVar[str]  # its name as people read it, shown with a payout (GET /v1/payout-providers)
    label_en: ClassVar[str]
    # Complaints from these channels are paid through this provider; empty: every channel no provider names.
    complaint_channels: ClassVar[frozenset[str]]
    payee_identity: ClassVar[str]  # the login whose user id is paid (the gateway's provider identity)
    callback: ClassVar[str]  # where it notifies, under the gateway's /callbacks/ ("wechatpay/transfer")
    callback_headers: ClassVar[tuple[str, ...]]  # header-name prefixes its notifications need passed through

    @classmethod
    def from_settings(cls, settings: CompensationSettings, notify_url: str) -> Any:
        """The adapter as configured (an instance of this class), or None when it is off (it logs why: no keys)."""
        ...

    @classmethod
    def acknowledge(cls, rejected: NotificationRejected | None) -> Response:
        """The answer the provider expects to a notification: taken, or refused (it will send it again)."""
        ...

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
