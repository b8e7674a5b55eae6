"""The personal-data guard (polkuopas_contract.personal_data): what it masks,
what it leaves alone, and that the rest of the message survives."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from polkuopas_contract.personal_data import (
    CARD,
    CENTURY,
    EMAIL,
    HETU,
    IBAN,
    PHONE,
    hetu_check_char,
    iban_ok,
    is_valid_hetu,
    luhn_ok,
    mask,
    notice_fi,
)

SIGNS = sorted(CENTURY)


@st.composite
def hetus(draw, valid: bool = True) -> str:
    sign = draw(st.sampled_from(SIGNS))
    century = CENTURY[sign]
    born = draw(
        st.dates(min_value=date(century, 1, 1), max_value=date(century + 99, 12, 31))
    )
    birth = born.strftime("%d%m%y")
    individual = f"{draw(st.integers(min_value=2, max_value=899)):03d}"
    check = hetu_check_char(birth, individual)
    if not valid:
        check = draw(
            st.sampled_from(
                [c for c in "0123456789ABCDEFHJKLMNPRSTUVWXY" if c != check]
            )
        )
    return f"{birth}{sign}{individual}{check}"


@given(hetus())
def test_every_valid_identity_code_is_masked(code):
    masked = mask(f"mulla on hetu {code}, kuka on mun ohjaaja?")
    assert is_valid_hetu(code)
    assert masked.text == "mulla on hetu [henkilötunnus], kuka on mun ohjaaja?"
    assert masked.found == (HETU,)


@given(hetus(valid=False))
def test_a_code_with_a_wrong_check_character_is_not_valid_but_still_masked(code):
    assert not is_valid_hetu(code)
    assert mask(code).text == "[henkilötunnus]"


@given(st.sampled_from(SIGNS), st.integers(min_value=32, max_value=99))
def test_a_code_shaped_string_whose_day_does_not_exist_is_left_alone(sign, day):
    text = f"tilausnumero {day:02d}0190{sign}123A"
    assert mask(text).text == text


def test_new_century_signs_of_2023_are_known():
    # Y X W V U for the 1900s, B C D E F for the 2000s (in use since 1.1.2023).
    assert set("YXWVU-") == {s for s, c in CENTURY.items() if c == 1900}
    assert set("ABCDEF") == {s for s, c in CENTURY.items() if c == 2000}
    assert is_valid_hetu("010594Y9032")
    assert is_valid_hetu("010594Y9021")
    assert is_valid_hetu("020594X903P")


def test_lowercase_code_is_masked():
    assert mask("010101a123n").found == (HETU,)


def test_the_example_from_the_issue_keeps_its_question():
    masked = mask(
        "mulla on hetu 010101-123A ja puhelin 0401234567, kuka on mun ohjaaja"
    )
    assert masked.text == (
        "mulla on hetu [henkilötunnus] ja puhelin [puhelinnumero], kuka on mun ohjaaja"
    )
    assert masked.found == (HETU, PHONE)


def test_phone_numbers_in_finnish_and_international_forms():
    for number in [
        "0401234567",
        "040 123 4567",
        "040-123 4567",
        "+358 40 123 4567",
        "+358401234567",
        "00358 40 1234567",
        "09 310 12345",
        "+46 70 123 45 67",
    ]:
        assert mask(f"soita {number} kiitos").text == "soita [puhelinnumero] kiitos"


def test_numbers_that_are_not_personal_are_left_alone():
    text = (
        "Soita 112 tai 116117. Työtoimintaa on 1–4 päivänä viikossa, 4-8 tuntia, "
        "3–24 kuukautta, 9 euroa päivässä. Laki 189/2001. Päivä 1.9.2022, "
        "2026-12-02, klo 9.00-15.30, muutoksenhaku 30 päivän kuluessa."
    )
    assert mask(text).text == text
    assert not mask(text).changed


def test_email_addresses():
    masked = mask("laita viesti matti.meikalainen+x@example.fi tai a@b.co")
    assert masked.text == "laita viesti [sähköpostiosoite] tai [sähköpostiosoite]"
    assert masked.found == (EMAIL,)


def test_ibans_are_checked_and_end_where_the_number_ends():
    assert iban_ok("FI21 1234 5600 0007 85")
    assert not iban_ok("FI21 1234 5600 0007 86")
    masked = mask("tilini on FI21 1234 5600 0007 85 ja kuka on ohjaaja")
    assert masked.text == "tilini on [tilinumero] ja kuka on ohjaaja"
    assert mask("DE89370400440532013000").found == (IBAN,)
    wrong = "tili FI21 1234 5600 0007 86 ok"
    assert IBAN not in mask(wrong).found


def test_card_numbers_pass_luhn():
    assert luhn_ok("4111111111111111")
    masked = mask("kortti 4111 1111 1111 1111 meni")
    assert masked.text == "kortti [kortin numero] meni"
    assert masked.found == (CARD,)
    assert CARD not in mask("4111 1111 1111 1112").found


@st.composite
def card_numbers(draw) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=14, max_size=17))
    body = str(draw(st.integers(min_value=1, max_value=9))) + body
    for last in "0123456789":
        if luhn_ok(body + last):
            return body + last
    raise AssertionError("one check digit always fits")


@given(card_numbers())
def test_every_luhn_valid_card_number_is_masked(number):
    assert mask(f"nro {number}.").found == (CARD,)


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=80))
def test_text_without_digits_or_at_signs_is_unchanged(text):
    if "@" in text:
        return
    assert mask(text).text == text


def test_notice_names_what_was_removed_in_plain_finnish():
    assert notice_fi((HETU,)).startswith("Poistin viestistäsi henkilötunnuksen.")
    assert notice_fi((HETU, PHONE, EMAIL)).startswith(
        "Poistin viestistäsi henkilötunnuksen, puhelinnumeron ja sähköpostiosoitteen."
    )


def test_dates_around_every_century_sign_are_checked():
    # 29 February exists in 2000 and 1900 is not a leap year.
    assert mask("290200A123A").found == (HETU,)
    assert mask("290200-123A").found == ()
