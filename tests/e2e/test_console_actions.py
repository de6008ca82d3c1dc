"""A complaint's further actions driven end to end through the console in headless Chromium (Debian's) against
the whole system on loopback: the merchant returns a case to its dispatcher (退回), who dispatches it anew; the
merchant asks for more time and the province approves it (延期), moving the deadline; the province supervises
the city (督办) and the city replies; officials confirm or dismiss possible duplicates and merge a duplicate
(合并); 办结 with nothing preselected, its refund cap, 结案 and reopening (重新办理); Panlong's officials assign a
case to one of the district's named units, link a public-opinion notice (涉旅信息通报单) to the complaint it
repeats and report back on time, and on another late. The dangerous ones ask for confirmation in the page
first. Each at a desktop's width (1366×768) and a phone's (390×844); screenshots under
test-results/console-actions/."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.auth import create_staff
from shared.clock import SHANGHAI, system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from tests.e2e.browser import WIDTHS, chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, System
from tests.factories import complaint_body, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "console-actions"
PHONES = itertools.count(1)


PANLONG = "530103"


@pytest.fixture(scope="module", autouse=True)
def province(system: System) -> None:
    """Hainan's official, the province above Sanya, and Panlong's, whose district has named handling units and
    gets the city's notices (before the browser holds this thread's event loop)."""

    async def add() -> None:
        engine = create_engine(system.settings["gateway"])
        async with create_sessionmaker(engine)() as session:
            for username, region_code, display_name in (
                ("hainan", "460000", "海南省督办员"),
                ("panlong", PANLONG, "盘龙区指挥中心值班员"),
            ):
                await create_staff(
                    session,
                    system_clock,
                    username=username,
                    password=f"{username}-pass-e2e",
                    role=Role.official,
                    region_code=region_code,
                    display_name=display_name,
                )
            await session.commit()
        await engine.dispose()

    asyncio.run(add())


class Api:
    """The system through the gateway, as staff: to put a complaint where a test starts and to check on it."""

    def __init__(self, system: System) -> None:
        self.gw = httpx.Client(base_url=system.url, timeout=10)
        self.tokens: dict[str, dict[str, str]] = {}

    def as_(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
            assert r.status_code == 200, r.text
            self.tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[username]

    def file(self, description: str, phone: str | None = None) -> dict[str, Any]:
        """A call to Sanya's 12345 line about the hotel, keyed in by its official: assigned to the hotel at once."""
        body = complaint_body(
            channel="hotline_12345",
            merchant_id=HOTEL,
            contact_phone=phone or f"1370000{next(PHONES):04d}",
            description=description,
        )
        deadline = time.monotonic() + 15
        while True:  # credit tells intake of the merchant through the outbox
            r = self.gw.post("/v1/complaints", headers=self.as_("sanya"), json=body)
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert r.status_code == 201, r.text
        return r.json()

    def file_in_panlong(self, description: str, **fields: Any) -> dict[str, Any]:
        """A call to Panlong's 12345 line about a travel agency not settled here, or (with `channel`
        public_opinion) a notice from the city's command center, keyed in by Panlong's official."""
        body = {
            "channel": "hotline_12345",
            "region_code": PANLONG,
            "merchant_name": "昆明市景怡旅行社有限公司",
            "industry": "sightseeing",
            "description": description,
            "remedy": "other",
            "occurred_at": "2026-11-19T12:00:00Z",
            "contact_phone": f"1370000{next(PHONES):04d}",
            **fields,
        }
        r = self.gw.post("/v1/complaints", headers=self.as_("panlong"), json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, complaint_id: str, who: str = "admin") -> dict[str, Any]:
        r = self.gw.get(f"/v1/complaints/{complaint_id}", headers=self.as_(who))
        assert r.status_code == 200, r.text
        return r.json()

    def timeline(self, complaint_id: str, who: str = "admin") -> list[dict[str, Any]]:
        r = self.gw.get(f"/v1/complaints/{complaint_id}/timeline", headers=self.as_(who))
        assert r.status_code == 200, r.text
        return list(r.json())

    def post(self, complaint_id: str, action: str, body: dict[str, Any], who: str) -> dict[str, Any]:
        r = self.gw.post(f"/v1/complaints/{complaint_id}/{action}", headers=self.as_(who), json=body)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def api(system: System) -> Iterator[Api]:
    client = Api(system)
    admin = client.as_("admin")
    r = client.gw.post(
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
    assert (
        client.gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}).status_code == 200
    )
    yield client
    client.gw.close()


