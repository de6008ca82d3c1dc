"""A region's settings as a bureau has them: acceptance rules inherited with overrides, units, rules and sources
added to the parent's (the region's own first), assignment by source and by region, and the default region."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.intake.config import DATA_DIR, IntakeSettings
from services.intake.regions import AcceptanceSettings, RegionCatalogue, acceptance_of
from shared.contracts.identity import Identity, Role
from shared.divisions import divisions
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, official
from tests.factories import submit
from tests.support import Stack, running_stack

HAINAN, JIYANG = "460000", "460203"
YUNNAN, KUNMING, PANLONG, WUHUA = "530000", "530100", "530103", "530102"
ALICE = consumer("usr_ALICE")


def shipped() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    return doc


def catalogue(doc: dict[str, Any], acceptance: AcceptanceSettings | None = None) -> RegionCatalogue:
    return RegionCatalogue(
        divisions(),
        doc["defaults"],
        doc["regions"],
        acceptance=acceptance or AcceptanceSettings(),
        default_region=doc.get("default_region"),
    )


def written(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# --- acceptance rules ------------------------------------------------------------------------------------
def test_acceptance_rules_inherit_down_the_chain_from_the_services_settings() -> None:
    doc = shipped()
    doc["regions"][KUNMING]["acceptance"] = {"auto_accept": False, "complaint_window_days": 30}
    doc["regions"][PANLONG]["acceptance"] = {"min_description_chars": 20}
    service = acceptance_of(IntakeSettings(duplicate_window_hours=48))
    regions = catalogue(doc, service)
    # Panlong: its own shortest description, Kunming's window and manual acceptance, the service's duplicate window.
    assert regions.get(PANLONG).acceptance == AcceptanceSettings(
        auto_accept=False, complaint_window_days=30, duplicate_window_hours=48, min_description_chars=20
    )
    # Wuhua sets nothing: Kunming's; Yunnan and Hainan set nothing either: the service's.
    assert regions.get(WUHUA).acceptance.complaint_window_days == 30
    assert regions.get(WUHUA).acceptance.min_description_chars == 10
    assert regions.get(YUNNAN).acceptance == regions.get(SANYA).acceptance == service
    # The service's values are intake's settings; the file's `defaults` do not set them a second way.
    assert AcceptanceSettings() == acceptance_of(IntakeSettings())
    doc["defaults"]["acceptance"] = {"complaint_window_days": 60}
    with pytest.raises(ValueError, match="INTAKE_AUTO_ACCEPT"):
        catalogue(doc)
    # A regions file written before acceptance rules were per region is refused with what to write instead.
    older = shipped()
    older["regions"][PANLONG]["auto_accept"] = False
    with pytest.raises(ValueError, match='auto_accept is now in acceptance: write "acceptance"'):
        catalogue(older)


async def test_a_regions_acceptance_rules_decide_its_complaints(databases: Any, tmp_path: Path) -> None:
    doc = shipped()
    doc["regions"][SANYA]["acceptance"] = {
        "complaint_window_days": 7,
        "min_description_chars": 30,
        "duplicate_window_hours": 1,
    }
    regions_file = written(tmp_path, doc)
    overrides = {"intake": {"regions_file": regions_file, "complaint_window_days": 20}}
    async with running_stack(databases, tmp_path, overrides=overrides) as s:
        ten_days_ago = (s.clock.now() - timedelta(days=10)).isoformat()
        story = "海鲜店称重时缺斤短两，老板拒绝退款并且态度恶劣，还威胁不让我们离开店铺，请尽快处理此事"
        unregistered = {"merchant_id": None, "merchant_name": "某海鲜店", "occurred_at": ten_days_ago}
        # An event ten days old: out of Sanya's 7-day window, inside the service's 20 days that Haikou keeps.
        old = await submit(s, ALICE, description=story, **unregistered)
        assert (old["state"], old["not_accepted_reason"]) == ("not_accepted", "out_of_scope")
        assert "7日内" in old["not_accepted_note"]
        kept = await submit(s, consumer("usr_BOB"), description=story, region_code=HAIKOU, **unregistered)
        assert kept["state"] == "assigned"
        # Sanya's shortest description is 30 characters; Haikou keeps the service's 10.
        short = "海鲜店称重时缺斤短两，老板拒绝退款并且态度恶劣"
        recent = {**unregistered, "occurred_at": (s.clock.now() - timedelta(days=1)).isoformat()}
        refused = await submit(s, consumer("usr_CAROL"), description=short, **recent)
        assert (refused["state"], refused["not_accepted_reason"]) == ("not_accepted", "insufficient_information")
        assert "至少用30个字" in refused["not_accepted_note"]
        taken = await submit(s, consumer("usr_DAVE"), description=short, region_code=HAIKOU, **recent)
        assert taken["state"] == "assigned"
        # Sanya looks one hour back for a repeat: the same story two hours later is a new complaint here, while
        # Haikou (the service's 24 hours) refuses it as a duplicate.
        for region_code, second_state in ((SANYA, "assigned"), (HAIKOU, "not_accepted")):
            who = consumer(f"usr_ERIN_{region_code}")
            first = await submit(s, who, description=story, region_code=region_code, **recent)
            s.clock.advance(hours=2)
            again = await submit(s, who, description=story, region_code=region_code, **recent)
            assert (first["state"], again["state"]) == ("assigned", second_state), region_code

        detail = (await s.clients["intake"].get(f"/v1/regions/{JIYANG}", headers=s.as_(ADMIN))).json()
        rules = {"auto_accept": True, "complaint_window_days": 7, "duplicate_window_hours": 1}
        assert detail["acceptance"] == {**rules, "min_description_chars": 30}  # Sanya's, inherited by Jiyang
        assert detail["settings"]["acceptance"] == detail["acceptance"]
        haikou = (await s.clients["intake"].get(f"/v1/regions/{HAIKOU}", headers=s.as_(ADMIN))).json()
        assert haikou["acceptance"]["complaint_window_days"] == 20  # the service's setting


# --- lists add to the parent's ---------------------------------------------------------------------------
def test_units_rules_and_sources_add_to_the_parents_the_regions_own_first() -> None:
    doc = shipped()
    doc["regions"][SANYA]["sources"] = [
        {"channel": "partner", "name": "三亚旅游平台", "partner": "三亚旅游平台"},
        {"channel": "hotline_12345", "name": "三亚12345热线"},  # Hainan's 12345, renamed and moved first
    ]
    doc["regions"][KUNMING]["assignment_rules"] = [{"industry": "shopping", "unit": "530100-zhzx"}]
    regions = catalogue(doc)
    # Units: Jiyang's own, then Sanya's, then Hainan's; its own first is its default.
    jiyang = regions.get(JIYANG)
    assert [u.id for u in jiyang.settings.units] == ["460203-zhzx", "460200-lwj", "460000-lwt"]
    assert jiyang.default_unit is not None and jiyang.default_unit.id == "460203-zhzx"
    assert [u["id"] for u in jiyang.out().model_dump()["units"]] == ["460203-zhzx", "460200-lwj", "460000-lwt"]
    # Sources: Sanya's own in its order, then Hainan's it did not rename; a Sanya county counts the same.
    names = ["三亚旅游平台", "三亚12345热线", "“海南放心游”微信小程序", "“海南放心游”支付宝小程序", "12301平台"]
    assert [s.name for s in regions.get(SANYA).settings.sources] == names
    assert [s.name for s in jiyang.settings.sources] == names
    assert jiyang.source_name("hotline_12345") == "三亚12345热线"
    assert regions.get(HAIKOU).source_name("hotline_12345") == "12345市长热线"
    # Panlong names its sources in seeds/004's order; Kunming and Yunnan name none, so it is that order.
    assert [s.name for s in regions.get(PANLONG).settings.sources] == [
        "数字旅游平台",
        "12301平台",
        "12345市长投诉热线",
        "智旅通投诉平台",
        "“一机游”游客投诉平台",
    ]
    # Rules: Panlong's own shopping rule is tried before Kunming's; Wuhua has only Kunming's.
    panlong, wuhua = regions.get(PANLONG), regions.get(WUHUA)
    shopping = {"industry": "shopping", "channel": "partner", "source": None}
    assert [r.unit for r in panlong.settings.assignment_rules] == ["530103-zhzx", "530103-scjg", "530100-zhzx"]
    assert (unit := panlong.unit_for(**shopping, region_code=PANLONG)) and unit.id == "530103-scjg"
    assert (unit := wuhua.unit_for(**shopping, region_code=WUHUA)) and unit.id == "530100-zhzx"
    # A unit of the district's own, or of a city above it, is known there; a sister district's is not.
    assert panlong.unit("530100-zhzx") and panlong.unit("530000-wlt") and not wuhua.unit("530103-wlj")


# --- assignment rules: the source and region axes ---------------------------------------------------------
def test_a_rule_on_a_source_or_on_a_region_under_the_city_chooses_the_unit() -> None:
    doc = shipped()
    doc["regions"][PANLONG]["assignment_rules"].insert(0, {"source": "智旅通投诉平台", "unit": "530103-sbh"})
    doc["regions"][KUNMING]["units"].append({"id": "530100-wlj", "name": "昆明市文化和旅游局"})
    doc["regions"][KUNMING]["assignment_rules"] = [
        {"region": PANLONG, "channel": "hotline_12345", "unit": "530100-wlj"}
    ]
    regions = catalogue(doc)
    panlong, wuhua = regions.get(PANLONG), regions.get(WUHUA)

    def unit_of(region: Any, source: str | None, channel: str = "partner") -> str | None:
        unit = region.unit_for(industry="food", channel=channel, source=source, region_code=region.code)
        return unit.id if unit else None

    # Source: what came through 智旅通 goes to the scenic area's committee; another partner's to the bureau.
    assert unit_of(panlong, "智旅通投诉平台") == "530103-sbh"
    assert unit_of(panlong, "“一机游”游客投诉平台") == "530103-wlj"
    # Region: the city's rule for Panlong's 12345 calls reaches Panlong; Wuhua's go to its default, the center.
    assert unit_of(panlong, "12345市长投诉热线", "hotline_12345") == "530100-wlj"
    assert unit_of(panlong, None, "platform_12301") == "530103-wlj"
    assert unit_of(wuhua, None, "hotline_12345") == "530100-zhzx"
    # A rule's region may be a county of the city as well as the city: it covers what lies under it.
    doc["regions"][KUNMING]["assignment_rules"] = [
        {"region": KUNMING, "channel": "hotline_12345", "unit": "530100-wlj"}
    ]
    regions = catalogue(doc)
    assert unit_of(regions.get(WUHUA), None, "hotline_12345") == "530100-wlj"
    assert unit_of(regions.get(WUHUA), None, "platform_12301") == "530100-zhzx"


async def test_a_hainan_rule_for_sanya_and_its_districts_assigns_through_the_api(
    databases: Any, tmp_path: Path
) -> None:
    doc = shipped()
    doc["regions"][HAINAN]["assignment_rules"] = [{"region": SANYA, "industry": "shopping", "unit": "460200-lwj"}]
    doc["regions"][PANLONG]["assignment_rules"].insert(0, {"source": "智旅通投诉平台", "unit": "530103-sbh"})
    async with running_stack(databases, tmp_path, overrides={"intake": {"regions_file": written(tmp_path, doc)}}) as s:
        body = {"merchant_id": None, "merchant_name": "某珠宝店", "industry": "shopping"}
        # Region: a Jiyang shopping complaint goes to Sanya's bureau by Hainan's rule; Haikou's to its own unit.
        jiyang = await submit(s, ALICE, region_code=JIYANG, **body)
        assert jiyang["unit"] == {"kind": "unit", "id": "460200-lwj", "name": "三亚市旅游和文化广电体育局"}
        haikou = await submit(s, consumer("usr_BOB"), region_code=HAIKOU, **body)
        assert haikou["unit"]["id"] == "460100-lwj"
        # Source: a complaint the 智旅通 platform pushes to Panlong goes to the scenic area's committee.
        partner = Identity(subject="ptn_ZLT", role=Role.partner, display_name="智旅通投诉平台")
        pushed = await submit(
            s,
            partner,
            region_code=PANLONG,
            external_id="ZLT-1",
            industry="sightseeing",
            merchant_id=None,
            merchant_name="花之城",
        )
        assert pushed["source_name"] == "智旅通投诉平台" and pushed["unit"]["id"] == "530103-sbh"
        seen = await s.clients["intake"].get(f"/v1/complaints/{pushed['id']}", headers=s.as_(official(PANLONG)))
        assert seen.json()["unit"]["name"] == "花之城景区管委会"


# --- the default region ----------------------------------------------------------------------------------
async def test_hainan_is_the_default_region_the_list_marks(stack: Stack) -> None:
    listed = (await stack.clients["intake"].get("/v1/regions", headers=stack.as_(ADMIN))).json()
    assert [r["code"] for r in listed if r["default"]] == [HAINAN]
    assert listed[0]["code"] < HAINAN  # listed by code: the mark, not the order, says which
    detail = (await stack.clients["intake"].get(f"/v1/regions/{HAINAN}", headers=stack.as_(ADMIN))).json()
    assert detail["default"] and not detail["chain"]


def test_a_default_region_that_nothing_serves_fails_at_start_up() -> None:
    doc = shipped()
    doc["default_region"] = "110000"  # Beijing: neither served nor above a served region
    with pytest.raises(ValueError, match="110000"):
        catalogue(doc)
    doc["default_region"] = PANLONG
    assert catalogue(doc).get(PANLONG).default and not catalogue(doc).get(HAINAN).default
