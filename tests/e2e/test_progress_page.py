"""The tourists' progress page (/p/) and the case numbers in headless Chromium (Debian's, driven by Playwright)
against the whole system on loopback, at a phone's width (390x844) and a desktop's (1366x768): the link from
the submission opens the case, the tourist rejects a response, rates the handling, accepts another; a look-up
by case number and phone (a wrong phone refused); expired and altered links refused; no personal data on the
page; the console names the case by its number. Screenshots under test-results/progress/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.progress import issue_token
from shared.clock import system_clock
from tests.e2e.browser import WIDTHS, chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, System
from tests.factories import complaint_body, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "progress"
PHONE_VIEW, DESKTOP_VIEW = WIDTHS["phone"], WIDTHS["desktop"]
VIEWS = {"phone": PHONE_VIEW, "desktop": DESKTOP_VIEW}


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


def new_page(browser: Any, view: dict[str, int]) -> Any:
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=view,
        is_mobile=view is PHONE_VIEW,
        has_touch=view is PHONE_VIEW,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


class Gateway:
    """The API as the tourist's mini-program, the hotel and the official use it."""

    def __init__(self, system: System) -> None:
        self.http = httpx.Client(base_url=system.url, timeout=10)

    def login(self, path: str, body: dict[str, str]) -> dict[str, str]:
        r = self.http.post(path, json=body)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def staff(self, username: str) -> dict[str, str]:
        return self.login("/v1/auth/staff/login", {"username": username, "password": f"{username}-pass-e2e"})

    def post(self, path: str, who: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(path, headers=who, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()


@pytest.fixture(scope="module")
def gateway(system: System) -> Iterator[Gateway]:
    gw = Gateway(system)
    admin = gw.staff("admin")
    gw.post(
        "/v1/merchants",
        admin,
        {"id": HOTEL, "name": "三亚湾海景酒店", "uscc": uscc(HOTEL), "region_code": "460200", "industry": "lodging"},
    )
    gw.post(f"/v1/merchants/{HOTEL}/reviews", admin, {"decision": "approve"})
    yield gw
    gw.http.close()


def file_complaint(gw: Gateway, n: int) -> tuple[dict[str, Any], str]:
    """A tourist's complaint against the hotel (once intake has heard of it); the phone it was filed with."""
    tourist = gw.login("/v1/auth/wechat/login", {"code": f"demo-progress-{n}"})
    phone = f"13{n}88765432"
    deadline = time.monotonic() + 15
    while True:  # credit tells intake of the merchant through the outbox
        r = gw.http.post(
            "/v1/complaints",
            headers=tourist,
            json=complaint_body(
                merchant_id=HOTEL,
                contact_phone=phone,
                contact_name="王小明",
                description=f"第{n}次入住：预订了海景房，入住时却被安排在面对停车场的房间，前台拒绝退差价。",
            ),
        )
        if r.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 201, r.text
    return r.json(), phone


def assert_nothing_personal(page: Any, complaint: dict[str, Any], phone: str) -> None:
    text = page.locator("body").inner_text()
    for personal in (phone, phone[-4:], "王小明", complaint["description"][:8], complaint["id"]):
        assert personal not in text, personal


@pytest.mark.parametrize("view", ["phone", "desktop"])
def test_a_tourist_follows_the_case_from_the_link_rejects_the_response_and_rates_the_handling(
    system: System, gateway: Gateway, browser: Any, view: str
) -> None:
    complaint, phone = file_complaint(gateway, 1 if view == "phone" else 2)
    assert complaint["progress_url"].startswith(f"{system.url}/p/#")
    page = new_page(browser, VIEWS[view])
    page.goto(complaint["progress_url"])
    expect(page.locator("#state")).to_have_text("处理中")
    expect(page.locator("#case-number")).to_have_text(f"案件编号 {complaint['case_number']}")
    expect(page.locator("#summary")).to_contain_text("处置时限")
    expect(page.locator("#steps li")).to_have_count(3)
    assert "#" not in page.url, "the token leaves the address bar"
    assert_nothing_personal(page, complaint, phone)
    if view == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the page scrolls sideways"
    shot(page, f"{view}-1-assigned")

    hotel, sanya = gateway.staff("hotel"), gateway.staff("sanya")
    gateway.post(
        f"/v1/complaints/{complaint['id']}/responses",
        hotel,
        {"message": "已核实情况，同意退还房费差价300元。", "offered_refund_fen": 30000},
    )
    page.reload()  # the token stays with the tab
    expect(page.locator("#response")).to_contain_text("同意退还房费差价300元")
    expect(page.locator("#response")).to_contain_text("300.00元")
    shot(page, f"{view}-2-response")
    page.locator("#verdict textarea").fill("差价不止300元")
    page.get_by_role("button", name="不接受，申请调解").click()
    expect(page.locator("#state")).to_have_text("已升级")
    expect(page.locator("#notice")).to_contain_text("转工作人员调解")
    expect(page.locator("#verdict")).to_have_count(0)

    gateway.post(
        f"/v1/complaints/{complaint['id']}/resolutions",
        sanya,
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 50000},
    )
    page.reload()
    expect(page.locator("#state")).to_have_text("已办结")
    page.get_by_label("满意", exact=True).check()
    page.locator("#evaluate textarea").fill("处理及时，谢谢")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#notice")).to_contain_text("感谢您的评价")
    expect(page.locator("#state")).to_have_text("已结案")
    expect(page.locator("#summary")).to_contain_text("4分")
    expect(page.locator("#steps")).to_contain_text("不接受答复")
    assert_nothing_personal(page, complaint, phone)
    shot(page, f"{view}-3-rated")
    page.context.close()

    timeline = gateway.http.get(f"/v1/complaints/{complaint['id']}/timeline", headers=sanya).json()
    assert [e["kind"] for e in timeline if e["actor_role"] == "complaint_holder"] == ["response_rejected", "evaluated"]


def test_a_lookup_by_case_number_and_phone_opens_the_case_and_a_wrong_phone_does_not(
    system: System, gateway: Gateway, browser: Any
) -> None:
    complaint, phone = file_complaint(gateway, 3)
    gateway.post(
        f"/v1/complaints/{complaint['id']}/responses",
        gateway.staff("hotel"),
        {"message": "同意全额退款。", "offered_refund_fen": 128000},
    )
    page = new_page(browser, DESKTOP_VIEW)
    page.goto(f"{system.url}/p/")
    form = page.locator("#lookup")
    expect(form).to_be_visible()
    form.get_by_label("案件编号").fill(complaint["case_number"].replace("-", " "))
    form.get_by_label("联系电话").fill("13900000000")
    form.get_by_role("button", name="查询").click()
    expect(page.locator("#problem")).to_have_attribute("data-code", "case_not_found")
    expect(page.locator("#problem")).to_contain_text("没有找到")
    shot(page, "desktop-4-lookup-refused")
    form.get_by_label("联系电话").fill(phone)
    form.get_by_role("button", name="查询").click()
    expect(page.locator("#state")).to_have_text("已答复")
    expect(form).to_be_hidden()
    page.get_by_role("button", name="接受答复").click()
    expect(page.locator("#state")).to_have_text("已办结")
    expect(page.locator("#summary")).to_contain_text("已按商家答复办结")
    expect(page.locator("#summary")).to_contain_text("1280.00元")
    assert_nothing_personal(page, complaint, phone)
    shot(page, "desktop-5-accepted-after-lookup")
    page.context.close()


def test_expired_and_altered_links_are_refused_with_the_lookup_offered(
    system: System, gateway: Gateway, browser: Any
) -> None:
    complaint, _ = file_complaint(gateway, 4)
    token = complaint["progress_url"].split("#", 1)[1]
    expired, _ = issue_token(
        system.settings["gateway"], complaint["id"], timedelta(days=1), now=system_clock.now() - timedelta(days=2)
    )
    page = new_page(browser, PHONE_VIEW)
    for bad, code, name in (
        (expired, "progress_link_expired", "expired"),
        (token[:-3] + "xyz", "progress_link_invalid", "altered"),
    ):
        page.goto(f"{system.url}/p/#{bad}")
        expect(page.locator("#problem")).to_have_attribute("data-code", code)
        expect(page.locator("#lookup")).to_be_visible()
        expect(page.locator("#progress")).to_be_empty()
        shot(page, f"phone-6-link-{name}")
    page.context.close()


def test_the_console_names_the_case_by_its_number(system: System, gateway: Gateway, browser: Any) -> None:
    complaint, _ = file_complaint(gateway, 5)
    for view in ("desktop", "phone"):
        page = new_page(browser, VIEWS[view])
        page.goto(f"{system.url}/console/")
        page.get_by_label("用户名").fill("sanya")
        page.get_by_label("密码").fill("sanya-pass-e2e")
        page.get_by_role("button", name="登录").click()
        row = page.locator(f'#queue tr[data-id="{complaint["id"]}"]')
        expect(row.locator(".case-number")).to_have_text(complaint["case_number"])
        shot(page, f"{view}-7-console-queue")
        row.locator(".case-number").click()
        expect(page.locator("h2")).to_contain_text(complaint["case_number"])
        assert complaint["id"] not in page.locator("h2").inner_text()
        shot(page, f"{view}-8-console-case")
        page.context.close()