@pytest.fixture(scope="module")
def browser(system: System, api: Api) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


class Console:
    """One member of staff's console in a tab of its own, at one width."""

    def __init__(self, browser: Any, system: System, width: str, username: str) -> None:
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=WIDTHS[width])
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.system, self.width = system, width
        self.page.goto(f"{system.url}/console/")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(f"{username}-pass-e2e")
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.locator("#queue, .queue-summary, p.muted").first).to_be_visible()

    def open(self, complaint_id: str) -> Any:
        self.page.goto(f"{self.system.url}/console/#/complaints/{complaint_id}")
        expect(self.page.locator("dl.facts")).to_be_visible()
        expect(self.page.locator("#complaint-actions")).to_be_visible()
        return self.page

    def action(self, name: str) -> Any:
        """Open an action's form; the button is there only if the user may take it now."""
        self.page.locator(f'#complaint-actions button[data-action="{name}"]').click()
        form = self.page.locator(f'form[data-action="{name}"]')
        expect(form).to_be_visible()
        return form

    def buttons(self) -> list[str]:
        return self.page.locator("#complaint-actions button[data-action]").evaluate_all(
            "els => els.map(e => e.dataset.action)"
        )

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.width}-{name}.png"), full_page=True)

    def fits(self) -> None:
        width = WIDTHS[self.width]["width"]
        wide = self.page.evaluate(
            """w => [...document.querySelectorAll('body *')].filter(e => e.scrollWidth > e.clientWidth + 1
                   && getComputedStyle(e).overflowX === 'visible').map(e => e.tagName + '.' + e.className + '#' + e.id
                   + ' ' + e.scrollWidth + '>' + e.clientWidth + ' ' + e.textContent.slice(0, 60))""",
            width,
        )
        assert self.page.evaluate("document.documentElement.scrollWidth") <= width + 1, f"scrolls sideways: {wide}"

    def confirm(self, name: str, *texts: str, note: str | None = None) -> None:
        """The confirmation dialog says what will happen; screenshot it, then confirm."""
        dialog = self.page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        for text in texts:
            expect(dialog).to_contain_text(text)
        if note is not None:
            dialog.locator("textarea").fill(note)
        self.shot(f"{name}-confirm")
        dialog.locator('button[data-choice="ok"]').click()
        expect(dialog).to_have_count(0)

    def done(self) -> None:
        expect(self.page.locator("#message .message.info")).to_contain_text("已完成")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def consoles(browser: Any, system: System, width: str) -> Iterator[Any]:
    opened: list[Console] = []

    def open_as(username: str) -> Console:
        console = Console(browser, system, width, username)
        opened.append(console)
        return console

    yield open_as
    for console in opened:
        console.close()


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_the_merchant_returns_a_case_and_the_city_dispatches_it_anew(api: Api, consoles: Any, width: str) -> None:
    c = api.file(f"[{width}] 退回：预订的大床房被换成双床房，前台说房间已满无法调换。")
    hotel = consoles("hotel")
    page = hotel.open(c["id"])
    assert hotel.buttons() == ["responses", "dispatch-returns", "extension-requests"]
    form = hotel.action("dispatch-returns")
    form.locator('textarea[name="reason"]').fill("该订单来自隔壁同名酒店，不是本店客人。")
    hotel.shot("1-return-form")
    form.get_by_role("button", name="提交").click()
    hotel.confirm("1-return", "退回派单员重新派单", "不是本店客人")
    hotel.done()
    expect(page.locator("dl.facts")).to_contain_text("已退回（待重新派单）")
    expect(page.locator("#complaint-actions")).to_contain_text("无")  # nothing more for the merchant to do
    expect(page.locator("#timeline")).to_contain_text("退回派单员")
    hotel.fits()
    hotel.shot("1-returned")

    sanya = consoles("sanya")
    page = sanya.open(c["id"])
    assert "assignments" in sanya.buttons() and "dispatch-returns" not in sanya.buttons()
    form = sanya.action("assignments")
    form.locator('select[name="kind"]').select_option("unit")
    form.get_by_role("button", name="提交").click()
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("处理中")
    expect(page.locator("dl.facts")).to_contain_text("三亚市旅游和文化广电体育局")
    sanya.shot("1-dispatched-anew")
    assert api.get(c["id"])["state"] == "assigned"


