"""The fund statement in the console (headless Chromium against the whole system on loopback): an official
picks a fund and a month and reads the month's figures and entries, as the ledger has them, in Chinese
and in English; a merchant sees the request to top up its deposit and its month. The screenshots are
written under test-results/console/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import SHANGHAI
from tests.e2e.browser import chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, System
from tests.factories import uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "console"


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_an_official_reads_a_funds_month_in_the_console(system: System, page: Any) -> None:
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        r = gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for amount, reference in ((1_000_000, "琼财预〔2026〕12号"), (234_567, "=HYPERLINK(1)")):
            r = gw.post("/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": amount, "reference": reference})
            assert r.status_code == 201, r.text
        month = system.clock.now().astimezone(SHANGHAI).strftime("%Y-%m")
        statement = gw.get(
            "/v1/reports/fund-statements", headers=admin, params={"region_code": "460200", "month": month}
        ).json()

    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("sanya")
    page.get_by_label("密码").fill("sanya-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#who")).to_contain_text("sanya")  # logged in, sent to the queue
    page.get_by_role("link", name="基金月报").click()
    form = page.locator("#fund-statement-form")
    form.locator('input[name="month"]').fill(month)
    form.get_by_role("button", name="生成").click()
    figures = page.locator("#fund-statement-figures")
    closing = f"{statement['closing_fen'] // 100}.{statement['closing_fen'] % 100:02d}"
    expect(figures.locator(".figure", has_text="期末余额").locator(".value")).to_have_text(closing)
    expect(figures.locator(".figure", has_text="本月注资").locator(".value")).to_have_text("12345.67")
    lines = page.locator("#fund-statement-lines tbody tr")
    expect(lines).to_have_count(len(statement["lines"]))
    expect(lines.last).to_contain_text("=HYPERLINK(1)")  # shown as text, never run
    expect(lines.first).to_contain_text("基金注资")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "7-fund-statement.png"), full_page=True)

    page.locator("#lang").select_option("en")
    expect(page.get_by_role("link", name="Fund statements")).to_be_visible()
    expect(figures).to_contain_text("Closing (yuan)")
    page.locator("#lang").select_option("zh")


def test_a_merchant_sees_the_request_to_top_up_its_deposit(system: System, page: Any) -> None:
    with httpx.Client(base_url=system.url, timeout=10) as gw:

        def login(username: str) -> dict[str, str]:
            r = gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin, sanya = login("admin"), login("sanya")
        r = gw.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": HOTEL,
                "name": "三亚湾海景酒店",
                "uscc": uscc(HOTEL),
                "region_code": "460200",
                "industry": "lodging",
                "in_compensation_program": True,
            },
        )
        assert r.status_code == 201, r.text
        assert gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}).is_success
        deadline = time.monotonic() + 15
        while gw.get(f"/v1/merchants/{HOTEL}/deposit", headers=sanya).status_code != 200:  # compensation hears of it
            assert time.monotonic() < deadline, "compensation never heard of the merchant"
            time.sleep(0.05)
        r = gw.post(
            f"/v1/merchants/{HOTEL}/deposit/top-ups", headers=admin, json={"amount_fen": 10_000, "reference": "保证金"}
        )
        assert r.status_code == 201, r.text
        assert gw.put(f"/v1/merchants/{HOTEL}/deposit/floor", headers=sanya, json={"floor_fen": 50_000}).is_success
        r = gw.post(
            f"/v1/merchants/{HOTEL}/deposit/top-up-requests",
            headers=sanya,
            json={"note": "请尽快补足保证金。", "due_days": 7},
        )
        assert r.status_code == 201, r.text

    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("hotel")
    page.get_by_label("密码").fill("hotel-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#who")).to_contain_text("hotel")  # logged in, sent to the queue
    page.get_by_role("link", name="本店保证金").click()
    expect(page.locator("#top-up-request")).to_contain_text("补缴保证金 400.00 元")
    expect(page.locator("#top-up-request")).to_contain_text("请尽快补足保证金。")
    figures = page.locator("#deposit-figures")
    expect(figures.locator(".figure", has_text="保证金余额").locator(".value")).to_have_text("100.00")
    expect(figures.locator(".figure", has_text="最低限额").locator(".value")).to_have_text("500.00")
    month = system.clock.now().astimezone(SHANGHAI).strftime("%Y-%m")
    page.locator('#deposit-month-form input[name="month"]').fill(month)
    page.locator("#deposit-month-form").get_by_role("button", name="生成").click()
    statement = page.locator("#deposit-statement")
    expect(statement.locator(".figure", has_text="本月缴纳").locator(".value")).to_have_text("100.00")
    expect(statement.locator(".figure", has_text="期末余额").locator(".value")).to_have_text("100.00")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "8-merchant-deposit.png"), full_page=True)
