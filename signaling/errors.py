"""Errors typed by who is at fault. Only the adapters decide what goes on the wire:
`code` and `message` (never a traceback) and, for HTTP, `status`."""

from __future__ import annotations

from typing import ClassVar


class ParleyError(Exception):
    """An expected refusal. `message` is safe to show: no names, no content."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after  # seconds, for HTTP's Retry-After


# The client sent something that is not the protocol.
class InvalidPayload(ParleyError):
    code, status = "invalid_payload", 400


class PayloadTooLarge(ParleyError):
    code, status = "payload_too_large", 413


class UploadTimeout(ParleyError):
    code, status = "upload_timeout", 408


class UnknownEvent(ParleyError):
    code, status = "unknown_event", 400


# Who the client is.
class NotAuthenticated(ParleyError):
    code, status = "not_authenticated", 401


class InvalidCredentials(ParleyError):
    code, status = "invalid_credentials", 401


class CsrfFailed(ParleyError):
    code, status = "csrf_failed", 403


class OriginRefused(ParleyError):
    code, status = "origin_refused", 403


class NotAuthorised(ParleyError):
    code, status = "not_authorised", 403


# What the client asked for does not fit what exists.
class NotFound(ParleyError):
    code, status = "not_found", 404


class InviteInvalid(ParleyError):
    code, status = "invite_invalid", 404


class ReceiptInvalid(ParleyError):
    code, status = "receipt_invalid", 404


class InviteExpired(ParleyError):
    code, status = "invite_expired", 410


class InviteNotOpen(ParleyError):
    """An appointment's link before its lobby opens (shortly before the appointment)."""

    code, status = "invite_not_open", 409


class AppointmentPassed(ParleyError):
    code, status = "appointment_passed", 410


class SlotTaken(ParleyError):
    """Someone else booked the time first, or it was withdrawn or has begun."""

    code, status = "slot_taken", 409


class ConsultationEnded(ParleyError):
    code, status = "consultation_ended", 410


class InvalidState(ParleyError):
    code, status = "invalid_state", 409


class LimitExceeded(ParleyError):
    code, status = "limit_exceeded", 429


class StorageUnavailable(ParleyError):
    """The database or the blob store failed a write (disk full, read-only, gone)."""

    code, status = "storage_unavailable", 503


class MethodNotAllowed(ParleyError):
    code, status = "method_not_allowed", 405


class FileTypeRefused(ParleyError):
    code, status = "file_type_refused", 415


class FileRejected(ParleyError):
    """The malware scanner said no (or could not say yes)."""

    code, status = "file_rejected", 422


class Restricted(ParleyError):
    """Processing is restricted (a data-subject request): content is kept but frozen."""

    code, status = "restricted", 423


class BoardLocked(ParleyError):
    """The advisor made the whiteboard view-only for customers."""

    code, status = "board_locked", 423


class ContentErased(ParleyError):
    code, status = "content_erased", 410


class IntegrityFailure(ParleyError):
    """Stored ciphertext failed authentication: tampered, truncated or moved."""

    code, status = "integrity_error", 500


class Busy(ParleyError):
    """Too many requests of this kind at this moment (a join storm); nothing was done, and
    the same request may simply be sent again after `retry_after` seconds."""

    code, status = "busy", 503


class NotReady(ParleyError):
    code, status = "not_ready", 503


INTERNAL_ERROR = "internal_error"

ERROR_CODES: frozenset[str] = frozenset(
    {cls.code for cls in ParleyError.__subclasses__()} | {INTERNAL_ERROR}
)
