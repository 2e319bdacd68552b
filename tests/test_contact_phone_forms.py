"""The search forms of a phone number are the same whether validation remembered them
from its own parse or they are derived from the stored E.164 number alone; and the
shortcuts taken on the way (``phones._is_valid``, ``phones._remember_forms``) give exactly
what ``phonenumbers`` itself gives, over every region's example numbers and random digits."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from app.models.contacts import phones as contact_phones
from app.models.contacts.inputs import ContactCreate
from app.models.contacts.phones import phone_forms

NUMBERS = [
    ("(415) 555-0123", "US"),
    ("020 7946 0958", "GB"),
    ("06 6982 1234", "IT"),  # Italian numbers keep their leading zero
    ("+39 333 123 4567", "US"),
    ("030 1234567", "DE"),
    ("415-555-0123 ext. 42", "US"),  # an extension E.164 drops: not remembered
]


def _unprimed(e164: str) -> list[str]:
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return [e164.lstrip("+"), str(parsed.national_number), "".join(filter(str.isdigit, national))]


@pytest.mark.parametrize(("number", "region"), NUMBERS)
def test_forms_remembered_by_validation_match_the_stored_number(number: str, region: str) -> None:
    contact_phones._phone_forms.clear()
    model = ContactCreate.model_validate(
        {"first_name": "A", "default_region": region, "phones": [{"number": number}]}
    )
    e164 = model.phones[0].number
    assert phone_forms(e164) == _unprimed(e164)


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_phones, "PHONE_FORMS_KEPT", 3)
    contact_phones._phone_forms.clear()
    for line in range(10):
        phone_forms(f"+1415555{line:04d}")
        assert len(contact_phones._phone_forms) <= 3
    assert "+14155550009" in contact_phones._phone_forms  # the last one is kept
    assert phone_forms("+14155550001") == _unprimed("+14155550001")  # forgotten, derived again


TYPES = [t for name, t in vars(PhoneNumberType).items() if name.isupper() and name != "UNKNOWN"]


def _examples(region: str) -> list[phonenumbers.PhoneNumber]:
    found = [phonenumbers.example_number_for_type(region, kind) for kind in TYPES]
    return [number for number in found if number is not None]


def _random_numbers(region: str, count: int, seed: int) -> list[phonenumbers.PhoneNumber]:
    """Numbers read in ``region`` from random digits, valid or not, some written with
    another country's calling code."""
    rng = random.Random(f"{region}-{seed}")
    numbers = []
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 12)))
        written = (
            f"+{rng.choice([1, 7, 44, 61, 262, 590])}{digits}" if rng.random() < 0.2 else digits
        )
        try:
            numbers.append(phonenumbers.parse(written, region))
        except phonenumbers.NumberParseException:
            continue
    return numbers


def _national_digits(number: phonenumbers.PhoneNumber) -> str:
    shown = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return "".join(c for c in shown if c.isdigit())


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_validity_is_the_librarys_in_every_region(region: str) -> None:
    numbers = [*_examples(region), *_random_numbers(region, 60, seed=1)]
    for number in numbers:
        assert contact_phones._is_valid(number, region) == phonenumbers.is_valid_number(number), (
            number
        )
    assert any(contact_phones._is_valid(n, region) for n in numbers) or not _examples(region)


def test_the_north_american_plans_national_digits_are_those_of_its_national_format() -> None:
    numbers = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        numbers += _examples(region) + _random_numbers(region, 400, seed=2)
    valid = [n for n in numbers if phonenumbers.is_valid_number(n) and n.country_code == 1]
    assert len(valid) > 200
    for number in valid:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        forms = contact_phones._remember_forms(e164, number)
        assert forms == (e164[1:], str(number.national_number), _national_digits(number))


def test_other_plans_forms_come_from_the_national_format() -> None:
    london = phonenumbers.parse("020 7946 0018", "GB")
    forms = contact_phones._remember_forms("+442079460018", london)
    assert forms == ("442079460018", "2079460018", "02079460018")
