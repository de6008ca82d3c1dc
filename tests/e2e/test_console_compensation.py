"""Advance compensation from the console, in headless Chromium (Debian's) against the whole system on loopback
with payouts through the WeChat Pay fake: an official requests compensation on a complaint with its evidence,
confirms the merchant liable and approves, a second official approves (the rules issued here want two from
1,000 yuan), the payout is watched until paid, and the recovery order is followed (a payment recorded, the
merchant's contest, a write-off); a payout the provider refuses is sent again, or cancelled; a claim is refused
with a reason.
Every failure is told in Chinese. Desktop (1366×768) and phone (390×844) widths; screenshots under
test-results/console-compensation/."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.auth import create_staff
from shared.clock import ManualClock, system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from shared.testing.fakes.server import ServerThread, free_port
from tests.conftest import WECHAT_APPID, WECHAT_SECRET, Providers, compensation_overrides, gateway_overrides
from tests.e2e.browser import WIDTHS, chromium, playwright_or_skip
from tests.e2e.conftest import HOTEL, System, _add_staff, _wipe_all
from tests.factories import complaint_body, phone_of, photo_png, uscc
from tests.support import FACTORIES, SERVICES, START, Databases, service_settings

pytestmark = pytest.mark.e2e

sync_api = playwright_or_skip()
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "console-compensation"
PHOTO = {"name": "订单截图.png", "mimeType": "image/png", "buffer": photo_png((48, 32))}
# Rules as issued for this test: from 1,000 yuan two officials approve, from 100 yuan one.
RULES = {
    "auto_approve_below_fen": 10_000,
    "second_approval_from_fen": 100_000,
    "cap_per_claim_fen": 3_000_000,
    "cap_per_consumer_per_year_fen": 5_000_000,
    "requires_evidence": True,
    "note": "测试：1000 元起须两位工作人员批准",
}
PAYOUT_WAIT = 30_000  # ms: approval -> outbox -> payout worker -> WeChat Pay fake -> its notification -> the page
SNAKE_CASE = re.compile(r"\b[a-z]+(_[a-z]+)+\b")
# Collects what the console's Content-Security-Policy refused (an inline style, a script from elsewhere).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
                          (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def system(databases: Databases, providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The four services with payouts through the WeChat Pay and Alipay fakes, whose notifications reach the
    gateway; two Sanya officials with names, to approve a claim twice."""
    tmp: Path = tmp_path_factory.mktemp("e2e-console-comp")
    clock = ManualClock(START)
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = {**urls, "run_background_workers": True, "outbox_poll_seconds": 0.05}
    extra = {
        "gateway": {**gateway_overrides(providers), "public_url": urls["gateway_url"]},
        "intake": {"scheduler_interval_seconds": 0.05},
        "compensation": {
            **compensation_overrides(providers, notify_base_url=urls["gateway_url"]),
            "payout_interval_seconds": 0.05,
            "payout_poll_seconds": 3600.0,  # the provider's notification, not a poll, tells the outcome
        },
    }
    settings = {name: service_settings(name, databases, tmp, **common, **extra.get(name, {})) for name in SERVICES}
    with ExitStack() as servers:
        for name in ("credit", "compensation", "intake", "gateway"):
            servers.enter_context(ServerThread(FACTORIES[name](settings[name], clock=clock), port=ports[name]))
        asyncio.run(_add_staff(settings["gateway"]))
        asyncio.run(_add_officials(settings["gateway"]))
        yield System(urls["gateway_url"], clock, settings)
    asyncio.run(_wipe_all(settings))


async def _add_officials(gateway_settings: Any) -> None:
    engine = create_engine(gateway_settings)
    async with create_sessionmaker(engine)() as session:
        for username, name in (("lina", "李娜"), ("zhou", "周强")):
            await create_staff(
                session,
                system_clock,
                username=username,
                password=f"{username}-pass-e2e",
                role=Role.official,
                region_code="460200",
                display_name=name,
            )
        await session.commit()
    await engine.dispose()


