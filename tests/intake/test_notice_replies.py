"""A public-opinion notice's reply to the city (涉旅信息通报单): missed, it escalates as a missed complaint deadline
does (issue 21): once, on the timeline, to the region's unit, announced, counted, and in the report. Made, it is
announced to whoever follows the notice, with the reply and whether it was in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.intake.models import outbox as intake_outbox
from shared.clock import SHANGHAI
from shared.contracts.identity import Identity, Role
from tests.conftest import official
from tests.support import Stack

PANLONG, KUNMING = "530103", "530100"
START = datetime(2021, 1, 11, 10, 0, tzinfo=SHANGHAI)


async def register(stack: Stack, number: str, reply_within: timedelta) -> dict[str, Any]:
    now = stack.clock.now()
    r = await stack.clients["intake"].post(
        "/v1/complaints",
        headers=stack.as_(official(PANLONG)),
        json={
            "channel": "public_opinion",
            "region_code": PANLONG,
            "merchant_name": "昆明市景怡旅行社有限公司",
            "industry": "sightseeing",
            "description": f"昆明市指挥中心《涉旅信息通报单》（{number}）：人民网地方领导留言板涉旅留言。",
            "remedy": "other",
            "occurred_at": (now - timedelta(days=1)).isoformat(),
            "contact_phone": "13700009830",
            "source_name": f"昆明市指挥中心《涉旅信息通报单》（{number}）",
            "reply_by": (now + reply_within).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def get(stack: Stack, path: str, **params: Any) -> Any:
    r = await stack.clients["intake"].get(path, headers=stack.as_(official(PANLONG)), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def fired(stack: Stack, kind: str) -> float:
    counter = stack.apps["intake"].state.service_metrics.deadlines_fired
    return sum(
        s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total") and s.labels["kind"] == kind
    )


async def test_an_unanswered_notice_is_escalated_once_when_its_reply_deadline_passes(stack: Stack) -> None:
    stack.clock.set(START)
    late = await register(stack, "8号", timedelta(minutes=20))
    answered = await register(stack, "9号", timedelta(minutes=20))
    assert (late["state"], late["unit"]["name"], late["reply_overdue"]) == ("assigned", "区指挥中心", False)
    stack.clock.advance(minutes=10)
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{answered['id']}/notice-replies", headers=stack.as_(official(PANLONG)), json={"note": "已上报"}
    )
    assert r.status_code == 200, r.text

    stack.clock.advance(minutes=9, seconds=59)
    assert await stack.run_deadlines() == 0
    stack.clock.advance(seconds=1)
    assert await stack.run_deadlines() == 1  # the unanswered one only; the answered one never fires
    assert await stack.run_deadlines() == 0  # once
    assert fired(stack, "reply") == 1

    now = await get(stack, f"/v1/complaints/{late['id']}")
    assert (now["state"], now["reply_overdue"]) == ("escalated", True)
    assert (await get(stack, f"/v1/complaints/{answered['id']}"))["reply_overdue"] is False
    timeline = await get(stack, f"/v1/complaints/{late['id']}/timeline")
    overdue = [e for e in timeline if e["kind"] == "overdue"]
    assert len(overdue) == 1 and overdue[0]["note"] == "已超过舆情通报反馈时限（2021年1月11日 10:20），督办"
    assert [e["kind"] for e in timeline][-2:] == ["overdue", "escalated"]
    # The city's officials, who supervise the district, see it among the late ones in their queue.
    queue = await stack.clients["intake"].get(
        "/v1/complaints", headers=stack.as_(official(KUNMING)), params={"overdue": "true"}
    )
    assert late["id"] in [c["id"] for c in queue.json()["items"]]

    # Reported back late, it is recorded as late; the report counts and says it.
    stack.clock.advance(hours=1)
    report = await get(
        stack, "/v1/reports/complaints", region_code=PANLONG, **{"from": "2021-01-11", "to": "2021-01-11"}
    )
    assert report["notices"]["overdue"] == 1 and report["notices"]["replied"] == 1
    assert "（8号），正在处理，逾期未反馈（应于1月11日前反馈），已督办" in report["notices_text"]
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{late['id']}/notice-replies", headers=stack.as_(official(PANLONG)), json={"note": "迟报"}
    )
    assert r.status_code == 200, r.text
    replied = [e for e in await get(stack, f"/v1/complaints/{late['id']}/timeline") if e["kind"] == "notice_replied"]
    assert replied[-1]["data"]["in_time"] is False
    await stack.run_deadlines()  # the other notice's own handling deadlines fire as any complaint's do
    assert fired(stack, "reply") == 1


async def test_a_linked_notice_left_unanswered_is_marked_not_escalated(stack: Stack) -> None:
    """Linked to the complaint it repeats, the notice is no longer handled itself, but the city still waits."""
    stack.clock.set(START)
    notice = await register(stack, "6号", timedelta(hours=1))
    other = await register(stack, "7号", timedelta(hours=24))
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{notice['id']}/notice-links",
        headers=stack.as_(official(PANLONG)),
        json={"complaint_id": other["id"]},
    )
    assert r.status_code == 200, r.text
    stack.clock.advance(hours=1)
    await stack.run_deadlines()
    now = await get(stack, f"/v1/complaints/{notice['id']}")
    assert (now["state"], now["reply_overdue"]) == ("not_accepted", True)
    assert [e["kind"] for e in await get(stack, f"/v1/complaints/{notice['id']}/timeline")].count("overdue") == 1


async def announced(stack: Stack, action: str) -> list[dict[str, Any]]:
    """The `complaint.state_changed` events with this action that intake wrote for its subscribers."""
    async with stack.apps["intake"].state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(intake_outbox.c.envelope).where(intake_outbox.c.event_type == "complaint.state_changed")
            )
        ).all()
    unique = {row.envelope["id"]: row.envelope for row in rows}
    return [e for e in unique.values() if e["payload"]["action"] == action]


async def test_a_reply_is_announced_to_those_following_the_notice_with_whether_it_was_in_time(stack: Stack) -> None:
    """The city's platform pushed the same post as a case of its own; merged into the notice, it follows the
    notice, and its webhook hears the reply as it hears a callback visit: the state stays, the reply and its
    timeliness come with it."""
    stack.clock.set(START)
    notice = await register(stack, "8号", timedelta(hours=2))
    platform = Identity(subject="ptn_YIJIYOU", role=Role.partner, display_name="一机游")
    pushed = await stack.clients["intake"].post(
        "/v1/complaints",
        headers=stack.as_(platform),
        json={
            "region_code": PANLONG,
            "merchant_name": "昆明市景怡旅行社有限公司",
            "industry": "sightseeing",
            "description": "游客在人民网地方领导留言板留言：旅行社未按约定安排行程。",
            "remedy": "other",
            "occurred_at": (stack.clock.now() - timedelta(days=1)).isoformat(),
            "contact_phone": "13700009831",
            "external_id": "YJY-0008",
        },
    )
    assert pushed.status_code == 201, pushed.text
    merged = await stack.clients["intake"].post(
        f"/v1/complaints/{pushed.json()['id']}/merges",
        headers=stack.as_(official(PANLONG)),
        json={"into": notice["case_number"], "reason": "与舆情通报为同一留言"},
    )
    assert merged.status_code == 200, merged.text

    stack.clock.advance(minutes=50)
    note = "已督促旅行社与游客协商一致，处理情况已上报市指挥中心。"
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{notice['id']}/notice-replies", headers=stack.as_(official(PANLONG)), json={"note": note}
    )
    assert r.status_code == 200, r.text
    [event] = await announced(stack, "notice_replied")
    payload = event["payload"]
    assert (payload["complaint_id"], payload["state_from"], payload["state_to"]) == (
        notice["id"],
        "assigned",
        "assigned",
    )
    assert payload["note"] == note
    assert payload["data"]["in_time"] is True
    assert datetime.fromisoformat(payload["data"]["replied_at"]) == stack.clock.now()
    assert datetime.fromisoformat(payload["data"]["reply_by"]) == START + timedelta(hours=2)
    assert [link["source_id"] for link in payload["links"]] == ["ptn_YIJIYOU"]
    assert payload["revision"] > 0

    # Recorded afterwards, past its deadline: late, by when it was made rather than when it was keyed in.
    late = await register(stack, "9号", timedelta(minutes=10))
    stack.clock.advance(hours=1)
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{late['id']}/notice-replies",
        headers=stack.as_(official(PANLONG)),
        json={"note": "迟报", "replied_at": (stack.clock.now() - timedelta(minutes=5)).isoformat()},
    )
    assert r.status_code == 200, r.text
    [entry] = [e for e in await get(stack, f"/v1/complaints/{late['id']}/timeline") if e["kind"] == "notice_replied"]
    assert entry["data"]["in_time"] is False
    assert datetime.fromisoformat(entry["data"]["replied_at"]) == stack.clock.now() - timedelta(minutes=5)
