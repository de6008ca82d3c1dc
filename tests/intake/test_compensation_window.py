"""How long after closing a complaint may still be compensated: set per region in the catalogue, inherited by
sub-regions, 30 days unless said otherwise. (The requests themselves: tests/e2e/test_payee_name_journey.py.)"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from services.intake.config import DATA_DIR
from services.intake.regions import load_catalogue


def catalogue(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def region(code: str, parent: str | None, **fields: object) -> dict:
    return {"code": code, "name": code, "parent": parent, "handling_unit": f"unit {code}", **fields}


def test_hainans_regions_allow_30_days_after_closing() -> None:
    regions = load_catalogue(DATA_DIR / "regions.json")
    assert {r.compensation_after_closing for r in regions} == {timedelta(days=30)}


def test_a_region_sets_its_own_window_and_its_sub_regions_inherit_it(tmp_path: Path) -> None:
    doc = {
        "default_compensation_after_closing_days": 45,
        "regions": [
            region("460000", None),
            region("460200", "460000", compensation_after_closing_days=10),
            region("460202", "460200"),
            region("460203", "460200", compensation_after_closing_days=60),
            region("460100", "460000"),
        ],
    }
    regions = load_catalogue(catalogue(tmp_path, doc))
    days = {code: regions.get(code).compensation_after_closing.days for code in ("460000", "460200", "460202")}
    assert days == {"460000": 45, "460200": 10, "460202": 10}
    assert regions.get("460203").compensation_after_closing == timedelta(days=60)
    assert regions.get("460100").compensation_after_closing == timedelta(days=45)


def test_without_a_catalogue_default_the_window_is_30_days(tmp_path: Path) -> None:
    regions = load_catalogue(catalogue(tmp_path, {"regions": [region("460000", None)]}))
    assert regions.get("460000").compensation_after_closing == timedelta(days=30)
