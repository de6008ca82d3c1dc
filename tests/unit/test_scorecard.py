"""The scorecard's rules, without HTTP or a database: grades and their thresholds, points, decay, caps,
repair, the figures, what a grade does to the lists, and a profile's badges. The numbers are those of
services/credit/data/scorecard_v1.json (base 700; A from 850, B from 650, C from 450, D below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.credit.codes import marks
from services.credit.scorecard import Line, RecordRule, Scorecard, current, score

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return current()


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def lines(kind: str, count: int = 1, *, value: int | None = None, age_days: float = 0) -> list[Line]:
    return [(kind, value, days_ago(age_days), None)] * count


# --- grades and thresholds ------------------------------------------------------------------------------
def test_the_first_version_is_in_force_with_its_grades(card: Scorecard) -> None:
    assert card.version == "v1"
    assert (card.base, card.floor, card.ceiling) == (700, 0, 1000)
    assert card.grades == {"A": 850, "B": 650, "C": 450, "D": 0}


@pytest.mark.parametrize(
    ("points", "grade"),
    [(1000, "A"), (850, "A"), (849, "B"), (700, "B"), (650, "B"), (649, "C"), (450, "C"), (449, "D"), (0, "D")],
)
def test_a_grade_is_the_highest_whose_threshold_the_score_reaches(card: Scorecard, points: int, grade: str) -> None:
    assert card.grade_of(points) == grade


def test_a_score_below_every_threshold_has_the_lowest_grade(card: Scorecard) -> None:
    above_zero = card.model_copy(update={"grades": {"A": 850, "B": 650, "C": 450, "D": 100}})
    assert above_zero.grade_of(99) == "D" and above_zero.grade_of(-5) == "D"


def test_a_subject_with_no_records_has_the_base_score_and_its_grade(card: Scorecard) -> None:
    result = score(card, [], NOW)
    assert (result.score, result.grade, result.reasons) == (700, "B", [])
    assert result.figures == {
        "days": 365,
        "complaints": 0,
        "responded_in_time": 0,
        "responded_late": 0,
        "at_fault": 0,
        "ratings": 0,
        "rating_average": None,
    }


# --- points, decay, repair, caps ---------------------------------------------------------------------------
def test_each_kind_of_record_counts_its_points_and_says_so_in_the_reasons(card: Scorecard) -> None:
    result = score(card, lines("penalty"), NOW)
    assert (result.score, result.grade) == (550, "C")
    assert result.reasons == [{"kind": "penalty", "label": "行政处罚", "count": 1, "points": -150, "capped": False}]


@pytest.mark.parametrize(("stars", "points"), [(1, -8), (2, -4), (3, 0), (4, 2), (5, 4)])
def test_a_rating_counts_the_points_of_its_stars(card: Scorecard, stars: int, points: int) -> None:
    assert score(card, lines("rating", value=stars), NOW).score == 700 + points


def test_a_record_one_half_life_old_counts_half_and_one_past_the_horizon_not_at_all(card: Scorecard) -> None:
    assert (card.half_life_days, card.horizon_days) == (365, 1095)
    assert score(card, lines("penalty", age_days=365), NOW).score == 700 - 75
    assert score(card, lines("penalty", age_days=730), NOW).score == 700 - 38  # a quarter: -37.5, rounded
    gone = score(card, lines("penalty", age_days=1096), NOW)
    assert (gone.score, gone.reasons) == (700, [])


def test_a_record_in_the_future_counts_in_full(card: Scorecard) -> None:
    assert score(card, lines("penalty", age_days=-1), NOW).score == 550


def test_a_record_lifted_by_a_repair_no_longer_counts(card: Scorecard) -> None:
    assert card.repaired_factor == 0.0
    repaired: list[Line] = [("penalty", None, days_ago(10), days_ago(1))]
    result = score(card, repaired, NOW)
    assert result.score == 700
    assert result.reasons == [{"kind": "penalty", "label": "行政处罚", "count": 1, "points": 0, "capped": False}]


def test_no_one_kind_decides_the_score_on_its_own(card: Scorecard) -> None:
    """31 complaints are -124 points: capped at -120, and the reason says it was capped."""
    result = score(card, lines("complaint_accepted", 31), NOW)
    assert result.score == 580
    assert result.reasons[0] == {
        "kind": "complaint_accepted",
        "label": "被受理的投诉",
        "count": 31,
        "points": -120,
        "capped": True,
    }
    praise = score(card, lines("inspection_passed", 10), NOW)  # +200, capped at +100
    assert (praise.score, praise.grade, praise.reasons[0]["capped"]) == (800, "B", True)


def test_the_score_stays_between_floor_and_ceiling(card: Scorecard) -> None:
    worst = lines("recovery_defaulted", 3) + lines("penalty", 3) + lines("public_list") + lines("resolved_at_fault", 10)
    assert (score(card, worst, NOW).score, score(card, worst, NOW).grade) == (0, "D")
    best = lines("honour") + lines("commendation", 2) + lines("honest_complaint", 10)  # 700 + 200 + 200 + 100
    assert (score(card, best, NOW).score, score(card, best, NOW).grade) == (1000, "A")


def test_the_reasons_come_largest_first_then_by_kind(card: Scorecard) -> None:
    result = score(
        card,
        lines("rating", value=5) + lines("penalty") + lines("inspection_passed") + lines("commendation"),
        NOW,
    )
    assert [(r["kind"], r["points"]) for r in result.reasons] == [
        ("penalty", -150),
        ("commendation", 100),
        ("inspection_passed", 20),
        ("rating", 4),
    ]
    assert result.score == 700 - 150 + 100 + 20 + 4


def test_a_kind_the_scorecard_does_not_know_is_left_out(card: Scorecard) -> None:
    assert score(card, lines("unheard_of", 5), NOW).score == 700


def test_the_figures_count_the_last_figures_days(card: Scorecard) -> None:
    recent = (
        lines("complaint_accepted", 3, age_days=10)
        + lines("responded_in_time", 2, age_days=10)
        + lines("responded_late", age_days=10)
        + lines("resolved_at_fault", age_days=10)
        + lines("rating", value=5, age_days=1)
        + lines("rating", value=2, age_days=1)
    )
    older = lines("complaint_accepted", 4, age_days=400) + lines("rating", value=1, age_days=400)
    assert score(card, recent + older, NOW).figures == {
        "days": 365,
        "complaints": 3,
        "responded_in_time": 2,
        "responded_late": 1,
        "at_fault": 1,
        "ratings": 2,
        "rating_average": 3.5,
    }


def test_each_subject_kind_has_its_kinds_of_record(card: Scorecard) -> None:
    assert card.kinds_for("consumer") == [
        "commendation",
        "public_list",
        "honest_complaint",
        "malicious_complaint",
        "compensation_fraud",
        "honour",
    ]
    assert "rating" in card.kinds_for("merchant") and "rating" not in card.kinds_for("practitioner")


def test_a_record_rule_needs_a_cap() -> None:
    with pytest.raises(ValidationError):
        RecordRule(label="x", applies_to=["merchant"], points=-1, cap=0)


# --- the lists ----------------------------------------------------------------------------------------------
def test_the_lists_publication_periods_and_triggers(card: Scorecard) -> None:
    red, key, dishonest = card.lists["red"], card.lists["key_supervision"], card.lists["dishonest"]
    assert (red.automatic, red.grades, red.applies_to) == (True, ["A"], ["merchant", "practitioner"])
    assert (key.min_days, key.default_days, key.max_days, key.grades) == (90, 180, 365, ["D"])
    assert {kind: (t.count, t.within_days) for kind, t in key.records.items()} == {"resolved_at_fault": (3, 90)}
    assert (dishonest.min_days, dishonest.default_days, dishonest.max_days, dishonest.grades) == (180, 365, 1095, [])
    assert {kind: (t.count, t.within_days) for kind, t in dishonest.records.items()} == {
        "recovery_defaulted": (1, 365),
        "compensation_fraud": (1, 365),
        "penalty": (2, 365),
    }
    assert "consumer" in dishonest.applies_to and "consumer" not in key.applies_to + red.applies_to


@pytest.mark.parametrize("kind", ["merchant", "practitioner"])
def test_grade_a_puts_a_merchant_or_practitioner_on_the_red_list_with_no_notice(card: Scorecard, kind: str) -> None:
    assert card.moves_for(kind, "A", []) == [("list", "red")]
    assert card.moves_for(kind, "A", ["red"]) == []


@pytest.mark.parametrize("distrust", ["key_supervision", "dishonest"])
def test_no_red_list_while_on_notice_for_or_on_a_list_of_distrust(card: Scorecard, distrust: str) -> None:
    assert card.moves_for("merchant", "A", [distrust]) == []


@pytest.mark.parametrize("grade", ["B", "C", "D"])
def test_the_red_list_ends_with_the_grade(card: Scorecard, grade: str) -> None:
    moves = card.moves_for("merchant", grade, ["red"])
    assert moves[0] == ("end", "red")


def test_grade_d_opens_a_notice_for_key_supervision_once(card: Scorecard) -> None:
    assert card.moves_for("merchant", "D", []) == [("notice", "key_supervision")]
    assert card.moves_for("merchant", "D", ["red"]) == [("end", "red"), ("notice", "key_supervision")]
    assert card.moves_for("merchant", "D", ["key_supervision"]) == []
    assert card.moves_for("merchant", "C", []) == []


@pytest.mark.parametrize("grade", ["A", "B", "C", "D"])
def test_a_grade_alone_never_lists_a_consumer_nor_anyone_as_dishonest(card: Scorecard, grade: str) -> None:
    assert card.moves_for("consumer", grade, []) == []
    assert all(name != "dishonest" for _, name in card.moves_for("merchant", grade, []))


# --- a profile's badges ---------------------------------------------------------------------------------------
def test_a_profile_shows_its_badges_and_warns_of_every_other_list() -> None:
    assert marks(set(), in_integrity_alliance=False, in_compensation_program=False) == ([], [])
    assert marks({"red"}, in_integrity_alliance=True, in_compensation_program=True) == (
        ["integrity_alliance", "advance_compensation", "red_list"],
        [],
    )
    assert marks({"key_supervision", "dishonest"}, in_integrity_alliance=False, in_compensation_program=True) == (
        ["advance_compensation"],
        ["dishonest", "key_supervision"],
    )
