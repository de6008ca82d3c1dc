"""The console's queue in headless Chromium (Debian's) against the whole system on loopback, with more open
cases than a page holds: totals, every page, late cases first by how late with the deadline they missed and
by how much, the overdue counter on every screen, search and filters, pages that hold still as cases
arrive; and the handling official's recorded reveal of the tourist's phone, seen by the supervisors.
Desktop (1366×768) and phone (390×844) widths; screenshots under test-results/console-queue/."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.auth import create_staff
from shared.clock import SHANGHAI, system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from tests.e2e.browser import chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, System
from tests.factories import complaint_body, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "console-queue"
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
LATE_PHONE = "13900000001"


@dataclass
class Queue:
    late: list[str]  # the longest late first
    fresh: list[str]  # on time, nearest deadline first
    snack_bar: list[str]  # an unregistered restaurant's, by walk-in
    cockroach: str  # the one whose description says 蟑螂

    @property
    def all(self) -> list[str]:
        return self.late + self.fresh


def login(gw: httpx.Client, username: str) -> dict[str, str]:
    r = gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def file(gw: httpx.Client, sanya: dict[str, str], n: int, **fields: Any) -> str:
    body = complaint_body(
        channel="hotline_12345",
        merchant_id=HOTEL,
        contact_phone=f"1390000{n:04d}",
        contact_name=f"游客{n}",
        description=f"第{n}号来电：预订的海景房{n}号被换成了面对停车场的房间，前台拒绝退差价。",
    )
    body.update(fields)
    r = gw.post("/v1/complaints", headers=sanya, json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module", autouse=True)
def province(system: System) -> None:
    """A provincial official: Sanya's supervisor (before the browser holds this thread's event loop)."""

    async def add() -> None:
        engine = create_engine(system.settings["gateway"])
        async with create_sessionmaker(engine)() as session:
            await create_staff(
                session,
                system_clock,
                username="hainan",
                password="hainan-pass-e2e",
                role=Role.official,
                region_code="460000",
                display_name="省督办员",
            )
            await session.commit()
        await engine.dispose()

    asyncio.run(add())


@pytest.fixture(scope="module")
def queue(system: System) -> Queue:
    """56 open cases in Sanya: 3 missed their 30-minute deadline (by 16, 11 and 6 minutes), 53 are on time."""
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        admin, sanya = login(gw, "admin"), login(gw, "sanya")
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
        assert gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}).status_code == 200
        deadline = time.monotonic() + 15
        late = []
        for n in range(3):
            while True:  # credit tells intake of the merchant through the outbox
                body = complaint_body(
                    channel="hotline_12345",
                    merchant_id=HOTEL,
                    contact_phone=f"1390000{n:04d}",
                    contact_name=f"游客{n}",
                    description=f"第{n}号来电：酒店拒绝退还押金，前台态度恶劣，要求退款。",
                )
                r = gw.post("/v1/complaints", headers=sanya, json=body)
                if r.status_code == 201 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "assigned", r.json()
            late.append(r.json()["id"])
            system.clock.advance(timedelta(minutes=5))
        system.clock.advance(timedelta(minutes=31))  # 46 minutes after the first: 16 late, then 11 and 6
        while any(gw.get(f"/v1/complaints/{c}", headers=sanya).json()["state"] != "escalated" for c in late):
            assert time.monotonic() < deadline + 30, "the scheduler did not escalate the late complaints"
            time.sleep(0.05)
        fresh = [file(gw, sanya, n) for n in range(10, 60)]
        snack_bar = [
            file(
                gw,
                sanya,
                n,
                channel="walk_in",
                merchant_id=None,
                merchant_name="椰林海鲜排档",
                industry="food",
                description=f"第{n}号：海鲜按斤称重时缺斤短两，老板拒绝退款。",
            )
            for n in range(60, 62)
        ]
        cockroach = file(gw, sanya, 62, description="游客来电：酒店房间里有蟑螂，要求换房并道歉。")
        fresh += [*snack_bar, cockroach]
        # As the queue has it: the deadlines of cases filed one after another follow each other.
        return Queue(late=late, fresh=fresh, snack_bar=snack_bar, cockroach=cockroach)


@pytest.fixture(scope="module")
def browser(system: System, queue: Queue) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


def open_page(browser: Any, system: System, viewport: dict[str, int]) -> Any:
    """A browser whose clock reads the system's (the services run on a manual clock): countdowns are exact."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport)
    page = context.new_page()
    page.clock.set_fixed_time(system.clock.now())
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser: Any, system: System) -> Iterator[Any]:
    page = open_page(browser, system, DESKTOP)
    yield page
    page.context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, system: System, username: str) -> None:
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(f"{username}-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()


def go(page: Any, route: str) -> None:
    """Move the console to `route` and wait for its render (not the page it replaces)."""
    page.evaluate("document.querySelector('#view > div').dataset.stale = '1'")
    page.evaluate(f"location.hash = {route!r}")
    expect(page.locator("#view > div:not([data-stale]) h2")).to_be_visible()


def row_ids(page: Any) -> list[str]:
    return page.locator("#queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")


def test_the_queue_shows_every_case_late_ones_first_by_lateness_with_totals_and_a_counter(
    system: System, queue: Queue, page: Any
) -> None:
    sign_in(page, system, "sanya")
    total = len(queue.all)
    expect(page.locator("#queue-total")).to_have_text(f"共 {total} 件")
    expect(page.locator("#overdue-counter")).to_have_text("超时 3")
    expect(page.locator("#queue tbody tr")).to_have_count(50)
    assert row_ids(page)[:3] == queue.late
    for n, complaint_id in enumerate(queue.late):  # which deadline each missed, and by how much
        cell = page.locator(f'#queue tr[data-id="{complaint_id}"] .countdown')
        expect(cell).to_have_text(f"处置已超时 {16 - 5 * n}分0秒")
        expect(cell).to_have_class(re.compile("late"))
    expect(page.locator("#queue tr.overdue")).to_have_count(3)
    expect(page.locator("#queue tr.overdue .countdown", has_text="剩余")).to_have_count(0)
    expect(page.locator("#queue tbody tr").nth(3).locator(".countdown")).to_have_text(re.compile(r"^处置 剩余 \d+分"))
    expect(page.locator("#queue-shown")).to_have_text(f"已显示 50 / {total} 件")
    shot(page, "1-queue-late-first-desktop")

    page.get_by_role("button", name="加载更多").click()
    expect(page.locator("#queue tbody tr")).to_have_count(total)
    assert row_ids(page) == queue.all
    expect(page.get_by_role("button", name="加载更多")).to_be_hidden()
    expect(page.locator("#queue-shown")).to_have_text(f"已显示 {total} / {total} 件")

    for screen in ("退货监理", "统计报表", "商户"):  # the counter stays in sight on every screen
        page.get_by_role("link", name=screen).click()
        expect(page.locator("#overdue-counter")).to_have_text("超时 3")
    page.locator("#overdue-counter").click()
    expect(page.locator("#queue tbody tr")).to_have_count(3)
    expect(page.locator("#queue-total")).to_have_text("共 3 件")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="投诉队列").click()
    expect(page.locator("#queue tbody tr")).to_have_count(50)
    expect(page.locator("#overdue-counter")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, "the queue scrolls sideways"
    shot(page, "2-queue-phone")


def test_past_the_cap_the_total_reads_as_a_lower_bound(system: System, queue: Queue, page: Any) -> None:
    intake = system.settings["intake"]  # the running intake's own settings: its cap, lowered for this test
    intake.queue_total_cap = 50
    try:
        sign_in(page, system, "sanya")
        expect(page.locator("#queue-total")).to_have_text("共 50+ 件")
        expect(page.locator("#queue-shown")).to_have_text("已显示 50 / 50+ 件")
        page.get_by_role("button", name="加载更多").click()  # every case is still a click away
        expect(page.locator("#queue tbody tr")).to_have_count(len(queue.all))
        page.locator("#overdue-counter").click()  # under the cap: exact again
        expect(page.locator("#queue-total")).to_have_text("共 3 件")
    finally:
        intake.queue_total_cap = 10_000


def test_search_and_filters_narrow_the_queue(system: System, queue: Queue, page: Any) -> None:
    sign_in(page, system, "sanya")
    filters = page.locator("#queue-filters")

    def fresh_view() -> None:  # wait for the next render, not the page it replaces
        page.evaluate("document.querySelector('#view > div').dataset.stale = '1'")

    def search(**values: str) -> list[str]:
        fresh_view()
        page.evaluate("location.hash = '#/queue?again=' + Math.random()")  # a clean form, whatever came before
        expect(page.locator("#view > div:not([data-stale]) #queue-total")).to_be_visible()
        for name, value in values.items():
            field = filters.locator(f'[name="{name}"]')
            if name == "overdue":
                field.check()
            elif field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        fresh_view()
        filters.get_by_role("button", name="刷新").click()
        expect(page.locator("#view > div:not([data-stale]) #queue-total")).to_be_visible()
        if page.locator("#queue").count() == 0:
            return []
        return row_ids(page)

    assert search(q=LATE_PHONE) == [queue.late[1]]  # the phone, exactly as stored
    assert search(q="椰林") == queue.snack_bar  # a merchant's name
    shot(page, "3-search-merchant")
    assert search(q="蟑螂") == [queue.cockroach]  # the description's text
    assert search(q=HOTEL, overdue="true") == queue.late  # a merchant's id, late only
    assert search(channel="walk_in") == queue.snack_bar
    assert search(industry="food") == queue.snack_bar
    assert search(state="escalated") == queue.late
    assert search(merchant_id=HOTEL, state="escalated") == queue.late
    today = system.clock.now().astimezone(SHANGHAI).date()
    assert len(search(received_from=today.isoformat(), received_to=(today + timedelta(days=1)).isoformat())) == 50
    assert search(received_to=(today - timedelta(days=2)).isoformat()) == []
    expect(page.locator("#view")).to_contain_text("队列为空")


def test_pages_hold_still_when_a_case_arrives_between_them(system: System, queue: Queue, page: Any) -> None:
    sign_in(page, system, "sanya")
    go(page, "#/queue?order=newest")
    expect(page.locator("#queue tbody tr")).to_have_count(50)
    first = row_ids(page)
    assert first == list(reversed(queue.all))[:50]
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        newcomer = file(gw, login(gw, "sanya"), 99)  # arrives while the official reads page one
    page.get_by_role("button", name="加载更多").click()
    expect(page.locator("#queue tbody tr")).to_have_count(len(queue.all))
    rows = row_ids(page)
    assert rows == list(reversed(queue.all)) and newcomer not in rows  # nothing repeated, nothing skipped
    shot(page, "4-newest-all-pages")


def test_the_handler_reveals_the_phone_to_call_back_and_the_supervisors_see_the_record(
    system: System, queue: Queue, browser: Any
) -> None:
    complaint_id = queue.late[0]
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(browser, system, viewport)
        sign_in(page, system, "sanya")
        page.goto(f"{system.url}/console/#/complaints/{complaint_id}")
        contact = page.locator("#contact")
        expect(contact).to_contain_text("游*")
        expect(contact).to_contain_text("139****0000")
        expect(page.locator("#deadlines")).to_contain_text(re.compile(r"处置时限 .* · 处置已超时 16分0秒"))
        page.get_by_role("button", name="显示完整号码").click()
        expect(page.locator("#contact-phone")).to_have_text("13900000000")
        expect(contact).to_contain_text("已记录查看")
        shot(page, f"5-contact-revealed-{suffix}")
        if suffix == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.reload()
        expect(page.locator("#timeline")).to_contain_text("查看了完整联系方式")
        expect(page.locator("#contact")).not_to_contain_text("13900000000")  # masked again: each look is recorded
        page.context.close()

    for supervisor in ("hainan", "admin"):
        page = open_page(browser, system, DESKTOP)
        sign_in(page, system, supervisor)
        page.goto(f"{system.url}/console/#/complaints/{complaint_id}")
        records = page.locator("#contact-reveals li")
        expect(records).to_have_count(2)
        expect(records.first).to_contain_text("三亚市")  # the region by name
        expect(records.first).to_contain_text("回访")
        shot(page, f"6-reveal-records-{supervisor}")
        page.context.close()

    page = open_page(browser, system, DESKTOP)  # the hotel's staff: masked, no button, and the API says no
    sign_in(page, system, "hotel")
    page.goto(f"{system.url}/console/#/complaints/{complaint_id}")
    expect(page.locator("#contact")).to_contain_text("139****0000")
    expect(page.get_by_role("button", name="显示完整号码")).to_have_count(0)
    expect(page.locator("#contact-reveals")).to_have_count(0)
    page.context.close()
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        hotel = login(gw, "hotel")
        refused = gw.post(f"/v1/complaints/{complaint_id}/contact-reveals", headers=hotel)
        assert refused.status_code == 403 and refused.json()["code"] == "contact_reveal_not_allowed"
        assert "13900000000" not in gw.get(f"/v1/complaints/{complaint_id}", headers=hotel).text