def test_the_merchant_asks_for_more_time_and_the_province_approves(api: Api, consoles: Any, width: str) -> None:
    c = api.file(f"[{width}] 延期：退房时被以损坏床单为由扣押金五百元，要求调取监控核实。")
    settle_by = at(c["deadlines"]["settle_by"])
    hotel = consoles("hotel")
    page = hotel.open(c["id"])
    form = hotel.action("extension-requests")
    assert form.locator('select[name="extend_hours"]').input_value() == ""
    form.locator('select[name="extend_hours"]').select_option("72")
    form.locator('textarea[name="reason"]').fill("需等待物业调取走廊监控录像。")
    hotel.shot("2-extension-form")
    form.get_by_role("button", name="提交").click()
    hotel.done()
    expect(page.locator("#extensions")).to_contain_text("待审批")
    expect(page.locator("#timeline")).to_contain_text("申请延期")
    assert "extension-requests" not in hotel.buttons()  # one waits at a time
    hotel.fits()
    hotel.shot("2-extension-asked")

    sanya = consoles("sanya")
    sanya.open(c["id"])
    assert "extension-decisions" not in sanya.buttons()  # the city does not decide its own extension

    hainan = consoles("hainan")
    page = hainan.open(c["id"])
    form = hainan.action("extension-decisions")
    assert form.locator('select[name="approve"]').input_value() == ""
    form.locator('select[name="approve"]').select_option("true")
    form.locator('textarea[name="note"]').fill("同意延期三天，请按时办结。")
    hainan.shot("2-extension-decision")
    form.get_by_role("button", name="提交").click()
    hainan.done()
    expect(page.locator("#extensions")).to_contain_text("已批准")
    expect(page.locator("#timeline")).to_contain_text("批准延期")
    moved = (settle_by + timedelta(hours=72)).astimezone(SHANGHAI)
    expect(page.locator("#deadlines #settle-by")).to_contain_text(f"{moved:%Y/%m/%d %H:%M}")
    hainan.fits()
    hainan.shot("2-extension-approved")
    assert at(api.get(c["id"])["deadlines"]["settle_by"]) == settle_by + timedelta(hours=72)


def test_the_province_supervises_and_the_city_replies(api: Api, consoles: Any, width: str) -> None:
    c = api.file(f"[{width}] 督办：酒店宣传含早，入住后却另外收取早餐费，前台拒绝退还。")
    hainan = consoles("hainan")
    page = hainan.open(c["id"])
    assert "supervision-notices" in hainan.buttons()
    form = hainan.action("supervision-notices")
    form.locator('textarea[name="note"]').fill("请三亚市于24小时内核实处理并报送结果。")
    form.locator('select[name="reply_within_hours"]').select_option("24")
    form.get_by_role("button", name="提交").click()
    hainan.done()
    expect(page.locator("#supervision")).to_contain_text("待回复")
    expect(page.locator("#supervision")).to_contain_text("海南省 → 三亚市")
    hainan.fits()
    hainan.shot("3-supervised")

    sanya = consoles("sanya")
    page = sanya.open(c["id"])
    assert "supervision-notices" not in sanya.buttons()
    form = sanya.action("supervision-replies")
    form.locator('textarea[name="message"]').fill("已约谈酒店，早餐费当日退还游客。")
    form.get_by_role("button", name="提交").click()
    sanya.done()
    expect(page.locator("#supervision")).to_contain_text("已回复")
    expect(page.locator("#supervision")).to_contain_text("已约谈酒店")
    expect(page.locator("#timeline")).to_contain_text("督办回复")
    sanya.fits()
    sanya.shot("3-supervision-replied")


