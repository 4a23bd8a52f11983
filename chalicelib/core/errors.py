"""Domain errors: what went wrong, without any HTTP knowledge (mapped once in ``core.problems``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.i18n import N_

__all__ = [
    "AppError",
    "Conflict",
    "DecryptionFailed",
    "DependencyUnavailable",
    "FieldError",
    "Forbidden",
    "InvalidInput",
    "LimitExceeded",
    "MalformedRequest",
    "NotFound",
    "ProviderRefused",
    "RateLimited",
    "Unauthorized",
    "invalid_field",
]


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is (``body.items[0].price``) and why."""

    loc: str
    message: str
    code: str = "invalid"
    # A message made from a template (pydantic's ``String should have at least {min_length} characters``): the
    # template is what is translated, then filled in with ``params``.
    template: str | None = None
    params: dict[str, Any] | None = field(default=None, hash=False)


@dataclass
class AppError(Exception):
    """Base of every error the application raises on purpose."""

    detail: str = ""
    errors: Sequence[FieldError] = field(default_factory=tuple)
    title: str = N_("Application error")
    code: str = "app-error"
    # When set, ``detail`` is a message template (``{count} invalid field(s)…``) filled in with these: the
    # template is what core.problems translates.
    params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail_text or self.title)

    @property
    def detail_text(self) -> str:
        """The detail in English, filled in."""
        return self.detail.format(**self.params) if self.params else self.detail


@dataclass
class InvalidInput(AppError):
    """Raised when input is well-formed but breaks a rule (a field value, a combination of fields)."""

    title: str = N_("Invalid input")
    code: str = "invalid-input"


def invalid_field(field: str, message: str, code: str = "invalid") -> InvalidInput:
    """An ``InvalidInput`` about one field (``body.price``, ``query.from``): its detail and its one error name it."""
    return InvalidInput(detail=f"{field}: {message}", errors=(FieldError(field, message, code),))


@dataclass
class MalformedRequest(AppError):
    """Raised when the request cannot be read at all (malformed JSON, a forged cursor)."""

    title: str = N_("Malformed request")
    code: str = "malformed-request"


@dataclass
class NotFound(AppError):
    """Raised when the addressed resource does not exist for this tenant."""

    title: str = N_("Not found")
    code: str = "not-found"


@dataclass
class Conflict(AppError):
    """Raised when a write loses a race or would duplicate something unique; ``retry``: the same write, built
    again from a fresh read, may succeed (a concurrent writer held or changed the items)."""

    title: str = N_("Conflict")
    code: str = "conflict"
    retry: bool = False


@dataclass
class Unauthorized(AppError):
    """Raised when the caller is not authenticated (missing, expired or invalid credentials)."""

    title: str = N_("Unauthorized")
    code: str = "unauthorized"


@dataclass
class Forbidden(AppError):
    """Raised when the caller is authenticated but not allowed to do this."""

    title: str = N_("Forbidden")
    code: str = "forbidden"


@dataclass
class LimitExceeded(AppError):
    """Raised when a plan limit or a rate limit is reached; ``retry_after`` in seconds for rate limits."""

    title: str = N_("Limit exceeded")
    code: str = "limit-exceeded"
    limit: str = ""
    retry_after: int | None = None


@dataclass
class RateLimited(LimitExceeded):
    """Raised when a caller makes too many attempts in a window (429 with ``Retry-After``)."""

    title: str = N_("Too many requests")
    code: str = "rate-limited"


@dataclass
class DependencyUnavailable(AppError):
    """Raised when a backing service (table, queue, provider) cannot be reached."""

    title: str = N_("Service unavailable")
    code: str = "dependency-unavailable"


@dataclass
class ProviderRefused(AppError):
    """Raised when a provider refuses what BTRIX asked and trying again will not help (credentials refused, the
    account unpaid, the request itself refused)."""

    title: str = N_("Provider refused")
    code: str = "provider-refused"


@dataclass
class DecryptionFailed(AppError):
    """Raised when an encrypted field cannot be decrypted: malformed, tampered, or bound to another tenant."""

    title: str = N_("Decryption failed")
    code: str = "decryption-failed"
