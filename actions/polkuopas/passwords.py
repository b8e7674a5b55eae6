"""Staff passwords: the policy, hashing with argon2id, and checking.

The policy follows NIST SP 800-63B: a minimum length and a check against
passwords known to be common, no composition rules. The common list
(`common-passwords.txt`, its sources in its header) is matched loosely: a
password that is a common one with digits or punctuation added, or one word
repeated, is as easy to guess as the word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from polkuopas.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; this keeps a request small
COMMON_FILE = Path(__file__).with_name("common-passwords.txt")

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_HASHER = PasswordHasher()
# Verified against when the account is unknown, so that a sign-in takes as
# long whether or not the e-mail address has an account.
_DUMMY_HASH = _HASHER.hash("polkuopas: no such account")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def _repeats(text: str) -> bool:
    """One short piece repeated ("abcabcabcabc", "aaaaaaaaaaaa")."""
    return any(
        len(text) % size == 0 and text[:size] * (len(text) // size) == text
        for size in range(1, len(text) // 2 + 1)
    )


def password_problem(password: str, *personal: str) -> str | None:
    """Why the password is not good enough, or None.

    `personal` are the account's own words (id, name, e-mail): a password
    built on them is refused too."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    lowered = password.casefold()
    core = _EDGES.sub("", lowered)
    common = common_passwords()
    guessable = not core or _repeats(lowered) or _repeats(core)
    if guessable or lowered in common or core in common:
        return "the password is too common or easy to guess; choose another"
    for word in personal:
        for part in re.split(r"[\s@.]+", word.casefold()):
            if len(part) >= 4 and part in lowered:
                return "the password must not contain the account's id, name or e-mail"
    return None


def check_password(password: str, *personal: str) -> str:
    problem = password_problem(password, *personal)
    if problem:
        raise Invalid(problem)
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether the password matches; an account without a password (or an
    unknown one, `stored_hash` None) never matches, in the same time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False
