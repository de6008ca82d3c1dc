"""Credit's tables: subjects (merchants for now) and the event plumbing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import inbox_table, outbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Merchant(Base):
    """A merchant in the credit archive: the owner of its identity, region and enrolment."""

    __tablename__ = "merchants"
    __table_args__ = (Index("ix_merchants_region_name", "region_code", "name"),
                      Index("ux_merchants_uscc", "uscc", unique=True))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Required of every merchant settling in; None only on rows from before it was.
    uscc: Mapped[str | None] = mapped_column(String(18))
    region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    settled: Mapped[bool] = mapped_column(default=True)
    in_compensation_program: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