def login(gw: httpx.Client, username: str) -> dict[str, str]:
    r = gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def program(system: System) -> None:
    """The hotel settled in and enrolled, no deposit (its recovery orders stay open), Sanya's fund topped up,
    and the rules wanting two officials from 1,000 yuan."""
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        admin = login(gw, "admin")
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
        assert gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}).status_code == 200
        r = gw.post("/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": 10_000_000, "reference": "预算"})
        assert r.status_code == 201, r.text
        r = gw.post("/v1/compensation-rules", headers=admin, json=RULES)
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 15
        while gw.get(f"/v1/merchants/{HOTEL}/deposit", headers=admin).status_code != 200:
            assert time.monotonic() < deadline, "compensation never heard of the merchant"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def browser(system: System, program: None) -> Iterator[Any]:
    with chromium(sync_api) as browser:
        yield browser


def complaint(system: System, tourist: str, amount_fen: int, *, evidence: bool = False) -> str:
    """A tourist's complaint from the WeChat mini-program, assigned to the hotel at once."""
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        r = gw.post("/v1/auth/wechat/login", json={"code": f"demo-{tourist}"})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        body = complaint_body(
            merchant_id=HOTEL,
            amount_involved_fen=amount_fen,
            contact_phone=phone_of(tourist),
            description=f"{tourist}：预订海景房却被安排在面对停车场的房间，酒店拒绝退还差价。",
        )
        created = gw.post("/v1/complaints", headers=headers, json=body)
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        if evidence:
            files = {"file": (PHOTO["name"], PHOTO["buffer"], "image/png")}
            assert gw.post(f"/v1/complaints/{complaint_id}/evidence", headers=headers, files=files).status_code == 201
        return complaint_id


def heard(system: System, complaint_id: str, compensation_state: str) -> None:
    """Wait until intake heard the claim's news (compensation's events reach it through the outbox): the
    complaint's timeline, drawn once per visit, then shows it."""
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        admin, deadline = login(gw, "admin"), time.monotonic() + 15
        while (
            gw.get(f"/v1/complaints/{complaint_id}", headers=admin).json()["compensation_state"] != compensation_state
        ):
            assert time.monotonic() < deadline, f"intake never heard the claim became {compensation_state}"
            time.sleep(0.05)


def openid_of(providers: Providers, tourist: str) -> str:
    """The openid WeChat gives this tourist (the payout's payee), asked of the WeChat fake as the gateway does."""
    r = httpx.get(
        f"{providers.wechat_url}/sns/jscode2session",
        params={
            "appid": WECHAT_APPID,
            "secret": WECHAT_SECRET,
            "js_code": f"demo-{tourist}",
            "grant_type": "authorization_code",
        },
    )
    return r.json()["openid"]


class Console:
    """One member of staff's browser tab at one width; screenshots named by the width."""

    def __init__(self, browser: Any, system: System, width: str, username: str) -> None:
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=WIDTHS[width])
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.width, self.url = width, system.url
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(f"{system.url}/console/")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(f"{username}-pass-e2e")
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.locator("#queue, p.muted").first).to_be_visible()

    def open(self, path: str) -> Any:
        self.page.goto(f"{self.url}/console/#/{path}")
        return self.page

    def shot(self, name: str) -> None:
        """A screenshot of the page, which fits the width (nothing to scroll sideways) and broke no policy."""
        assert self.page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[self.width]["width"] + 1, name
        assert self.page.evaluate("window.__csp") == [], name
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.width}-{name}.png"), full_page=True)

    def said(self, text: str) -> None:
        """The message line says `text`, in words: no problem code leaks through."""
        box = self.page.locator("#message")
        expect(box).to_contain_text(text)
        assert not SNAKE_CASE.search(box.inner_text()), box.inner_text()

    def close(self) -> None:
        assert not [e for e in self.errors if "Failed to load resource" not in e], self.errors
        self.context.close()


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return request.param


