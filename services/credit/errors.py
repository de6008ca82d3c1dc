"""Every problem credit answers with, in one place: each a stable code (catalogued in shared/i18n.py).

A step the state of a thing forbids is an `InvalidTransition` (its `state` said in the answer) or a
`Conflict`. Those another service gives too are defined in shared/errors.py: `merchant_not_found` (named
here as well) and `timestamp_in_future` (with intake).
"""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, NotFound, Problem
from shared.errors import MerchantNotFound as MerchantNotFound

# --- whom credit is about ------------------------------------------------------------------------------


class SubjectNotFound(NotFound):
    code, title = "subject_not_found", "Subject not found"


class PractitionerNotFound(NotFound):
    code, title = "practitioner_not_found", "Practitioner not found"


class LicenceTaken(Conflict):
    code, title = "licence_taken", "Licence already registered"


class MerchantExists(Conflict):
    code, title = "merchant_exists", "Merchant exists"


class UsccTaken(Conflict):
    code, title = "uscc_taken", "USCC taken"


class AlreadyReviewed(InvalidTransition):
    code, title = "already_reviewed", "Already reviewed"


class MerchantNotLive(InvalidTransition):
    """Only a live merchant has an assured consumption code."""

    code, title = "merchant_not_live", "Merchant not live"


# --- records and scores ----------------------------------------------------------------------------------


class RecordNotApplicable(Problem):
    status, code, title = 422, "record_kind_not_applicable", "Record kind does not apply"


class ScoreOffScale(Problem):
    status, code, title = 422, "external_score_off_scale", "External score off its scale"


class UnknownSource(Problem):
    status, code, title = 422, "unknown_external_source", "Unknown external score source"


# --- lists and repair ------------------------------------------------------------------------------------


class ListingNotFound(NotFound):
    code, title = "listing_not_found", "Listing not found"


class DurationOutOfBounds(Problem):
    status, code, title = 422, "duration_out_of_bounds", "Publication period out of bounds"


class ListIsAutomatic(InvalidTransition):
    """The red list follows the grade: it takes no notices."""

    code, title = "list_is_automatic", "List is automatic"


class AlreadyOnList(Conflict):
    code, title = "already_on_list", "Already on list"


class NotOnNotice(InvalidTransition):
    """Only a notice can be answered, listed or withdrawn."""

    code, title = "not_on_notice", "Not on notice"


class DefenceAlreadyStated(Conflict):
    code, title = "defence_already_stated", "Defence already stated"


class DefencePeriodOver(Conflict):
    code, title = "defence_period_over", "Defence period over"


class NotRemovable(InvalidTransition):
    """Only a listing with a publication period can be removed early."""

    code, title = "not_removable", "Not removable"


class MinimumPeriodNotOver(Conflict):
    code, title = "minimum_period_not_over", "Minimum period not over"


class ListingNotRepairable(InvalidTransition):
    """Only a current key-supervision or dishonest listing can be repaired."""

    code, title = "listing_not_repairable", "Listing not repairable"


class RepairTooEarly(Conflict):
    code, title = "repair_too_early", "Repair too early"


class RepairPending(Conflict):
    code, title = "repair_pending", "Repair pending"


class AlreadyDecided(InvalidTransition):
    code, title = "already_decided", "Already decided"


class RepairNotFound(NotFound):
    code, title = "repair_not_found", "Repair application not found"


# --- assured consumption codes ---------------------------------------------------------------------------


class CodeNotFound(NotFound):
    code, title = "code_not_found", "Code not found"


class CodeSuspended(Problem):
    status, code, title = 410, "code_suspended", "Code suspended"


class CodeReplaced(Problem):
    status, code, title = 410, "code_replaced", "Code replaced"


class CodeAlreadySuspended(Conflict):
    code, title = "code_already_suspended", "Code already suspended"


class RatingTooSoon(Conflict):
    code, title = "rating_too_soon", "Already rated recently"


# --- benefits --------------------------------------------------------------------------------------------


class BenefitNotFound(NotFound):
    code, title = "benefit_not_found", "Benefit not found"


class NotEligible(Conflict):
    code, title = "benefit_not_eligible", "Not eligible for this benefit"


class AlreadyRedeemed(Conflict):
    code, title = "benefit_already_redeemed", "Benefit already used"
