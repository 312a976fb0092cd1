"""Password hashing: Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).

About 25 ms of CPU per hash or check on a current core. Werkzeug's scrypt (N=2^15, r=8, p=1),
used before, cost about 115 ms and sits below OWASP's scrypt minimum (N=2^17); accounts hashed
that way still sign in, and `check` tells the caller to store a new hash when that happens.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_UNMATCHABLE = HASHER.hash("no account has this password: it only costs the same work")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check(stored: str, password: str) -> tuple[bool, bool]:
    """(matches, should be hashed again): the second is true for a match against an older
    hash (Werkzeug's scrypt or pbkdf2, or Argon2 with other parameters)."""
    if stored.startswith("$argon2"):
        try:
            HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, HASHER.check_needs_rehash(stored)
    matches = check_password_hash(stored, password)
    return matches, matches


def spend_check(password: str) -> None:
    """Do the work of checking a password, for a sign-in with an unknown email or an account
    without a password, so that it takes as long as a wrong password for an existing account."""
    check(_UNMATCHABLE, password)
