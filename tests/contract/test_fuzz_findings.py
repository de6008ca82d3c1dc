"""What the gateway-wide schemathesis run (tests/e2e/test_openapi_contract.py) found, each pinned down
where it was: a day at the edge of the calendar in a report or a reconciliation was a 500; an answer
that a service gave but did not document."""

from __future__ import annotations

from shared.errors import PROBLEM_MEDIA_TYPE
from tests.conftest import ADMIN, consumer, official
from tests.support import Stack


async def test_a_period_at_the_edge_of_the_calendar_is_a_422_not_a_500(stack: Stack) -> None:
    intake, comp = stack.clients["intake"], stack.clients["compensation"]
    for first, last in (("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31")):
        report = await intake.get("/v1/reports/complaints", params={"region_code": "460200", "from": first, "to": last},
                                  headers=stack.as_(official()))
        assert report.status_code == 422 and report.json()["code"] == "date_out_of_range", report.text
        assert report.headers["content-type"] == PROBLEM_MEDIA_TYPE
        figures = await comp.get("/v1/compensation/figures", params={"from": first, "to": last},
                                 headers=stack.as_(ADMIN))
        assert figures.status_code == 422 and figures.json()["code"] == "date_out_of_range", figures.text
    bill = await comp.get("/v1/reconciliations/0001-01-01", headers=stack.as_(ADMIN))
    assert bill.status_code == 422 and bill.json()["code"] == "date_out_of_range", bill.text


async def test_merchants_not_yet_live_are_refused_to_tourists_as_documented(stack: Stack) -> None:
    credit = stack.clients["credit"]
    refused = await credit.get("/v1/merchants", params={"status": "pending"}, headers=stack.as_(consumer()))
    assert refused.status_code == 403
    assert "403" in stack.apps["credit"].openapi()["paths"]["/v1/merchants"]["get"]["responses"]
