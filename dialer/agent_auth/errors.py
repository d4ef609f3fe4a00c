"""Why a sign-in is refused.

    SignInError            the agent may not sign in now; the message is safe to show
    ├── WrongCredentials   unknown agent, no password set, or a wrong password: one text
    └── AgentLocked        five wrong passwords in a row; ``until`` says when it ends

A new password that breaks a rule is ``passwords.PasswordRuleError``; an unknown agent when
setting one is storage's ``UnknownAgentError``.
"""

from __future__ import annotations

from datetime import datetime

WRONG = "unknown agent or wrong password"


class SignInError(Exception):
    """Base of the sign-in refusals."""


class WrongCredentials(SignInError):
    """The same text whether the agent is unknown or the password wrong (no probing)."""

    def __init__(self) -> None:
        super().__init__(WRONG)


class AgentLocked(SignInError):
    """Locked after too many wrong passwords; even the right one is refused until ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"locked after 5 wrong passwords in a row until "
            f"{until.isoformat(timespec='seconds')}; try again then"
        )
        self.until = until
