"""The crm_adapter package's exception hierarchy.

    CrmError                      anything a CRM adapter refuses or cannot do
    ├── CrmConfigError            the [crm] configuration is wrong; the message names the field
    ├── CrmUnavailableError       the CRM cannot be reached or answered 5xx: try again later
    │   └── CrmRateLimitedError   the CRM answered 429 (or 503 with Retry-After); ``retry_after``
    ├── CrmRejectedError          the CRM answered and refused the request (4xx, success=false)
    │   ├── OrderNotFoundError    the CRM has no order with that id
    │   │   └── OrderGoneError    ... and its API defines that as final (RetailCRM 404; permanent)
    │   ├── FinalRejectionError   a 4xx whose JSON body says ``"final": true`` (also permanent)
    │   └── PermanentRejectionError a 4xx the CRM's API defines as final (RetailCRM 400; permanent)
    ├── CrmDataError              the CRM's answer cannot be read; the message names the field
    ├── CrmPermanentError         this request can never succeed, however often it is retried
    │   ├── InvalidOutcomeError   an outcome is incomplete for the CRM (a refusal without reason)
    │   ├── FinalRejectionError   (above) the CRM said its refusal is final
    │   ├── PermanentRejectionError, OrderGoneError (above)
    │   └── UnsendableRequestError a value cannot be put on the wire (a header, a URL)
    └── IntakeError               a pushed request is refused; ``status`` is the HTTP 4xx to answer
        ├── SignatureError        missing/malformed signing headers, bad signature, stale timestamp
        └── ReplayedEventError    the event id was already received (409: do not resend)

Adapters translate urllib, http.client, SQLAlchemy and DB-API errors into these at their
boundary; nothing else escapes a public adapter method. The outbox makes a row dead at once
on a ``CrmPermanentError`` and retries every other ``CrmError`` for up to three days.
"""

from __future__ import annotations

HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_CONFLICT = 409


class CrmError(Exception):
    """Base of every error raised by ``crm_adapter``."""


class CrmConfigError(CrmError, ValueError):
    """The CRM configuration cannot be used; the message names the field."""


class CrmUnavailableError(CrmError):
    """The CRM could not be reached or failed (connection refused, timeout, 5xx)."""


class CrmRateLimitedError(CrmUnavailableError):
    """The CRM asked us to slow down; ``retry_after`` is in seconds when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmRejectedError(CrmError):
    """The CRM answered and refused the request; ``status`` is its HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OrderNotFoundError(CrmRejectedError):
    """The CRM does not know the order."""


class CrmDataError(CrmError):
    """The CRM answered with data that cannot be read; the message names the field."""


class CrmPermanentError(CrmError):
    """Retrying cannot help: the same request would fail the same way."""


class InvalidOutcomeError(CrmPermanentError, ValueError):
    """An outcome lacks what the CRM requires (002: a refusal needs its reason)."""


class FinalRejectionError(CrmRejectedError, CrmPermanentError):
    """The CRM refused with a 4xx and said ``"final": true``: it will never accept it."""


class PermanentRejectionError(CrmRejectedError, CrmPermanentError):
    """A 4xx the CRM's API documents as permanent (RetailCRM: 400, a validation error)."""


class OrderGoneError(OrderNotFoundError, CrmPermanentError):
    """The CRM does not know the order and no retry changes that (RetailCRM: 404)."""


class UnsendableRequestError(CrmPermanentError):
    """A value of the request cannot be sent (not encodable in a header or a URL)."""


class IntakeError(CrmError):
    """A request pushed to the dialer's intake is refused with ``status`` (a 4xx)."""

    def __init__(self, message: str, status: int = HTTP_BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


class SignatureError(IntakeError):
    """The request is not signed by the shared secret within the tolerance (401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTP_UNAUTHORIZED)


class ReplayedEventError(IntakeError):
    """The event id was seen before (409): the sender must treat it as delivered."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTP_CONFLICT)
