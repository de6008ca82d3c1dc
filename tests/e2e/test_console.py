"""The console in headless Chromium (Debian's, driven by Playwright) against the whole system on loopback:
an official logs in, finds the overdue complaint in the queue, resolves it, and opens the week's report
with its charts; the public figures page answers without a login. Each page's screenshot is written
under test-results/console/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import SHANGHAI
from tests.e2e.browser import chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, OTHER, System
from tests.factories import complaint_body, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "console"


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    """Playwright's sync API holds this thread's event loop while it runs, so it starts after the system
    (whose setup runs coroutines) and stops before the system's teardown, within this module only."""
    with chromium(sync_api) as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def overdue_complaint(system: System) -> str:
    """A merchant settled in, a tourist's complaint assigned to it, and 31 minutes without an answer."""
    with httpx.Client(base_url=system.url, timeout=10) as gw:

        def login(path: str, body: dict[str, str]) -> dict[str, str]:
            r = gw.post(path, json=body)
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin = login("/v1/auth/staff/login", {"username": "admin", "password": "admin-pass-e2e"})
        r = gw.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": HOTEL,
                "name": "三亚湾海景酒店",
                "uscc": uscc(HOTEL),
                "region_code": "460200",
                "industry": "lodging",
            },
        )
        assert r.status_code == 201, r.text
        r = gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"})
        assert r.status_code == 200, r.text
        alice = login("/v1/auth/wechat/login", {"code": "demo-console-alice"})
        deadline = time.monotonic() + 15
        while True:  # credit tells intake of the merchant through the outbox
            created = gw.post("/v1/complaints", headers=alice, json=complaint_body(merchant_id=HOTEL))
            if created.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        system.clock.advance(timedelta(minutes=31))
        while gw.get(f"/v1/complaints/{complaint_id}", headers=alice).json()["state"] != "escalated":
            assert time.monotonic() < deadline + 15, "the scheduler did not escalate the complaint"
            time.sleep(0.05)
        return complaint_id


def test_an_official_works_the_overdue_queue_and_reads_the_weekly_report(system: System, page: Any) -> None:
    complaint_id = overdue_complaint(system)
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("sanya")
    page.get_by_label("密码").fill("sanya-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()

    page.get_by_label("只看超时").check()
    page.get_by_role("button", name="刷新").click()
    row = page.locator(f'#queue tr[data-id="{complaint_id}"]')
    expect(row).to_have_class("overdue")
    expect(row.locator(".badge.overdue")).to_contain_text("超时")
    expect(row.locator(".countdown")).to_contain_text("已超时")
    shot(page, "1-queue-overdue")

    row.get_by_role("link").click()
    expect(page.locator("#timeline")).to_contain_text("超过办理时限")
    expect(page.locator("#timeline")).to_contain_text("已通知游客")  # the tourist's WeChat message, in words
    page.locator('button[data-action="resolutions"]').click()
    form = page.locator('form[data-action="resolutions"]')
    form.locator('select[name="outcome"]').select_option("mediated")  # nothing is preselected
    form.locator('select[name="at_fault"]').select_option("merchant")
    form.locator('input[name="amount_refunded_fen"]').fill("128.00")
    form.locator('textarea[name="note"]').fill("已调解，商户退还差价。")
    form.get_by_role("button", name="提交").click()
    page.locator('#confirm-dialog button[data-choice="ok"]').click()  # 办结 asks first
    expect(page.locator("#message")).to_contain_text("已完成")
    expect(page.locator("dl.facts")).to_contain_text("已办结")
    expect(page.locator("dl.facts")).to_contain_text("128.00")
    shot(page, "2-complaint-resolved")

    day = system.clock.now().astimezone(SHANGHAI).date()
    page.get_by_role("link", name="统计报表").click()
    report = page.locator("#report-form")
    report.locator('input[name="from"]').fill((day - timedelta(days=6)).isoformat())
    report.locator('input[name="to"]').fill(day.isoformat())
    report.get_by_role("button", name="生成").click()
    expect(page.locator("#report-text")).to_contain_text("有效投诉件1件")
    expect(page.locator("#report-figures")).to_contain_text("收到投诉件")
    # Recovered comes from compensation's own figures, asked beside the report.
    expect(page.locator(".figure", has_text="已追偿").locator(".value")).to_have_text("0.00")
    expect(page.locator("#report-charts svg.chart")).to_have_count(5)
    expect(page.locator("#report-charts rect").first).to_be_visible()
    shot(page, "3-weekly-report")

    page.locator("#lang").select_option("en")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()
    expect(page.locator("#report-figures")).to_contain_text("Received")
    page.locator("#lang").select_option("zh")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.get_by_role("link", name="投诉队列").click()
    expect(page.locator("#queue")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the queue scrolls sideways"
    shot(page, "5-queue-phone")


def test_the_public_figures_page_needs_no_login_and_shows_messages_not_traces(system: System, page: Any) -> None:
    page.goto(f"{system.url}/public/")
    expect(page.locator("#figures-table")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("入驻商户")
    shot(page, "4-public-figures")
    page.locator('input[name="from"]').fill("2026-12")
    page.locator('input[name="to"]').fill("2026-01")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#message .message.error")).to_have_attribute("data-code", "bad_period")


def test_a_wrong_password_is_a_message_on_the_login_page(system: System, page: Any) -> None:
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("sanya")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#message .message.error")).to_be_visible()
    expect(page.locator("#queue")).to_have_count(0)


def test_a_scanned_code_opens_the_merchants_public_profile(system: System, page: Any) -> None:
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        r = gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        code = gw.get(f"/v1/merchants/{HOTEL}/code", headers=admin).json()["code"]
    page.goto(f"{system.url}/c/{code}")  # what the QR image encodes
    expect(page.locator("#merchant-name")).to_have_text("三亚湾海景酒店")
    expect(page.locator("#grade")).to_have_text("B")
    shot(page, "6-assured-code")
    page.goto(f"{system.url}/c/NOSUCHCODE")
    expect(page.locator("#problem")).to_have_attribute("data-code", "code_not_found")


def test_an_official_approves_a_merchant_waiting_for_review(system: System, page: Any) -> None:
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        r = gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = gw.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": OTHER,
                "name": "椰梦长廊民宿",
                "uscc": uscc(OTHER),
                "region_code": "460200",
                "industry": "lodging",
            },
        )
        assert r.status_code == 201, r.text
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("sanya")
    page.get_by_label("密码").fill("sanya-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()
    page.get_by_role("link", name="商户").click()
    waiting = page.locator("#pending-merchants tr", has_text="椰梦长廊民宿")
    expect(waiting).to_be_visible()
    shot(page, "7-merchant-review")
    waiting.get_by_role("button", name="通过").click()
    expect(page.locator("#live-merchants tr", has_text="椰梦长廊民宿")).to_be_visible()
    expect(page.locator("#pending-merchants")).to_contain_text("没有待审核的商户")
