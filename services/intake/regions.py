"""The region catalogue (a data file), each region's SLA windows, and how long after closing a complaint
may still be compensated (`compensation_after_closing_days`: the region's own, else its parent's, else the
catalogue's `default_compensation_after_closing_days`, else 30)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.contracts.complaints import RegionOut
from shared.errors import Problem


class UnknownRegion(Problem):
    status, code, title = 422, "unknown_region", "Unknown region"


DEFAULT_COMPENSATION_AFTER_CLOSING_DAYS = 30


@dataclass(frozen=True)
class Sla:
    accept: timedelta
    dispose: timedelta
    settle: timedelta


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    name_en: str
    parent: str | None
    handling_unit: str
    sla: Sla
    auto_accept: bool
    # How long after closing an official may still ask for advance compensation on a complaint.
    compensation_after_closing: timedelta = timedelta(days=DEFAULT_COMPENSATION_AFTER_CLOSING_DAYS)

    def out(self) -> RegionOut:
        return RegionOut(
            code=self.code, name=self.name, name_en=self.name_en, parent=self.parent, handling_unit=self.handling_unit
        )


class RegionCatalogue:
    def __init__(self, regions: list[Region]) -> None:
        self._by_code = {r.code: r for r in regions}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_code.values())

    def get(self, code: str) -> Region:
        region = self._by_code.get(code)
        if region is None:
            raise UnknownRegion(f"Region {code} is not served by this platform.", field="region_code")
        return region

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


def _sla(raw: dict[str, int], default: Sla | None = None) -> Sla:
    base = default or Sla(timedelta(minutes=3), timedelta(minutes=30), timedelta(hours=48))
    return Sla(
        accept=timedelta(seconds=raw.get("accept_seconds", base.accept.total_seconds())),
        dispose=timedelta(seconds=raw.get("dispose_seconds", base.dispose.total_seconds())),
        settle=timedelta(seconds=raw.get("settle_seconds", base.settle.total_seconds())),
    )


def _after_closing_days(raw: list[dict[str, Any]], default: int) -> dict[str, int]:
    """Each region's `compensation_after_closing_days`: its own, else its parent's (inherited down the tree),
    else the catalogue's default."""
    by_code = {r["code"]: r for r in raw}
    days: dict[str, int] = {}

    def of(code: str, seen: frozenset[str] = frozenset()) -> int:
        if code not in days:
            region = by_code[code]
            parent = region.get("parent")
            if "compensation_after_closing_days" in region:
                days[code] = int(region["compensation_after_closing_days"])
            elif parent in by_code and parent not in seen:
                days[code] = of(parent, seen | {code})
            else:
                days[code] = default
        return days[code]

    return {code: of(code) for code in by_code}


@lru_cache(maxsize=8)
def load_catalogue(path: Path) -> RegionCatalogue:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    default = _sla(doc.get("default_sla", {}))
    after_closing = _after_closing_days(
        doc["regions"], int(doc.get("default_compensation_after_closing_days", DEFAULT_COMPENSATION_AFTER_CLOSING_DAYS))
    )
    return RegionCatalogue(
        [
            Region(
                code=r["code"],
                name=r["name"],
                name_en=r.get("name_en", r["name"]),
                parent=r.get("parent"),
                handling_unit=r["handling_unit"],
                sla=_sla(r.get("sla", {}), default),
                auto_accept=r.get("auto_accept", True),
                compensation_after_closing=timedelta(days=after_closing[r["code"]]),
            )
            for r in doc["regions"]
        ]
    )
