"""The tourists' progress page's API through the gateway: a signed link opens it (expired or altered: refused),
so do the case number and the phone (a wrong phone answers as an unknown case; look-ups are limited); the
tourist accepts or rejects the response and rates the handling from it; it shows no personal data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.gateway.auth import create_staff
from services.gateway.config import GatewaySettings
from services.gateway.progress import TOKEN_HEADER, issue_token, page_link, progress_url, verify_token
from shared.clock import system_clock
from shared.contracts.identity import Role
from tests.conftest import merchant_staff, official
from tests.factories import HOTEL, act, complaint_body, settle_merchant
from tests.support import Stack

PHONE = "13912345678"
NAME = "王小明"


async def _filed(stack: Stack, code: str = "demo-progress", *, first: bool = True) -> dict[str, Any]:
    if first:
        await settle_merchant(stack)
    login = await stack.gateway.post("/v1/auth/wechat/login", json={"code": code})
    who = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = await stack.gateway.post(
        "/v1/complaints", headers=who, json=complaint_body(contact_phone=PHONE, contact_name=NAME)
    )
    assert response.status_code == 201, response.text
    return response.json()


def _token(url: str) -> str:
    return url.split("#", 1)[1]


async def _progress(stack: Stack, token: str) -> Any:
    return await stack.gateway.get("/v1/progress", headers={TOKEN_HEADER: token})


def _settings(stack: Stack) -> GatewaySettings:
    return stack.apps["gateway"].state.settings


async def test_the_submission_s_link_opens_the_progress_and_nothing_personal(stack: Stack) -> None:
    complaint = await _filed(stack)
    url = complaint["progress_url"]
    assert url.startswith(f"{_settings(stack).public_url}/p/#{complaint['id']}.")
    response = await _progress(stack, _token(url))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    progress = response.json()
    assert (progress["case_number"], progress["state"], progress["state_label"]) == (
        complaint["case_number"],
        "assigned",
        "处理中",
    )
    assert (progress["next_deadline"], progress["next_deadline_label"]) == ("dispose", "处置")
    assert [s["label"] for s in progress["timeline"]] == ["提交投诉", "已受理", "已交办处理"]
    text = response.text
    for personal in (PHONE, PHONE[-4:], NAME, complaint["description"][:10], complaint["consumer_id"], "usr_"):
        assert personal not in text, personal


async def test_expired_altered_and_foreign_links_are_refused(stack: Stack) -> None:
    complaint = await _filed(stack)
    settings = _settings(stack)
    token = _token(complaint["progress_url"])
    old, _ = issue_token(settings, complaint["id"], timedelta(days=1), now=system_clock.now() - timedelta(days=2))
    other = GatewaySettings(progress_link_secret="another-secret-of-at-least-32-characters")
    for bad, code in (
        (old, "progress_link_expired"),
        (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "progress_link_invalid"),  # signature altered
        (token.replace(complaint["id"], "cmp_01M96KNN5ZJPYAQQ5Q0M3DC28J"), "progress_link_invalid"),  # another case
        (_token(progress_url(other, complaint["id"])), "progress_link_invalid"),  # not signed with our secret
        ("garbage", "progress_link_invalid"),
    ):
        response = await _progress(stack, bad)
        assert (response.status_code, response.json()["code"]) == (401, code), bad
        assert (
            await stack.gateway.post("/v1/progress/evaluations", headers={TOKEN_HEADER: bad}, json={"score": 5})
        ).status_code == 401
    missing = await stack.gateway.get("/v1/progress")  # no token at all
    assert (missing.status_code, missing.json()["code"]) == (401, "progress_link_missing")
    assert verify_token(settings, token) == complaint["id"]


async def test_a_lookup_by_case_number_and_phone_and_its_limits(stack: Stack) -> None:
    complaint = await _filed(stack)
    lookups = "/v1/progress/lookups"
    found = await stack.gateway.post(
        lookups, json={"case_number": complaint["case_number"].replace("-", " "), "phone": PHONE}
    )
    assert found.status_code == 200, found.text
    assert (await _progress(stack, found.json()["token"])).json()["case_number"] == complaint["case_number"]
    wrong_phone = await stack.gateway.post(
        lookups, json={"case_number": complaint["case_number"], "phone": "13900000000"}
    )
    unknown = await stack.gateway.post(lookups, json={"case_number": "460200-20261120-0999", "phone": PHONE})
    assert wrong_phone.status_code == unknown.status_code == 404
    same = ("type", "title", "status", "detail", "code")
    assert {k: wrong_phone.json()[k] for k in same} == {k: unknown.json()[k] for k in same}
    assert wrong_phone.json()["code"] == "case_not_found"
    # Five look-ups of one case a minute (the settings' default); the sixth waits, whatever the phone.
    for _ in range(3):
        await stack.gateway.post(lookups, json={"case_number": complaint["case_number"], "phone": "13900000001"})
    limited = await stack.gateway.post(lookups, json={"case_number": complaint["case_number"], "phone": PHONE})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # ...and ten a minute from one address, whatever the case.
    for n in range(5):
        await stack.gateway.post(lookups, json={"case_number": f"460200-20261120-{n + 100:04d}", "phone": PHONE})
    elsewhere = await stack.gateway.post(lookups, json={"case_number": "469000-20261120-0001", "phone": PHONE})
    assert elsewhere.status_code == 429


async def test_the_tourist_rejects_accepts_and_rates_from_the_page(stack: Stack) -> None:
    first = await _filed(stack, "demo-verdicts")
    token = _token(first["progress_url"])
    headers = {TOKEN_HEADER: token}
    assert not (await _progress(stack, token)).json()["may_accept"]
    refused = await stack.gateway.post("/v1/progress/acceptances", headers=headers, json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")

    await act(
        stack,
        merchant_staff(HOTEL),
        first["id"],
        "responses",
        {"message": "已核实，同意退还差价300元。", "offered_refund_fen": 30000},
    )
    progress = (await _progress(stack, token)).json()
    assert (
        progress["may_accept"],
        progress["may_reject"],
        progress["response_text"],
        progress["offered_refund_fen"],
    ) == (True, True, "已核实，同意退还差价300元。", 30000)
    rejected = await stack.gateway.post("/v1/progress/rejections", headers=headers, json={"note": "差价不止300元"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["state"], rejected.json()["may_accept"]) == ("escalated", False)
    assert "phone" not in rejected.text and "contact" not in rejected.text  # the page's view, not the complaint

    await act(
        stack,
        official(),
        first["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 50000},
    )
    assert (await _progress(stack, token)).json()["may_evaluate"]
    rated = await stack.gateway.post(
        "/v1/progress/evaluations", headers=headers, json={"score": 4, "comment": "处理及时"}
    )
    assert rated.status_code == 200, rated.text
    assert (rated.json()["state"], rated.json()["satisfaction"], rated.json()["may_evaluate"]) == ("closed", 4, False)
    again = await stack.gateway.post("/v1/progress/evaluations", headers=headers, json={"score": 5})
    assert (again.status_code, again.json()["code"]) == (409, "already_evaluated")

    # Accepting a response resolves the complaint on its terms; the timeline names who did it in words only.
    second = await _filed(stack, "demo-accepts", first=False)
    await act(
        stack,
        merchant_staff(HOTEL),
        second["id"],
        "responses",
        {"message": "同意全额退款。", "offered_refund_fen": 128000},
    )
    accepted = await stack.gateway.post(
        "/v1/progress/acceptances", headers={TOKEN_HEADER: _token(second["progress_url"])}, json={}
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["state"], body["outcome_text"], body["amount_refunded_fen"]) == (
        "resolved",
        "已按商家答复办结",
        128000,
    )
    assert [(s["kind"], s["by"]) for s in body["timeline"]][-2:] == [("responded", "商家"), ("response_accepted", "您")]
    # The link of one complaint acts on that complaint only.
    assert (await stack.gateway.get(f"/v1/complaints/{second['id']}", headers=headers)).status_code == 401


def test_a_message_can_open_the_progress_page_in_a_web_view() -> None:
    settings = GatewaySettings(
        public_url="https://tour.example.com", progress_page="pages/web/view?url={progress_url}&id={complaint_id}"
    )
    page = page_link(settings, "cmp_01M96KNN5ZJPYAQQ5Q0M3DC28J")
    assert page.startswith("pages/web/view?url=https%3A%2F%2Ftour.example.com%2Fp%2F%23cmp_01M96KNN5ZJPYAQQ5Q0M3DC28J.")
    assert page.endswith("&id=cmp_01M96KNN5ZJPYAQQ5Q0M3DC28J")
    assert page_link(GatewaySettings(), "cmp_X") == "pages/complaint/detail?id=cmp_X"  # the default: unchanged


async def test_the_complainant_and_officials_may_hand_out_a_fresh_link_and_merchant_staff_may_not(stack: Stack) -> None:
    complaint = await _filed(stack, "demo-links")
    path = f"/v1/complaints/{complaint['id']}/progress-links"

    async def login(route: str, body: dict[str, str]) -> dict[str, str]:
        response = await stack.gateway.post(route, json=body)
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    owner = await login("/v1/auth/wechat/login", {"code": "demo-links"})
    stranger = await login("/v1/auth/wechat/login", {"code": "demo-stranger"})
    fresh = await stack.gateway.post(path, headers=owner)
    assert fresh.status_code == 201, fresh.text
    assert (await _progress(stack, _token(fresh.json()["url"]))).json()["case_number"] == complaint["case_number"]
    refused = await stack.gateway.post(path, headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (404, "complaint_not_found")
    assert (await stack.gateway.post(path)).status_code == 401
    async with stack.apps["gateway"].state.sessionmaker() as session:
        await create_staff(
            session,
            system_clock,
            username="hotel",
            password="hotel-pass-progress",
            role=Role.merchant_staff,
            merchant_id=HOTEL,
        )
        await session.commit()
    hotel = await login("/v1/auth/staff/login", {"username": "hotel", "password": "hotel-pass-progress"})
    denied = await stack.gateway.post(path, headers=hotel)  # the link would let them accept their own response
    assert (denied.status_code, denied.json()["code"]) == (403, "progress_link_not_allowed")
