"""The compensation rules decide a claim: `evaluate` over plain facts, without HTTP or a database.

The rules are v1 as issued (services/compensation/data/rules_v1.json): under 500 yuan no official,
from 5,000 yuan two; 30,000 yuan a claim, 10,000 in transport, 50,000 a consumer a year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from services.compensation.claims import start_of_year
from services.compensation.models import ProgramMerchant
from services.compensation.rules import ClaimFacts, Decision, evaluate, first_rules

RULES = first_rules()
SANYA = "460200"
ENROLLED = ProgramMerchant(id="mch_1", name="三亚湾酒店", settled=True, in_compensation_program=True)
REGISTERED = datetime.fromisoformat("2026-11-21T09:00:00+08:00")


def facts(**change: object) -> ClaimFacts:
    base = ClaimFacts(
        industry="lodging",
        merchant=ENROLLED,
        amount_involved_fen=40_000,
        amount_requested_fen=30_000,
        scenario=None,
        evidence_count=1,
        liability_clear=True,
        paid_this_year_fen=0,
        fund_balance_fen=10_000_000,
        fund_floor_fen=0,
        region_code=SANYA,
        registered_at=REGISTERED,
    )
    return replace(base, **change)  # type: ignore[arg-type]


def passed(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons if r.passed}


def failed(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons if not r.passed}


def test_a_small_clear_claim_is_paid_as_asked_without_an_official() -> None:
    decision = evaluate(RULES, facts())
    assert (decision.eligible, decision.amount_fen, decision.approvals_needed) == (True, 30_000, 0)
    assert failed(decision) == set() and decision.decided_by is None
    assert passed(decision) == {
        "merchant_settled",
        "merchant_in_program",
        "evidence_present",
        "amount_positive",
        "within_claim_cap",
        "within_annual_cap",
        "liability_clear",
        "fund_above_floor",
    }


@pytest.mark.parametrize(
    ("amount", "approvals"),
    [(49_999, 0), (50_000, 1), (499_999, 1), (500_000, 2), (3_000_000, 2)],
)
def test_officials_needed_grow_with_the_amount(amount: int, approvals: int) -> None:
    decision = evaluate(RULES, facts(amount_requested_fen=amount))
    assert decision.eligible and decision.approvals_needed == approvals


@pytest.mark.parametrize(
    ("merchant", "code"),
    [
        (None, "merchant_settled"),
        (ProgramMerchant(id="m", name="m", settled=False, in_compensation_program=True), "merchant_settled"),
        (ProgramMerchant(id="m", name="m", settled=True, in_compensation_program=False), "merchant_in_program"),
    ],
)
def test_only_settled_merchants_in_the_program_are_covered(merchant: ProgramMerchant | None, code: str) -> None:
    decision = evaluate(RULES, facts(merchant=merchant))
    assert not decision.eligible and code in failed(decision)


def test_evidence_is_required_unless_the_rules_waive_it() -> None:
    assert "evidence_present" in failed(evaluate(RULES, facts(evidence_count=0)))
    waived = evaluate(RULES.model_copy(update={"requires_evidence": False}), facts(evidence_count=0))
    assert waived.eligible and "evidence_present" not in passed(waived) | failed(waived)


def test_caps_per_claim_per_industry_and_per_year() -> None:
    over_claim = evaluate(RULES, facts(amount_requested_fen=3_000_001))
    assert not over_claim.eligible and "amount_above_cap" in failed(over_claim)
    over_transport = evaluate(RULES, facts(industry="transport", amount_requested_fen=1_000_001))
    assert not over_transport.eligible and "amount_above_industry_cap" in failed(over_transport)
    at_transport = evaluate(RULES, facts(industry="transport", amount_requested_fen=1_000_000))
    assert at_transport.eligible and "within_industry_cap" in passed(at_transport)
    year_full = evaluate(RULES, facts(paid_this_year_fen=4_980_000, amount_requested_fen=30_000))
    assert not year_full.eligible and "annual_cap_reached" in failed(year_full)
    year_exact = evaluate(RULES, facts(paid_this_year_fen=4_970_000, amount_requested_fen=30_000))
    assert year_exact.eligible


def test_nothing_asked_is_nothing_paid() -> None:
    decision = evaluate(RULES, facts(amount_requested_fen=0))
    assert not decision.eligible and "amount_positive" in failed(decision)


def test_unclear_liability_and_a_fund_at_its_floor_stay_eligible_but_need_an_official() -> None:
    unclear = evaluate(RULES, facts(liability_clear=False))
    assert unclear.eligible and unclear.approvals_needed == 1 and failed(unclear) == {"liability_clear"}
    low = evaluate(RULES, facts(fund_balance_fen=100_000, fund_floor_fen=80_000))
    assert low.eligible and low.approvals_needed == 1 and failed(low) == {"fund_above_floor"}
    exactly = evaluate(RULES, facts(fund_balance_fen=110_000, fund_floor_fen=80_000))
    assert exactly.approvals_needed == 0 and "fund_above_floor" in passed(exactly)


def ferry(**given: object) -> ClaimFacts:
    returned = datetime.fromisoformat("2026-11-20T18:30:00+08:00")
    return facts(
        industry="transport",
        scenario="sanya_ferry_queue",
        amount_requested_fen=1,  # the standard sets the amount, not the request
        registered_at=returned + timedelta(hours=12),
        given={
            "outbound_queue_minutes": 90,
            "return_queue_minutes": 75,
            "returned_at": returned.isoformat(),
            "ticket_price_fen": 16_000,
            **given,
        },
    )


def test_a_scenario_standard_sets_the_amount_and_names_what_decided() -> None:
    whole = evaluate(RULES, ferry())
    assert whole.eligible and whole.amount_fen == 16_000 and whole.decided_by
    assert {"scenario_known", "scenario_amount"} <= passed(whole)
    half = evaluate(RULES, ferry(return_queue_minutes=30))
    assert half.eligible and half.amount_fen == 8_000 and half.decided_by != whole.decided_by


def test_a_scenario_outside_its_industry_or_region_or_with_bad_facts_pays_nothing() -> None:
    elsewhere = evaluate(RULES, replace(ferry(), region_code="460100"))
    assert not elsewhere.eligible and "scenario_known" in failed(elsewhere)
    lodging = evaluate(RULES, replace(ferry(), industry="lodging"))
    assert not lodging.eligible and "scenario_known" in failed(lodging)
    unknown = evaluate(RULES, facts(scenario="no_such_standard"))
    assert not unknown.eligible and "scenario_known" in failed(unknown)
    mistyped = evaluate(RULES, ferry(outbound_queue_minutes="ninety"))
    assert not mistyped.eligible and mistyped.amount_fen == 0 and "scenario_facts" in failed(mistyped)


def test_a_scenario_refusal_refuses_and_says_why() -> None:
    late = replace(ferry(), registered_at=datetime.fromisoformat("2026-11-23T18:31:00+08:00"))
    decision = evaluate(RULES, late)
    assert not decision.eligible and decision.amount_fen == 0
    assert "scenario_refused" in failed(decision) and decision.decided_by


def test_the_year_of_the_annual_cap_begins_in_shanghai() -> None:
    just_after = datetime.fromisoformat("2027-01-01T00:30:00+08:00")
    assert start_of_year(just_after) == datetime.fromisoformat("2027-01-01T00:00:00+08:00")
    assert start_of_year(datetime.fromisoformat("2026-12-31T16:30:00+00:00")) == just_after.replace(minute=0)
