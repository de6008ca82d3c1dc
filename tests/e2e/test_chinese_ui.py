"""Chinese first, everywhere: headless Chromium (Debian's, through Playwright) walks every console screen with
realistic data — the queue, a complaint with a full timeline (evidence, the merchant's reply, the tourist's
verdict, mediation, a callback visit, a rating, notifications, a missed deadline), a transferred one, the
reports and their print version, the returns desk, the funds, the merchants, a merchant's own page and its
code's poster — and the public pages, at desktop (1366x768) and phone (390x844) widths against the real
services, and finds no untranslated text:
no visible run of Latin letters but allowed tokens (case numbers, ids, URLs, 'API', 'QR', units, grades) and
what is marked as a name or a value never translated (`translate="no"`: people's and files' names, ids).
It also reads problem+json through the gateway: Chinese by default, English with `Accept-Language: en`, the
same `code`. Screenshots go under test-results/chinese-ui/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import WIDTHS, chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, OTHER, System
from tests.factories import complaint_body, merchant_id, photo_png, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "chinese-ui"

# Every visible text run of Latin letters on the page that is not an allowed token, with where it is.
UNTRANSLATED = r"""
() => {
  const ALLOWED = new Set(["API", "QR", "KB", "MB", "PDF", "JPEG", "PNG", "CSV", "Excel", "A", "B", "C", "D"]);
  const TOKEN_OK = [/^https?:\/\//, /^\d{6}-\d{8}-\d{4}$/, /^[0-9A-Z]{6,}$/];
  const skip = (el) => !el || el.closest('[translate="no"], [lang="en"], script, style, noscript, option, svg title');
  const visible = (el) => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
  const found = [];
  const check = (text, where) => {
    for (const token of text.split(/[\s，。：；、（）()·→—\/|,.:;!?“”"'\[\]{}<>=+*%#&@~^$-]+/)) {
      const runs = token.match(/[A-Za-z]+/g);
      if (!runs) continue;
      if (TOKEN_OK.some((re) => re.test(token))) continue;
      for (const run of runs) {
        if (!ALLOWED.has(run)) found.push(`${where}: ${JSON.stringify(text.trim().slice(0, 80))}`);
      }
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (skip(el) || !visible(el)) continue;
    check(walker.currentNode.textContent, el.tagName.toLowerCase() + (el.id ? `#${el.id}` : ""));
  }
  for (const select of document.querySelectorAll("select")) {
    const option = select.selectedOptions[0];
    if (option && visible(select) && !option.closest('[translate="no"], [lang="en"]')) check(option.text, "select");
  }
  for (const input of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (visible(input) && !skip(input)) check(input.placeholder, "placeholder");
  }
  for (const input of document.querySelectorAll("input:not([type=hidden]):not([type=date]):not([type=month])")) {
    const typed = ["password", "search", "tel", "checkbox", "radio"].includes(input.type);
    if (visible(input) && !skip(input) && input.value && !typed) check(input.value, "input");
  }
  check(document.title, "title");
  return [...new Set(found)];
}
"""


@dataclass
class Scene:
    worked: str  # a complaint with a full timeline
    worked_case_number: str
    transferred: str
    waiting: str
    notice: str  # a public-opinion notice from the city, to link and report back on
    code: str
    day: Any


def _login(gw: httpx.Client, path: str, body: dict[str, str]) -> dict[str, str]:
    r = gw.post(path, json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _act(gw: httpx.Client, who: dict[str, str], cid: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    for _ in range(30):  # the scheduler and the notifications touch the case too: retry as the problem says
        r = gw.post(f"/v1/complaints/{cid}/{action}", headers=who, json=body)
        if r.status_code != 409 or r.json().get("code") != "concurrent_update":
            break
        time.sleep(0.1)
    return _ok(r)


def _file(gw: httpx.Client, who: dict[str, str], **body: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:  # credit tells intake of the merchant through the outbox
        r = gw.post("/v1/complaints", headers=who, json=complaint_body(**body))
        if r.status_code == 201 or time.monotonic() > deadline:
            return _ok(r)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def scene(system: System) -> Scene:
    with httpx.Client(base_url=system.url, timeout=15) as gw:
        admin = _login(gw, "/v1/auth/staff/login", {"username": "admin", "password": "admin-pass-e2e"})
        sanya = _login(gw, "/v1/auth/staff/login", {"username": "sanya", "password": "sanya-pass-e2e"})
        hotel = _login(gw, "/v1/auth/staff/login", {"username": "hotel", "password": "hotel-pass-e2e"})
        for mid, name, industry in (
            (HOTEL, "三亚湾海景度假酒店", "lodging"),
            (OTHER, "椰风银器行", "shopping"),
        ):
            body = {"id": mid, "name": name, "uscc": uscc(mid), "region_code": "460200"}
            _ok(gw.post("/v1/merchants", headers=admin, json={**body, "industry": industry}))
            _ok(gw.post(f"/v1/merchants/{mid}/reviews", headers=admin, json={"decision": "approve"}))
        pending = merchant_id("E2EPND")
        _ok(
            gw.post(
                "/v1/merchants",
                headers=admin,
                json={
                    "id": pending,
                    "name": "天涯小吃店",
                    "uscc": uscc(pending),
                    "region_code": "460200",
                    "industry": "food",
                },
            )
        )
        _ok(gw.post("/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": 5_000_000, "reference": "预算"}))

        # A complaint worked from start to finish: evidence, a reply with an offer, the tourist's rejection,
        # mediation, a callback visit, the contact seen in full, a rating.
        alice = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-alice"})
        worked = _file(gw, alice, merchant_id=HOTEL, contact_phone="13912340001")
        cid = worked["id"]
        if _ok(gw.get(f"/v1/complaints/{cid}", headers=sanya))["state"] == "submitted":
            _act(gw, sanya, cid, "intake-decisions", {"accept": True, "note": "信息完整，予以受理"})
        if _ok(gw.get(f"/v1/complaints/{cid}", headers=sanya))["state"] != "assigned":
            _act(gw, sanya, cid, "assignments", {"kind": "merchant"})
        upload = gw.post(
            f"/v1/complaints/{cid}/evidence", headers=alice, files={"file": ("房间照片.png", photo_png(), "image/png")}
        )
        _ok(upload)
        _act(
            gw, hotel, cid, "responses", {"message": "已与游客沟通，同意退还房差三百元。", "offered_refund_fen": 30000}
        )
        _act(gw, alice, cid, "rejections", {"note": "退款太少"})
        _ok(gw.post(f"/v1/complaints/{cid}/contact-reveals", headers=sanya, json={"purpose": "回访"}))
        _act(
            gw,
            sanya,
            cid,
            "resolutions",
            {
                "outcome": "mediated",
                "at_fault": "merchant",
                "amount_refunded_fen": 60000,
                "note": "经调解，酒店退还房差六百元。",
            },
        )
        _act(gw, sanya, cid, "callback-visits", {"reached": True, "satisfied": True, "note": "游客表示满意"})
        _act(gw, alice, cid, "evaluations", {"score": 5, "comment": "处理及时"})

        # One transferred to Haikou, one left to miss its deadline, one withdrawn.
        bob = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-bob"})
        moved = _file(
            gw,
            bob,
            merchant_id=OTHER,
            industry="shopping",
            remedy="exchange",
            contact_phone="13912340002",
            description="购买的银手镯成色与描述不符，要求换货。",
        )
        if _ok(gw.get(f"/v1/complaints/{moved['id']}", headers=sanya))["state"] == "submitted":
            _act(gw, sanya, moved["id"], "intake-decisions", {"accept": True})
        _act(gw, sanya, moved["id"], "transfers", {"region_code": "460100", "reason": "商户实际经营地在海口"})
        carol = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-carol"})
        waiting = _file(
            gw,
            carol,
            merchant_id=OTHER,
            industry="shopping",
            remedy="compensation",
            contact_phone="13912340003",
            description="店员称银饰为足银，回家检测成色不足，要求赔偿差价。",
        )
        unregistered = _file(
            gw,
            carol,
            merchant_id=None,
            merchant_name="第一市场海鲜排档",
            industry="food",
            remedy="other",
            contact_phone="13912340006",
            description="在第一市场海鲜排档用餐，海鲜称重缺斤少两，商家拒不承认。",
        )
        assert unregistered["id"]
        dave = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-dave"})
        gone = _file(
            gw,
            dave,
            merchant_id=HOTEL,
            remedy="apology",
            contact_phone="13912340004",
            description="办理入住时前台服务态度恶劣，对我们大声呵斥，要求酒店赔礼道歉。",
        )
        if _ok(gw.get(f"/v1/complaints/{gone['id']}", headers=sanya))["state"] not in ("not_accepted", "closed"):
            _act(gw, dave, gone["id"], "withdrawals", {"reason": "已与酒店自行协商解决"})

        erin = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-erin"})
        today = system.clock.now().date()
        _ok(
            gw.post(
                "/v1/returns",
                headers=erin,
                json={
                    "region_code": "460200",
                    "merchant_id": OTHER,
                    "goods": "银手镯一只（足银999，38克）",
                    "receipt_no": "NO.0031",
                    "purchased_on": (today - timedelta(days=3)).isoformat(),
                    "amount_fen": 286_000,
                    "custom_made": False,
                    "reason": "回家后觉得价格过高，申请无理由退货。",
                    "contact_phone": "13912340005",
                },
            )
        )
        refunded = _ok(
            gw.post(
                "/v1/returns",
                headers=erin,
                json={
                    "region_code": "460200",
                    "merchant_id": OTHER,
                    "goods": "珍珠项链一条",
                    "receipt_no": "NO.0032",
                    "purchased_on": (today - timedelta(days=2)).isoformat(),
                    "amount_fen": 128_000,
                    "custom_made": False,
                    "reason": "商家称是海水珍珠，鉴定为淡水珍珠，申请退货。",
                    "contact_phone": "13912340005",
                },
            )
        )
        _ok(gw.post(f"/v1/returns/{refunded['id']}/refunds", headers=sanya, json={"amount_refunded_fen": 128_000}))

        system.clock.advance(timedelta(minutes=45))  # the waiting one misses its deadlines; the scheduler says so
        deadline = time.monotonic() + 15
        while True:
            steps = _ok(gw.get(f"/v1/complaints/{waiting['id']}/timeline", headers=sanya))
            if any(e["kind"] == "overdue" for e in steps):
                break
            assert time.monotonic() < deadline, f"the missed deadline was not recorded: {steps}"
            time.sleep(0.1)
        deadline = time.monotonic() + 15
        while not any(
            e["kind"] in ("notified", "notification_failed")
            for e in _ok(gw.get(f"/v1/complaints/{cid}/timeline", headers=sanya))
        ):
            assert time.monotonic() < deadline, "the tourist's notifications were not recorded"
            time.sleep(0.1)
        notice = _file(
            gw,
            sanya,
            channel="public_opinion",
            merchant_id=None,
            merchant_name="三亚湾海景度假酒店",
            remedy="other",
            contact_phone="13912340007",
            source_name="海南省旅游市场监管指挥中心《涉旅信息通报单》（3号）",
            description="网民在地方留言板反映：三亚湾海景度假酒店房价与预订页面不符。",
        )
        code = _ok(gw.get(f"/v1/merchants/{HOTEL}/code", headers=admin))["code"]
        case_number = _ok(gw.get(f"/v1/complaints/{cid}", headers=sanya))["case_number"]
    return Scene(cid, case_number, moved["id"], waiting["id"], notice["id"], code, system.clock.now().date())


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


@pytest.fixture(params=list(WIDTHS))
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=WIDTHS[request.param])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.width_name = request.param
    yield page
    context.close()


def assert_chinese(page: Any, name: str) -> None:
    """No untranslated text on the screen; a screenshot of it either way."""
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.width_name}.png"), full_page=True)
    assert page.evaluate(UNTRANSLATED) == [], name


def log_in(page: Any, system: System, username: str) -> None:
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(f"{username}-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()


def test_every_console_screen_of_an_official_is_in_chinese(system: System, scene: Scene, page: Any) -> None:
    log_in(page, system, "sanya")
    # The scan finds what it should: a raw value, a region code beside a name is fine, an id marked as one is.
    planted = page.evaluate(
        """() => { const p = document.createElement("p"); p.id = "planted";
                   p.innerHTML = '<span>evidence_added</span> 三亚市 460200 <span translate="no">hotel</span> QR';
                   document.querySelector("main").append(p); }"""
    )
    assert planted is None and page.evaluate(UNTRANSLATED) == ['span: "evidence_added"']
    page.evaluate("document.getElementById('planted').remove()")
    assert_chinese(page, "01-queue")
    page.goto(f"{system.url}/console/#/queue?overdue=true")
    expect(page.locator("#queue-total")).to_be_visible()
    assert_chinese(page, "02-queue-overdue")

    page.goto(f"{system.url}/console/#/complaints/{scene.worked}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("补充证据")
    expect(timeline).to_contain_text("商户答复")
    expect(timeline).to_contain_text("回访")
    expect(page.locator("dl.facts")).to_contain_text("三亚市")  # the region by name, not 460200
    expect(page.locator("dl.facts")).to_contain_text("调解成功")
    expect(page.locator("dl.facts")).to_contain_text("退款")
    expect(page.locator("#evidence")).to_contain_text("图片")
    assert_chinese(page, "03-complaint-full-timeline")

    page.goto(f"{system.url}/console/#/complaints/{scene.waiting}")
    expect(page.locator("#timeline")).to_contain_text("超过办理时限")
    expect(page.locator("#timeline")).to_contain_text("系统")
    for action in ("intake-decisions", "assignments", "transfers", "escalations", "resolutions"):
        button = page.locator(f'button[data-action="{action}"]')
        if button.count():
            button.click()
            assert_chinese(page, f"04-complaint-form-{action}")

    # A notice from the province's command center: its source, unit and reply deadline, and its two forms.
    page.goto(f"{system.url}/console/#/complaints/{scene.notice}")
    expect(page.locator("dl.facts #notice-reply")).to_contain_text("反馈时限")
    for action in ("notice-links", "notice-replies"):
        page.locator(f'button[data-action="{action}"]').click()
        assert_chinese(page, f"04-notice-form-{action}")

    query = f"region=460200&from={scene.day - timedelta(days=6)}&to={scene.day}"
    page.goto(f"{system.url}/console/#/reports?{query}")
    expect(page.locator("#report-text")).to_be_visible()
    assert_chinese(page, "05-reports")
    # Its print version (the page the print button opens): the report as intake writes it, in the same tab.
    region, since, until = "460200", scene.day - timedelta(days=6), scene.day
    page.goto(f"{system.url}/console/print.html?region_code={region}&from={since}&to={until}")
    expect(page.locator("#report")).not_to_contain_text("正在生成报表")
    expect(page.locator("#report")).to_contain_text("投诉")
    assert_chinese(page, "05-reports-print")
    page.goto(f"{system.url}/console/#/returns")
    expect(page.locator("#returns")).to_be_visible()
    assert_chinese(page, "06-returns")
    page.locator("#returns button", has_text="登记退款").first.click()
    assert_chinese(page, "07-returns-refund-form")
    refunded = page.locator("#returns tr", has_text="珍珠项链")  # concluded: it has its follow-up visit
    refunded.locator("button", has_text="回访").click()
    assert_chinese(page, "07-returns-visit-form")
    refunded.locator("button[type=submit]").click()
    expect(page.locator("#returns tr", has_text="珍珠项链")).to_contain_text("回访：满意")
    assert_chinese(page, "07-returns-visited")
    page.goto(f"{system.url}/console/#/funds")
    expect(page.locator("main")).to_contain_text("三亚市")
    assert_chinese(page, "08-funds")
    page.goto(f"{system.url}/console/#/merchants")
    expect(page.locator("#live-merchants")).to_contain_text("住宿")
    expect(page.locator("#pending-merchants")).to_contain_text("餐饮")
    assert_chinese(page, "09-merchants")


def test_the_admin_and_the_merchant_see_chinese_too(system: System, scene: Scene, page: Any) -> None:
    log_in(page, system, "admin")
    page.goto(f"{system.url}/console/#/complaints/{scene.transferred}")
    expect(page.locator("#timeline")).to_contain_text("转办")
    expect(page.locator("dl.facts")).to_contain_text("海口市")
    expect(page.locator("dl.facts")).to_contain_text("换货")
    assert_chinese(page, "10-admin-transferred")
    page.goto(f"{system.url}/console/#/complaints/{scene.worked}")
    expect(page.locator("#contact-reveals")).to_contain_text("三亚市")
    assert_chinese(page, "11-admin-reveal-records")
    page.locator("#logout").click()

    log_in(page, system, "hotel")
    assert_chinese(page, "12-merchant-queue")
    page.goto(f"{system.url}/console/#/complaints/{scene.worked}")
    expect(page.locator("#timeline")).to_be_visible()
    assert_chinese(page, "13-merchant-complaint")
    page.goto(f"{system.url}/console/#/returns")
    assert_chinese(page, "14-merchant-returns")
    page.goto(f"{system.url}/console/#/mine")
    expect(page.locator("#grade-value")).to_be_visible()
    assert_chinese(page, "15-merchant-mine")
    # The code's poster the merchant prints for its counter (the page the poster button opens).
    page.goto(f"{system.url}/console/poster.html?merchant={HOTEL}")
    expect(page.locator("#poster-name")).to_have_text("三亚湾海景度假酒店")
    assert_chinese(page, "15-merchant-poster")


def test_the_public_pages_are_in_chinese(system: System, scene: Scene, page: Any) -> None:
    page.goto(f"{system.url}/public/")
    expect(page.locator("#figures-table")).to_be_visible()
    assert_chinese(page, "16-public-figures")
    page.goto(f"{system.url}/c/{scene.code}")
    expect(page.locator("#merchant-name")).to_be_visible()
    assert_chinese(page, "17-code-profile")
    page.goto(f"{system.url}/p/")
    page.get_by_label("案件编号").fill(scene.worked_case_number)
    page.get_by_label("联系电话").fill("13912340001")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#steps")).to_be_visible()
    assert_chinese(page, "18-progress")
    page.evaluate("sessionStorage.clear()")  # the tab forgets the case: the look-up again
    page.goto(f"{system.url}/p/")
    page.reload()
    page.get_by_label("案件编号").fill(scene.worked_case_number)
    page.get_by_label("联系电话").fill("13900000000")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#problem")).to_have_attribute("data-code", "case_not_found")
    assert_chinese(page, "19-progress-not-found")


def test_a_console_error_reads_in_chinese_with_its_code_kept_aside(system: System, scene: Scene, page: Any) -> None:
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill("sanya")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    problem = page.locator("#message .message.error")
    expect(problem).to_have_attribute("data-code", "invalid_credentials")
    expect(problem).to_contain_text("用户名或密码错误")
    assert_chinese(page, "20-login-error")


def test_problems_are_chinese_by_default_and_english_on_request_through_the_gateway(
    system: System, scene: Scene
) -> None:
    with httpx.Client(base_url=system.url, timeout=15) as gw:
        sanya = _login(gw, "/v1/auth/staff/login", {"username": "sanya", "password": "sanya-pass-e2e"})
        alice = _login(gw, "/v1/auth/wechat/login", {"code": "demo-cn-alice"})
        cases = [
            ("GET", "/v1/complaints/cmp_01NOSUCHCOMPLAINT00000000", sanya, None),  # intake's 404
            ("POST", f"/v1/complaints/{scene.worked}/responses", sanya, {"message": "再答复"}),  # a closed case: 409
            ("POST", "/v1/complaints", alice, {"region_code": "460200"}),  # 422 with the fields named
            ("GET", "/v1/me", {"Authorization": "Bearer nonsense"}, None),  # the gateway's own 401
            ("GET", "/v1/reports/complaints?region_code=999999&from=2026-11-01&to=2026-11-07", sanya, None),
            ("POST", "/v1/progress/lookups", {}, {"case_number": "460200-20261120-9999", "phone": "13900000000"}),
        ]
        for method, path, who, body in cases:
            zh = gw.request(method, path, headers=who, json=body)
            en = gw.request(method, path, headers={**who, "Accept-Language": "en-US,en;q=0.9"}, json=body)
            assert zh.status_code == en.status_code >= 400, (path, zh.text)
            assert zh.headers["content-type"] == en.headers["content-type"] == "application/problem+json"
            zh_body, en_body = zh.json(), en.json()
            assert zh_body["code"] == en_body["code"], path
            assert re.search(r"[\u4e00-\u9fff]", zh_body["title"]) and re.search(
                r"[\u4e00-\u9fff]", zh_body["detail"]
            ), (
                path,
                zh_body,
            )
            assert not re.search(r"[\u4e00-\u9fff]", en_body["title"]), (path, en_body)
            assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en", path
