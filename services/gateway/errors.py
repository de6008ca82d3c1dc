"""Every problem the gateway answers with, in one place: each a stable code, catalogued in both languages in
shared/i18n.py. Problems shared with the services (`overloaded`, `complaint_not_found`, ...) live in
shared/errors.py."""

from __future__ import annotations

import math
from datetime import datetime

from shared.errors import Forbidden, NotFound, Problem, Unauthorized


# --- logins at the mini-program providers ------------------------------------------------------------
class LoginCodeInvalid(Problem):
    """The provider refused the login code (expired, used, made up): the client should log in again."""

    status, code, title = 401, "login_code_invalid", "Login code rejected"


class ProviderUnavailable(Problem):
    """The provider timed out, could not be reached or answered with an error: try again later."""

    status, code, title = 503, "provider_unavailable", "Provider unavailable"


class ProviderSignatureInvalid(Problem):
    """The provider's answer did not verify against the public key we trust for it."""

    status, code, title = 502, "provider_signature_invalid", "Provider answer not trusted"


class ProviderCredentialsRejected(Problem):
    """The provider refused this platform's own credentials (appid, secret, request signature): a setup fault."""

    status, code, title = 502, "provider_credentials_rejected", "Provider rejected our credentials"


class LoginNotEnabled(NotFound):
    code, title = "login_not_enabled", "Login not enabled"


# --- sessions and tokens ---------------------------------------------------------------------------------
class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid credentials"


class InvalidToken(Unauthorized):
    code, title = "invalid_token", "Invalid or expired token"


class TokenMissing(InvalidToken):
    code, title = "token_missing", "Token missing"


class TokenExpired(InvalidToken):
    code, title = "token_expired", "Token expired"


class SessionEnded(InvalidToken):
    code, title = "session_ended", "Session ended"


class RefreshTokenReused(InvalidToken):
    code, title = "refresh_token_reused", "Refresh token reused"


class LoginLocked(Problem):
    status, code, title = 429, "login_locked", "Too many failed logins"

    @classmethod
    def until(cls, locked_until: datetime, now: datetime) -> LoginLocked:
        seconds = max(1, math.ceil((locked_until - now).total_seconds()))
        return cls(
            f"Too many wrong passwords for this username: try again in {seconds} s, or ask an "
            "administrator to unlock it.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )


# --- staff accounts ----------------------------------------------------------------------------------------
class StaffExists(Problem):
    status, code, title = 409, "username_taken", "Username taken"


class RegionRequired(Problem):
    status, code, title = 422, "region_required", "Region required"


class MerchantRequired(Problem):
    status, code, title = 422, "merchant_required", "Merchant required"


class InvalidRole(Problem):
    status, code, title = 422, "invalid_role", "Invalid role"


# --- partners: signed requests, channels, webhooks ---------------------------------------------------------
class PartnerNotFound(NotFound):
    code, title = "partner_not_found", "Partner not found"


class ChannelNotServed(Problem):
    status, code, title = 422, "channel_not_served", "Channel not served"


class ChannelMismatch(Forbidden):
    code, title = "channel_mismatch", "Channel mismatch"


class DeliveryNotFound(NotFound):
    code, title = "delivery_not_found", "Webhook delivery not found"


class SignatureMissing(Unauthorized):
    code, title = "signature_missing", "Signature missing"


class TimestampInvalid(Unauthorized):
    code, title = "timestamp_invalid", "Timestamp invalid"


class RequestExpired(Unauthorized):
    code, title = "request_expired", "Request expired"


class PartnerKeyUnknown(Unauthorized):
    code, title = "partner_key_unknown", "Partner key unknown"


class PartnerKeyExpired(Unauthorized):
    code, title = "partner_key_expired", "Partner key expired"


class SignatureInvalid(Unauthorized):
    code, title = "signature_invalid", "Signature invalid"


class NonceReused(Unauthorized):
    code, title = "nonce_reused", "Nonce reused"


# --- the public progress page ------------------------------------------------------------------------------
class ProgressLinkInvalid(Unauthorized):
    code, title = "progress_link_invalid", "Progress link not valid"


class ProgressLinkMissing(ProgressLinkInvalid):
    code, title = "progress_link_missing", "Progress link missing"


class ProgressLinkExpired(Unauthorized):
    code, title = "progress_link_expired", "Progress link expired"


class ProgressLinkNotAllowed(Forbidden):
    code, title = "progress_link_not_allowed", "Progress link not allowed"


class LookupUnavailable(Problem):
    """The case could not be looked up at intake (it answered otherwise than 200): the caller tries later."""

    status, code, title = 503, "lookup_unavailable", "Lookup unavailable"


# --- the proxy ------------------------------------------------------------------------------------------------
class RouteNotFound(NotFound):
    code, title = "route_not_found", "No such endpoint"


class BodyNotAllowed(Problem):
    status, code, title = 400, "body_not_allowed", "No body expected"