def test_two_officials_approve_a_requested_claim_it_is_paid_and_its_recovery_is_followed(
    system: System, browser: Any, width: str
) -> None:
    complaint_id = complaint(system, f"cc-{width}-amy", 150_000)
    lina = Console(browser, system, width, "lina")
    page = lina.open(f"complaints/{complaint_id}")
    card = page.locator("#compensation")
    card.get_by_role("button", name="申请先行赔付").click()
    form = card.locator('form[data-action="request"]')
    expect(form.get_by_label("申请金额（元）")).to_have_value("1500.00")  # the amount involved, to start from
    form.get_by_label("申请金额（元）").fill("2000")
    form.get_by_label("申请理由").fill("酒店拒绝退还差价，投诉人提供了订单截图。")
    form.locator('input[name="evidence"]').set_input_files([PHOTO])
    form.get_by_role("button", name="提交申请").click()
    lina.said("申请金额超过了投诉涉及的金额。")  # amount_above_involved, in words
    lina.shot("1-request-too-much")
    form.get_by_label("申请金额（元）").fill("1200")
    form.get_by_role("button", name="提交申请").click()

    expect(page).to_have_url(re.compile(r"#/claims/clm_"))
    expect(page.locator("#claim-state")).to_have_text("待审批")
    expect(page.locator("#claim-amount")).to_have_text("1200.00")
    expect(page.locator("#claim-approvals")).to_have_text("需 2 位工作人员批准，已批准 0 位。")
    expect(page.locator("#claim-liability")).to_contain_text("尚未认定")
    reasons = page.locator("#claim-reasons")
    expect(reasons.locator("li.passed")).to_contain_text(["商户已入驻平台", "商户参加先行赔付", "已附证据材料"])
    expect(reasons.locator("li.failed")).to_have_text(["✗ 记录未显示商户责任，须工作人员认定"])
    lina.shot("2-claim-pending")

    page.get_by_role("button", name="批准", exact=True).click()
    approve = page.locator('form[data-action="approve"]')
    approve.get_by_label("我已核实，确认商户负有责任").check()
    approve.get_by_label("审批意见").fill("已核对订单与照片，属实。")
    approve.get_by_role("button", name="确认批准").click()
    lina.said("已批准，还需另一位工作人员复核批准。")
    expect(page.locator("#claim-approvals")).to_have_text("需 2 位工作人员批准，已批准 1 位。")
    expect(page.locator("#claim-liability")).to_have_text("已认定商户负有责任")
    expect(page.locator("#awaiting-second")).to_be_visible()
    expect(page.get_by_role("button", name="批准", exact=True)).to_have_count(0)  # not twice by the same official
    lina.shot("3-first-approval")
    claim_url = page.url

    zhou = Console(browser, system, width, "zhou")
    second = zhou.page
    second.get_by_role("link", name="赔付审批").click()
    row = second.locator(f'#claims tr[data-id="{claim_url.rsplit("/", 1)[1]}"]')
    expect(row).to_contain_text("待审批")
    expect(row).to_contain_text("1 / 2")
    zhou.shot("4-claims-to-approve")
    row.get_by_role("link").first.click()
    expect(second.locator("#claim-decision")).to_contain_text("李娜")
    second.get_by_role("button", name="复核批准").click()
    approve = second.locator('form[data-action="approve"]')
    expect(approve.get_by_label("我已核实，确认商户负有责任")).to_have_count(0)  # liability stands confirmed
    approve.get_by_role("button", name="确认批准").click()
    zhou.said("已批准，正在向游客支付。")
    # The page follows the payout by itself: the WeChat Pay fake pays and notifies the gateway.
    expect(second.locator("#claim-state")).to_have_text("已支付", timeout=PAYOUT_WAIT)
    expect(second.locator("#payout-state")).to_have_text("已到账")
    expect(second.locator("#claim-payout")).to_contain_text("微信支付（零钱）")
    expect(second.locator("#claim-decision")).to_contain_text("周强")
    zhou.shot("5-paid")

    second.locator("#claim-recovery").get_by_role("link", name="打开追偿单").click()
    expect(second.locator("#recovery-state")).to_have_text("追偿中")
    expect(second.locator("#recovery-outstanding")).to_have_text("1200.00")
    second.get_by_role("button", name="登记追回款项").click()
    payment = second.locator('form[data-action="payment"]')
    expect(payment.get_by_label("追回金额（元）")).to_have_value("1200.00")
    payment.get_by_label("追回金额（元）").fill("1500")
    payment.get_by_label("凭证号或说明").fill("HT-2026-001 商户转账")
    payment.get_by_role("button", name="提交").click()
    zhou.said("登记的金额超过了尚欠金额。")
    payment.get_by_label("追回金额（元）").fill("500")
    payment.get_by_label("款项来源").select_option(label="商户转账")
    payment.get_by_role("button", name="提交").click()
    zhou.said("已登记追回款项。")
    expect(second.locator("#recovery-recovered")).to_have_text("500.00")
    expect(second.locator("#recovery-outstanding")).to_have_text("700.00")
    recovery_url = second.url
    zhou.shot("6-recovery-part-paid")

    hotel = Console(browser, system, width, "hotel")
    shop = hotel.page
    shop.get_by_role("link", name="追偿").click()
    shop.locator(f'#recoveries tr[data-id="{recovery_url.rsplit("/", 1)[1]}"]').get_by_role("link").click()
    expect(shop.get_by_role("button", name="登记追回款项")).to_have_count(0)  # the merchant's page: contest only
    shop.get_by_role("button", name="提出异议").click()
    contest = shop.locator('form[data-action="contest"]')
    contest.get_by_label("商户异议理由").fill("游客入住的正是订单房型，差价已当面退还，有收据为证。")
    contest.locator('input[name="evidence"]').set_input_files([{**PHOTO, "name": "收据.png"}])
    contest.get_by_role("button", name="提交异议").click()
    hotel.said("已提交异议，等待工作人员处理。")
    expect(shop.locator("#recovery-state")).to_have_text("商户有异议")
    hotel.shot("7-merchant-contests")

    second.reload()
    expect(second.locator("#recovery-contest")).to_contain_text("差价已当面退还")
    second.get_by_role("button", name="核销").click()
    write_off = second.locator('form[data-action="write-off"]')
    write_off.get_by_label("核销理由").fill("商户异议成立，余款核销。")
    write_off.get_by_role("button", name="确认核销").click()
    zhou.said("已核销余下欠款。")
    expect(second.locator("#recovery-state")).to_have_text("已核销")
    expect(second.locator("#recovery-outstanding")).to_have_text("0.00")
    expect(second.locator("#recovery-write-off")).to_have_text("商户异议成立，余款核销。")
    expect(second.get_by_role("button", name="核销")).to_have_count(0)
    zhou.shot("8-written-off")

    heard(system, complaint_id, "paid")
    page.goto(f"{system.url}/console/#/complaints/{complaint_id}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("申请先行赔付")
    expect(timeline).to_contain_text("先行赔付已批准")
    expect(timeline).to_contain_text("先行赔付已支付")
    expect(page.locator("#compensation")).to_contain_text("已支付")
    expect(page.locator("#compensation")).to_contain_text("已核销")
    lina.shot("9-complaint-after")
    for console in (lina, zhou, hotel):
        console.close()


def test_a_payout_the_provider_refuses_is_sent_again(
    system: System, browser: Any, width: str, providers: Providers
) -> None:
    tourist = f"cc-{width}-ben"
    complaint_id = complaint(system, tourist, 30_000, evidence=True)
    openid = openid_of(providers, tourist)
    providers.wechatpay.state.failing_openids.add(openid)  # her WeChat account cannot receive money, for now
    lina = Console(browser, system, width, "lina")
    try:
        page = lina.open(f"complaints/{complaint_id}")
        page.locator("#compensation").get_by_role("button", name="申请先行赔付").click()
        form = page.locator('form[data-action="request"]')
        expect(form).to_contain_text("已有 1 份")
        form.get_by_label("申请理由").fill("酒店超时未处理，游客要求退还差价。")
        form.get_by_role("button", name="提交申请").click()
        expect(page.locator("#claim-approvals")).to_have_text("需 1 位工作人员批准，已批准 0 位。")
        page.get_by_role("button", name="批准", exact=True).click()
        approve = page.locator('form[data-action="approve"]')
        approve.get_by_role("button", name="确认批准").click()  # liability not confirmed: the form will not go
        expect(page.locator("#claim-state")).to_have_text("待审批")
        approve.get_by_label("我已核实，确认商户负有责任").check()
        approve.get_by_role("button", name="确认批准").click()
        expect(page.locator("#claim-state")).to_have_text("支付未成功", timeout=PAYOUT_WAIT)
        expect(page.locator("#payout-failure")).to_have_text("游客的微信账户异常，无法收款")
        expect(page.locator("#payout-state")).to_have_text("未成功")
        lina.shot("10-payout-refused")
    finally:
        providers.wechatpay.state.failing_openids.discard(openid)  # she sorted her account out
    page.get_by_role("button", name="重新支付").click()
    lina.said("已重新发起支付")
    expect(page.locator("#claim-state")).to_have_text("已支付", timeout=PAYOUT_WAIT)
    expect(page.locator("#payout-state")).to_have_text("已到账")
    lina.shot("11-payout-retried")
    bills = [b for b in providers.wechatpay.state.bills.values() if b["openid"] == openid]
    assert [(b["state"], b["transfer_amount"]) for b in bills] == [("SUCCESS", 30_000)]  # one bill, paid once
    lina.close()


def test_an_official_refuses_a_claim_with_a_reason(system: System, browser: Any, width: str) -> None:
    complaint_id = complaint(system, f"cc-{width}-cai", 20_000, evidence=True)
    lina = Console(browser, system, width, "lina")
    page = lina.open(f"complaints/{complaint_id}")
    page.locator("#compensation").get_by_role("button", name="申请先行赔付").click()
    form = page.locator('form[data-action="request"]')
    form.get_by_label("申请理由").fill("游客称房间不符。")
    form.get_by_role("button", name="提交申请").click()
    expect(page.locator("#claim-state")).to_have_text("待审批")
    page.get_by_role("button", name="不予赔付").click()
    reject = page.locator('form[data-action="reject"]')
    reject.get_by_label("不予赔付理由").fill("证据不足：照片无法证明房型与订单不符。")
    reject.get_by_role("button", name="确认不予赔付").click()
    lina.said("已决定不予赔付。")
    expect(page.locator("#claim-state")).to_have_text("不予赔付")
    expect(page.locator("#claim-rejection")).to_have_text("证据不足：照片无法证明房型与订单不符。")
    expect(page.locator("#payout-state")).to_have_text("未支付。")
    expect(page.get_by_role("button", name="批准", exact=True)).to_have_count(0)
    lina.shot("12-refused")
    heard(system, complaint_id, "rejected")
    page.locator("#claim-complaint").click()
    expect(page.locator("#timeline")).to_contain_text("先行赔付未获批准")
    expect(page.locator("#timeline")).to_contain_text("证据不足：照片无法证明房型与订单不符。")
    lina.close()


def test_a_refused_payout_can_be_cancelled_and_the_money_goes_back_to_the_fund(
    system: System, browser: Any, width: str, providers: Providers
) -> None:
    tourist = f"cc-{width}-dan"
    complaint_id = complaint(system, tourist, 25_000, evidence=True)
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        balance_before = gw.get("/v1/funds/460200", headers=login(gw, "admin")).json()["balance_fen"]
    openid = openid_of(providers, tourist)
    providers.wechatpay.state.failing_openids.add(openid)  # her account stays closed
    lina = Console(browser, system, width, "lina")
    try:
        page = lina.open(f"complaints/{complaint_id}")
        page.locator("#compensation").get_by_role("button", name="申请先行赔付").click()
        form = page.locator('form[data-action="request"]')
        form.get_by_label("申请理由").fill("酒店超时未处理。")
        form.get_by_role("button", name="提交申请").click()
        page.get_by_role("button", name="批准", exact=True).click()
        approve = page.locator('form[data-action="approve"]')
        approve.get_by_label("我已核实，确认商户负有责任").check()
        approve.get_by_role("button", name="确认批准").click()
        expect(page.locator("#claim-state")).to_have_text("支付未成功", timeout=PAYOUT_WAIT)
        page.get_by_role("button", name="撤销赔付").click()
        cancel = page.locator('form[data-action="cancel"]')
        cancel.get_by_label("不予赔付理由").fill("游客的微信账户已注销，改由商户直接退款。")
        cancel.get_by_role("button", name="确认撤销").click()
        lina.said("已撤销赔付，款项退回赔付基金。")
        expect(page.locator("#claim-state")).to_have_text("不予赔付")
        expect(page.locator("#claim-rejection")).to_have_text("游客的微信账户已注销，改由商户直接退款。")
        expect(page.get_by_role("button", name="重新支付")).to_have_count(0)
        lina.shot("13-payout-cancelled")
    finally:
        providers.wechatpay.state.failing_openids.discard(openid)
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        admin = login(gw, "admin")
        assert gw.get("/v1/funds/460200", headers=admin).json()["balance_fen"] == balance_before
        assert gw.get("/v1/ledger/check", headers=admin).json()["ok"]
    lina.close()
