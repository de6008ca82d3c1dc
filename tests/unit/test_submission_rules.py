"""Submission's pure rules (services/intake/submission.py), without HTTP or a database: what counts as the same
account (whose repeat may be refused) and what counts as similar text (a possible duplicate)."""

from __future__ import annotations

from services.intake.models import Complaint
from services.intake.submission import normalise_text, same_account, similarity


def filed(consumer_id: str | None = None, source_id: str | None = None, phone: str = "13800001234") -> Complaint:
    return Complaint(consumer_id=consumer_id, source_id=source_id, contact_phone=phone)


def test_the_same_tourist_or_the_same_partner_is_the_same_account() -> None:
    assert same_account(filed(consumer_id="usr_ALICE"), filed(consumer_id="usr_ALICE"))
    assert same_account(filed(source_id="ptn_TRIP"), filed(source_id="ptn_TRIP"))
    assert not same_account(filed(consumer_id="usr_ALICE"), filed(consumer_id="usr_BOB"))
    assert not same_account(filed(consumer_id="usr_ALICE"), filed(source_id="ptn_TRIP"))


def test_a_shared_phone_is_never_the_same_account() -> None:
    assert not same_account(filed(), filed())  # two officials' walk-ins for one caller: contact data only
    assert not same_account(filed(consumer_id="usr_ALICE"), filed(consumer_id="usr_BOB", phone="13800001234"))


def test_text_is_compared_without_case_width_punctuation_or_spaces() -> None:
    assert normalise_text("Ｈｏｔｅｌ  A，收费!") == "hotela收费"
    assert similarity("酒店多收了房费。", "酒店 多收了 房费") == 1.0
    assert similarity("", "酒店多收了房费") == 0.0
    assert similarity("酒店多收了房费", "海鲜店缺斤短两") < 0.3
