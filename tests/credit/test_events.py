"""Events between services: the outbox delivers in order and retries; the inbox applies each once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from services.credit.models import outbox as credit_outbox
from services.credit.service import Subjects
from services.intake.models import Merchant as IntakeMerchant
from shared.auth import service_identity
from shared.http import ServiceClient
from shared.outbox import OutboxDispatcher
from tests.conftest import ADMIN, consumer
from tests.factories import settle_merchant, uscc
from tests.support import INTERNAL_SECRET, Stack


async def intake_merchants(stack: Stack) -> dict[str, IntakeMerchant]:
    async with stack.apps["intake"].state.sessionmaker() as session:
        return {m.id: m for m in (await session.scalars(select(IntakeMerchant))).all()}


async def test_settled_merchant_reaches_intakes_read_model(stack: Stack) -> None:
    merchant = await settle_merchant(stack, name="第一市场海鲜加工店", industry="food")
    known = await intake_merchants(stack)
    assert known[merchant["id"]].name == "第一市场海鲜加工店"
    assert known[merchant["id"]].industry == "food" and known[merchant["id"]].settled


async def test_an_event_delivered_twice_is_applied_once_and_old_revisions_are_ignored(stack: Stack) -> None:
    intake = stack.clients["intake"]
    envelope = {
        "id": "evt_TWICE",
        "type": "subject.registered",
        "version": 1,
        "occurred_at": "2026-11-20T02:00:00Z",
        "producer": "credit",
        "payload": {
            "subject_id": "mer_X",
            "kind": "merchant",
            "name": "新名字",
            "region_code": "460200",
            "industry": "food",
            "revision": 2,
        },
    }
    headers = stack.as_(service_identity("credit"))
    first = await intake.post("/internal/events", headers=headers, json=envelope)
    second = await intake.post("/internal/events", headers=headers, json=envelope)
    assert (first.json()["status"], second.json()["status"]) == ("applied", "duplicate")
    stale = {**envelope, "id": "evt_OLD", "payload": {**envelope["payload"], "name": "旧名字", "revision": 1}}
    assert (await intake.post("/internal/events", headers=headers, json=stale)).json()["status"] == "applied"
    assert (await intake_merchants(stack))["mer_X"].name == "新名字"


async def test_a_batch_is_applied_in_order_in_one_transaction_and_each_event_once(stack: Stack) -> None:
    intake = stack.clients["intake"]
    headers = stack.as_(service_identity("credit"))

    def event(n: int, name: str, revision: int) -> dict[str, object]:
        return {
            "id": f"evt_BATCH{n}",
            "type": "subject.registered" if n == 1 else "subject.updated",
            "version": 1,
            "occurred_at": "2026-11-20T02:00:00Z",
            "producer": "credit",
            "payload": {
                "subject_id": "mer_B",
                "kind": "merchant",
                "name": name,
                "region_code": "460200",
                "industry": "food",
                "revision": revision,
                "uscc": uscc("mer_B"),
            },
        }

    # Registered and renamed in one batch: the second event sees what the first did.
    first = await intake.post(
        "/internal/event-batches", headers=headers, json={"events": [event(1, "甲", 1), event(2, "乙", 2)]}
    )
    assert first.status_code == 200 and first.json()["statuses"] == ["applied", "applied"]
    again = await intake.post(
        "/internal/event-batches",
        headers=headers,
        json={"events": [event(1, "甲", 1), event(2, "乙", 2), event(3, "丙", 3)]},
    )
    assert again.json()["statuses"] == ["duplicate", "duplicate", "applied"]
    twice = await intake.post(
        "/internal/event-batches",
        headers=headers,  # a replica resent it within a batch
        json={"events": [event(6, "己", 6), event(6, "己", 6)]},
    )
    assert twice.json()["statuses"] == ["applied", "duplicate"]
    merchant = (await intake_merchants(stack))["mer_B"]
    assert (merchant.name, merchant.revision, merchant.uscc) == ("己", 6, uscc("mer_B"))
    broken = await intake.post(
        "/internal/event-batches",
        headers=headers,
        json={"events": [event(4, "丁", 7), {**event(5, "戊", 8), "payload": {}}]},
    )
    assert broken.status_code >= 400  # one bad event refuses the batch: nothing of it is applied
    assert (await intake_merchants(stack))["mer_B"].name == "己"
    assert (await intake.post("/internal/event-batches", headers=headers, json={"events": []})).status_code == 422


async def test_only_services_may_deliver_events(stack: Stack) -> None:
    response = await stack.clients["intake"].post("/internal/events", headers=stack.as_(consumer()), json={})
    assert response.status_code in (403, 422)
    response = await stack.clients["intake"].post(
        "/internal/events",
        headers=stack.as_(consumer()),
        json={
            "id": "evt_1",
            "type": "subject.registered",
            "occurred_at": "2026-11-20T02:00:00Z",
            "producer": "credit",
            "payload": {},
        },
    )
    assert response.status_code == 403


async def test_events_wait_while_the_subscriber_is_down_and_arrive_in_order_later(stack: Stack) -> None:
    credit = stack.apps["credit"]
    for n in range(3):
        response = await stack.clients["credit"].post(
            "/v1/merchants",
            headers=stack.as_(ADMIN),
            json={"name": f"商户{n}", "uscc": uscc(f"n{n}"), "region_code": "460200", "industry": "food"},
        )
        assert response.status_code == 201
    subscribers = ("intake", "compensation")
    down = {s: ServiceClient(s, "http://127.0.0.1:9", INTERNAL_SECRET, timeout=0.5, retries=0) for s in subscribers}
    dispatcher = OutboxDispatcher(
        credit_outbox, credit.state.sessionmaker, down, "credit", stack.clock, refusal_attempts=1
    )
    assert await dispatcher.deliver_once() == 0
    async with credit.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(credit_outbox).where(credit_outbox.c.subscriber == "intake").order_by(credit_outbox.c.id)
            )
        ).all()
    assert [r.attempts for r in rows] == [1, 0, 0]  # the first failure holds back the later ones
    assert rows[0].last_error and all(r.delivered_at is None for r in rows)
    count, _, dead = await dispatcher.backlog()
    assert (count, dead) == (6, 0)  # three merchants, two subscribers each; nothing given up
    for client in down.values():
        await client.aclose()

    up = {
        s: ServiceClient(s, f"http://{s}", INTERNAL_SECRET, transport=httpx.ASGITransport(app=stack.apps[s]))
        for s in subscribers
    }
    dispatcher.clients = up
    assert await dispatcher.deliver_once() == 0  # still backing off
    stack.clock.advance(timedelta(seconds=3))
    assert await dispatcher.deliver_once() == 6
    async with stack.apps["intake"].state.sessionmaker() as session:
        from services.intake.models import inbox

        received = (await session.execute(select(inbox.c.event_id))).scalars().all()
    assert set(received) == {r.envelope["id"] for r in rows}
    assert sorted(m.name for m in (await intake_merchants(stack)).values()) == ["商户0", "商户1", "商户2"]
    for client in up.values():
        await client.aclose()


async def test_announcing_every_merchant_again_fills_in_what_intake_lacked(stack: Stack) -> None:
    """After intake's migration 0008 (the credit code came later than the merchants), `announce-merchants`."""
    merchant = await settle_merchant(stack, name="先来的商户")
    async with stack.apps["intake"].state.sessionmaker() as session:
        await session.execute(update(IntakeMerchant).values(uscc=None))
        await session.commit()
    async with stack.apps["credit"].state.sessionmaker() as session:
        books = stack.apps["credit"].state.outbox
        assert await Subjects(session=session, clock=stack.clock, outbox=books).announce_all() == 1
        await session.commit()
    await stack.deliver_events()
    known = (await intake_merchants(stack))[merchant["id"]]
    assert (known.uscc, known.name, known.settled) == (uscc(merchant["id"]), "先来的商户", True)
