"""Every problem credit answers with, in one place: each a stable code (catalogued in shared/i18n.py).

A refusal that needs no class of its own (a state that forbids a step: `already_on_list`,
`repair_pending`, ...) is raised as the shared `Conflict` or `InvalidTransition` with its code where it
happens. `timestamp_in_future` is shared with intake: `shared.errors.TimestampInFuture`.
"""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Problem

# --- whom credit is about ------------------------------------------------------------------------------


class SubjectNotFound(NotFound):
    code, title = "subject_not_found", "Subject not found"


class MerchantNotFound(NotFound):
    code, title = "merchant_not_found", "Merchant not found"


class PractitionerNotFound(NotFound):
    code, title = "practitioner_not_found", "Practitioner not found"


class LicenceTaken(Conflict):
    code, title = "licence_taken", "Licence already registered"


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


class RepairNotFound(NotFound):
    code, title = "repair_not_found", "Repair application not found"


# --- assured consumption codes ---------------------------------------------------------------------------


class CodeNotFound(NotFound):
    code, title = "code_not_found", "Code not found"


class CodeSuspended(Problem):
    status, code, title = 410, "code_suspended", "Code suspended"


class CodeReplaced(Problem):
    status, code, title = 410, "code_replaced", "Code replaced"


class RatingTooSoon(Conflict):
    code, title = "rating_too_soon", "Already rated recently"


# --- benefits --------------------------------------------------------------------------------------------


class BenefitNotFound(NotFound):
    code, title = "benefit_not_found", "Benefit not found"


class NotEligible(Conflict):
    code, title = "benefit_not_eligible", "Not eligible for this benefit"


class AlreadyRedeemed(Conflict):
    code, title = "benefit_already_redeemed", "Benefit already used"
