"""Tourists' notifications of their complaint's progress: the message fields within the providers' limits,
and, with the four services wired in-process and the provider fakes on loopback, a burst told once, an
outage retried, a newer change overtaking a retry, a redelivered event told once, the outcome on the
timeline even when intake was down for a while."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.gateway.config import GatewaySettings
from services.gateway.logins.alipay import AlipayMiniProgramLogin
from services.gateway.logins.alipay import progress_data as alipay_data
from services.gateway.logins.base import DEFAULT_REMARK, ProgressMessage, clip
from services.gateway.logins.wechat import WeChatMiniProgramLogin, state_phrase
from services.gateway.logins.wechat import progress_data as wechat_data
from services.gateway.models import Notification
from services.gateway.notifications import (
    BATCH,
    handlers,
    notification_worker,
    page_of,
    send_notifications_once,
)
from services.intake.models import outbox as intake_outbox
from shared.auth import service_identity
from shared.clock import shanghai_text
from shared.contracts.events import ComplaintStateChanged, EventEnvelope
from shared.contracts.identity import Identity, Role
from shared.http import ServiceClient
from shared.ids import new_id
from shared.outbox import finish_batch
from shared.testing.fakes.server import free_port
from tests.conftest import ALIPAY_APPID, WECHAT_APPID, WECHAT_SECRET, Providers, merchant_staff, official
from tests.factories import HOTEL, act, complaint_body, phone_of, settle_merchant
from tests.support import INTERNAL_SECRET, Stack

SENT_AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
LONG_NOTE = "您好，酒店已核实情况并同意退还房费差价三百元，款项将在三个工作日内原路退回，请注意查收。"


# --- the message fields -----------------------------------------------------------------------------
def test_wechat_fields_keep_within_wechat_s_limits() -> None:
    data = wechat_data(ProgressMessage("cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "responded", SENT_AT, LONG_NOTE))
    assert data["character_string1"]["value"] == "cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"
    assert data["phrase2"]["value"] == "已答复"
    assert data["time3"]["value"] == "2026年11月20日 10:00"  # Asia/Shanghai, not UTC's 02:00
    thing = data["thing4"]["value"]
    assert len(thing) == 20 and thing.endswith("…") and LONG_NOTE.startswith(thing[:-1])
    assert all(len(v["value"]) <= 32 for v in data.values())


def test_every_state_is_a_phrase_of_at_most_five_characters() -> None:
    for state in (
        "submitted",
        "accepted",
        "assigned",
        "responded",
        "escalated",
        "resolved",
        "closed",
        "not_accepted",
        "withdrawn",
        "transferred",
        "some_future_state",
    ):
        assert 1 <= len(state_phrase(state)) <= 5, state
    assert state_phrase("assigned") == "处理中" and state_phrase("not_accepted") == "不予受理"


def test_notes_become_one_short_line_and_a_missing_note_a_hint() -> None:
    assert clip("第一行\n第二行\t 第三行", 20) == "第一行 第二行 第三行"
    assert clip("x" * 21, 20) == "x" * 19 + "…" and clip("x" * 20, 20) == "x" * 20
    assert wechat_data(ProgressMessage("cmp_1", "accepted", SENT_AT))["thing4"]["value"] == DEFAULT_REMARK


def test_times_are_shanghai_across_midnight_and_the_year() -> None:
    assert shanghai_text(datetime(2026, 12, 31, 16, 5, tzinfo=UTC)) == "2027年1月1日 00:05"
    assert shanghai_text(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == "2026年3月1日 23:59"


def test_alipay_keywords_keep_within_fifty_characters() -> None:
    data = alipay_data(ProgressMessage("cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "resolved", SENT_AT, LONG_NOTE * 2))
    assert list(data) == ["keyword1", "keyword2", "keyword3", "keyword4"]
    assert data["keyword2"]["value"] == "已办结" and data["keyword3"]["value"] == "2026年11月20日 10:00"
    assert all(len(v["value"]) <= 50 for v in data.values()) and data["keyword4"]["value"].endswith("…")


def test_the_page_opens_the_complaint() -> None:
    settings = GatewaySettings(progress_page="pages/complaint/detail?from=notice&id={complaint_id}")
    assert page_of(settings, "cmp_01") == "pages/complaint/detail?from=notice&id=cmp_01"


# --- through the services ---------------------------------------------------------------------------
@pytest.fixture
def fakes(providers: Providers) -> Iterator[Providers]:
    yield providers
    for fake in (providers.wechat, providers.alipay):
        fake.state.faults.set("none", 0)  # type: ignore[attr-defined]
    providers.wechat.state.exhausted_subscriptions.clear()  # type: ignore[attr-defined]
    providers.alipay.state.unsubscribed_users.clear()  # type: ignore[attr-defined]


async def openid_of(providers: Providers, name: str) -> str:
    return (
        await WeChatMiniProgramLogin(WECHAT_APPID, WECHAT_SECRET, providers.wechat_url).identify(f"demo-{name}")
    ).external_id


async def alipay_user_of(providers: Providers, name: str) -> str:
    login = AlipayMiniProgramLogin(
        ALIPAY_APPID,
        providers.alipay_url,
        providers.app_private_key.read_text(),
        providers.platform_public_key.read_text(),
    )
    return (await login.identify(f"demo-{name}")).external_id


def messages_to(fake: Any, recipient: str, key: str = "touser") -> list[dict[str, Any]]:
    return [m for m in fake.state.sent_messages if m.get(key) == recipient]


async def tourist(stack: Stack, name: str, provider: str = "wechat") -> dict[str, str]:
    body = {"auth_code": f"demo-{name}"} if provider == "alipay" else {"code": f"demo-{name}"}
    response = await stack.gateway.post(f"/v1/auth/{provider}/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def complain(stack: Stack, who: dict[str, str], name: str, **overrides: Any) -> dict[str, Any]:
    response = await stack.gateway.post(
        "/v1/complaints", headers=who, json=complaint_body(contact_phone=phone_of(name), **overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def timeline(stack: Stack, who: dict[str, str], complaint_id: str, *kinds: str) -> list[dict[str, Any]]:
    response = await stack.gateway.get(f"/v1/complaints/{complaint_id}/timeline", headers=who)
    assert response.status_code == 200, response.text
    return [e for e in response.json() if e["kind"] in (kinds or ("notified", "notification_failed"))]


async def rows(stack: Stack, complaint_id: str) -> list[Notification]:
    async with stack.apps["gateway"].state.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(Notification).where(Notification.complaint_id == complaint_id).order_by(Notification.seq)
                )
            ).all()
        )


async def settle_notifications(stack: Stack, seconds: float = 3) -> None:
    """Deliver the events, let the coalescing wait pass, and run the notification worker once."""
    await stack.deliver_events()
    stack.clock.advance(seconds=seconds)
    await send_notifications_once(stack.apps["gateway"])


async def test_a_burst_of_changes_is_one_message_with_the_newest_state(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    alice = await tourist(stack, "notify-alice")
    openid = await openid_of(fakes, "notify-alice")
    complaint = await complain(stack, alice, "notify-alice")
    cid = complaint["id"]
    assert complaint["state"] == "assigned"  # submitted, accepted and assigned in one request

    await stack.deliver_events()
    # The three changes arrived in one batch: one row, rewritten to the newest state as each was applied.
    assert [r.state_to for r in await rows(stack, cid)] == ["assigned"]
    await send_notifications_once(stack.apps["gateway"])
    assert messages_to(fakes.wechat, openid) == []  # still waiting for the rest of the burst
    await settle_notifications(stack)

    sent = messages_to(fakes.wechat, openid)
    assert len(sent) == 1
    assert sent[0]["template_id"] == stack.apps["gateway"].state.settings.wechat_progress_template_id
    assert sent[0]["page"] == f"pages/complaint/detail?id={cid}"
    assert sent[0]["data"]["character_string1"]["value"] == complaint["case_number"]
    assert sent[0]["data"]["phrase2"]["value"] == "处理中"
    assert [r.state for r in await rows(stack, cid)] == ["sent"]
    [told] = await timeline(stack, alice, cid)
    assert told["kind"] == "notified" and told["actor_role"] == "service"
    assert told["data"] | {"notification_id": None} == {
        "notification_id": None,
        "provider": "wechat",
        "state": "sent",
        "state_told": "assigned",
        "error": None,
        "attempts": 1,
    }

    # The hotel answers: one more message, with its answer cut to WeChat's 20 characters.
    await act(stack, official(), cid, "responses", {"message": LONG_NOTE, "offered_refund_fen": 30000})
    await settle_notifications(stack)
    again = messages_to(fakes.wechat, openid)
    assert len(again) == 2 and again[-1]["data"]["phrase2"]["value"] == "已答复"
    assert again[-1]["data"]["thing4"]["value"] == clip(LONG_NOTE, 20)
    await settle_notifications(stack)
    assert len(messages_to(fakes.wechat, openid)) == 2 and len(await timeline(stack, alice, cid)) == 2


async def test_a_redelivered_event_is_told_once(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    bob = await tourist(stack, "notify-bob")
    cid = (await complain(stack, bob, "notify-bob"))["id"]
    await settle_notifications(stack)
    async with stack.apps["intake"].state.sessionmaker() as session:
        envelopes = (
            await session.execute(
                select(intake_outbox.c.envelope).where(
                    intake_outbox.c.subscriber == "gateway", intake_outbox.c.event_type == "complaint.state_changed"
                )
            )
        ).all()
    mine = [e for (e,) in envelopes if e["payload"]["complaint_id"] == cid]
    assert len(mine) == 3
    before = [(r.id, r.state) for r in await rows(stack, cid)]
    for envelope in mine:  # the dispatcher delivers again (a lost acknowledgement)
        again = await stack.gateway.post(
            "/internal/events", json=envelope, headers=stack.as_(service_identity("intake"))
        )
        assert again.json() == {"status": "duplicate"}
    # Even past the inbox (a handler run twice), nothing is told twice: the unique key on event and consumer
    # refuses the newest event's row again, and the older events' rows are superseded by it, never sent.
    handle = handlers(stack.apps["gateway"])["complaint.state_changed"]
    for envelope in mine:
        async with stack.apps["gateway"].state.sessionmaker() as session:
            parsed = EventEnvelope.model_validate(envelope)
            try:
                await handle(session, ComplaintStateChanged.model_validate(parsed.payload), parsed)
                await finish_batch(session)  # what the inbox does after a batch's events
                await session.commit()
            except IntegrityError:
                assert parsed.payload["state_to"] == "assigned"
    await settle_notifications(stack)
    assert [(r.id, r.state) for r in await rows(stack, cid) if r.state != "superseded"] == before
    assert len(messages_to(fakes.wechat, await openid_of(fakes, "notify-bob"))) == 1
    assert len(await timeline(stack, bob, cid)) == 1


async def test_changes_heard_out_of_order_tell_the_newest_state(stack: Stack, fakes: Providers) -> None:
    """Two dispatcher replicas may deliver a complaint's events out of order: the revision each carries,
    not the order they arrive in, says which is newer."""
    await settle_merchant(stack)
    dora = await tourist(stack, "notify-dora")
    cid = (await complain(stack, dora, "notify-dora"))["id"]
    await settle_notifications(stack)
    await act(stack, official(), cid, "responses", {"message": "酒店同意退差价"})
    await act(
        stack,
        official(),
        cid,
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 30000},
    )
    async with stack.apps["intake"].state.sessionmaker() as session:
        envelopes = [
            e
            for (e,) in (
                await session.execute(
                    select(intake_outbox.c.envelope)
                    .where(intake_outbox.c.subscriber == "gateway", intake_outbox.c.delivered_at.is_(None))
                    .order_by(intake_outbox.c.id)
                )
            ).all()
            if e["payload"]["complaint_id"] == cid
        ]
    assert [(e["payload"]["state_to"], e["payload"]["revision"]) for e in envelopes] == [
        ("responded", 4),
        ("resolved", 5),
    ]
    for envelope in reversed(envelopes):  # the resolution arrives first
        heard = await stack.gateway.post(
            "/internal/events", json=envelope, headers=stack.as_(service_identity("intake"))
        )
        assert heard.json() == {"status": "applied"}
    stack.clock.advance(seconds=3)
    await send_notifications_once(stack.apps["gateway"])
    sent = messages_to(fakes.wechat, await openid_of(fakes, "notify-dora"))
    assert [m["data"]["phrase2"]["value"] for m in sent] == ["处理中", "已办结"]
    assert [(r.state_to, r.state) for r in await rows(stack, cid)][-2:] == [
        ("responded", "superseded"),
        ("resolved", "sent"),
    ]


async def test_an_outage_is_retried_and_a_newer_change_overtakes_the_retry(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    carol = await tourist(stack, "notify-carol")
    openid = await openid_of(fakes, "notify-carol")
    cid = (await complain(stack, carol, "notify-carol"))["id"]
    fakes.wechat.state.faults.set("error500", 1000)  # type: ignore[attr-defined]
    await settle_notifications(stack)
    waiting = (await rows(stack, cid))[-1]
    assert (waiting.state, waiting.attempts, waiting.last_error is not None) == ("pending", 1, True)
    wait = waiting.next_attempt_at - stack.clock.now()
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=6)  # backing off (with jitter), not a tight loop
    await send_notifications_once(stack.apps["gateway"])
    assert (await rows(stack, cid))[-1].attempts == 1

    # WeChat is back; the retry tells the newest state, once, and the timeline says it took two attempts.
    fakes.wechat.state.faults.set("none", 0)  # type: ignore[attr-defined]
    stack.clock.advance(seconds=6)
    await send_notifications_once(stack.apps["gateway"])
    assert [m["data"]["phrase2"]["value"] for m in messages_to(fakes.wechat, openid)] == ["处理中"]
    [told] = await timeline(stack, carol, cid)
    assert told["data"]["attempts"] == 2 and told["data"]["state_told"] == "assigned"

    # Down again when the hotel answers; before the retry comes due, an official escalates: the answer's
    # message is superseded, never sent after the newer one.
    fakes.wechat.state.faults.set("error500", 1000)  # type: ignore[attr-defined]
    await act(stack, official(), cid, "responses", {"message": "已联系游客协商退款", "offered_refund_fen": 0})
    await settle_notifications(stack)
    await act(stack, official(), cid, "escalations", {"reason": "游客不满意答复，转官方调解"})
    fakes.wechat.state.faults.set("none", 0)  # type: ignore[attr-defined]
    await settle_notifications(stack, seconds=10)
    assert [m["data"]["phrase2"]["value"] for m in messages_to(fakes.wechat, openid)] == ["处理中", "已升级"]
    assert [r.state for r in await rows(stack, cid)][-2:] == ["superseded", "sent"]
    assert [e["data"]["state_told"] for e in await timeline(stack, carol, cid)] == ["assigned", "escalated"]


async def test_a_provider_down_for_every_attempt_is_failed_on_the_timeline(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    dave = await tourist(stack, "notify-dave")
    cid = (await complain(stack, dave, "notify-dave"))["id"]
    fakes.wechat.state.faults.set("error500", 1000)  # type: ignore[attr-defined]
    await settle_notifications(stack)
    for _ in range(10):
        stack.clock.advance(hours=1)
        await send_notifications_once(stack.apps["gateway"])
    last = (await rows(stack, cid))[-1]
    assert (last.state, last.attempts) == ("failed", stack.apps["gateway"].state.settings.notify_max_attempts)
    [entry] = await timeline(stack, dave, cid)
    assert entry["kind"] == "notification_failed" and entry["data"]["state"] == "failed"
    assert "provider_unavailable" in entry["data"]["error"]
    complaint = (await stack.gateway.get(f"/v1/complaints/{cid}", headers=dave)).json()
    assert complaint["state"] == "assigned"  # the complaint went on regardless


async def test_refused_and_unsupported_are_recorded_and_never_retried(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    erin = await tourist(stack, "notify-erin")
    fakes.wechat.state.exhausted_subscriptions.add(await openid_of(fakes, "notify-erin"))  # type: ignore
    erin_case = (await complain(stack, erin, "notify-erin"))["id"]
    frank = await tourist(stack, "notify-frank", provider="douyin")
    frank_case = (await complain(stack, frank, "notify-frank"))["id"]
    await settle_notifications(stack)
    stack.clock.advance(hours=2)
    await send_notifications_once(stack.apps["gateway"])

    [refused] = await timeline(stack, erin, erin_case)
    assert refused["kind"] == "notification_failed"
    assert (refused["data"]["state"], refused["data"]["attempts"]) == ("refused", 1)
    assert refused["data"]["error"].startswith("43101")
    [unsupported] = await timeline(stack, frank, frank_case)
    assert unsupported["data"]["provider"] == "douyin" and unsupported["data"]["state"] == "not_supported"
    assert unsupported["data"]["attempts"] == 0


async def test_a_second_account_with_the_same_phone_hears_nothing_of_the_first_complaint(
    stack: Stack, fakes: Providers
) -> None:
    """A phone number typed into a form is not an identity: another account using it files a complaint of its
    own, is never told of the first's progress (nor the merchant's response), and hears of the first only once
    an official confirms the two are one case, about its own complaint, through its own login."""
    await settle_merchant(stack)
    grace = await tourist(stack, "notify-grace")
    first = (await complain(stack, grace, "notify-grace"))["id"]
    same = await tourist(stack, "notify-grace-alipay", provider="alipay")
    second = await complain(
        stack, same, "notify-grace", description="酒店订的海景房却安排了面对停车场的房间，前台拒绝退差价。"
    )
    assert (second["state"], second["duplicate_of"]) == ("assigned", None)  # worked as its own, not refused
    await act(
        stack,
        merchant_staff(HOTEL),
        first,
        "responses",
        {"message": "已为格蕾丝女士办理退差价三百元", "offered_refund_fen": 30000},
    )
    await settle_notifications(stack)
    user_id = await alipay_user_of(fakes, "notify-grace-alipay")
    told = messages_to(fakes.alipay, user_id, key="to_user_id")
    assert told and {m["data"]["keyword1"]["value"] for m in told} == {second["case_number"]}  # only of its own
    assert not any(
        "格蕾丝" in json.dumps(m, ensure_ascii=False) for m in messages_to(fakes.alipay, user_id, key="to_user_id")
    )
    assert [m["data"]["keyword2"]["value"] for m in told] == ["处理中"]

    # An official of the region confirms the possible link: the later complaint is worked as the first.
    sanya = official()
    [flag] = (await stack.clients["intake"].get(f"/v1/complaints/{second['id']}", headers=stack.as_(sanya))).json()[
        "possible_links"
    ]
    await act(stack, sanya, second["id"], "link-decisions", {"link_id": flag["id"], "confirm": True})
    await settle_notifications(stack)
    told = messages_to(fakes.alipay, user_id, key="to_user_id")
    assert told[-1]["data"]["keyword2"]["value"] == "不予受理"
    assert told[-1]["data"]["keyword4"]["value"] == "同一案件已在办理，进展将同步告知您"  # not refused: merged

    await act(stack, sanya, first, "escalations", {"reason": "同一案件两个渠道反映，升级处理"})
    await settle_notifications(stack)
    told = messages_to(fakes.alipay, user_id, key="to_user_id")
    assert told[-1]["data"]["keyword1"]["value"] == second["case_number"]  # their own complaint, not the one worked
    assert told[-1]["data"]["keyword2"]["value"] == "已升级"
    assert told[-1]["page"] == f"pages/complaint/detail?id={second['id']}"
    assert {e["data"]["provider"] for e in await timeline(stack, same, second["id"])} == {"alipay"}


async def test_an_outcome_waits_while_intake_is_down_and_is_recorded_once(stack: Stack, fakes: Providers) -> None:
    await settle_merchant(stack)
    heidi = await tourist(stack, "notify-heidi")
    cid = (await complain(stack, heidi, "notify-heidi"))["id"]
    await stack.deliver_events()
    gateway = stack.apps["gateway"]
    intake = gateway.state.clients["intake"]
    gateway.state.clients["intake"] = ServiceClient(
        "intake", f"http://127.0.0.1:{free_port()}", INTERNAL_SECRET, timeout=1, retries=0
    )
    try:
        await settle_notifications(stack)
        [row] = [r for r in await rows(stack, cid) if r.state == "sent"]
        assert not row.recorded
        await send_notifications_once(gateway)  # not due again yet
    finally:
        await gateway.state.clients["intake"].aclose()
        gateway.state.clients["intake"] = intake
    assert await timeline(stack, heidi, cid) == []
    stack.clock.advance(seconds=30)
    await send_notifications_once(gateway)
    assert [r.recorded for r in await rows(stack, cid) if r.state == "sent"] == [True]
    [entry] = await timeline(stack, heidi, cid)
    assert entry["note"].startswith("已通过微信消息告知投诉人")  # the login named as its module names it

    # A report intake already has (its answer was lost) records nothing twice, even twice in one batch;
    # an outcome for a complaint intake does not know is answered as such, the rest still recorded.
    body = {
        "complaint_id": cid,
        "notification_id": row.id,
        "provider": "wechat",
        "outcome": "sent",
        "state_told": "assigned",
        "error": None,
        "attempts": 1,
        "at": entry["at"],
    }
    unknown = {
        **body,
        "complaint_id": "cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
        "notification_id": "ntf_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
    }
    path = "/internal/notification-outcomes"
    again = await stack.clients["intake"].post(
        path, json={"outcomes": [body, unknown, body]}, headers=stack.as_(service_identity("gateway"))
    )
    assert again.status_code == 200
    assert again.json()["results"] == [
        {"notification_id": row.id, "kind": "notified", "recorded": False, "error": None},
        {
            "notification_id": unknown["notification_id"],
            "kind": None,
            "recorded": False,
            "error": "complaint_not_found",
        },
        {"notification_id": row.id, "kind": "notified", "recorded": False, "error": None},
    ]
    assert len(await timeline(stack, heidi, cid)) == 1
    # Only services may report; a tourist may not write on her own timeline.
    tourist_id = (await stack.gateway.get("/v1/me", headers=heidi)).json()["id"]
    forged = await stack.clients["intake"].post(
        path,
        json={"outcomes": [body]},
        headers=stack.as_(Identity(subject=tourist_id, role=Role.consumer, channel="wechat_miniprogram")),
    )
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"


async def test_a_backlog_of_several_batches_goes_out_at_once_not_a_batch_an_interval(
    stack: Stack, fakes: Providers
) -> None:
    """A busy hour queues more than a pass takes: the worker runs pass after pass while batches are full,
    rather than one batch per GATEWAY_NOTIFY_INTERVAL_SECONDS (50 a second could not keep up)."""
    gateway = stack.apps["gateway"]
    ivy = await tourist(stack, "notify-ivy")
    consumer_id = (await stack.gateway.get("/v1/me", headers=ivy)).json()["id"]
    now = stack.clock.now()
    backlog = 2 * BATCH + 5
    async with gateway.state.sessionmaker() as session, session.begin():
        session.add_all(
            Notification(
                id=new_id("ntf"),
                event_id=new_id("evt"),
                complaint_id=new_id("cmp"),
                consumer_id=consumer_id,
                seq=1,
                provider="wechat",
                state_to="accepted",
                changed_at=now,
                note=None,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                recorded=False,
                created_at=now,
            )
            for _ in range(backlog)
        )
    settings = gateway.state.settings
    gateway.state.settings = settings.model_copy(update={"notify_interval_seconds": 3600})
    worker = asyncio.create_task(notification_worker(gateway))
    try:
        for _ in range(200):
            async with gateway.state.sessionmaker() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(
                        Notification.consumer_id == consumer_id,
                        Notification.state == "sent",
                        Notification.recorded.is_(True),
                    )
                )
            if done == backlog:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        gateway.state.settings = settings
    assert done == backlog  # within seconds, though the worker would otherwise wait an hour between passes
    assert len(messages_to(fakes.wechat, await openid_of(fakes, "notify-ivy"))) == backlog
