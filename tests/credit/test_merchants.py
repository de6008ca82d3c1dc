"""Settling a merchant in: its unified social credit code is checked (GB 32100) and unique."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.contracts.merchants import USCC, uscc_check_char
from tests.conftest import ADMIN, consumer
from tests.factories import uscc
from tests.support import Stack

CODES = TypeAdapter(USCC)


@pytest.mark.parametrize("code", ["91440300708461136T", "91350100M000100Y43", "914403001922038216"])
def test_published_codes_pass_their_check(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert CODES.validate_python(code) == code


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91440300708461136U", "check character should be T, not U"),
        ("91440300708461136", "is 18 characters"),
        ("9144030070846113IT", "is 18 characters"),  # I is not in the character set
        ("91A40300708461136T", "is 18 characters"),  # the division code is six digits
    ],
)
def test_bad_codes_are_refused_with_the_reason(code: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        CODES.validate_python(code)


async def test_settling_in_checks_the_code_and_refuses_a_second_merchant_with_it(stack: Stack) -> None:
    credit = stack.clients["credit"]
    body = {"name": "椰梦长廊民宿", "uscc": " 91460200ma5t0htl1w ", "region_code": "460200", "industry": "lodging"}
    r = await credit.post("/v1/merchants", headers=stack.as_(ADMIN), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["uscc"] == "91460200MA5T0HTL1W"  # trimmed and upper-cased before the check

    again = await credit.post("/v1/merchants", headers=stack.as_(ADMIN), json={**body, "name": "同一家"})
    assert again.status_code == 409 and again.json()["code"] == "uscc_taken"

    typo = await credit.post("/v1/merchants", headers=stack.as_(ADMIN), json={**body, "uscc": "91460200MA5T0HTL1X"})
    assert typo.status_code == 422 and typo.json()["code"] == "validation_failed"
    assert typo.json()["errors"] == [
        {"field": "body.uscc", "message": "91460200MA5T0HTL1X 不是有效的统一社会信用代码：校验位应为 W，而不是 X"}
    ]
    in_english = await credit.post(
        "/v1/merchants",
        headers={**stack.as_(ADMIN), "Accept-Language": "en"},
        json={**body, "uscc": "91460200MA5T0HTL1X"},
    )
    assert "check character should be W, not X" in in_english.json()["errors"][0]["message"]
    missing = await credit.post(
        "/v1/merchants", headers=stack.as_(ADMIN), json={k: v for k, v in body.items() if k != "uscc"}
    )
    assert missing.status_code == 422
    assert (
        await credit.post("/v1/merchants", headers=stack.as_(consumer()), json={**body, "uscc": uscc("x")})
    ).status_code == 403
    listed = (await credit.get("/v1/merchants", params={"name": "椰梦"}, headers=stack.as_(consumer()))).json()
    assert listed["items"] == []  # not live until an official approves it
    approved = await credit.post(
        f"/v1/merchants/{r.json()['id']}/reviews", headers=stack.as_(ADMIN), json={"decision": "approve"}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "live"
    listed = (await credit.get("/v1/merchants", params={"name": "椰梦"}, headers=stack.as_(consumer()))).json()
    assert [m["uscc"] for m in listed["items"]] == ["91460200MA5T0HTL1W"]
