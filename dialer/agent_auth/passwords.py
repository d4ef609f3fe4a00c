"""Agent passwords: salted scrypt hashes with their parameters, verified in constant time.

A stored hash reads ``scrypt$n=32768,r=8,p=1$<salt>$<hash>`` (salt and hash in base64,
16 random bytes of salt per password, 32 bytes of hash), so the cost can be raised later and
old hashes still verify. Parameters read from a stored hash are bounded, so a tampered row
cannot make a sign-in allocate gigabytes. Nothing here logs a password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

MIN_LENGTH = 8
MAX_LENGTH = 1024  # longer is refused, never hashed
_PARAMS = re.compile(r"n=(\d+),r=(\d+),p=(\d+)")
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_SALT_BYTES, _HASH_BYTES = 16, 32


class PasswordRuleError(ValueError):
    """A new password breaks a rule; the message says which (never the password)."""


def checked_password(password: str) -> str:
    """``password`` if it may be set, else PasswordRuleError."""
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError(f"password: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRuleError(f"password: at most {MAX_LENGTH} characters")
    return password


class PasswordHasher:
    """scrypt with cost ``n`` (a power of two), block size ``r`` and parallelism ``p``."""

    def __init__(self, n: int = 2**15, r: int = 8, p: int = 1) -> None:
        self._n, self._r, self._p = n, r, p
        self._dummy = self.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        salt = os.urandom(_SALT_BYTES)
        digest = _scrypt(password, salt, self._n, self._r, self._p)
        return f"scrypt$n={self._n},r={self._r},p={self._p}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, stored: str | None) -> bool:
        """True when ``password`` hashes to ``stored``. With no stored hash (an unknown agent)
        a dummy hash is checked, so the answer takes as long either way."""
        if len(password) > MAX_LENGTH:
            return False
        parsed = _parse(stored if stored is not None else self._dummy)
        if parsed is None:
            return False
        (n, r, p), salt, expected = parsed
        return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected) and (
            stored is not None
        )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r * p + 2**20,
        dklen=_HASH_BYTES,
    )


def _parse(stored: str) -> tuple[tuple[int, int, int], bytes, bytes] | None:
    scheme, _, rest = stored.partition("$")
    params, _, rest = rest.partition("$")
    salt_text, _, hash_text = rest.partition("$")
    match = _PARAMS.fullmatch(params)
    if scheme != "scrypt" or match is None:
        return None
    n, r, p = (int(g) for g in match.groups())
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:  # noqa: PLR2004
        return None
    try:
        salt, digest = (
            base64.b64decode(salt_text, validate=True),
            base64.b64decode(hash_text, validate=True),
        )
    except (binascii.Error, ValueError):
        return None
    return (n, r, p), salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
