"""Compensation's tables. Funds, deposits, claims, payouts and the ledger come with their issue."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.outbox import inbox_table, outbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