def test_officials_dismiss_one_possible_duplicate_confirm_another_and_merge_a_third(
    api: Api, consoles: Any, width: str
) -> None:
    phone = f"1360000{next(PHONES):04d}"
    story = f"[{width}] 重复：在酒店餐厅用餐被多收两百元，服务员拒绝出示账单明细，要求退还多收的钱。"
    first = api.file(story, phone)
    second = api.file(story + "。", phone)
    third = api.file(story + "！", phone)
    assert len(api.get(third["id"])["possible_links"]) == 2

    sanya = consoles("sanya")
    page = sanya.open(third["id"])
    links = page.locator("#possible-links")
    expect(links.locator('li[data-state="suggested"]')).to_have_count(2)
    sanya.fits()
    sanya.shot("4-possible-links")
    # Not the same case as the second: dismissed, with a note.
    link_to_second = links.locator("li", has_text=second["case_number"])
    link_to_second.locator('button[data-decision="dismiss"]').click()
    sanya.confirm("4-dismiss", second["case_number"], note="电话回访：两次用餐，分别投诉。")
    sanya.done()
    expect(links.locator("li", has_text=second["case_number"])).to_have_attribute("data-state", "dismissed")
    # The same case as the first: confirming it merges this later one into the first.
    links.locator("li", has_text=first["case_number"]).locator('button[data-decision="confirm"]').click()
    sanya.confirm("4-confirm-merge", f"投诉 {third['case_number']} 将并入 {first['case_number']}")
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("不予受理")
    expect(page.locator("dl.facts")).to_contain_text("重复投诉")
    expect(links.locator("li", has_text=first["case_number"])).to_have_attribute("data-state", "confirmed")
    sanya.shot("4-linked")
    assert api.get(third["id"])["duplicate_of"] == first["id"]

    # A duplicate no one flagged (another phone): merged by hand into the first, by its case number.
    again = api.file(f"[{width}] 合并：同行朋友来电，餐厅多收费两百元且不给账单，要求退款。")
    page = sanya.open(again["id"])
    form = sanya.action("merges")
    form.locator('input[name="into"]').fill(first["case_number"])
    form.locator('textarea[name="reason"]').fill("同桌用餐，同一事项。")
    sanya.shot("4-merge-form")
    form.get_by_role("button", name="提交").click()
    sanya.confirm("4-merge", f"投诉 {again['case_number']} 将并入 {first['case_number']}", "同桌用餐")
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("不予受理")
    page = sanya.open(first["id"])
    expect(page.locator("#linked-cases")).to_contain_text(again["case_number"])
    expect(page.locator("#linked-cases")).to_contain_text(third["case_number"])
    expect(page.locator("#timeline")).to_contain_text("合并")
    sanya.fits()
    sanya.shot("4-merged-into")
    assert {link["complaint_id"] for link in api.get(first["id"])["links"]} == {third["id"], again["id"]}


def test_resolve_with_nothing_preselected_close_and_reopen(api: Api, consoles: Any, width: str) -> None:
    c = api.file(f"[{width}] 办结：订的海景房变成了面对停车场的房间，前台拒绝退差价。")  # 1,280 yuan involved
    sanya = consoles("sanya")
    page = sanya.open(c["id"])
    form = sanya.action("resolutions")
    # Nothing is assumed: no outcome, no party at fault, no refund.
    assert form.locator('select[name="outcome"]').input_value() == ""
    assert form.locator('select[name="at_fault"]').input_value() == ""
    assert form.locator('input[name="amount_refunded_fen"]').input_value() == ""
    sanya.shot("5-resolve-form-empty")
    form.get_by_role("button", name="提交").click()  # the browser asks for the choices first
    expect(page.locator("#confirm-dialog")).to_have_count(0)
    assert form.locator('select[name="outcome"]').evaluate("el => !el.validity.valid")

    form.locator('select[name="outcome"]').select_option("refunded")
    form.locator('select[name="at_fault"]').select_option("merchant")
    form.locator('input[name="amount_refunded_fen"]').fill("2000.00")  # more than the 1,280 involved
    form.get_by_role("button", name="提交").click()
    expect(page.locator("#message .message.error")).to_contain_text("退还金额不能超过投诉涉及金额")
    expect(page.locator("#confirm-dialog")).to_have_count(0)
    sanya.shot("5-refund-refused")
    form.locator('input[name="amount_refunded_fen"]').fill("300.00")
    form.get_by_role("button", name="提交").click()
    sanya.confirm("5-resolve", "退款", "商户", "300.00")
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("已办结")
    expect(page.locator("dl.facts")).to_contain_text("300.00")
    sanya.shot("5-resolved")

    # A cancelled confirmation changes nothing.
    sanya.action("closures").get_by_role("button", name="提交").click()
    page.locator('#confirm-dialog button[data-choice="cancel"]').click()
    expect(page.locator("#confirm-dialog")).to_have_count(0)
    assert api.get(c["id"])["state"] == "resolved"
    sanya.action("closures").get_by_role("button", name="提交").click()
    sanya.confirm("5-close", "结案后不再办理")
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("已结案")

    form = sanya.action("reopenings")
    form.locator('textarea[name="reason"]').fill("回访不满意：商家未按承诺退款。")
    form.get_by_role("button", name="提交").click()
    sanya.confirm("5-reopen", "原办结结果和满意度评价作废", "回访不满意")
    sanya.done()
    expect(page.locator("dl.facts")).to_contain_text("处理中")
    expect(page.locator("#timeline")).to_contain_text("重新办理")
    sanya.fits()
    sanya.shot("5-reopened")
    reopened = api.get(c["id"])
    assert (reopened["state"], reopened["outcome"], reopened["at_fault"]) == ("assigned", None, None)
    # Resolved again, the form still assumes nothing.
    form = sanya.action("resolutions")
    assert form.locator('select[name="outcome"]').input_value() == ""
    assert form.locator('select[name="at_fault"]').input_value() == ""


