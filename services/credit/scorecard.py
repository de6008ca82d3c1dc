"""The scorecard: versioned data (data/scorecard_v*.json) and the one function that turns records into a score.

A subject starts at `base`. Each credit record adds its kind's points (or, for ratings, the points of
its value), weighed by age: a record `half_life_days` old counts half, one older than `horizon_days`
not at all. A record lifted by an approved repair counts at `repaired_factor`. Each kind's total is
capped at ±`cap`, so that no one kind (a flood of complaints, a pile of praise) decides the score on
its own. The score is clamped to [floor, ceiling] and rounded; the grade is the highest whose
threshold it reaches. The reasons are the per-kind totals, largest first: they explain every score.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

SubjectKind = Literal["merchant", "practitioner", "consumer"]
# What a grade does to a subject's lists: list it now (the red list), end its listing, or open a notice.
Move = tuple[Literal["list", "end", "notice"], str]
DATA = Path(__file__).parent / "data"


class RecordRule(BaseModel):
    label: str
    applies_to: list[SubjectKind]
    points: int = 0
    points_by_value: dict[str, int] | None = None
    cap: int = Field(gt=0)

    def points_for(self, value: int | None) -> int:
        if self.points_by_value is not None:
            return self.points_by_value.get(str(value), 0)
        return self.points


class Trigger(BaseModel):
    count: int = Field(ge=1)
    within_days: int = Field(ge=1)


class ListRule(BaseModel):
    label: str
    applies_to: list[SubjectKind]
    automatic: bool = Field(False, description="follows the grade with no notice (the red list)")
    severity: Literal["general", "serious"] | None = None
    min_days: int | None = None
    max_days: int | None = None
    default_days: int | None = None
    grades: list[str] = Field(default_factory=list)
    records: dict[str, Trigger] = Field(default_factory=dict)


class Scorecard(BaseModel):
    version: str
    effective_from: str
    base: int
    floor: int
    ceiling: int
    half_life_days: float
    horizon_days: int
    repaired_factor: float
    figures_days: int
    grades: dict[str, int]
    records: dict[str, RecordRule]
    lists: dict[str, ListRule]

    def grade_of(self, score: int) -> str:
        for grade, threshold in sorted(self.grades.items(), key=lambda g: -g[1]):
            if score >= threshold:
                return grade
        return min(self.grades, key=lambda g: self.grades[g])

    def kinds_for(self, subject_kind: str) -> list[str]:
        return [kind for kind, rule in self.records.items() if subject_kind in rule.applies_to]

    def moves_for(self, subject_kind: str, grade: str, open_lists: Collection[str]) -> list[Move]:
        """What this grade does to the lists of a subject on (or on notice for) `open_lists`: an automatic list
        (red) takes it in with the grade, unless it is on notice for or on a list of distrust, and lets it go
        without; another list whose grades it meets opens a notice. In the scorecard's order of lists."""
        moves: list[Move] = []
        for name, rule in self.lists.items():
            if subject_kind not in rule.applies_to:
                continue
            meets = grade in rule.grades
            if rule.automatic:
                if meets and name not in open_lists and not {"dishonest", "key_supervision"} & set(open_lists):
                    moves.append(("list", name))
                elif not meets and name in open_lists:
                    moves.append(("end", name))
            elif meets and name not in open_lists:
                moves.append(("notice", name))
        return moves


@cache
def current() -> Scorecard:
    """The newest scorecard version on disk."""
    newest = max(DATA.glob("scorecard_v*.json"), key=lambda p: int(p.stem.removeprefix("scorecard_v")))
    return Scorecard.model_validate(json.loads(newest.read_text(encoding="utf-8")))


@dataclass
class Result:
    score: int
    grade: str
    reasons: list[dict[str, Any]]
    figures: dict[str, Any] = field(default_factory=dict)


# A record as the scorer needs it: kind, value, when it happened, and when a repair lifted it (or None).
Line = tuple[str, int | None, datetime, datetime | None]


def score(card: Scorecard, lines: Iterable[Line], now: datetime) -> Result:
    """Score one subject's records as of `now`; the figures count the last `figures_days`."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    recent: dict[str, int] = {}
    rating_sum = 0
    half_life_seconds = card.half_life_days * 86400
    horizon_seconds = card.horizon_days * 86400
    figures_seconds = card.figures_days * 86400
    rules = card.records
    for kind, value, occurred_at, repaired_at in lines:
        rule = rules.get(kind)
        if rule is None:
            continue
        age = max((now - occurred_at).total_seconds(), 0.0)
        if age <= figures_seconds:
            recent[kind] = recent.get(kind, 0) + 1
            if kind == "rating" and value:
                rating_sum += value
        if age > horizon_seconds:
            continue
        weight = 0.5 ** (age / half_life_seconds)
        if repaired_at is not None:
            weight *= card.repaired_factor
        totals[kind] = totals.get(kind, 0.0) + rule.points_for(value) * weight
        counts[kind] = counts.get(kind, 0) + 1
    reasons: list[dict[str, Any]] = []
    total = float(card.base)
    for kind, points in totals.items():
        cap = rules[kind].cap
        capped = max(-cap, min(cap, points))
        total += capped
        reasons.append(
            {
                "kind": kind,
                "label": rules[kind].label,
                "count": counts[kind],
                "points": round(capped),
                "capped": capped != points,
            }
        )
    reasons.sort(key=lambda r: (-abs(r["points"]), r["kind"]))
    final = int(round(max(card.floor, min(card.ceiling, total))))
    ratings = recent.get("rating", 0)
    figures = {
        "days": card.figures_days,
        "complaints": recent.get("complaint_accepted", 0),
        "responded_in_time": recent.get("responded_in_time", 0),
        "responded_late": recent.get("responded_late", 0),
        "at_fault": recent.get("resolved_at_fault", 0),
        "ratings": ratings,
        "rating_average": round(rating_sum / ratings, 1) if ratings else None,
    }
    return Result(score=final, grade=card.grade_of(final), reasons=reasons, figures=figures)
