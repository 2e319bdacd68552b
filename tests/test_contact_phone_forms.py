"""The search forms of a phone number are the same whether validation remembered them
from its own parse or they are derived from the stored E.164 number alone."""

from __future__ import annotations

import phonenumbers
import pytest

from app.models.contacts import inputs as contact_schemas
from app.models.contacts.inputs import ContactCreate, phone_forms

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
    contact_schemas._phone_forms.clear()
    model = ContactCreate.model_validate(
        {"first_name": "A", "default_region": region, "phones": [{"number": number}]}
    )
    e164 = model.phones[0].number
    assert phone_forms(e164) == _unprimed(e164)


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_schemas, "PHONE_FORMS_KEPT", 3)
    contact_schemas._phone_forms.clear()
    for line in range(10):
        phone_forms(f"+1415555{line:04d}")
    assert len(contact_schemas._phone_forms) == 3
    assert phone_forms("+14155550001") == _unprimed("+14155550001")  # forgotten, derived again
