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
        report = await intake.get(
            "/v1/reports/complaints",
            params={"region_code": "460200", "from": first, "to": last},
            headers=stack.as_(official()),
        )
        assert report.status_code == 422 and report.json()["code"] == "date_out_of_range", report.text
        assert report.headers["content-type"] == PROBLEM_MEDIA_TYPE
        figures = await comp.get(
            "/v1/compensation/figures", params={"from": first, "to": last}, headers=stack.as_(ADMIN)
        )
        assert figures.status_code == 422 and figures.json()["code"] == "date_out_of_range", figures.text
    bill = await comp.get("/v1/reconciliations/0001-01-01", headers=stack.as_(ADMIN))
    assert bill.status_code == 422 and bill.json()["code"] == "date_out_of_range", bill.text


async def test_merchants_not_yet_live_are_refused_to_tourists_as_documented(stack: Stack) -> None:
    credit = stack.clients["credit"]
    refused = await credit.get("/v1/merchants", params={"status": "pending"}, headers=stack.as_(consumer()))
    assert refused.status_code == 403
    assert "403" in stack.apps["credit"].openapi()["paths"]["/v1/merchants"]["get"]["responses"]


async def test_a_day_is_written_yyyy_mm_dd_and_nothing_else_is_taken_for_one(stack: Stack) -> None:
    """Was lax: `from=4.69e-102` (or 0) was taken as seconds since 1970 and became 1970-01-01."""
    from tests.intake.test_returns import return_body

    intake, comp = stack.clients["intake"], stack.clients["compensation"]
    for day in ("4.690155805549299e-102", "0", "2021-1-8", "20210108"):
        report = await intake.get(
            "/v1/reports/complaints",
            params={"region_code": "460200", "from": day, "to": "2021-01-14"},
            headers=stack.as_(official()),
        )
        assert report.status_code == 422 and report.json()["code"] == "validation_failed", (day, report.text)
        assert (await comp.get(f"/v1/reconciliations/{day}", headers=stack.as_(ADMIN))).status_code == 422, day
    returned = await intake.post(
        "/v1/returns", json={**return_body(stack), "purchased_on": 0}, headers=stack.as_(consumer())
    )
    assert returned.status_code == 422 and returned.json()["errors"][0]["field"] == "body.purchased_on", returned.text


async def test_a_broken_multipart_upload_is_the_documented_400(stack: Stack) -> None:
    boundary = "7c5156fb04a2177cf9e322ad31ebde44"
    broken = await stack.clients["intake"].post(
        "/v1/complaints/cmp_01M96HP54RRS2VKMJRN5WKF7J5/evidence",
        headers={**stack.as_(consumer()), "content-type": f"multipart/form-data; boundary={boundary}"},
        content=f"--{boundary}\r\nNone--{boundary}--\r\n".encode(),
    )
    assert broken.status_code == 400 and broken.json()["code"] == "malformed_body", broken.text
    operation = stack.apps["intake"].openapi()["paths"]["/v1/complaints/{complaint_id}/evidence"]["post"]
    assert "malformed_body" in operation["responses"]["400"]["description"]
