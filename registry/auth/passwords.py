"""People's passwords: Argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended set), and the
rules a new password must meet: long enough, and not one of the commonly used passwords attackers try first."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches. Without a stored hash, a hash is still computed, so an answer takes as
    long for an account that has no password (or does not exist) as for one that has."""
    try:
        return HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return HASHER.hash("not a password anyone has")


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list (from leaked password sets), lowercased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str) -> str | None:
    """Why `password` may not be used, in a few words (the pages translate them), or None."""
    if len(password) < MIN_LENGTH:
        return "too-short"
    if len(password) > MAX_LENGTH:
        return "too-long"
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return "common"
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in lowered and len(lowered) - len(local_part) < MIN_LENGTH:
        return "like-email"
    return None
