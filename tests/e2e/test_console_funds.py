"""The fund statement in the console (headless Chromium against the whole system on loopback): an official
picks a fund and a month and reads the month's figures and entries, as the ledger has them, in Chinese
and in English. The screenshot is written under test-results/console/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import SHANGHAI
from tests.e2e.browser import chromium, playwright_or_skip
from tests.e2e.conftest import System

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
    expect(page.get_by_text("队列为空")).to_be_visible()  # logged in, on the queue
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
