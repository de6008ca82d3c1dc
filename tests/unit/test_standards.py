"""Scenario standards as data: the condition language over typed facts, decided by a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.compensation.rules import first_rules
from services.compensation.standards import decide, holds, typed_facts
from shared.contracts.compensation import SANYA_FERRY_EXAMPLE, Comparison, RuleSetIn, ScenarioStandard

RETURNED = "2026-11-20T18:30:00+08:00"
RETURNED_AT = datetime.fromisoformat(RETURNED)


def ferry() -> ScenarioStandard:
    (standard,) = [s for s in first_rules().scenarios if s.code == "sanya_ferry_queue"]
    return standard


def ferry_facts(outbound: int, back: int, registered_after: timedelta = timedelta(hours=12)) -> dict:
    given = {
        "outbound_queue_minutes": outbound,
        "return_queue_minutes": back,
        "returned_at": RETURNED,
        "ticket_price_fen": 16_000,
    }
    builtin = {"registered_at": RETURNED_AT + registered_after, "amount_involved_fen": 0}
    facts, problems = typed_facts(ferry(), given, builtin)
    assert problems == []
    return facts


def test_the_shipped_ferry_standard_is_the_documented_example() -> None:
    assert ferry() == ScenarioStandard.model_validate(SANYA_FERRY_EXAMPLE)


def test_both_legs_over_the_limit_pay_the_whole_ticket() -> None:
    decision = decide(ferry(), ferry_facts(95, 80))
    assert (decision.refused, decision.percent, decision.amount_fen) == (False, 100, 16_000)
    assert decision.decided_by == "sanya_ferry_queue/both_legs_over_limit"


@pytest.mark.parametrize(("outbound", "back"), [(95, 20), (20, 61)])
def test_one_leg_over_the_limit_pays_half(outbound: int, back: int) -> None:
    decision = decide(ferry(), ferry_facts(outbound, back))
    assert (decision.amount_fen, decision.decided_by) == (8_000, "sanya_ferry_queue/one_leg_over_limit")


def test_at_the_limit_is_not_over_it_and_nothing_holds() -> None:
    decision = decide(ferry(), ferry_facts(60, 60))
    assert decision.refused and decision.decided_by is None and decision.amount_fen == 0


def test_registered_more_than_48_hours_after_the_return_is_refused_whatever_the_queue() -> None:
    late = decide(ferry(), ferry_facts(95, 80, registered_after=timedelta(hours=50)))
    assert late.refused and late.amount_fen == 0
    assert late.decided_by == "sanya_ferry_queue/registered_after_48h"
    on_time = decide(ferry(), ferry_facts(95, 80, registered_after=timedelta(hours=48)))
    assert not on_time.refused  # exactly 48 hours is not later than 48 hours


def test_missing_and_mistyped_facts_are_named() -> None:
    given = {"outbound_queue_minutes": "95", "returned_at": "2026-11-20T18:30:00", "extra": 1}
    _, problems = typed_facts(ferry(), given, {"registered_at": RETURNED_AT, "amount_involved_fen": 0})
    assert {p.name for p in problems} == {
        "outbound_queue_minutes",  # a string is not an integer
        "return_queue_minutes",  # missing
        "returned_at",  # no offset: no instant
        "ticket_price_fen",  # missing
        "extra",  # not a fact of the standard
    }


def test_true_is_not_an_integer() -> None:
    _, problems = typed_facts(
        ferry(),
        {"outbound_queue_minutes": True, "return_queue_minutes": 1, "returned_at": RETURNED, "ticket_price_fen": 1},
        {"registered_at": RETURNED_AT, "amount_involved_fen": 0},
    )
    assert [p.name for p in problems] == ["outbound_queue_minutes"]


def test_comparisons_all_and_any() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    facts = {"n": 5, "flag": True, "name": "西岛", "t": now, "u": now + timedelta(hours=3)}
    assert holds(Comparison(fact="n", op="ge", value=5), facts)
    assert not holds(Comparison(fact="n", op="lt", value=5), facts)
    assert holds(Comparison(fact="flag", op="eq", value=True), facts)
    assert holds(Comparison(fact="name", op="ne", value="蜈支洲岛"), facts)
    assert holds(Comparison(fact="u", op="gt", other_fact="t", plus_hours=2), facts)
    assert not holds(Comparison(fact="u", op="gt", other_fact="t", plus_hours=3), facts)
    condition = (
        ScenarioStandard.model_validate(
            {
                "code": "x",
                "title": "x",
                "outcomes": [
                    {
                        "code": "o",
                        "title": "o",
                        "percent": 10,
                        "when": {
                            "any": [
                                {"fact": "amount_involved_fen", "op": "gt", "value": 9},
                                {"all": [{"fact": "amount_involved_fen", "op": "eq", "value": 1}]},
                            ]
                        },
                    }
                ],
            }
        )
        .outcomes[0]
        .when
    )
    assert holds(condition, {"amount_involved_fen": 10})
    assert holds(condition, {"amount_involved_fen": 1})
    assert not holds(condition, {"amount_involved_fen": 5})


def rules_with(standard: dict) -> dict:
    return {
        "auto_approve_below_fen": 50_000,
        "second_approval_from_fen": 500_000,
        "cap_per_claim_fen": 3_000_000,
        "cap_per_consumer_per_year_fen": 5_000_000,
        "scenarios": [standard],
    }


@pytest.mark.parametrize(
    "change",
    [
        {"percent": 100},  # the old flat form: a field a standard no longer holds
        {"outcomes": [{"code": "o", "title": "o", "percent": 50, "when": {"fact": "nope", "op": "gt", "value": 1}}]},
        {
            "outcomes": [
                {"code": "o", "title": "o", "percent": 50, "when": {"fact": "returned_at", "op": "gt", "value": 1}}
            ]
        },
        {
            "outcomes": [
                {
                    "code": "o",
                    "title": "o",
                    "percent": 50,
                    "when": {"fact": "ticket_price_fen", "op": "gt", "value": "1"},
                }
            ]
        },
        {
            "outcomes": [
                {
                    "code": "o",
                    "title": "o",
                    "percent": 50,
                    "when": {"fact": "ticket_price_fen", "op": "gt", "value": 1, "unit": "fen"},
                }
            ]
        },
        {"outcomes": [{"code": "o", "title": "o", "percent": 50, "when": {"all": [], "limit": 60}}]},
        {"base_fact": "returned_at"},
        {"facts": [{"name": "returned_at", "type": "datetime", "label": "x", "format": "iso"}]},
    ],
)
def test_a_rule_body_the_rules_cannot_hold_is_refused(change: dict) -> None:
    with pytest.raises(ValidationError):
        RuleSetIn.model_validate(rules_with({**SANYA_FERRY_EXAMPLE, **change}))


def test_a_stored_rule_body_round_trips() -> None:
    rules = RuleSetIn.model_validate(rules_with(SANYA_FERRY_EXAMPLE))
    assert RuleSetIn.model_validate(rules.model_dump(mode="json")) == rules


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ticket_price_fen", 10**13),  # beyond any ticket, and beyond what a claim's amount may hold
        ("returned_at", "0001-01-01T00:00:00+00:00"),  # no arithmetic on the edge of the calendar
        ("returned_at", "9999-12-31T23:59:59+00:00"),
    ],
)
def test_facts_out_of_any_sensible_range_are_refused(name: str, value: object) -> None:
    given = {"outbound_queue_minutes": 1, "return_queue_minutes": 1, "returned_at": RETURNED, "ticket_price_fen": 1}
    _, problems = typed_facts(ferry(), {**given, name: value}, {"registered_at": RETURNED_AT, "amount_involved_fen": 0})
    assert [p.name for p in problems] == [name]