def test_panlong_assigns_a_case_to_one_of_its_named_units(api: Api, consoles: Any, width: str) -> None:
    c = api.file_in_panlong(f"[{width}] 指派：旅行社临时取消石林一日游，拒绝退还团费。")
    assert c["unit"]["name"] == "区文化和旅游局"  # the district's default unit, by its rules
    panlong = consoles("panlong")
    page = panlong.page
    page.goto(f"{panlong.system.url}/console/#/queue")
    row = page.locator(f'#queue tr[data-id="{c["id"]}"]')
    expect(row).to_contain_text("区文化和旅游局")  # the unit under the merchant, at both widths
    if width == "desktop":
        expect(row.locator("td.row-source")).to_have_text("12345市长投诉热线")
    panlong.fits()
    panlong.shot("6-queue-source-unit")

    page = panlong.open(c["id"])
    expect(page.locator("dl.facts #source")).to_have_text("12345市长投诉热线")
    expect(page.locator("dl.facts #unit")).to_have_text("区文化和旅游局（盘龙区文化和旅游局）")
    form = panlong.action("assignments")
    units = form.locator('select[name="unit_id"]')
    assert units.locator("option").all_inner_texts() == [
        "默认（区文化和旅游局）",
        "区文化和旅游局（盘龙区文化和旅游局）",
        "区指挥中心（盘龙区旅游市场监管综合调度指挥中心）",
        "区市场监管局（盘龙区市场监督管理局）",
        "花之城景区管委会（花之城景区管理委员会）",
        "昆明市旅游市场监管综合调度指挥中心",  # the units above the district's, which it may assign to too
        "云南省文化和旅游厅",
    ]
    form.locator('select[name="kind"]').select_option("merchant")  # no unit to choose for a merchant
    expect(units).to_be_hidden()
    form.locator('select[name="kind"]').select_option("unit")
    units.select_option("530103-sbh")
    form.locator('input[name="note"]').fill("游览项目在花之城景区内，由景区管委会处理。")
    panlong.shot("6-assign-unit-form")
    form.get_by_role("button", name="提交").click()
    panlong.done()
    expect(page.locator("dl.facts #unit")).to_have_text("花之城景区管委会（花之城景区管理委员会）")
    expect(page.locator("dl.facts")).to_contain_text("处理中")
    panlong.fits()
    panlong.shot("6-assigned-unit")
    now = api.get(c["id"])
    assert (now["unit"]["id"], now["assignee"]["name"]) == ("530103-sbh", "花之城景区管委会")


