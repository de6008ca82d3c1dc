"""Every error compensation raises, each code defined once (their words in both languages: shared/i18n.py).
Those another service gives too (`action_not_allowed`, `merchant_not_found`) are defined in shared/errors.py
and named here as well."""

from __future__ import annotations

from shared.errors import ActionNotAllowed as ActionNotAllowed
from shared.errors import Conflict, Forbidden, NotFound, Problem
from shared.errors import MerchantNotFound as MerchantNotFound


# --- not found -------------------------------------------------------------------------------------
class ClaimNotFound(NotFound):
    code, title = "claim_not_found", "Claim not found"


class RecoveryNotFound(NotFound):
    code, title = "recovery_not_found", "Recovery order not found"


class RulesNotFound(NotFound):
    code, title = "rules_not_found", "Rules version not found"


class PayoutProviderNotEnabled(NotFound):
    code, title = "payout_provider_not_enabled", "Payout provider not enabled"


# --- not allowed -----------------------------------------------------------------------------------
class NotYourRegion(Forbidden):
    code, title = "not_your_region", "Not your region"


class PayeeNameNotAllowed(Forbidden):
    code, title = "payee_name_not_allowed", "Not allowed"


# --- conflicts with the state of things ------------------------------------------------------------
class ClaimExists(Conflict):
    code, title = "claim_exists", "Claim exists"


class NoPayee(Conflict):
    code, title = "no_payee", "No payee"


class FundInsufficient(Conflict):
    code, title = "fund_insufficient", "Fund insufficient"


class InsufficientBalance(Conflict):
    code, title = "insufficient_balance", "Insufficient balance"


class AlreadyApproved(Conflict):
    code, title = "already_approved", "Already approved"


class LiabilityNotEstablished(Conflict):
    code, title = "liability_not_established", "Liability not established"


class ClaimFinished(Conflict):
    code, title = "claim_finished", "Claim finished"


class AmountAboveOutstanding(Conflict):
    code, title = "amount_above_outstanding", "Amount above outstanding"


class DepositAboveFloor(Conflict):
    code, title = "deposit_above_floor", "Deposit above its floor"


class TopUpAlreadyRequested(Conflict):
    code, title = "top_up_already_requested", "Top-up already requested"


# --- payment providers -----------------------------------------------------------------------------
class BillUnavailable(Problem):
    status, code, title = 502, "provider_bill_unavailable", "Provider bill unavailable"


class NotificationRejected(Problem):
    """A notification that is not verifiably the provider's (bad signature, stale, malformed); detail says why."""

    status, code, title = 400, "notification_rejected", "Notification rejected"


class UnknownPayout(NotificationRejected):
    code, title = "unknown_payout", "Unknown payout"


class AmountMismatch(NotificationRejected):
    code, title = "amount_mismatch", "Amount mismatch"


class ProviderTimeout(Exception):
    """The request may or may not have reached the provider: query before any retry."""


class ProviderError(Exception):
    """The provider refused or failed in a way that says nothing was done (refused connection, 5xx, bad request)."""


class PayeeNameMissing(Exception):
    """The provider needs the payee's real name for this amount and the claim has none: nothing is sent."""
