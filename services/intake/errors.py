"""Every error intake answers with, in one place: each a stable code (catalogued in shared/i18n.py in both
languages), an HTTP status and a title. Those another service gives too are defined in shared/errors.py and
named here as well; the general ones (invalid transition, a timestamp in the future, an invalid field) are
shared/errors.py's."""

from __future__ import annotations

from shared.errors import ActionNotAllowed as ActionNotAllowed
from shared.errors import AlreadyEvaluated as AlreadyEvaluated
from shared.errors import CaseNotFound as CaseNotFound
from shared.errors import ComplaintNotFound as ComplaintNotFound
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
)
from shared.errors import UnknownRegion as UnknownRegion

# --- looking things up ----------------------------------------------------------------------------------


class EvidenceNotFound(NotFound):
    code, title = "evidence_not_found", "Evidence file not found"


class EvidenceGone(NotFound):
    code, title = "evidence_gone", "Evidence file missing from storage"


class ReturnNotFound(NotFound):
    code, title = "return_not_found", "Return request not found"


class LinkNotFound(NotFound):
    code, title = "link_not_found", "Possible link not found"


class MergeTargetNotFound(Problem):
    status, code, title = 422, "merge_target_not_found", "Complaint to merge into not found"


class UnknownMerchant(Problem):
    status, code, title = 422, "unknown_merchant", "Unknown merchant"


class UnknownUnit(Problem):
    status, code, title = 422, "unknown_unit", "Unknown handling unit"


# --- who may do what ---------------------------------------------------------------------------------------


class FilingNotAllowed(Forbidden):
    code, title = "filing_not_allowed", "Filing not allowed"


class FilingRegionNotAllowed(Forbidden):
    code, title = "filing_region_not_allowed", "Region not yours"


class ChannelNotAllowed(Forbidden):
    code, title = "channel_not_allowed", "Channel not allowed"


class ContactRevealNotAllowed(Forbidden):
    code, title = "contact_reveal_not_allowed", "Contact reveal not allowed"


class RevealRecordsNotAllowed(Forbidden):
    code, title = "contact_reveals_not_allowed", "Contact reveal records not allowed"


class ReportNotAllowed(Forbidden):
    code, title = "report_not_allowed", "Report not allowed"


class SupervisionNotAllowed(Forbidden):
    code, title = "supervision_not_allowed", "Supervision notices not allowed"


# --- reports ----------------------------------------------------------------------------------------------


class BadPeriod(Problem):
    """A report's period that is not a date or month, ends before it starts, or is longer than a report covers."""

    status, code, title = 422, "bad_period", "Bad report period"


# --- what the complaint's state refuses --------------------------------------------------------------------


class IdempotencyRequestInProgress(Conflict):
    code, title = "idempotency_request_in_progress", "Request in progress"


class SameRegion(Conflict):
    code, title = "same_region", "Already in that region"


class NotInProgram(Conflict):
    code, title = "merchant_not_in_program", "Merchant not covered"


class AlreadyRequested(Conflict):
    code, title = "compensation_already_requested", "Compensation already requested"


class CompensationWindowClosed(Conflict):
    code, title = "compensation_window_closed", "Too long after closing"


class AmountAboveInvolved(Problem):
    status, code, title = 422, "amount_above_involved", "Amount above the amount involved"


class RefundAboveAmountInvolved(Problem):
    status, code, title = 422, "refund_above_amount_involved", "Refund above the amount involved"


class LinkAlreadyDecided(Conflict):
    code, title = "link_already_decided", "Possible link already decided"


class ExtensionPending(Conflict):
    code, title = "extension_pending", "Extension already requested"


class NoPendingExtension(Conflict):
    code, title = "no_pending_extension", "No extension request waits"


class DeadlineAlreadyMissed(Conflict):
    code, title = "deadline_already_missed", "Deadline already missed"


class SupervisionAlreadyOpen(Conflict):
    code, title = "supervision_already_open", "Supervision notice already open"


class NoOpenSupervision(Conflict):
    code, title = "no_open_supervision", "No supervision notice open"


class MergeIntoItself(Conflict):
    code, title = "merge_into_itself", "Cannot merge a complaint into itself"


class NotANotice(Conflict):
    code, title = "not_a_notice", "Not a public-opinion notice"


class AlreadyReplied(Conflict):
    code, title = "notice_already_replied", "Notice already replied to"


class TimestampsOutOfOrder(Problem):
    status, code, title = 422, "timestamps_out_of_order", "Timestamps out of order"


# --- returns ---------------------------------------------------------------------------------------------


class ReturnWindowPassed(Problem):
    status, code, title = 422, "return_window_passed", "Return window passed"


class ReturnNotCovered(Problem):
    status, code, title = 422, "return_not_covered", "Goods not covered"


class RefundAboveAmount(Problem):
    status, code, title = 422, "refund_above_amount", "Refund above the amount asked"


# --- files: evidence and imports -----------------------------------------------------------------------


class EmptyFile(Problem):
    status, code, title = 422, "empty_file", "Empty file"


class UnsupportedEvidenceType(UnsupportedMediaType):
    code, title = "unsupported_evidence_type", "Unsupported evidence type"


class EvidenceUnreadable(Problem):
    status, code, title = 422, "evidence_unreadable", "Unreadable file"


class EvidenceContainsMarkup(UnsupportedMediaType):
    code, title = "evidence_contains_markup", "File carries markup"


class ImageTooLarge(PayloadTooLarge):
    code, title = "image_too_large", "Image too large"


class EvidenceQuotaExceeded(Conflict):
    """The complaint holds all the files, or all the bytes, it may."""

    code, title = "evidence_quota_exceeded", "Evidence quota exceeded"


class DailyEvidenceQuotaExceeded(EvidenceQuotaExceeded):
    """The account has uploaded all it may in the last 24 hours: the same code, as too many requests."""

    status = 429


class EvidenceMissing(Exception):
    """The storage has no object under the key (deleted, or lost outside the service); not an answer itself."""


class ImportFileInvalid(Problem):
    status, code, title = 422, "import_file_invalid", "Import file not readable"


class ImportEncodingInvalid(ImportFileInvalid):
    code, title = "import_encoding_invalid", "Import file encoding not readable"


class ImportColumnsMissing(ImportFileInvalid):
    code, title = "import_columns_missing", "Import columns missing"


class ImportTooLarge(ImportFileInvalid):
    code, title = "import_too_large", "Import file too large"


class PayeeNameNotStored(Problem):
    status, code, title = 503, "payee_name_not_stored", "Payee name not stored"
