"""The credit archive: review before live, scores with reasons, lists with notice and defence, repair,
benefits, and the assured consumption code."""

from __future__ import annotations

from typing import Any

from services.compensation.service import Compensation
from services.credit.models import Listing
from services.credit.signing import verify
from shared.contracts.identity import Identity, Role
from shared.ids import new_id
from tests.compensation.helpers import fund_region
from tests.compensation.test_recovery import paid_claim
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, merchant_id, settle_merchant, submit, uscc
from tests.support import Stack

ALICE = consumer("usr_ALICE")
STAFF = merchant_staff(HOTEL)
PUBLIC = Identity(subject="anonymous", role=Role.public)
SCENIC = merchant_id("SCENIC")
SCENIC2 = merchant_id("SCENIC2")


async def credit_of(stack: Stack, subject_id: str, who: Identity = ADMIN) -> dict[str, Any]:
    r = await stack.clients["credit"].get(f"/v1/credit/{subject_id}", headers=stack.as_(who))
    assert r.status_code == 200, r.text
    return r.json()


async def post(stack: Stack, who: Identity, path: str, body: dict[str, Any], expect: int) -> dict[str, Any]:
    r = await stack.clients["credit"].post(path, headers=stack.as_(who), json=body)
    assert r.status_code == expect, r.text
    return r.json()


async def get(stack: Stack, who: Identity, path: str, expect: int = 200, **params: Any) -> Any:
    r = await stack.clients["credit"].get(path, headers=stack.as_(who), params=params)
    assert r.status_code == expect, r.text
    return r.json() if r.headers["content-type"].endswith("json") else r


