"""Scenario standards decided from typed facts: a pure function over a small condition language.

A standard (`ScenarioStandard`, data in the rules) declares the facts it needs and its conditions:
comparisons of a fact with a constant or with another fact (`plus_hours` for datetimes), combined by
`all` and `any`. Nothing here reads a database or a clock, and nothing is ever evaluated as code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.compensation import (
    AllOf,
    AnyOf,
    CompareOp,
    Comparison,
    FactDeclaration,
    FactType,
    ScenarioStandard,
)

Fact = int | bool | str | datetime
OPS: dict[CompareOp, Callable[[Any, Any], bool]] = {
    CompareOp.lt: operator.lt,
    CompareOp.le: operator.le,
    CompareOp.eq: operator.eq,
    CompareOp.ne: operator.ne,
    CompareOp.ge: operator.ge,
    CompareOp.gt: operator.gt,
}


@dataclass(frozen=True)
class FactProblem:
    name: str
    message: str


@dataclass(frozen=True)
class StandardDecision:
    """What a standard decided: a share of its base amount, or a refusal; `decided_by` names the condition."""

    refused: bool
    percent: int
    base_fen: int
    decided_by: str | None
    title: str

    @property
    def amount_fen(self) -> int:
        return 0 if self.refused else self.base_fen * self.percent // 100


INTEGER_LIMIT = 10**12  # minutes, counts and fen alike: far beyond any ticket, and within a BIGINT
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _typed(declaration: FactDeclaration, raw: object) -> Fact | None:
    """The value as its declared type, or None when it is not one (or is out of any sensible range)."""
    if declaration.type == FactType.integer:
        return raw if type(raw) is int and abs(raw) <= INTEGER_LIMIT else None
    if declaration.type == FactType.boolean:
        return raw if type(raw) is bool else None
    if declaration.type == FactType.text:
        return raw if isinstance(raw, str) else None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo is not None else None
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a time without an offset is no instant
        return None
    return parsed if EARLIEST <= parsed <= LATEST else None


def typed_facts(
    standard: ScenarioStandard, given: Mapping[str, object], builtin: Mapping[str, Fact]
) -> tuple[dict[str, Fact], list[FactProblem]]:
    """The facts the standard declares, typed; each one missing or of the wrong type is a problem."""
    facts: dict[str, Fact] = dict(builtin)
    problems: list[FactProblem] = []
    for declaration in standard.facts:
        if declaration.name not in given:
            problems.append(FactProblem(declaration.name, f"{declaration.label} ({declaration.name}) is missing"))
            continue
        value = _typed(declaration, given[declaration.name])
        if value is None:
            kind = {
                FactType.integer: f"an integer within ±{INTEGER_LIMIT}",
                FactType.datetime: "an RFC 3339 time with an offset, between 2000 and 2200",
            }.get(declaration.type, declaration.type.value)
            problems.append(FactProblem(declaration.name, f"{declaration.name} must be {kind}"))
        else:
            facts[declaration.name] = value
    unknown = sorted(set(given) - {d.name for d in standard.facts})
    problems.extend(FactProblem(name, f"{name} is not a fact of {standard.code}") for name in unknown)
    return facts, problems


def holds(condition: AllOf | AnyOf | Comparison | None, facts: Mapping[str, Fact]) -> bool:
    """Whether the condition holds for the facts (every fact it names is there: `typed_facts` saw to it)."""
    if condition is None:
        return True
    if isinstance(condition, AllOf):
        return all(holds(part, facts) for part in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(part, facts) for part in condition.any)
    left = facts[condition.fact]
    if condition.other_fact is None:
        right: Any = condition.value
    else:
        right = facts[condition.other_fact]
        if condition.plus_hours:
            right = right + timedelta(hours=condition.plus_hours)
    return OPS[condition.op](left, right)


def decide(standard: ScenarioStandard, facts: Mapping[str, Fact]) -> StandardDecision:
    """The first refusal that holds refuses; else the first outcome that holds sets the share; else refused."""
    base = facts[standard.base_fact]
    assert isinstance(base, int)
    for refusal in standard.refusals:
        if holds(refusal.when, facts):
            return StandardDecision(True, 0, base, f"{standard.code}/{refusal.code}", refusal.title)
    for outcome in standard.outcomes:
        if holds(outcome.when, facts):
            return StandardDecision(False, outcome.percent, base, f"{standard.code}/{outcome.code}", outcome.title)
    return StandardDecision(True, 0, base, None, "no condition of the standard holds for these facts")
