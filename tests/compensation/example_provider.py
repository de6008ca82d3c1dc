"""A payout provider that exists only for the tests: ExamplePay pays Douyin complainants to their Douyin account.

It is a whole provider in one module, as any new one would be: its settings (COMPENSATION_EXAMPLEPAY_*),
its adapter class named in `PROVIDER`, and nothing else. Its "bank" is in this process: a transfer
is taken as processing and settled by a signed notification the test posts through the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date

from fastapi.responses import JSONResponse, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.compensation.config import CompensationSettings
from services.compensation.errors import NotificationRejected
from services.compensation.providers.base import BillLine, TransferNotification, TransferResult

SIGNATURE = "examplepay-signature"


class ExamplePaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPENSATION_EXAMPLEPAY_", extra="ignore")

    secret: str = Field("", description="signs ExamplePay's notifications (empty: ExamplePay payouts off)")


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Bank:
    """ExamplePay's side: every transfer it took, by our out_no."""

    transfers: dict[str, dict[str, object]] = field(default_factory=dict)


BANK = Bank()


class ExamplePayTransfers:
    name = "examplepay"
    label_zh, label_en = "示例支付", "ExamplePay"
    complaint_channels = frozenset({"douyin"})
    payee_identity = "douyin"  # the Douyin openid the gateway keeps for the account
    callback = "examplepay/notify"
    callback_headers = ("examplepay-",)

    def __init__(self, secret: str, notify_url: str) -> None:
        self.secret, self.notify_url = secret, notify_url

    @classmethod
    def from_settings(cls, settings: CompensationSettings, notify_url: str) -> ExamplePayTransfers | None:
        own = ExamplePaySettings()
        return cls(own.secret, notify_url) if own.secret else None

    @classmethod
    def acknowledge(cls, rejected: NotificationRejected | None) -> Response:
        if rejected is None:
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "why": rejected.detail}, status_code=400)

    def payee_name_required(self, amount_fen: int) -> bool:
        return False

    async def transfer(
        self, *, out_no: str, payee: str, amount_fen: int, remark: str, user_name: str | None = None
    ) -> TransferResult:
        taken = BANK.transfers.setdefault(
            out_no, {"payee": payee, "amount_fen": amount_fen, "state": "processing", "ref": f"ex-{out_no}"}
        )
        return TransferResult("processing", out_no, str(taken["ref"]), amount_fen)

    async def query(self, out_no: str) -> TransferResult:
        taken = BANK.transfers.get(out_no)
        if taken is None:
            return TransferResult("not_found", out_no)
        return TransferResult(str(taken["state"]), out_no, str(taken["ref"]), int(str(taken["amount_fen"])))

    def parse_notification(self, headers: dict[str, str], body: bytes) -> TransferNotification:
        if not hmac.compare_digest(headers.get(SIGNATURE, ""), sign(self.secret, body)):
            raise NotificationRejected("bad signature")
        try:
            note = json.loads(body)
            return TransferNotification(
                note["id"], note["out_no"], note["state"], int(note["amount_fen"]), note.get("ref")
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(f"malformed: {exc}") from exc

    async def bill(self, day: date) -> list[BillLine]:
        return [
            BillLine(out_no, str(t["ref"]), int(str(t["amount_fen"])), str(t["state"]))
            for out_no, t in BANK.transfers.items()
            if t["state"] in ("succeeded", "failed")
        ]


PROVIDER = ExamplePayTransfers
