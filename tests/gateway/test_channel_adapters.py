"""The government channel adapters as data: each reads its own work orders into a valid complaint,
refuses a bad one naming the channel's own fields, and writes the changes that channel hears of."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.channels import government
from shared.channels.government import StatusUpdate, WorkOrderInvalid
from shared.contracts.complaints import ComplaintSubmit

ADAPTERS = government.load("hotline_12345,platform_12301,odr_12315")


def test_the_setting_names_the_modules_and_a_wrong_name_stops_the_start() -> None:
    assert sorted(ADAPTERS) == ["hotline_12345", "platform_12301", "platform_12315"]
    assert government.load("") == {}
    with pytest.raises(ValueError, match="no channel module"):
        government.load("hotline_12345,hotline_99999")
    with pytest.raises(ValueError, match="not a module name"):
        government.load("../secrets")


@pytest.mark.parametrize("channel", sorted(ADAPTERS))
def test_each_channels_example_is_a_complaint(channel: str) -> None:
    adapter = ADAPTERS[channel]
    fields = adapter.work_order(adapter.example)
    body = ComplaintSubmit(channel=adapter.info.name, **fields)
    assert body.external_id and body.received_at and body.received_at.tzinfo is not None
    assert body.received_at <= (body.dispatched_at or body.received_at)
    assert set(fields) <= set(adapter.fields)  # every field it fills can be named back in the channel's terms


def test_the_12345_hotline_writes_beijing_time_and_yuan() -> None:
    hotline = ADAPTERS["hotline_12345"]
    fields = hotline.work_order(hotline.example)
    assert fields["received_at"] == datetime(2026, 11, 20, 6, 3, 11, tzinfo=UTC)  # 14:03:11 in Beijing
    assert fields["dispatched_at"] == datetime(2026, 11, 20, 6, 5, 40, tzinfo=UTC)
    assert fields["amount_involved_fen"] == 35600 and fields["remedy"] == "refund"
    assert fields["industry"] == "food" and fields["external_id"] == "HN12345-20261120-000123"
    assert "merchant_uscc" not in fields  # none given: no field at all
    without_incident = {k: v for k, v in hotline.example.items() if k != "incident_time"}
    assert hotline.work_order(without_incident)["occurred_at"] == fields["received_at"]


def test_a_bad_work_order_is_refused_with_every_fault_in_the_channels_own_names() -> None:
    hotline = ADAPTERS["hotline_12345"]
    bad: dict[str, Any] = {
        **hotline.example,
        "order_no": "",
        "received_time": "20/11/2026 2pm",
        "amount": "12.345",
        "category": "房地产",
        "respondent": "not an object",
    }
    with pytest.raises(WorkOrderInvalid) as refused:
        hotline.work_order(bad)
    problem = refused.value.body()
    assert problem["code"] == "work_order_invalid" and problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {
        "order_no",
        "received_time",
        "amount",
        "category",
        "respondent.name",
    }
    with pytest.raises(WorkOrderInvalid) as not_an_object:
        ADAPTERS["platform_12301"].work_order(["a", "list"])
    assert not_an_object.value.body()["errors"][0]["field"] == "body"
    for amount, fen in (("356.00", 35600), ("0.1", 10), (1280, 128000), ("1,280.50", 128050), (12.5, 1250)):
        assert hotline.work_order({**hotline.example, "amount": amount})["amount_involved_fen"] == fen
    for amount in ("-1", "1.005", "abc", True, "NaN", "Infinity"):
        with pytest.raises(WorkOrderInvalid):
            hotline.work_order({**hotline.example, "amount": amount})


def _update(action: str, **data: Any) -> StatusUpdate:
    return StatusUpdate(
        event_id="evt_1",
        occurred_at=datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
        complaint_id="cmp_A",
        external_id="HN-1",
        handled_as=None,
        action=action,
        state_from="assigned",
        state_to="responded",
        note="已与商家协商",
        data=data,
    )


def test_what_each_channel_hears_in_its_own_format() -> None:
    hotline, national, odr = ADAPTERS["hotline_12345"], ADAPTERS["platform_12301"], ADAPTERS["platform_12315"]
    disposal = hotline.update(_update("responded", offered_refund_fen=35600))
    assert disposal == {
        "order_no": "HN-1",
        "platform_order_no": "cmp_A",
        "type": "disposal",
        "type_name": "处置",
        "time": "2026-11-20 15:00:00",
        "content": "已与商家协商",
        "event_id": "evt_1",
        "refund_offered": "356.00",
    }
    numbered = hotline.update(
        StatusUpdate(
            **{
                **_update("responded").__dict__,
                "case_number": "460200-20261120-0007",
                "progress_url": "https://tour.example.com/p/#t",
            }
        )
    )
    assert numbered and (numbered["platform_case_no"], numbered["progress_url"]) == (
        "460200-20261120-0007",
        "https://tour.example.com/p/#t",
    )
    numbered = national.update(
        StatusUpdate(
            **{
                **_update("resolved").__dict__,
                "case_number": "460200-20261120-0007",
                "progress_url": "https://tour.example.com/p/#t",
            }
        )
    )
    assert numbered and (numbered["platformCaseNo"], numbered["progressUrl"]) == (
        "460200-20261120-0007",
        "https://tour.example.com/p/#t",
    )
    numbered = odr.update(StatusUpdate(**{**_update("resolved").__dict__, "case_number": "460200-20261120-0007"}))
    assert numbered and numbered["platform_case_no"] == "460200-20261120-0007" and "progress_url" not in numbered
    closing = hotline.update(_update("resolved", outcome="refunded", at_fault="merchant", amount_refunded_fen=35600))
    assert closing and (closing["type"], closing["refund_amount"], closing["at_fault"]) == (
        "closing",
        "356.00",
        "merchant",
    )
    visit = hotline.update(_update("callback_visit", reached=True, satisfied=False))
    assert visit and (visit["type"], visit["reached"], visit["satisfied"]) == ("callback_visit", True, False)
    assert hotline.update(_update("assigned")) is None  # the hotline does not follow internal steps
    concluded = national.update(_update("resolved", amount_refunded_fen=100))
    assert concluded and (concluded["status"], concluded["statusTime"], concluded["refundAmount"]) == (
        "CONCLUDED",
        "2026-11-20T15:00:00+08:00",
        "1.00",
    )
    assert (odr.update(_update("assigned", assignee_kind="merchant", assignee_name="某商场")) or {})[
        "status"
    ] == "negotiating"
    assert (odr.update(_update("assigned", assignee_kind="unit")) or {})["status"] == "mediating"
    linked = odr.update(StatusUpdate(**{**_update("escalated").__dict__, "handled_as": "cmp_FIRST"}))
    assert linked and (linked["platform_case_id"], linked["status"]) == ("cmp_FIRST", "negotiation_failed")


def test_a_reopened_or_extended_case_is_told_to_every_centre_with_its_new_deadline() -> None:
    """A case each centre was told was settled is worked again (重新办理), or its settlement deadline moves
    (延期): each hears it, or it would count the case closed, or late, while the platform works it."""
    hotline, national, odr = ADAPTERS["hotline_12345"], ADAPTERS["platform_12301"], ADAPTERS["platform_12315"]
    reopened = _update("reopened", previous="resolved", settle_by="2026-11-22T07:00:00+00:00")
    heard = hotline.update(reopened) or {}
    assert (heard["type"], heard["type_name"], heard["deadline"]) == ("reopen", "重办", "2026-11-22 15:00:00")
    told = national.update(reopened) or {}
    assert (told["status"], told["deadline"]) == ("REOPENED", "2026-11-22T15:00:00+08:00")
    settled_again = odr.update(reopened) or {}
    assert (settled_again["status"], settled_again["status_name"]) == ("reopened", "重新处理")
    extended = _update("extension_approved", extend_hours=72, due_after="2026-11-25T07:00:00+00:00")
    heard = hotline.update(extended) or {}
    assert (heard["type"], heard["type_name"], heard["deadline"]) == ("extension", "延期", "2026-11-25 15:00:00")
    told = national.update(extended) or {}
    assert (told["status"], told["deadline"]) == ("EXTENDED", "2026-11-25T15:00:00+08:00")
    settled_again = odr.update(extended) or {}
    assert (settled_again["status"], settled_again["deadline"]) == ("extended", "2026-11-25 15:00:00")