def test_panlong_links_the_citys_notice_to_the_complaint_it_repeats_and_reports_back(
    api: Api, consoles: Any, width: str, system: System
) -> None:
    repeated = api.file_in_panlong(f"[{width}] 通报：景怡旅行社导游强迫游客购物，不购物就甩团。")
    source = f"昆明市指挥中心《涉旅信息通报单》（{width}8号）"
    # Due far ahead: the browser's clock is the real one, the system's the test's.
    notice = api.file_in_panlong(
        f"[{width}] 人民网地方领导留言板涉旅留言：景怡旅行社导游强迫购物。",
        channel="public_opinion",
        source_name=source,
        reply_by=(system.clock.now() + timedelta(days=3650)).isoformat(),
    )
    assert notice["unit"]["name"] == "区指挥中心"  # the district's rule for notices
    panlong = consoles("panlong")
    page = panlong.open(notice["id"])
    expect(page.locator("dl.facts #source")).to_have_text(source)
    expect(page.locator("dl.facts #notice-reply")).to_contain_text("反馈时限")
    assert {"notice-links", "notice-replies"} <= set(panlong.buttons())

    # A case number that is no complaint is said so, before anything is asked or done.
    form = panlong.action("notice-links")
    form.locator('input[name="complaint"]').fill("530103-20000101-9999")
    form.get_by_role("button", name="提交").click()
    expect(page.locator("#message .message.error")).to_contain_text("找不到案件编号为 530103-20000101-9999 的投诉")
    expect(page.locator("#confirm-dialog")).to_have_count(0)
    form.locator('input[name="complaint"]').fill(repeated["case_number"])
    form.locator('textarea[name="note"]').fill("与12345来电反映的是同一事项。")
    panlong.shot("7-link-form")
    form.get_by_role("button", name="提交").click()
    panlong.confirm(
        "7-link",
        f"舆情通报 {notice['case_number']} 与投诉 {repeated['case_number']} 内容一致",
        "12345市长投诉热线 · 昆明市景怡旅行社有限公司",
        "仍须在反馈时限内",
    )
    panlong.done()
    expect(page.locator("dl.facts")).to_contain_text("不予受理")
    expect(page.locator("dl.facts")).to_contain_text("重复投诉")
    assert "notice-links" not in panlong.buttons() and "notice-replies" in panlong.buttons()
    assert api.get(notice["id"])["duplicate_of"] == repeated["id"]

    form = panlong.action("notice-replies")
    expect(form.locator(".notice-deadline")).to_contain_text("反馈时限")
    form.locator('textarea[name="note"]').fill("已督促旅行社向游客道歉并退还购物款，处理情况已上报市指挥中心。")
    panlong.shot("7-reply-form")
    form.get_by_role("button", name="提交").click()
    panlong.confirm("7-reply", "反馈只能提交一次", "在反馈时限内", "已上报市指挥中心")
    panlong.done()
    expect(page.locator("dl.facts #notice-reply")).to_contain_text("按时反馈")
    expect(page.locator("#timeline")).to_contain_text("回复舆情通报")
    assert "notice-replies" not in panlong.buttons()
    panlong.fits()
    panlong.shot("7-replied")
    assert api.get(notice["id"])["replied_at"] is not None

    # Another notice, past its deadline: the form says so, and the reply is recorded as late.
    late = api.file_in_panlong(
        f"[{width}] 市民热线留言：旅行社退团费拖延。",
        channel="public_opinion",
        source_name=f"昆明市指挥中心《涉旅信息通报单》（{width}9号）",
        reply_by=(system.clock.now() + timedelta(minutes=10)).isoformat(),
    )
    system.clock.advance(minutes=30)
    page = panlong.open(late["id"])
    form = panlong.action("notice-replies")
    expect(form.locator(".notice-deadline .countdown")).to_have_class(re.compile(r"\blate\b"))
    form.locator('textarea[name="note"]').fill("已核实处理，逾期上报。")
    form.get_by_role("button", name="提交").click()
    panlong.confirm("7-reply-late", "已超过反馈时限：本次反馈记为逾期反馈。")
    panlong.done()
    expect(page.locator("dl.facts #notice-reply")).to_contain_text("逾期反馈")
    panlong.shot("7-replied-late")
    answered = [e for e in api.timeline(late["id"]) if e["kind"] == "notice_replied"]
    assert [e["data"]["in_time"] for e in answered] == [False]
