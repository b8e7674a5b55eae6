"""The personal-data guard: find personal data in a chat message and mask it.

The chat channel runs every client message through `mask()` before the text
reaches Rasa's NLU, the conversation store or a log. What it finds is replaced
by a placeholder in square brackets, so the rest of the message is still
understood ("mulla on hetu [henkilötunnus], kuka on mun ohjaaja" still asks for
the ohjaaja).

What counts, and how it is told apart from numbers that are not personal:
- Finnish personal identity codes (henkilötunnus): DDMMYY, a century sign (every
  sign in force since 2023: + - Y X W V U A B C D E F), three digits and a
  check character. A code whose date exists is masked; its check character is
  validated (`is_valid_hetu`) but a wrong one does not save it from the mask:
  a code typed with one wrong character is still somebody's identity code.
  A string of that shape whose date does not exist is left alone.
- Phone numbers: Finnish numbers starting 0 or +358, and other international
  numbers starting +, 7 to 13 digits with spaces or dashes between. Service
  numbers without a leading 0 (112, 116117) are not touched.
- E-mail addresses.
- IBANs (any country), checked with their mod-97 check digits.
- Payment card numbers: 13 to 19 digits passing the Luhn check.

Standard library only: the channel runs inside Rasa on Python 3.10.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

HETU = "henkilötunnus"
PHONE = "puhelinnumero"
EMAIL = "sähköpostiosoite"
IBAN = "tilinumero"
CARD = "kortin numero"

# The order in which kinds are looked for: the most specific first, so that a
# card number is not taken for a phone number.
KINDS = (HETU, EMAIL, IBAN, CARD, PHONE)

PLACEHOLDERS = {kind: f"[{kind}]" for kind in KINDS}

# Century signs (laki väestötietojärjestelmästä, muutos 2023): the new signs
# Y X W V U (1900s) and B C D E F (2000s) came into use on 1.1.2023.
CENTURY = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}
CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"

_HETU_RE = re.compile(
    r"(?<![0-9A-Za-z])(\d{2})(\d{2})(\d{2})([-+YXWVUABCDEFyxwvuabcdef])"
    r"(\d{3})([0-9A-Ya-y])(?![0-9A-Za-z])"
)
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
# The start of an IBAN; where it ends is found by its check digits (_mask_ibans),
# since the groups of four can run on into the words after it.
_IBAN_START_RE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}\d{2}")
_IBAN_BODY_RE = re.compile(r"(?: ?[0-9A-Za-z]){11,30}")
_CARD_RE = re.compile(r"(?<![\d+])(\d(?:[ -]?\d){12,18})(?!\d)")
# A phone number starts with 0 (Finnish), +358 or 00358, or + and a country code.
_PHONE_RE = re.compile(
    r"(?<![\w+])((?:\+|00)\d{1,3}[ -]?\(?0?\)?[ -]?\d(?:[ -]?\d){4,11}"
    r"|0\d(?:[ -]?\d){5,11})(?![\w])"
)


def hetu_check_char(birth: str, individual: str) -> str:
    """The check character of a personal identity code (DDMMYY and ZZZ)."""
    return CHECK_CHARS[int(birth + individual) % 31]


def is_valid_hetu(code: str) -> bool:
    """True for a personal identity code with an existing date and a right check."""
    match = _HETU_RE.fullmatch(code.strip())
    return bool(match) and _hetu_ok(match)


def _hetu_ok(match: re.Match[str]) -> bool:
    day, month, year, _sign, individual, check = match.groups()
    return _hetu_date_ok(match) and (
        hetu_check_char(day + month + year, individual) == check.upper()
    )


def _hetu_date_ok(match: re.Match[str]) -> bool:
    day, month, year, sign, _individual, _check = match.groups()
    try:
        date(CENTURY[sign.upper()] + int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(number: str) -> bool:
    """The Luhn check of payment card numbers."""
    digits = [int(ch) for ch in reversed(number)]
    total = 0
    for position, digit in enumerate(digits):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """The mod-97 check of an IBAN (ISO 13616)."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


@dataclass(frozen=True)
class Masked:
    """A message with its personal data replaced, and which kinds were found."""

    text: str
    found: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.found)


def mask(text: str) -> Masked:
    """Replace every personal identity code, phone number, e-mail address, IBAN
    and card number in `text` by its placeholder."""
    found: list[str] = []

    def replace(kind: str, check: Callable[[re.Match[str]], bool] | None = None):
        def substitute(match: re.Match[str]) -> str:
            if check is not None and not check(match):
                return match.group(0)
            if kind not in found:
                found.append(kind)
            return PLACEHOLDERS[kind]

        return substitute

    text = _HETU_RE.sub(replace(HETU, _hetu_date_ok), text)
    text = _EMAIL_RE.sub(replace(EMAIL), text)
    text = _mask_ibans(text, found)
    text = _CARD_RE.sub(
        replace(CARD, lambda m: _looks_like_card(m.group(1))),
        text,
    )
    text = _PHONE_RE.sub(replace(PHONE, lambda m: _looks_like_phone(m.group(1))), text)
    return Masked(text=text, found=tuple(kind for kind in KINDS if kind in found))


def _mask_ibans(text: str, found: list[str]) -> str:
    out: list[str] = []
    position = 0
    for start in _IBAN_START_RE.finditer(text):
        if start.start() < position:
            continue
        body = _IBAN_BODY_RE.match(text, start.end())
        if body is None:
            continue
        end = _longest_iban_end(text, start.start(), body.end())
        if end is None:
            continue
        out.append(text[position : start.start()])
        out.append(PLACEHOLDERS[IBAN])
        position = end
        if IBAN not in found:
            found.append(IBAN)
    out.append(text[position:])
    return "".join(out)


def _longest_iban_end(text: str, start: int, limit: int) -> int | None:
    """The end of the longest IBAN starting at `start` that ends at a word end."""
    for end in range(limit, start + 14, -1):
        if end < len(text) and text[end].isalnum():
            continue
        if text[end - 1] == " ":
            continue
        if iban_ok(text[start:end]):
            return end
    return None


def _looks_like_card(candidate: str) -> bool:
    digits = _digits(candidate)
    # A Finnish phone number written without spaces can pass Luhn by chance;
    # cards never start with 0.
    return 13 <= len(digits) <= 19 and digits[0] != "0" and luhn_ok(digits)


def _looks_like_phone(candidate: str) -> bool:
    return 7 <= len(_digits(candidate)) <= 15


# What the client is told, once per conversation, in plain Finnish.
_NAMES = {
    HETU: "henkilötunnuksen",
    PHONE: "puhelinnumeron",
    EMAIL: "sähköpostiosoitteen",
    IBAN: "tilinumeron",
    CARD: "kortin numeron",
}


def notice_fi(found: tuple[str, ...]) -> str:
    """The plain-Finnish note that says what was removed and why."""
    names = [_NAMES[kind] for kind in found]
    removed = names[-1]
    if len(names) > 1:
        removed = ", ".join(names[:-1]) + " ja " + removed
    return (
        f"Poistin viestistäsi {removed}. "
        "En tarvitse niitä, eikä niitä kannata kirjoittaa tähän. "
        "Näin tietosi pysyvät turvassa. Vastaan muuhun kysymykseesi."
    )
