"""The console's reports, the merchant's side, the public pages and the API docs in headless Chromium (Debian's,
driven by Playwright) against the whole system on loopback, at desktop (1366x768) and phone (390x844) widths:
chart labels that read and never overlap, a print version that loads under the console's policy, merchant
staff who see only what works for them, the code poster, the grade's reasons, the refund offer after a reply,
public pages in one language at a time, and /docs with nothing fetched from elsewhere. Screenshots go under
test-results/pages/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared.clock import SHANGHAI
from tests.e2e.browser import WIDTHS, chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, OTHER, System
from tests.factories import complaint_body, uscc

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "pages"
LONG_NAME = "三亚湾国际海景度假酒店管理有限公司亚龙湾分店"
# Collects what the page's policy refused, and stands in for the print dialog (headless has none).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
                          (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""


@dataclass
class Scene:
    """What the tests work on: a merchant with a long name whose complaint was resolved (it heads the report),
    and a complaint assigned to it that waits for its reply."""

    day: Any
    resolved_id: str
    waiting_id: str
    code: str


def _login(gw: httpx.Client, path: str, body: dict[str, str]) -> dict[str, str]:
    r = gw.post(path, json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _file(gw: httpx.Client, who: dict[str, str], merchant_id: str, **body: Any) -> str:
    deadline = time.monotonic() + 15
    while True:  # credit tells intake of the merchant through the outbox
        created = gw.post("/v1/complaints", headers=who, json=complaint_body(merchant_id=merchant_id, **body))
        if created.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _act(gw: httpx.Client, who: dict[str, str], complaint_id: str, action: str, body: dict[str, Any]) -> None:
    for _ in range(20):  # the scheduler and the notifications touch the case too: retry as the problem says
        r = gw.post(f"/v1/complaints/{complaint_id}/{action}", headers=who, json=body)
        if r.status_code != 409 or r.json().get("code") != "concurrent_update":
            break
        time.sleep(0.1)
    assert r.status_code in (200, 201), r.text


def _assign_to_merchant(gw: httpx.Client, official: dict[str, str], complaint_id: str) -> None:
    if gw.get(f"/v1/complaints/{complaint_id}", headers=official).json()["state"] == "submitted":
        _act(gw, official, complaint_id, "intake-decisions", {"accept": True})
    _act(gw, official, complaint_id, "assignments", {"kind": "merchant"})


@pytest.fixture(scope="module")
def scene(system: System) -> Scene:
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        admin = _login(gw, "/v1/auth/staff/login", {"username": "admin", "password": "admin-pass-e2e"})
        sanya = _login(gw, "/v1/auth/staff/login", {"username": "sanya", "password": "sanya-pass-e2e"})
        for merchant_id, name in ((HOTEL, LONG_NAME), (OTHER, "椰梦长廊民宿")):
            r = gw.post(
                "/v1/merchants",
                headers=admin,
                json={
                    "id": merchant_id,
                    "name": name,
                    "uscc": uscc(merchant_id),
                    "region_code": "460200",
                    "industry": "lodging",
                },
            )
            assert r.status_code == 201, r.text
            r = gw.post(f"/v1/merchants/{merchant_id}/reviews", headers=admin, json={"decision": "approve"})
            assert r.status_code == 200, r.text
        alice = _login(gw, "/v1/auth/wechat/login", {"code": "demo-pages-alice"})
        bob = _login(gw, "/v1/auth/wechat/login", {"code": "demo-pages-bob"})
        resolved = _file(gw, alice, HOTEL)
        _assign_to_merchant(gw, sanya, resolved)
        system.clock.advance(timedelta(minutes=75))
        _act(
            gw,
            sanya,
            resolved,
            "resolutions",
            {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 12800},
        )
        other = _file(gw, bob, OTHER)
        _assign_to_merchant(gw, sanya, other)
        _act(gw, sanya, other, "resolutions", {"outcome": "mediated", "at_fault": "none"})
        carol = _login(gw, "/v1/auth/wechat/login", {"code": "demo-pages-carol"})
        waiting = _file(
            gw,
            carol,
            HOTEL,
            description="早餐券写明含两位成人，到餐厅却被要求另付一人费用。",
            contact_phone="13912345678",
            amount_involved_fen=9800,
        )
        _assign_to_merchant(gw, sanya, waiting)
        code = gw.get(f"/v1/merchants/{HOTEL}/code", headers=admin).json()["code"]
        hotel = _login(gw, "/v1/auth/staff/login", {"username": "hotel", "password": "hotel-pass-e2e"})
        deadline = time.monotonic() + 15

        def kinds() -> set[str]:
            return {r["kind"] for r in gw.get(f"/v1/credit/{HOTEL}", headers=hotel).json()["reasons"] if r["count"]}

        while "resolved_at_fault" not in kinds():  # the records arrive as events
            assert time.monotonic() < deadline, "the merchant's credit records did not arrive"
            time.sleep(0.1)
    return Scene(
        day=system.clock.now().astimezone(SHANGHAI).date(), resolved_id=resolved, waiting_id=waiting, code=code
    )


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    """As in test_console: Playwright's sync API starts after the system and stops before its teardown."""
    with chromium(sync_api) as browser:
        yield browser


