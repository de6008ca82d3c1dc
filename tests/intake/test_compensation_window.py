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


def test_hainans_regions_allow_30_days_after_closing() -> None:
    regions = load_catalogue(DATA_DIR / "regions.json")
    assert {regions.get(code).compensation_after_closing for code in ("460000", "460200", "460100", "469001")} == {
        timedelta(days=30)
    }


def test_a_region_sets_its_own_window_and_its_sub_regions_inherit_it(tmp_path: Path) -> None:
    doc = {
        "defaults": {"served": True, "compensation_after_closing_days": 45},
        "regions": {
            "460200": {"compensation_after_closing_days": 10},
            "460203": {"compensation_after_closing_days": 60},
        },
    }
    regions = load_catalogue(catalogue(tmp_path, doc))
    days = {code: regions.get(code).compensation_after_closing.days for code in ("460000", "460200", "460202")}
    assert days == {"460000": 45, "460200": 10, "460202": 10}
    assert regions.get("460203").compensation_after_closing == timedelta(days=60)
    assert regions.get("460100").compensation_after_closing == timedelta(days=45)


def test_without_a_setting_the_window_is_30_days(tmp_path: Path) -> None:
    regions = load_catalogue(catalogue(tmp_path, {"defaults": {"served": True}, "regions": {}}))
    assert regions.get("460000").compensation_after_closing == timedelta(days=30)
