"""Operator credentials, pure: scrypt password hashes, invitation codes, the login throttle.

No I/O here; ``accounts`` reads and writes the store, the gateway server asks the
throttle. Kept pure so that the rules (what a hash looks like, how long a failed
login locks a name out) are unit-testable without a server.

* Password hashes are ``scrypt$N$r$p$salt$hash`` (salt and hash base64): the
  parameters travel with the hash, so raising them later keeps old hashes valid.
  Each password gets its own random 16-byte salt; comparison is constant-time.
* Invitation codes are 128-bit random tokens shown once; the store keeps their
  SHA-256 only (a slow hash adds nothing to a code that cannot be guessed).
* The throttle counts failures per key (an operator name, a remote address): after
  the n-th failure in a row that key is locked for ``min(60, 2**(n-1))`` seconds.
  A login attempted while any of its keys is locked is refused without looking at
  the password; success clears its keys. An address key has a grace of
  ``ADDRESS_GRACE`` failures before it locks: operators at home often share one
  address (an SSH tunnel makes everyone 127.0.0.1, an office NAT one public IP), and
  one operator's typos must not lock the others out; a scan across many names from
  one address still locks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB, ~50 ms: per login, not per message
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD = 8
INVITE_BYTES = 16
THROTTLE_FIRST = 1.0
THROTTLE_MAX = 60.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=256 * n * r + 2**20)


def hash_password(password: str) -> str:
    """The stored form of ``password``: ``scrypt$N$r$p$salt$hash``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (a ``hash_password`` result); a missing
    or malformed hash matches nothing."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest, validate=True)
        got = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p), len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable as a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "the password must not start or end with spaces"
    return None


def new_invite_code() -> str:
    """A one-time invitation code, shown once: 128 random bits, URL-safe text."""
    return secrets.token_urlsafe(INVITE_BYTES)


def hash_invite_code(code: str) -> str:
    """What the store keeps of an invitation code."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Strikes:
    failures: int = 0
    locked_until: float = 0.0


ADDRESS_GRACE = 10  # failures from one address (any names) before the address itself locks


class Throttle:
    """Failed logins per key, each key locked for 1 s doubling to 60 s after a failure
    (address keys after ``address_grace`` failures)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, first: float = THROTTLE_FIRST,
                 maximum: float = THROTTLE_MAX, address_grace: int = ADDRESS_GRACE) -> None:
        self.clock = clock
        self.first = first
        self.maximum = maximum
        self.address_grace = address_grace
        self._keys: dict[str, _Strikes] = {}

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every key may try again (0: now)."""
        now = self.clock()
        waits = [s.locked_until - now for k in keys if (s := self._keys.get(k)) is not None]
        return max([0.0, *waits])

    def failed(self, keys: Iterable[str]) -> float:
        """Record a failure for each key; returns the new ``retry_after``."""
        now = self.clock()
        for key in keys:
            strikes = self._keys.setdefault(key, _Strikes())
            strikes.failures += 1
            counted = strikes.failures - (self.address_grace if key.startswith("address:") else 0)
            if counted <= 0:
                continue
            delay = min(self.maximum, self.first * 2 ** (counted - 1))
            strikes.locked_until = max(strikes.locked_until, now + delay)
        self._forget_stale(now)
        return self.retry_after(keys)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def _forget_stale(self, now: float) -> None:
        """Drop keys idle for long past their lock, so that a scan of names cannot grow
        the table for ever (a key's count restarts after ``10 × maximum`` quiet seconds)."""
        if len(self._keys) > 1000:
            horizon = now - 10 * self.maximum
            for key in [k for k, s in self._keys.items() if s.locked_until < horizon]:
                del self._keys[key]


def throttle_keys(login: str, address: str | None) -> tuple[str, ...]:
    """The throttle keys of one login attempt: its operator name and its remote address."""
    keys = [f"operator:{login.strip().lower()}"]
    if address:
        keys.append(f"address:{address}")
    return tuple(keys)