@pytest.fixture(params=list(WIDTHS))
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=WIDTHS[request.param])
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.width_name = request.param
    yield page
    context.close()


def shot(page: Any, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.width_name}.png"), full_page=full_page)


def no_policy_violations(page: Any) -> None:
    assert page.evaluate("window.__csp") == [], "the page's Content-Security-Policy refused something"


def log_in(page: Any, system: System, username: str) -> None:
    page.goto(f"{system.url}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(f"{username}-pass-e2e")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue")).to_be_visible()


CHART_GEOMETRY = """
(svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const texts = [...svg.querySelectorAll("text")].filter((t) => t.textContent.trim());
  return { scale, sizes: texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale),
           texts: texts.map((t) => ({ text: t.textContent, box: box(t) })),
           bars: [...svg.querySelectorAll("rect")].map(box), width: svg.getBoundingClientRect().width,
           parent: svg.parentElement.getBoundingClientRect().width };
}
"""


def overlap(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def assert_charts_read(page: Any, selector: str = "#report-charts svg.chart", count: int = 5) -> None:
    charts = page.locator(selector)
    expect(charts).to_have_count(count)
    for i in range(count):
        g = charts.nth(i).evaluate(CHART_GEOMETRY)
        assert g["width"] <= g["parent"] + 1, "a chart is wider than its card"
        assert min(g["sizes"]) >= 12, f"chart {i}: text {min(g['sizes']):.1f}px"
        for n, a in enumerate(g["texts"]):
            for b in g["texts"][n + 1 :]:
                assert not overlap(a["box"], b["box"]), f"chart {i}: {a['text']!r} overlaps {b['text']!r}"
            for bar in g["bars"]:
                assert not overlap(a["box"], bar), f"chart {i}: {a['text']!r} runs under a bar"


def test_the_report_reads_at_every_width_and_its_print_version_loads(system: System, scene: Scene, page: Any) -> None:
    log_in(page, system, "sanya")
    query = f"region=460200&from={scene.day - timedelta(days=6)}&to={scene.day}"
    page.goto(f"{system.url}/console/#/reports?{query}")
    expect(page.locator("#report-text")).to_contain_text("有效投诉件")
    charts = page.locator("#report-charts")
    expect(charts).to_contain_text("10分钟内")  # the handling-time buckets in words
    expect(charts).to_contain_text("1–2小时")
    for english in ("<10m", "1-2h", ">48h"):
        expect(charts).not_to_contain_text(english)
    top = page.locator("#report-charts .card", has_text="被投诉商户前10")
    expect(top.locator("svg.chart text").first).to_have_text(LONG_NAME)  # on a line of its own, whole, if need be
    assert_charts_read(page)
    shot(page, "1-report-charts")

    with page.expect_popup() as opened:
        page.locator("#report-print").click()
    printed = opened.value
    expect(printed.locator("h1")).to_contain_text("旅游投诉处理情况")
    expect(printed.locator("h1")).to_have_css("text-align", "center")  # the print stylesheet is applied
    expect(printed.locator("table").first).to_be_visible()
    button = printed.get_by_role("button", name="打印")
    expect(button).to_be_visible()
    button.click()
    assert printed.evaluate("window.__printed") == 1, "the print button does nothing"
    # The print version's own charts read as well: sources, channels, industries, units, merchants.
    assert_charts_read(printed, "svg.bars", 5)
    assert printed.evaluate("document.documentElement.scrollWidth") <= printed.viewport_size["width"] + 1
    no_policy_violations(printed)
    no_policy_violations(page)
    printed.screenshot(path=str(SHOTS / f"2-print-version-{page.width_name}.png"), full_page=True)


def test_merchant_staff_see_what_works_for_them_their_grade_reasons_poster_and_offer(
    system: System, scene: Scene, page: Any
) -> None:
    failures: list[str] = []
    page.on(
        "response", lambda r: failures.append(f"{r.status} {r.url}") if "/v1/" in r.url and r.status >= 400 else None
    )
    log_in(page, system, "hotel")
    nav = page.locator("header.top nav a:visible")
    names = nav.all_inner_texts()
    assert "统计报表" not in names and "先行赔付" not in names, names
    assert "本店信用与放心消费码" in names, names
    for name in names:
        page.locator("header.top nav a", has_text=name).click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#message .message.error")).to_have_count(0)
    assert failures == [], failures
    page.goto(f"{system.url}/console/#/reports")  # typed by hand: back to the queue, not a 403
    expect(page.locator("#queue")).to_be_visible()

    page.get_by_role("link", name="本店信用与放心消费码").click()
    expect(page.locator("#grade-value")).to_have_text(re.compile("^[ABCD]$"))
    expect(page.locator("#grade-reasons")).to_contain_text("被受理的投诉")
    expect(page.locator("#grade-reasons")).to_contain_text("经查有责的投诉")
    shot(page, "3-merchant-grade")

    with page.expect_popup() as opened:
        page.get_by_role("button", name="打印放心消费码海报").click()
    poster = opened.value
    expect(poster.locator("#poster-name")).to_have_text(LONG_NAME)
    expect(poster.locator("#poster-grade")).to_have_text(re.compile("^[ABCD]$"))
    expect(poster.locator("#poster-code")).to_have_text(scene.code)
    expect(poster.locator("#poster-how")).to_contain_text("如何投诉")
    expect(poster.locator("#poster-how")).to_contain_text("12345")
    qr = poster.locator("#poster-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 100, "the QR image did not load"
    assert poster.evaluate("document.documentElement.scrollWidth") <= poster.viewport_size["width"] + 1
    poster.get_by_role("button", name="打印海报").click()
    assert poster.evaluate("window.__printed") == 1
    no_policy_violations(poster)
    poster.screenshot(path=str(SHOTS / f"4-code-poster-{page.width_name}.png"), full_page=True)

    # The reply with a refund offer, and the offer still there afterwards.
    page.goto(f"{system.url}/console/#/complaints/{scene.waiting_id}")
    expect(page.locator("dl.facts")).to_be_visible()
    if page.locator('button[data-action="responses"]').count():
        page.locator('button[data-action="responses"]').click()
        form = page.locator('form[data-action="responses"]')
        form.locator('textarea[name="message"]').fill("已与游客沟通，同意退还房差。")
        form.locator('input[name="offered_refund_fen"]').fill("88.00")
        form.get_by_role("button", name="提交").click()
        expect(page.locator("#message")).to_contain_text("已完成")
    expect(page.locator("dl.facts")).to_contain_text("商户提出退款（元）")
    expect(page.locator("#offered-refund")).to_have_text("88.00")
    expect(page.locator("dl.facts")).to_contain_text("已与游客沟通，同意退还房差。")
    page.reload()
    expect(page.locator("#offered-refund")).to_have_text("88.00")
    shot(page, "5-merchant-offer")
    assert failures == [], failures


CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_fits(page: Any, table: Any) -> None:
    """Nothing scrolls sideways: not the page, not the table inside its wrapper (its last column in view)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1
    widths = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert widths[0] <= widths[1] + 1, f"the figures table is cut off: {widths}"


def test_the_public_figures_show_one_language_at_a_time(system: System, scene: Scene, page: Any) -> None:
    page.goto(f"{system.url}/public/")
    table = page.locator("#figures-table")
    expect(table).to_be_visible()
    # It opens on the platform's default region, Hainan, though the catalogue lists Hunan (430000) first.
    expect(page.locator('#figures-form select[name="region"]')).to_have_value("460000")
    expect(page.locator("#figures h3")).to_contain_text("海南省")
    heads = table.locator("thead th").all_inner_texts()
    assert heads[0] == "月份" and not any(re.search("[A-Za-z]", h) for h in heads), heads
    expect(page.locator("main")).not_to_contain_text("Received")
    assert_fits(page, table)
    shot(page, "6-public-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(table.locator("thead th").first).to_have_text("Month")
    heads = table.locator("thead th").all_inner_texts()
    assert not any(CHINESE.search(h) for h in heads), heads
    assert not CHINESE.search(page.locator("header.top h1").inner_text())
    assert_fits(page, table)
    shot(page, "7-public-en")
    page.reload()  # remembered
    expect(table.locator("thead th").first).to_have_text("Month")
    page.get_by_role("button", name="中文").click()
    expect(table.locator("thead th").first).to_have_text("月份")

    page.locator('input[name="from"]').fill("2026-12")
    page.locator('input[name="to"]').fill("2026-01")
    page.get_by_role("button", name="查询").click()
    problem = page.locator("#message .message.error")
    expect(problem).to_have_attribute("data-code", "bad_period")
    expect(problem).to_contain_text("截止月不能早于起始月")
    no_policy_violations(page)


def test_the_code_page_explains_grades_and_says_unknown_codes_in_chinese(
    system: System, scene: Scene, page: Any
) -> None:
    page.goto(f"{system.url}/c/{scene.code}")
    expect(page.locator("#merchant-name")).to_have_text(LONG_NAME)
    expect(page.locator("#grade")).to_have_text(re.compile("^[ABCD]$"))
    scale = page.locator("#grade-scale")
    for grade in ("A", "B", "C", "D"):
        expect(scale.locator("dt", has_text=grade)).to_be_visible()
    expect(scale).to_contain_text("850 分及以上")
    expect(page.locator("#updated")).to_contain_text("信息更新于")
    expect(page.locator("main")).not_to_contain_text("Grade")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1
    shot(page, "8-code-zh")
    page.get_by_role("button", name="English").click()
    expect(scale).to_contain_text("What the grades mean")
    expect(page.locator("#updated")).to_contain_text("Updated")
    shot(page, "9-code-en")
    page.get_by_role("button", name="中文").click()

    page.goto(f"{system.url}/c/NOSUCHCODE")
    problem = page.locator("#problem")
    expect(problem).to_have_attribute("data-code", "code_not_found")
    expect(problem).to_contain_text("没有找到这个放心消费码")
    assert not re.search("[A-Za-z]{4,}", problem.inner_text()), problem.inner_text()
    shot(page, "10-code-unknown")
    no_policy_violations(page)


def test_the_api_docs_render_with_nothing_fetched_from_elsewhere(system: System, page: Any) -> None:
    elsewhere: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_loopback)
    page.goto(f"{system.url}/docs")
    # The merged document is built from the four services' own on first request: slow on a loaded machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Assured Tour API", timeout=30_000)
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert elsewhere == [], elsewhere
    no_policy_violations(page)
    shot(page, "11-docs", full_page=False)  # the first screen: the whole page is some 20,000 px tall


def test_redoc_renders_with_nothing_fetched_from_elsewhere(system: System, page: Any) -> None:
    elsewhere: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_loopback)
    page.goto(f"{system.url}/redoc")
    title = page.get_by_role("heading", name=re.compile("^Assured Tour API"), level=1)
    expect(title).to_be_visible(timeout=60_000)
    expect(page.get_by_text("登录与会话").first).to_be_attached(timeout=30_000)  # the tags, described
    page.wait_for_load_state("networkidle")
    assert elsewhere == [], elsewhere
    no_policy_violations(page)
    shot(page, "12-redoc", full_page=False)
