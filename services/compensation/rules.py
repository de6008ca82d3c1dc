"""The unified compensation rules, as versioned data, and what they decide about one claim."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from services.compensation.models import ProgramMerchant
from services.compensation.standards import decide, typed_facts
from shared.contracts.common import yuan
from shared.contracts.compensation import Reason, RuleSetIn
from shared.contracts.identity import region_covers

FIRST_RULES = Path(__file__).with_name("data") / "rules_v1.json"


def first_rules() -> RuleSetIn:
    return RuleSetIn.model_validate(json.loads(FIRST_RULES.read_text(encoding="utf-8")))


@dataclass
class ClaimFacts:
    industry: str
    merchant: ProgramMerchant | None
    amount_involved_fen: int
    amount_requested_fen: int
    scenario: str | None
    evidence_count: int
    liability_clear: bool
    paid_this_year_fen: int
    fund_balance_fen: int
    fund_floor_fen: int
    region_code: str = ""
    registered_at: datetime | None = None
    given: dict[str, int | str | bool] = field(default_factory=dict)  # the requester's facts for a standard


@dataclass
class Decision:
    eligible: bool
    amount_fen: int
    approvals_needed: int
    reasons: list[Reason] = field(default_factory=list)
    decided_by: str | None = None


def evaluate(rules: RuleSetIn, facts: ClaimFacts) -> Decision:
    """Every check is kept as a reason, passed or not, so the decision explains itself."""
    reasons: list[Reason] = []

    def check(code: str, passed: bool, message: str) -> bool:
        reasons.append(Reason(code=code, passed=passed, message=message))
        return passed

    merchant = facts.merchant
    ok = check(
        "merchant_settled",
        merchant is not None and merchant.settled,
        "the merchant is settled in on the platform"
        if merchant and merchant.settled
        else "only merchants settled in on the platform are covered",
    )
    ok &= check(
        "merchant_in_program",
        merchant is not None and merchant.in_compensation_program,
        "the merchant is enrolled in advance compensation"
        if merchant and merchant.in_compensation_program
        else "the merchant is not enrolled in advance compensation",
    )
    if rules.requires_evidence:
        ok &= check(
            "evidence_present",
            facts.evidence_count > 0,
            f"{facts.evidence_count} evidence file(s) attached"
            if facts.evidence_count
            else "the complaint has no evidence attached",
        )
    amount = facts.amount_requested_fen
    decided_by = None
    if facts.scenario:
        standard = next((s for s in rules.scenarios if s.code == facts.scenario), None)
        applies = (
            standard is not None
            and standard.industry in (None, facts.industry)
            and (standard.region_code is None or region_covers(standard.region_code, facts.region_code))
        )
        if check(
            "scenario_known",
            applies,
            f"scenario {facts.scenario}: {standard.title}"
            if applies and standard
            else f"the rules have no scenario {facts.scenario} for this industry and region",
        ):
            assert standard is not None and facts.registered_at is not None
            builtin: dict[str, int | bool | str | datetime] = {
                "registered_at": facts.registered_at,
                "amount_involved_fen": facts.amount_involved_fen,
            }
            typed, problems = typed_facts(standard, facts.given, builtin)
            if not check(
                "scenario_facts",
                not problems,
                "; ".join(p.message for p in problems) if problems else f"the {len(standard.facts)} facts are given",
            ):
                ok, amount = False, 0
            else:
                outcome = decide(standard, typed)
                decided_by = outcome.decided_by
                if outcome.refused:
                    check("scenario_refused", False, f"{outcome.title} ({decided_by or standard.code})")
                    ok, amount = False, 0
                else:
                    amount = outcome.amount_fen
                    check(
                        "scenario_amount",
                        True,
                        f"{outcome.title}: {outcome.percent}% of {yuan(outcome.base_fen)} yuan ({decided_by})",
                    )
        else:
            ok = False
    ok &= check("amount_positive", amount > 0, "the amount is positive" if amount > 0 else "nothing to pay")
    ok &= check(
        "amount_above_cap" if amount > rules.cap_per_claim_fen else "within_claim_cap",
        amount <= rules.cap_per_claim_fen,
        f"{yuan(amount)} yuan against a cap of {yuan(rules.cap_per_claim_fen)} per claim",
    )
    industry_cap = rules.caps_per_industry_fen.get(facts.industry)  # type: ignore[call-overload]
    if industry_cap is not None:
        ok &= check(
            "amount_above_industry_cap" if amount > industry_cap else "within_industry_cap",
            amount <= industry_cap,
            f"{yuan(amount)} yuan against {yuan(industry_cap)} for {facts.industry}",
        )
    year_total = facts.paid_this_year_fen + amount
    ok &= check(
        "annual_cap_reached" if year_total > rules.cap_per_consumer_per_year_fen else "within_annual_cap",
        year_total <= rules.cap_per_consumer_per_year_fen,
        f"{yuan(year_total)} yuan this year against {yuan(rules.cap_per_consumer_per_year_fen)}",
    )
    check(
        "liability_clear",
        facts.liability_clear,
        "the record shows the merchant liable or past its deadline"
        if facts.liability_clear
        else "an official must find the merchant liable",
    )
    above_floor = facts.fund_balance_fen - amount >= facts.fund_floor_fen
    check(
        "fund_above_floor",
        above_floor,
        f"the fund keeps {yuan(facts.fund_balance_fen - amount)} yuan after paying"
        if above_floor
        else f"paying would take the fund below its floor of {yuan(facts.fund_floor_fen)} yuan",
    )

    if amount >= rules.second_approval_from_fen:
        approvals = 2
    elif amount >= rules.auto_approve_below_fen or not facts.liability_clear or not above_floor:
        approvals = 1
    else:
        approvals = 0
    return Decision(eligible=ok, amount_fen=amount, approvals_needed=approvals, reasons=reasons, decided_by=decided_by)