async def test_a_merchant_goes_live_on_review_and_its_code_resolves_to_its_public_profile(stack: Stack) -> None:
    body = {
        "name": "天涯海角游览区",
        "uscc": uscc("tianya"),
        "region_code": SANYA,
        "industry": "sightseeing",
        "in_integrity_alliance": True,
        "licences": [{"kind": "scenic_rating", "number": "5A-HN-0001"}],
        "contacts": [{"name": "王经理", "phone": "13800001111", "role": "complaints"}],
    }
    merchant = await post(stack, official(SANYA), "/v1/merchants", body, 201)
    assert merchant["status"] == "pending" and merchant["contacts"][0]["phone"] == "13800001111"
    mid = merchant["id"]
    await get(stack, official(SANYA), f"/v1/merchants/{mid}/code", 404)
    await get(stack, ALICE, f"/v1/merchants/{mid}", 404)  # not public before review
    await post(stack, official(HAIKOU), f"/v1/merchants/{mid}/reviews", {"decision": "approve"}, 404)
    live = await post(
        stack, official(SANYA), f"/v1/merchants/{mid}/reviews", {"decision": "approve", "note": "现场核验通过"}, 200
    )
    assert live["status"] == "live"
    again = await post(stack, official(SANYA), f"/v1/merchants/{mid}/reviews", {"decision": "reject"}, 409)
    assert again["code"] == "already_reviewed"
    seen_by_tourist = await get(stack, ALICE, f"/v1/merchants/{mid}")
    assert seen_by_tourist["contacts"][0]["phone"] == "138****1111"

    code = await get(stack, merchant_staff(mid), f"/v1/merchants/{mid}/code")
    assert code["state"] == "active" and code["url"].endswith(f"/c/{code['code']}")
    profile = await get(stack, PUBLIC, f"/v1/codes/{code['code']}")
    assert (profile["name"], profile["grade"], profile["merchant_id"]) == ("天涯海角游览区", "B", mid)
    assert profile["badges"] == ["integrity_alliance"] and profile["warnings"] == []
    assert profile["complain"]["prefill"] == {"merchant_id": mid, "region_code": SANYA, "industry": "sightseeing"}
    assert "13800001111" not in str(profile) and "王经理" not in str(profile)
    png = await get(stack, merchant_staff(mid), f"/v1/merchants/{mid}/code.png")
    svg = await get(stack, official(SANYA), f"/v1/merchants/{mid}/code.svg")
    assert png.content.startswith(b"\x89PNG") and b"<svg" in svg.content
    await get(stack, merchant_staff(HOTEL), f"/v1/merchants/{mid}/code.png", 404)  # another merchant's

    rated = await post(stack, ALICE, f"/v1/codes/{code['code']}/ratings", {"stars": 2, "comment": "排队太久"}, 201)
    assert rated["stars"] == 2
    too_soon = await post(stack, ALICE, f"/v1/codes/{code['code']}/ratings", {"stars": 5}, 409)
    assert too_soon["code"] == "rating_too_soon"
    assert (await get(stack, PUBLIC, f"/v1/codes/{code['code']}"))["figures"]["rating_average"] == 2.0

    # Through the gateway, as a CDN would ask: a short public age, then a 304 while nothing changed.
    scanned = await stack.gateway.get(f"/v1/codes/{code['code']}")
    assert scanned.status_code == 200 and scanned.headers["cache-control"] == "public, max-age=30"
    tag = scanned.headers["etag"]
    again = await stack.gateway.get(f"/v1/codes/{code['code']}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    await post(stack, merchant_staff(mid), f"/v1/merchants/{mid}/code/suspensions", {"note": "闭园检修"}, 200)
    assert (await get(stack, PUBLIC, f"/v1/codes/{code['code']}", 410))["code"] == "code_suspended"
    revalidated = await stack.gateway.get(f"/v1/codes/{code['code']}", headers={"If-None-Match": tag})
    assert revalidated.status_code == 410  # a cached copy asked again learns the code is gone
    fresh = await post(stack, official(SANYA), f"/v1/merchants/{mid}/code/reissues", {"note": "检修结束换码"}, 201)
    assert (await get(stack, PUBLIC, f"/v1/codes/{code['code']}", 410))["code"] == "code_replaced"
    assert (await get(stack, PUBLIC, f"/v1/codes/{fresh['code']}"))["name"] == "天涯海角游览区"
    assert (await get(stack, PUBLIC, "/v1/codes/NOSUCHCODE", 404))["code"] == "code_not_found"


async def test_the_profile_shows_the_red_list_as_a_badge_and_other_lists_as_warnings(stack: Stack) -> None:
    await settle_merchant(stack)
    code = await get(stack, STAFF, f"/v1/merchants/{HOTEL}/code")
    now = stack.clock.now()
    async with stack.apps["credit"].state.sessionmaker() as session:
        for name, state in (("red", "listed"), ("key_supervision", "listed"), ("dishonest", "noticed")):
            session.add(
                Listing(
                    id=new_id("lst"),
                    subject_id=HOTEL,
                    subject_kind="merchant",
                    region_code=SANYA,
                    list_name=name,
                    state=state,
                    reason="test",
                    basis=[],
                    noticed_at=now,
                    opened_by="test",
                    listed_at=now if state == "listed" else None,
                )
            )
        await session.commit()
    profile = await get(stack, PUBLIC, f"/v1/codes/{code['code']}")
    assert "red_list" in profile["badges"]
    assert profile["warnings"] == ["key_supervision"]  # on notice is not on the list yet
    assert profile["merchant_id"] == HOTEL and profile["complain"]["prefill"]["merchant_id"] == HOTEL


async def late_at_fault_complaint(stack: Stack, n: int) -> None:
    tourist = consumer(f"usr_TOURIST{n}")
    c = await submit(stack, tourist, description=f"第 {n} 位游客：预订海景房却被安排在停车场一侧，前台拒绝退差价。")
    stack.clock.advance(minutes=45)  # past the 30-minute disposal deadline
    await act(stack, STAFF, c["id"], "responses", {"message": "房型与订单一致。"})
    await act(stack, tourist, c["id"], "rejections", {"note": "订单写的是海景房"})
    await act(
        stack,
        official(SANYA),
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 30000},
    )
    await act(stack, tourist, c["id"], "evaluations", {"score": 1})


