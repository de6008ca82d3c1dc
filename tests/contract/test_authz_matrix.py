"""Who may do what: every public operation of every service, for every role, on resources that exist.

The operations come from the services' own OpenAPI schemas when the test runs, so a route added
later fails `test_the_table_names_every_public_operation` until RULES says who may call it. A row
gives, in the order of ROLES, what each caller gets:

  ok   the role may: 2xx for a read; for a write 2xx, or 409/410/422 where the world's state refuses
       it after the role was let in (a 422 from request validation is this test's mistake, never ok)
  403  the role may never do this operation
  404  the resource is someone else's: the same answer as an absent one, so nothing leaks

Every operation is also called with no identity (straight to the service, no X-Internal-Token: 401)
and, in the gateway test, without a login through the gateway (401 unless the route is ANONYMOUS).
No answer may be a 5xx, and none may show a phone number, Alice's id or her resources' ids to a
caller they do not belong to (unless the caller put it in the request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from services.gateway.routes import anonymous, route_for
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.clock import SHANGHAI
from tests.compensation.helpers import PNG, claim_of, overdue_complaint, request_compensation
from tests.compensation.test_recovery import paid_claim, recovery_of
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, complaint_body, merchant_id, phone_of, settle_merchant, submit, uscc
from tests.support import INTERNAL_SECRET, Stack

SERVICES = ("intake", "compensation", "credit")
SKIPPED = ("/internal", "/health", "/metrics")
OTHER, PENDING = merchant_id("OTHER"), merchant_id("PENDING")
ALICE_PHONE = complaint_body()["contact_phone"]
HOTEL_PHONE, GUIDE_PHONE, PENDING_PHONE, NEW_PHONE = "13700007777", "13600006666", "13500005555", "13900009999"

ROLES = ("alice", "bob", "staff", "other", "sanya", "haikou", "admin")
WHO = {
    "alice": consumer("usr_ALICE"),
    "bob": consumer("usr_BOB"),
    "staff": merchant_staff(HOTEL),
    "other": merchant_staff(OTHER, "usr_OTHERSTAFF"),
    "sanya": official(SANYA),
    "haikou": official(HAIKOU),
    "admin": ADMIN,
}
ALICE = WHO["alice"].subject
ANYONE = "ok ok ok ok ok ok ok"  # any logged-in caller: public catalogues, public lists, filtered queues

# The world: Alice's complaint, its evidence, her claim and her return request, all against HOTEL in
# Sanya; HOTEL's recovery order, code, tour guide, and its key-supervision listing with a repair
# pending. OTHER is a merchant in Haikou. Sanya's official is the resource's; Haikou's is not.
RULES: dict[str, str] = {
    # --- intake ----------------------------------------------------- alice bob staff other sanya haikou admin
    # Tourists, officials of the region and admins file; merchant staff never, another region's official not.
    "POST /v1/complaints": "ok  ok  403 403 ok  403 ok",
    "GET /v1/complaints": ANYONE,  # each sees only their own
    "GET /v1/complaints/{complaint_id}": "ok  404 ok  404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/timeline": "ok  404 ok  404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/progress": "ok  404 ok  404 ok  404 ok",
    "POST /v1/imports/complaints": "403 403 403 403 ok  ok  ok",  # own region's rows
    "POST /v1/imports/returns": "403 403 403 403 ok  ok  ok",  # own region's rows
    # Notices: officials of the complaint's region (Alice's complaint is no notice: 409 after the role check).
    "POST /v1/complaints/{complaint_id}/notice-links": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/notice-replies": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/evidence": "ok  404 ok  404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/evidence": "ok  404 ok  404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/evidence/{file_id}": "ok  404 ok  404 ok  404 ok",
    # The uploader (Alice) or an admin; her merchant's staff and her region's official see it but may not remove it.
    "DELETE /v1/complaints/{complaint_id}/evidence/{file_id}": "ok  404 403 404 403 404 ok",
    "POST /v1/complaints/{complaint_id}/intake-decisions": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/link-decisions": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/assignments": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/responses": "403 404 ok  404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/acceptances": "ok  404 403 404 403 404 403",
    "POST /v1/complaints/{complaint_id}/rejections": "ok  404 403 404 403 404 403",
    "POST /v1/complaints/{complaint_id}/escalations": "ok  404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/transfers": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/withdrawals": "ok  404 403 404 403 404 403",
    "POST /v1/complaints/{complaint_id}/resolutions": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/closures": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/evaluations": "ok  404 403 404 403 404 403",
    "POST /v1/complaints/{complaint_id}/compensation-requests": "ok  404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/callback-visits": "403 404 403 404 ok  404 ok",
    # The further actions go by the caller's part (services/intake/lifecycle.py). Here the complaint is assigned
    # to Sanya's handling unit, so Sanya's official is its dispatcher and handler, the hotel's staff neither;
    # Sanya is no province above it, so it neither decides extensions nor issues supervision notices.
    "POST /v1/complaints/{complaint_id}/dispatch-returns": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/extension-requests": "403 404 403 404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/extension-requests": "ok  404 ok  404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/extension-decisions": "403 404 403 404 403 404 ok",
    "POST /v1/complaints/{complaint_id}/supervision-notices": "403 404 403 404 403 404 ok",
    "GET /v1/complaints/{complaint_id}/supervision-notices": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/supervision-replies": "403 404 403 404 ok  404 ok",
    "POST /v1/complaints/{complaint_id}/merges": "403 404 403 404 ok  404 ok",  # into a case that is not there: 422
    "POST /v1/complaints/{complaint_id}/reopenings": "403 404 403 404 ok  404 ok",
    "GET /v1/complaints/counts": ANYONE,  # each counts only their own
    # The handling officials see the complainant's contact in full (recorded); the records are for supervisors.
    "POST /v1/complaints/{complaint_id}/contact-reveals": "403 404 403 404 ok  404 ok",
    "GET /v1/complaints/{complaint_id}/contact-reveals": "403 404 403 404 403 404 ok",
    "POST /v1/returns": "ok  ok  403 403 ok  403 ok",
    "GET /v1/returns": ANYONE,
    "GET /v1/returns/{return_id}": "ok  404 ok  404 ok  404 ok",
    "POST /v1/returns/{return_id}/refunds": "403 404 ok  404 ok  404 ok",
    "POST /v1/returns/{return_id}/exchanges": "403 404 ok  404 ok  404 ok",
    "POST /v1/returns/{return_id}/visits": "403 404 403 404 ok  404 ok",  # officials, once concluded
    "POST /v1/returns/{return_id}/escalations": "403 404 ok  404 ok  404 ok",
    "POST /v1/returns/{return_id}/rejections": "403 404 403 404 ok  404 ok",
    "POST /v1/returns/{return_id}/withdrawals": "ok  404 403 404 ok  404 ok",
    "GET /v1/regions": ANYONE,
    "GET /v1/regions/{region_code}": ANYONE,
    "GET /v1/reports/complaints": "403 403 403 403 ok  403 ok",  # debatable: *
    "GET /v1/public/figures": ANYONE,
    "GET /v1/industries": ANYONE,
    # --- compensation ----------------------------------------------- alice bob staff other sanya haikou admin
    "GET /v1/funds": "403 403 403 403 ok  ok  ok",
    "GET /v1/funds/{region_code}": "403 403 403 403 ok  403 ok",  # debatable: *
    "POST /v1/funds/{region_code}/top-ups": "403 403 403 403 ok  403 ok",  # debatable: *
    "PUT /v1/funds/{region_code}/floor": "403 403 403 403 403 403 ok",
    "GET /v1/merchants/{merchant_id}/deposit": "404 404 ok  404 ok  404 ok",  # debatable: **
    "POST /v1/merchants/{merchant_id}/deposit/top-ups": "403 403 403 403 ok  404 ok",
    "PUT /v1/merchants/{merchant_id}/deposit/floor": "403 403 403 403 ok  404 ok",
    "POST /v1/merchants/{merchant_id}/deposit/top-up-requests": "403 403 403 403 ok  404 ok",
    "GET /v1/merchants/{merchant_id}/deposit/top-up-requests": "404 404 ok  404 ok  404 ok",
    "GET /v1/merchants/{merchant_id}/deposit/statements/{month}": "404 404 ok  404 ok  404 ok",
    "GET /v1/compensation-rules": ANYONE,
    "POST /v1/compensation-rules": "403 403 403 403 403 403 ok",
    "POST /v1/compensation-rules/{version}/dry-runs": "403 403 403 403 ok  ok  ok",  # the rules are province-wide
    "GET /v1/claims": ANYONE,
    "GET /v1/claims/{claim_id}": "ok  404 ok  404 ok  404 ok",
    "POST /v1/claims/{claim_id}/approvals": "403 404 403 404 ok  404 ok",
    "POST /v1/claims/{claim_id}/rejections": "403 404 403 404 ok  404 ok",
    "POST /v1/claims/{claim_id}/payout-retries": "403 404 403 404 ok  404 ok",
    # The payee's real name: the tourist and the officials who pay the claim; not the merchant, nor admins.
    "PUT /v1/claims/{claim_id}/payee-name": "ok  404 403 404 ok  404 403",
    "DELETE /v1/claims/{claim_id}/payee-name": "ok  404 403 404 ok  404 403",
    "GET /v1/recoveries": ANYONE,
    "GET /v1/recoveries/{recovery_id}": "404 404 ok  404 ok  404 ok",  # debatable: **
    "POST /v1/recoveries/{recovery_id}/payments": "404 404 403 404 ok  404 ok",
    "POST /v1/recoveries/{recovery_id}/contests": "404 404 ok  404 403 404 403",
    "POST /v1/recoveries/{recovery_id}/write-offs": "404 404 403 404 ok  404 ok",
    "POST /v1/recoveries/{recovery_id}/deposit-draws": "404 404 403 404 ok  404 ok",
    "GET /v1/reports/fund-statements": "403 403 403 403 ok  403 ok",
    # debatable: the day's reconciliation is province-wide, and any region's official reads it (totals only).
    "GET /v1/reconciliations/{day}": "403 403 403 403 ok  ok  ok",
    "GET /v1/payout-providers": ANYONE,  # names and labels, nothing of anyone's
    "GET /v1/compensation/figures": ANYONE,  # aggregates, any region
    "GET /v1/ledger/check": "403 403 403 403 403 403 ok",
    # --- credit ----------------------------------------------------- alice bob staff other sanya haikou admin
    "POST /v1/merchants": "403 403 403 403 ok  403 ok",  # in Sanya
    "GET /v1/merchants": ANYONE,  # live merchants are public
    "POST /v1/merchants/{merchant_id}/reviews": "403 403 403 403 ok  404 ok",
    "GET /v1/merchants/{merchant_id}": ANYONE,  # contacts masked but for its side
    "POST /v1/practitioners": "403 403 ok  404 ok  404 ok",
    "GET /v1/practitioners/{practitioner_id}": ANYONE,  # a guide's licence; phone masked
    "GET /v1/merchants/{merchant_id}/code": "404 404 ok  404 ok  404 ok",  # debatable: **
    "GET /v1/merchants/{merchant_id}/code.{image}": "404 404 ok  404 ok  404 ok",  # debatable: **
    "POST /v1/merchants/{merchant_id}/code/suspensions": "404 404 ok  404 ok  404 ok",  # debatable: **
    "POST /v1/merchants/{merchant_id}/code/reissues": "404 404 ok  404 ok  404 ok",  # debatable: **
    "GET /v1/credit/{subject_id}": "404 404 ok  404 ok  404 ok",
    "GET /v1/credit/{subject_id}/records": "404 404 ok  404 ok  404 ok",
    "POST /v1/credit/{subject_id}/records": "403 403 403 403 ok  404 ok",
    "POST /v1/credit/{subject_id}/external-scores": "403 403 403 403 403 403 ok",
    "GET /v1/lists/{list_name}": ANYONE,  # public, consumers left out
    "POST /v1/lists/{list_name}/notices": "403 403 403 403 ok  404 ok",
    # debatable: the listing is on the public list, yet by its id only its own side and officials see it.
    "GET /v1/listings/{listing_id}": "404 404 ok  404 ok  404 ok",
    # debatable: officials see the listing but may never state its defence or apply for its repair: 404, not 403.
    "POST /v1/listings/{listing_id}/defence": "404 404 ok  404 404 404 404",
    "POST /v1/listings/{listing_id}/decisions": "403 403 403 403 ok  404 ok",
    "POST /v1/credit-repairs": "404 404 ok  404 404 404 404",
    "GET /v1/credit-repairs/{repair_id}": "404 404 ok  404 ok  404 ok",
    "POST /v1/credit-repairs/{repair_id}/decisions": "403 403 403 403 ok  404 ok",
    "GET /v1/benefits": ANYONE,
    "GET /v1/benefits/signing-key": ANYONE,
    "GET /v1/benefits/jwks.json": ANYONE,
    # debatable: asking about Alice (Bob), or at a merchant not one's own, is 403: the answer does not depend
    # on whether she exists. The same for recording a redemption at another merchant.
    "GET /v1/benefits/eligibility": "ok  403 ok  403 ok  403 ok",
    "POST /v1/benefits/redemptions": "403 403 ok  403 ok  403 ok",
    "GET /v1/codes/{code}": ANYONE,  # what a scan shows
    "POST /v1/codes/{code}/ratings": "ok  ok  403 403 403 403 403",
}
# *  another region's fund or report is 403, not 404: a region is no secret (a deposit in it is 404).
# ** a role that may never do this (a consumer, on a merchant's deposit, recovery or code) gets the 404
#    of 'not yours' rather than 403: nothing leaks, but it is not the 403 the rule asks for.

# Some operations again, on other resources (same columns): Alice as the credit subject, and PENDING, a
# merchant in Sanya that settled in but was not reviewed yet: only Sanya's officials and admins may know
# of it (so "staff", HOTEL's, are another merchant's staff here).
ON_ALICE: dict[str, str] = {
    # debatable: every official reads and adds to every consumer's credit ("officials handle consumers'
    # complaints wherever they come from", services/credit/refs.py), Haikou's included.
    "GET /v1/credit/{subject_id}": "ok  404 404 404 ok  ok  ok",
    "GET /v1/credit/{subject_id}/records": "ok  404 404 404 ok  ok  ok",
    "POST /v1/credit/{subject_id}/records": "403 403 403 403 ok  ok  ok",
    "POST /v1/credit/{subject_id}/external-scores": "403 403 403 403 403 403 ok",
}
ON_PENDING: dict[str, str] = {
    "GET /v1/merchants/{merchant_id}": "404 404 404 404 ok  404 ok",
    "POST /v1/practitioners": "403 403 404 404 ok  404 ok",
    "GET /v1/credit/{subject_id}": "404 404 404 404 ok  404 ok",
    "GET /v1/benefits/eligibility": "404 404 404 404 ok  404 ok",
    "POST /v1/benefits/redemptions": "403 403 404 404 ok  404 ok",
}
VARIANTS = {
    "": ({}, RULES),
    "alice": ({"subject_id": ALICE}, ON_ALICE),
    "pending": ({"merchant_id": PENDING, "merchant": PENDING, "subject_id": PENDING}, ON_PENDING),
}

# Authorization bugs known and not yet fixed: (operation, role) -> why. They are reported, not failed
# on; one that starts answering as RULES says must be taken out of here.
KNOWN: dict[tuple[str, str], str] = {}

# Bodies where the schema gives no example, or where its example would wreck the world for the rows after.
BODIES: dict[str, dict[str, Any]] = {
    "POST /v1/complaints/{complaint_id}/intake-decisions": {"accept": True},
    # Dismissed, not confirmed: Alice's complaint stays hers and open for the rows after (then 409: decided).
    "POST /v1/complaints/{complaint_id}/link-decisions": {"confirm": False},
    "POST /v1/complaints/{complaint_id}/assignments": {"kind": "unit"},
    "POST /v1/complaints/{complaint_id}/responses": {"message": "愿退还房费差价。", "offered_refund_fen": 30000},
    "POST /v1/complaints/{complaint_id}/escalations": {"reason": "商家拒不处理"},
    # Its own region: refused (409) after the role check, so the complaint stays in Sanya for the rows after.
    "POST /v1/complaints/{complaint_id}/transfers": {"region_code": SANYA, "reason": "属地管辖"},
    "POST /v1/complaints/{complaint_id}/resolutions": {
        "outcome": "refunded",
        "at_fault": "merchant",
        "amount_refunded_fen": 30000,
    },
    "POST /v1/complaints/{complaint_id}/evaluations": {"score": 5},
    "POST /v1/complaints/{complaint_id}/callback-visits": {"reached": True, "satisfied": True},
    "PUT /v1/funds/{region_code}/floor": {"floor_fen": 0},
    "POST /v1/claims/{claim_id}/approvals": {"liability_confirmed": True},
    "POST /v1/claims/{claim_id}/rejections": {"reason": "证据不足"},
    "PUT /v1/claims/{claim_id}/payee-name": {"name": "王小明", "consent": True},
    "POST /v1/recoveries/{recovery_id}/payments": {"amount_fen": 100, "reference": "商户转账 001"},
    "POST /v1/recoveries/{recovery_id}/contests": {"reason": "顾客入住的正是订单房型"},
    "POST /v1/recoveries/{recovery_id}/write-offs": {"reason": "商户申辩成立"},
    "POST /v1/recoveries/{recovery_id}/deposit-draws": {"amount_fen": 100},
    "PUT /v1/merchants/{merchant_id}/deposit/floor": {"floor_fen": 0},
    "POST /v1/merchants": {"uscc": uscc("authz-newcomer")},
    "POST /v1/credit/{subject_id}/records [alice]": {"kind": "honour", "honour": "中国好人", "note": "中国好人榜"},
    "POST /v1/practitioners [pending]": {"licence_number": "D-4602-008888"},
}
# Run last, in this order: a removed file would be gone for the evidence rows; a suspended, then replaced code
# would change what the scan rows see.
LAST = (
    "DELETE /v1/complaints/{complaint_id}/evidence/{file_id}",
    "POST /v1/merchants/{merchant_id}/code/suspensions",
    "POST /v1/merchants/{merchant_id}/code/reissues",
)


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    spec: dict[str, Any]
    components: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def operations(stack: Stack) -> list[Operation]:
    found = []
    for service in SERVICES:
        schema = stack.apps[service].openapi()
        for path, item in schema["paths"].items():
            if path.startswith(SKIPPED):
                continue
            found += [
                Operation(service, method.upper(), path, spec, schema.get("components", {}).get("schemas", {}))
                for method, spec in item.items()
                if method in ("get", "post", "put", "patch", "delete")
            ]
    return sorted(found, key=lambda op: LAST.index(op.key) if op.key in LAST else -1)


@dataclass
class World:
    params: dict[str, str]  # path parameters by name
    fields: dict[str, Any]  # body fields by name, put over the schema's example
    query: dict[str, str]  # required query parameters by name
    private: dict[str, set[str]]  # a value -> the roles it may be shown to


def fill(template: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], template)


def request_for(op: Operation, world: World, variant: str = "") -> tuple[str, dict[str, Any]]:
    """The operation's URL and httpx arguments: path and required query parameters from the world, a body
    from the schema's example with the world's ids put in; a variant's values over all three."""
    values = VARIANTS[variant][0]
    url = fill(op.path, {**world.params, **values})
    query = {
        p["name"]: {**world.query, **values}.get(p["name"], (p["schema"].get("examples") or [""])[0])
        for p in op.spec.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    kwargs: dict[str, Any] = {"params": query}
    content = op.spec.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        kwargs["files"] = {"file": ("photo.png", PNG, "image/png")}
    elif "application/json" in content:
        ref = content["application/json"]["schema"].get("$ref", "")
        body = dict((op.components.get(ref.rsplit("/", 1)[-1], {}).get("examples") or [{}])[0])
        body.update({k: v for k, v in {**world.fields, **values}.items() if k in body})
        kwargs["json"] = {**body, **BODIES.get(label(op, variant), BODIES.get(op.key, {}))}
    return url, kwargs


def label(op: Operation, variant: str) -> str:
    return f"{op.key} [{variant}]" if variant else op.key


def judge(op: Operation, expected: str, r: httpx.Response) -> bool:
    if expected != "ok":
        return r.status_code == int(expected)
    if r.status_code < 300:
        return True
    refused_by_state = r.status_code in (409, 410, 422) and not (
        r.status_code == 422 and str(r.json().get("detail", "")).startswith("Invalid fields")
    )
    return op.method != "GET" and refused_by_state


# Where a role may see a private value that it may not see elsewhere: the contact reveal, for the officials
# handling the complaint.
REVEALED: dict[str, set[str]] = {"/contact-reveals": {"sanya", "admin"}}


def leaks(role: str, world: World, request: str, r: httpx.Response) -> list[str]:
    """Private values in the answer that this role may not see and did not send."""
    revealed = next((who for path, who in REVEALED.items() if path in request and r.request.method == "POST"), set())
    return [
        value
        for value, may in world.private.items()
        if role not in may | revealed and value not in request and value.encode() in r.content
    ]


async def build_world(stack: Stack) -> World:
    credit, comp, intake = stack.clients["credit"], stack.clients["compensation"], stack.clients["intake"]
    admin, alice, staff = stack.as_(ADMIN), WHO["alice"], stack.as_(WHO["staff"])

    async def ok(response: Any, status: int = 200) -> dict[str, Any]:
        r = await response
        assert r.status_code == status, r.text
        return r.json()

    await ok(
        credit.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": HOTEL,
                "name": "三亚湾海景酒店",
                "uscc": uscc(HOTEL),
                "region_code": SANYA,
                "industry": "lodging",
                "in_compensation_program": True,
                "in_integrity_alliance": True,
                "contacts": [{"name": "王经理", "phone": HOTEL_PHONE, "role": "complaints"}],
            },
        ),
        201,
    )
    await ok(credit.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}))
    await settle_merchant(stack, OTHER, name="骑楼老街商行", region=HAIKOU, industry="shopping")
    await ok(
        credit.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": PENDING,
                "name": "椰梦长廊民宿",
                "uscc": uscc(PENDING),
                "region_code": SANYA,
                "industry": "lodging",
                "contacts": [{"name": "陈老板", "phone": PENDING_PHONE}],
            },
        ),
        201,
    )
    await ok(
        comp.post(
            f"/v1/funds/{SANYA}/top-ups",
            headers=admin,
            json={"amount_fen": 10_000_000, "reference": "琼财预〔2026〕12号"},
        ),
        201,
    )
    # Jack's claim is paid; HOTEL holds no deposit, so it owes the fund in a recovery order.
    recovery = await recovery_of(stack, (await paid_claim(stack, "jack", 15_000))["id"])
    paid_on = stack.clock.now().astimezone(SHANGHAI).date()
    # A stranger filed first with Alice's phone and story: her complaint carries a possible link to it.
    await submit(stack, consumer("usr_MALLORY"), contact_phone=phone_of(alice.subject))
    complaint_id = await overdue_complaint(stack, alice)  # with a photo, escalated past its deadline
    [possible_link] = (await ok(intake.get(f"/v1/complaints/{complaint_id}", headers=stack.as_(WHO["sanya"]))))[
        "possible_links"
    ]
    await request_compensation(stack, alice, complaint_id, 30_000)
    claim = await claim_of(stack, complaint_id)
    evidence = (await ok(intake.get(f"/v1/complaints/{complaint_id}/evidence", headers=stack.as_(alice))))[0]
    today = stack.clock.now().astimezone(SHANGHAI).date()
    returned = await ok(
        intake.post(
            "/v1/returns",
            headers=stack.as_(alice),
            json={
                "region_code": SANYA,
                "merchant_id": HOTEL,
                "goods": "贝壳工艺品一件",
                "receipt_no": "NO.0031",
                "purchased_on": (today - timedelta(days=1)).isoformat(),
                "amount_fen": 286000,
                "custom_made": False,
                "reason": "不想要了",
                "contact_phone": ALICE_PHONE,
            },
        ),
        201,
    )
    guide = await ok(
        credit.post(
            "/v1/practitioners",
            headers=staff,
            json={
                "name": "李导游",
                "kind": "tour_guide",
                "licence_number": "D-4602-009999",
                "merchant_id": HOTEL,
                "phone": GUIDE_PHONE,
            },
        ),
        201,
    )
    code = await ok(credit.get(f"/v1/merchants/{HOTEL}/code", headers=admin))
    await ok(credit.get(f"/v1/credit/{alice.subject}", headers=stack.as_(alice)))  # her file opens on first look
    notice = await ok(
        credit.post(
            "/v1/lists/key_supervision/notices",
            headers=admin,
            json={"subject_id": HOTEL, "reason": "多次被认定有责投诉", "duration_days": 90},
        ),
        201,
    )
    await ok(
        credit.post(
            f"/v1/listings/{notice['id']}/decisions", headers=admin, json={"decision": "list", "note": "未申辩"}
        )
    )
    stack.clock.advance(days=91)  # past the minimum publication period: the hotel may apply for repair
    repair = await ok(
        credit.post(
            "/v1/credit-repairs",
            headers=staff,
            json={"listing_id": notice["id"], "statement": "已完成整改培训。", "evidence": ["整改报告"]},
        ),
        201,
    )
    await stack.deliver_events()

    now = stack.clock.now()
    # debatable: her merchant's staff see her account id (a complaint's consumer_id, the timeline's actor_id).
    hers, its_side = {"alice", "staff", "sanya", "admin"}, {"staff", "sanya", "admin"}
    return World(
        params={
            "complaint_id": complaint_id,
            "file_id": evidence["id"],
            "return_id": returned["id"],
            "region_code": SANYA,
            "merchant_id": HOTEL,
            "claim_id": claim["id"],
            "recovery_id": recovery["id"],
            "day": paid_on.isoformat(),
            "month": paid_on.isoformat()[:7],
            "version": "1",
            "practitioner_id": guide["id"],
            "image": "png",
            "subject_id": HOTEL,
            "list_name": "key_supervision",
            "listing_id": notice["id"],
            "repair_id": repair["id"],
            "code": code["code"],
        },
        fields={
            "merchant_id": HOTEL,
            "region_code": SANYA,
            "consumer_id": alice.subject,
            "subject_id": HOTEL,
            "listing_id": notice["id"],
            "contact_phone": NEW_PHONE,
            "link_id": possible_link["id"],
            "purchased_on": (now.astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat(),
            "occurred_at": (now - timedelta(hours=1)).isoformat(),
        },
        query={"region_code": SANYA, "consumer": alice.subject, "merchant": HOTEL, "month": paid_on.isoformat()[:7]},
        private={
            ALICE_PHONE: {"alice"},
            HOTEL_PHONE: its_side,
            GUIDE_PHONE: its_side,
            alice.subject: hers,
            complaint_id: hers,
            evidence["id"]: hers,
            returned["id"]: hers,
            claim["id"]: hers,
            recovery["id"]: its_side,
            repair["id"]: its_side,
            PENDING: {"sanya", "admin"},
            PENDING_PHONE: {"sanya", "admin"},
        },
    )


async def test_the_table_names_every_public_operation(stack: Stack) -> None:
    ops = {op.key: op for op in operations(stack)}
    assert not sorted(set(ops) - set(RULES)), f"say in RULES who may call: {sorted(set(ops) - set(RULES))}"
    assert not sorted(set(RULES) - set(ops)), f"no such operation any more: {sorted(set(RULES) - set(ops))}"
    for _, rows in VARIANTS.values():
        assert set(rows) <= set(RULES)
        for key, row in rows.items():
            assert len(row.split()) == len(ROLES) and set(row.split()) <= {"ok", "403", "404"}, key
    sample = {name: "x" for op in ops.values() for name in re.findall(r"\{(\w+)\}", op.path)}
    unrouted = [key for key, op in ops.items() if route_for(fill(op.path, sample)) != op.service]
    assert not unrouted, f"the gateway sends these to another service, or nowhere: {unrouted}"


async def test_every_role_gets_what_the_table_says(stack: Stack) -> None:
    world = await build_world(stack)
    cases = [
        (op, variant, rows[op.key])
        for variant, (_, rows) in VARIANTS.items()
        for op in operations(stack)
        if op.key in rows
    ]
    problems: dict[tuple[str, str], str] = {}
    for op, variant, row in cases:
        url, kwargs = request_for(op, world, variant)
        client, name = stack.clients[op.service], label(op, variant)
        r = await client.request(op.method, url, **kwargs)
        if r.status_code != 401:
            problems[(name, "nobody")] = f"without X-Internal-Token: {r.status_code}, not 401"
        expected = dict(zip(ROLES, row.split(), strict=True))
        for role in sorted(ROLES, key=lambda x: expected[x] == "ok"):  # those kept out first, before any change
            r = await client.request(op.method, url, headers=stack.as_(WHO[role]), **kwargs)
            if r.status_code >= 500 or not judge(op, expected[role], r):
                problems[(name, role)] = f"expected {expected[role]}, got {r.status_code} {r.text[:200]}"
            elif leaked := leaks(role, world, url + str(kwargs), r):
                problems[(name, role)] = f"{r.status_code} shows {leaked}"
    report = {key: why for key, why in problems.items() if key not in KNOWN}
    fixed = [key for key in KNOWN if key not in problems]
    assert not report, "\n".join(f"{role:>6} {op}: {why}" for (op, role), why in sorted(report.items()))
    assert not fixed, f"these answer as RULES says now; take them out of KNOWN: {fixed}"


async def test_through_the_gateway_only_anonymous_routes_answer_without_a_login(stack: Stack) -> None:
    world = await build_world(stack)
    forged = {INTERNAL_TOKEN_HEADER: issue_internal_token(ADMIN, INTERNAL_SECRET)}
    problems = []
    for op in operations(stack):
        url, kwargs = request_for(op, world)
        if anonymous(op.method, url):  # ANONYMOUS in services/gateway/routes.py: served to anyone
            r = await stack.gateway.request(op.method, url, **kwargs)
            if not (r.status_code < 300 and judge(op, "ok", r)) or leaks("anonymous", world, url, r):
                problems.append(f"{op.key} anonymous: {r.status_code} {r.text[:200]}")
            continue
        for headers in ({}, forged):  # a token of the services' own, sent from outside, counts for nothing
            r = await stack.gateway.request(op.method, url, headers=headers, **kwargs)
            if r.status_code != 401:
                problems.append(
                    f"{op.key} without a login{' (forged token)' if headers else ''}: {r.status_code} {r.text[:200]}"
                )
    for path, item in stack.apps["gateway"].openapi()["paths"].items():
        if path.startswith(SKIPPED) or path.endswith(("/login", "/refresh", "/progress/lookups")):
            continue  # logging in needs no login, nor does trading a case number and its phone for a progress token
        for method in item:
            r = await stack.gateway.request(method.upper(), path)
            if r.status_code != 401:
                problems.append(f"{method.upper()} {path} without a login: {r.status_code}")
    assert not problems, "\n".join(problems)