async def test_late_at_fault_complaints_lower_the_score_and_grade_with_reasons(stack: Stack) -> None:
    await settle_merchant(stack)
    before = await credit_of(stack, HOTEL, STAFF)
    assert (before["score"], before["grade"]) == (700, "B")
    for n in range(3):
        await late_at_fault_complaint(stack, n)
        await stack.deliver_events()
    after = await credit_of(stack, HOTEL, official(SANYA))
    reasons = {r["kind"]: (r["count"], r["points"]) for r in after["reasons"]}
    assert reasons["resolved_at_fault"][0] == 3 and reasons["resolved_at_fault"][1] == -120
    assert reasons["responded_late"] == (3, -45) and reasons["complaint_accepted"] == (3, -12)
    assert reasons["rating"] == (3, -24)
    assert after["score"] == 700 - 120 - 45 - 12 - 24 and after["grade"] == "C"
    assert after["reasons"][0]["kind"] == "resolved_at_fault"  # the largest reason first
    assert after["history"][0]["grade_after"] == "C" and "record" in after["history"][0]["cause"]
    assert after["figures"]["at_fault"] == 3 and after["figures"]["responded_late"] == 3
    # Three at-fault complaints in 90 days put the merchant on notice for key supervision.
    notice = next(x for x in after["listings"] if x["list_name"] == "key_supervision")
    assert notice["state"] == "noticed" and len(notice["basis"]) == 3
    # The consumer's honest complaint counts for her; her credit is hers (and her officials') to see.
    tourist = consumer("usr_TOURIST0")
    mine = await credit_of(stack, tourist.subject, tourist)
    assert {r["kind"]: r["count"] for r in mine["reasons"]} == {"honest_complaint": 1} and mine["score"] == 710
    await get(stack, consumer("usr_BOB"), f"/v1/credit/{tourist.subject}", 404)
    await get(stack, merchant_staff(merchant_id("OTHER")), f"/v1/credit/{HOTEL}", 404)
    # Events delivered again change nothing.
    records = await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records", limit=200)
    await stack.deliver_events()
    assert (await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records", limit=200)) == records


async def default_recovery(stack: Stack) -> None:
    await fund_region(stack, deposit_fen=0)
    await paid_claim(stack, "jack", 15_000)
    stack.clock.advance(days=31)
    async with stack.apps["compensation"].state.sessionmaker() as session:
        state = stack.apps["compensation"].state
        service = Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox)
        assert await service.recovery.default_overdue_recoveries() == 1
        await session.commit()
    await stack.deliver_events()


async def test_a_default_puts_the_merchant_on_notice_then_the_dishonest_list_and_repair_restores_it(
    stack: Stack,
) -> None:
    await default_recovery(stack)
    credit = await credit_of(stack, HOTEL, STAFF)
    assert credit["grade"] == "C" and credit["reasons"][0]["kind"] == "recovery_defaulted"
    notice = next(x for x in credit["listings"] if x["list_name"] == "dishonest")
    assert notice["state"] == "noticed"
    assert await stack.run_lists() == 0  # the defence period (5 days) is still running
    stack.clock.advance(days=5, minutes=1)
    late = await post(stack, STAFF, f"/v1/listings/{notice['id']}/defence", {"statement": "已经还了"}, 409)
    assert late["code"] == "defence_period_over"
    assert await stack.run_lists() == 1
    listing = await get(stack, STAFF, f"/v1/listings/{notice['id']}")
    assert listing["state"] == "listed" and listing["duration_days"] == 365
    public = await get(stack, PUBLIC, "/v1/lists/dishonest")
    assert [(x["subject_id"], x["subject_name"]) for x in public["items"]] == [(HOTEL, "三亚湾海景酒店")]
    code = await get(stack, STAFF, f"/v1/merchants/{HOTEL}/code")
    assert (await get(stack, PUBLIC, f"/v1/codes/{code['code']}"))["warnings"] == ["dishonest"]

    repair = {
        "listing_id": notice["id"],
        "statement": "已全额偿还并完成整改培训。",
        "evidence": ["银行回单 2026-12-20"],
    }
    early = await post(stack, STAFF, "/v1/credit-repairs", repair, 409)
    assert early["code"] == "repair_too_early"
    stack.clock.advance(days=181)
    other = await post(stack, merchant_staff(merchant_id("OTHER")), "/v1/credit-repairs", repair, 404)
    assert other["code"] == "listing_not_found"
    applied = await post(stack, STAFF, "/v1/credit-repairs", repair, 201)
    assert applied["state"] == "pending"
    twice = await post(stack, STAFF, "/v1/credit-repairs", repair, 409)
    assert twice["code"] == "repair_pending"
    await post(
        stack,
        official(HAIKOU),
        f"/v1/credit-repairs/{applied['id']}/decisions",
        {"decision": "approve", "note": "x"},
        404,
    )
    decided = await post(
        stack,
        official(SANYA),
        f"/v1/credit-repairs/{applied['id']}/decisions",
        {"decision": "approve", "note": "整改到位，准予修复"},
        200,
    )
    assert decided["state"] == "approved"
    restored = await credit_of(stack, HOTEL, STAFF)
    assert restored["grade"] == "B" and restored["history"][0]["cause"] == f"repair {applied['id']}"
    assert restored["history"][0]["grade_before"] == "C"
    ended = next(x for x in restored["listings"] if x["id"] == notice["id"])
    assert (ended["state"], ended["end_reason"]) == ("ended", "repaired")
    records = (await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records"))["items"]
    assert next(r for r in records if r["kind"] == "recovery_defaulted")["repaired_at"] is not None  # kept
    assert (await get(stack, PUBLIC, "/v1/lists/dishonest"))["items"] == []


async def test_a_notice_can_be_answered_and_withdrawn_and_bounds_are_kept(stack: Stack) -> None:
    await settle_merchant(stack)
    path = "/v1/lists/key_supervision/notices"
    short = await post(stack, official(SANYA), path, {"subject_id": HOTEL, "reason": "x", "duration_days": 30}, 422)
    assert short["code"] == "duration_out_of_bounds"
    red = await post(stack, official(SANYA), "/v1/lists/red/notices", {"subject_id": HOTEL, "reason": "x"}, 409)
    assert red["code"] == "list_is_automatic"
    await post(stack, official(HAIKOU), path, {"subject_id": HOTEL, "reason": "x"}, 404)
    notice = await post(stack, official(SANYA), path, {"subject_id": HOTEL, "reason": "多次被投诉价格不透明"}, 201)
    dup = await post(stack, official(SANYA), path, {"subject_id": HOTEL, "reason": "again"}, 409)
    assert dup["code"] == "already_on_list"
    await post(
        stack, merchant_staff(merchant_id("OTHER")), f"/v1/listings/{notice['id']}/defence", {"statement": "x"}, 404
    )
    defended = await post(
        stack, STAFF, f"/v1/listings/{notice['id']}/defence", {"statement": "已全部整改，价目表已公示。"}, 200
    )
    assert defended["defence"].startswith("已全部整改")
    stack.clock.advance(days=6)
    assert await stack.run_lists() == 0  # a stated case waits for the official
    withdrawn = await post(
        stack,
        official(SANYA),
        f"/v1/listings/{notice['id']}/decisions",
        {"decision": "withdraw", "note": "申辩成立"},
        200,
    )
    assert (withdrawn["state"], withdrawn["end_reason"]) == ("ended", "withdrawn")

    listed = await post(stack, official(SANYA), path, {"subject_id": HOTEL, "reason": "复查仍不透明"}, 201)
    await post(stack, official(SANYA), f"/v1/listings/{listed['id']}/decisions", {"decision": "list", "note": "x"}, 200)
    early = await post(
        stack, official(SANYA), f"/v1/listings/{listed['id']}/decisions", {"decision": "remove", "note": "x"}, 409
    )
    assert early["code"] == "minimum_period_not_over"
    stack.clock.advance(days=181)
    assert await stack.run_lists() == 1  # 180 days by default: expired
    assert (await get(stack, STAFF, f"/v1/listings/{listed['id']}"))["end_reason"] == "expired"


async def test_a_good_credit_consumer_gets_a_free_first_ticket_once_per_scenic_spot(stack: Stack) -> None:
    await settle_merchant(stack, SCENIC, name="南山文化旅游区", industry="sightseeing")
    await settle_merchant(stack, SCENIC2, name="蜈支洲岛", industry="sightseeing")
    gate = merchant_staff(SCENIC, subject="usr_GATE")
    ask = {"consumer": ALICE.subject, "benefit": "free_first_ticket", "merchant": SCENIC}
    key = await get(stack, PUBLIC, "/v1/benefits/signing-key")
    before = await get(stack, ALICE, "/v1/benefits/eligibility", **ask)
    assert (before["eligible"], before["reasons"], before["grade"]) == (False, ["grade_too_low"], "B")
    no_one = await post(
        stack,
        official(SANYA),
        "/v1/credit/usr_NOBODY/records",
        {"kind": "honour", "note": "x", "honour": "中国好人"},
        404,
    )
    assert no_one["code"] == "subject_not_found"
    await credit_of(stack, ALICE.subject, ALICE)  # she opens her credit page: the archive knows her
    await post(
        stack,
        official(SANYA),
        f"/v1/credit/{ALICE.subject}/records",
        {"kind": "honour", "note": "中国好人榜 2026 年 9 月", "honour": "中国好人"},
        201,
    )
    assert (await credit_of(stack, ALICE.subject, ALICE))["grade"] == "A"

    answer = await get(stack, gate, "/v1/benefits/eligibility", **ask)
    assert answer["eligible"] and answer["reasons"] == [] and answer["key_id"] == key["key_id"]
    assert verify(answer, key["public_key"])
    assert not verify({**answer, "eligible": False}, key["public_key"])  # tampering breaks the signature
    await get(stack, consumer("usr_BOB"), "/v1/benefits/eligibility", 403, **ask)

    body = {"benefit": "free_first_ticket", "consumer_id": ALICE.subject, "merchant_id": SCENIC}
    await post(stack, merchant_staff(SCENIC2), "/v1/benefits/redemptions", body, 403)
    used = await post(stack, gate, "/v1/benefits/redemptions", body, 201)
    assert used["merchant_id"] == SCENIC
    twice = await post(stack, gate, "/v1/benefits/redemptions", body, 409)
    assert twice["code"] == "benefit_already_redeemed"
    assert (await get(stack, gate, "/v1/benefits/eligibility", **ask))["reasons"] == ["already_redeemed"]
    elsewhere = await get(stack, ALICE, "/v1/benefits/eligibility", **{**ask, "merchant": SCENIC2})
    assert elsewhere["eligible"]  # once per scenic spot
    hotel = await get(stack, ALICE, "/v1/benefits/eligibility", **{**ask, "merchant": HOTEL}, expect=404)
    assert hotel["code"] == "merchant_not_found"
    await settle_merchant(stack)
    hotel = await get(stack, ALICE, "/v1/benefits/eligibility", **{**ask, "merchant": HOTEL})
    assert hotel["reasons"] == ["merchant_not_covered"]
    unknown = await get(stack, ALICE, "/v1/benefits/eligibility", 404, **{**ask, "benefit": "free_lunch"})
    assert unknown["code"] == "benefit_not_found"


async def test_bad_input_is_refused_with_a_stable_code_and_changes_nothing(stack: Stack) -> None:
    await settle_merchant(stack)
    lic = {"kind": "business_licence", "number": "LIC-0001"}
    await post(
        stack,
        ADMIN,
        "/v1/merchants",
        {"name": "甲", "uscc": uscc("a"), "region_code": SANYA, "industry": "food", "licences": [lic]},
        201,
    )
    dup = await post(
        stack,
        ADMIN,
        "/v1/merchants",
        {"name": "乙", "uscc": uscc("b"), "region_code": SANYA, "industry": "food", "licences": [lic]},
        409,
    )
    assert dup["code"] == "licence_taken"
    assert (await get(stack, ADMIN, "/v1/merchants", status="pending", name="乙"))["items"] == []
    guide = {
        "name": "李导游",
        "kind": "tour_guide",
        "licence_number": "D-4602-001234",
        "merchant_id": HOTEL,
        "phone": "13900002222",
    }
    registered = await post(stack, STAFF, "/v1/practitioners", guide, 201)
    assert registered["phone"] == "13900002222"
    assert (await get(stack, ALICE, f"/v1/practitioners/{registered['id']}"))["phone"] == "139****2222"
    assert (await post(stack, STAFF, "/v1/practitioners", {**guide, "name": "王导游"}, 409))["code"] == "licence_taken"
    await post(
        stack, merchant_staff(merchant_id("OTHER")), "/v1/practitioners", {**guide, "licence_number": "D-2"}, 404
    )
    count = len((await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records"))["items"])
    wrong = await post(
        stack, official(SANYA), f"/v1/credit/{HOTEL}/records", {"kind": "malicious_complaint", "note": "x"}, 422
    )
    assert wrong["code"] == "record_kind_not_applicable"
    future = await post(
        stack,
        official(SANYA),
        f"/v1/credit/{HOTEL}/records",
        {"kind": "penalty", "note": "x", "occurred_at": "2030-01-01T00:00:00Z"},
        422,
    )
    assert future["code"] == "timestamp_in_future"
    await post(stack, official(HAIKOU), f"/v1/credit/{HOTEL}/records", {"kind": "penalty", "note": "x"}, 404)
    await post(stack, STAFF, f"/v1/credit/{HOTEL}/records", {"kind": "commendation", "note": "自夸"}, 403)
    assert len((await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records"))["items"]) == count
    penalty = await post(
        stack,
        official(SANYA),
        f"/v1/credit/{registered['id']}/records",
        {"kind": "penalty", "note": "擅自变更行程", "reference": "三旅罚〔2026〕3号"},
        201,
    )
    assert penalty["label"] == "行政处罚"
    assert (await credit_of(stack, registered["id"], STAFF))["score"] == 550


async def test_a_batch_of_events_is_recorded_together_and_each_subject_rescored_once(stack: Stack) -> None:
    await settle_merchant(stack)
    for n in range(3):
        await submit(stack, consumer(f"usr_BATCH{n}"), description=f"第 {n} 位游客：景区门票实收比标价多了五十元。")
    assert await stack.deliver_events() >= 3  # the three complaint.accepted reach credit in one batch
    after = await credit_of(stack, HOTEL)
    assert {r["kind"]: (r["count"], r["points"]) for r in after["reasons"]} == {"complaint_accepted": (3, -12)}
    [change] = after["history"]  # one rescore, naming the batch's three records as its cause
    assert (change["score_before"], change["score_after"]) == (None, 688)  # its first score
    assert change["cause"].count("record complaint_accepted rec_") == 3
    records = (await get(stack, ADMIN, f"/v1/credit/{HOTEL}/records", limit=200))["items"]
    assert len({r["id"] for r in records}) == 3 and len({r["reference"] for r in records}) == 3


async def test_the_batch_recompute_agrees_with_the_per_event_scores_and_follows_decay(stack: Stack) -> None:
    from services.credit.archive import recompute_all

    await settle_merchant(stack)
    await late_at_fault_complaint(stack, 0)
    await stack.deliver_events()
    before = await credit_of(stack, HOTEL)
    state = stack.apps["credit"].state
    totals = await recompute_all(state.sessionmaker, stack.clock, state.outbox, state.settings.defence_days)
    assert totals["changed"] == 0 and totals["subjects"] == 2 and totals["records"] == 5
    assert (await credit_of(stack, HOTEL))["score"] == before["score"]
    stack.clock.advance(days=365)  # a year on, every record counts half
    totals = await recompute_all(state.sessionmaker, stack.clock, state.outbox, state.settings.defence_days)
    after = await credit_of(stack, HOTEL)
    assert totals["changed"] == 2 and after["history"][0]["cause"] == "batch v1"
    assert abs(after["score"] - (700 + (before["score"] - 700) / 2)) <= 1


async def test_an_outside_score_is_a_second_way_into_a_benefit_never_part_of_the_score(stack: Stack) -> None:
    await settle_merchant(stack)  # in the integrity alliance
    bob, carol = consumer("usr_BOB"), consumer("usr_CAROL")
    for who in (bob, carol):
        await credit_of(stack, who.subject, who)
    ask = {"consumer": bob.subject, "benefit": "pay_later", "merchant": HOTEL}
    assert (await get(stack, bob, "/v1/benefits/eligibility", **ask))["reasons"] == ["grade_too_low"]  # B, no score
    path = f"/v1/credit/{bob.subject}/external-scores"
    off = await post(stack, ADMIN, path, {"source": "sesame", "score": 990}, 422)
    assert off["code"] == "external_score_off_scale"
    unknown = await post(stack, ADMIN, path, {"source": "guess", "score": 700}, 422)
    assert unknown["code"] == "unknown_external_source"
    await post(stack, bob, path, {"source": "sesame", "score": 700}, 403)
    stale = stack.clock.now().replace(year=2026, month=8, day=1).isoformat()
    await post(stack, ADMIN, path, {"source": "sesame", "score": 700, "observed_at": stale}, 201)
    assert (await get(stack, bob, "/v1/benefits/eligibility", **ask))["reasons"] == ["grade_too_low"]  # too old
    await post(stack, ADMIN, path, {"source": "sesame", "score": 700}, 201)
    assert (await get(stack, bob, "/v1/benefits/eligibility", **ask))["eligible"]
    mine = await credit_of(stack, bob.subject, bob)
    assert mine["score"] == 700 and [(e["source"], e["score"]) for e in mine["external_scores"]] == [("sesame", 700)]
    assert mine["history"][0]["cause"] == "first look"  # the outside score moved nothing

    # A low grade is not lifted by any outside score.
    for _ in range(2):
        await post(
            stack,
            official(SANYA),
            f"/v1/credit/{carol.subject}/records",
            {"kind": "malicious_complaint", "note": "经查捏造事实"},
            201,
        )
    await post(stack, ADMIN, f"/v1/credit/{carol.subject}/external-scores", {"source": "sesame", "score": 900}, 201)
    theirs = await get(stack, carol, "/v1/benefits/eligibility", **{**ask, "consumer": carol.subject})
    assert theirs["grade"] == "D" and theirs["reasons"] == ["grade_too_low"]
    merchant = await post(stack, ADMIN, f"/v1/credit/{HOTEL}/external-scores", {"source": "jinye", "score": 800}, 422)
    assert merchant["code"] == "record_kind_not_applicable"
