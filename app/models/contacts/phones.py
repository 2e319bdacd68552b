"""Phone numbers as contacts keep them: read in a region, checked by ``phonenumbers``,
stored as E.164, and the forms contact search matches.

Validation parses each number once and remembers its search forms (``phone_forms``), so
deriving the search column right after does not parse it again. Two shortcuts keep the
library's answers while doing less of its work (``tests/test_contact_phone_forms.py``
holds both to them): a number of the region ``phonenumbers`` tries first is typed once,
and the North American plan's national digits are its national number.
"""

from __future__ import annotations

import functools

import phonenumbers

PHONE_FORMS_KEPT = 4096  # numbers remembered: a few import batches' worth
_phone_forms: dict[str, tuple[str, ...]] = {}
_NANP = 1  # the North American plan's calling code: its national format adds no digit


def _remember_forms(e164: str, parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    national = str(parsed.national_number)
    if parsed.country_code == _NANP and not parsed.italian_leading_zero:
        written = national  # "(415) 555-0123": tests/test_contact_phone_forms.py holds it to that
    else:
        shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        written = "".join(c for c in shown if c.isdigit())
    forms = (e164.lstrip("+"), national, written)
    if len(_phone_forms) >= PHONE_FORMS_KEPT:  # start again: popping the oldest was a
        _phone_forms.clear()  # scan over the dict's deleted entries each time
    _phone_forms[e164] = forms
    return forms


def phone_forms(e164: str) -> list[str]:
    """The forms of a stored (E.164) number that contact search matches: the digits, the
    national number, the national format's digits.

    Validation has just parsed the number and remembers them: parsing it again to derive
    the search column was the largest item of an import batch's own CPU (cProfile,
    bench_import: 4.4 of 9 s), and a create derives right after validating too.
    """
    forms = _phone_forms.get(e164)
    if forms is None:
        forms = _remember_forms(e164, phonenumbers.parse(e164, None))
    return list(forms)


@functools.cache
def _tried_first(region: str) -> bool:
    """Whether ``phonenumbers.region_code_for_number`` settles on ``region`` for a number
    of its calling code that is valid there, before looking at any other region: it is
    the code's only region, or its first one, with no leading digits to match. Then
    ``is_valid_number`` of such a number is ``is_valid_number_for_region`` of ``region``,
    which costs half as much (it types the number once, not twice)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(
        phonenumbers.country_code_for_region(region), ()
    )
    if not regions or regions[0] != region:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return len(regions) == 1 or (metadata is not None and metadata.leading_digits is None)


def _is_valid(parsed: phonenumbers.PhoneNumber, region: str) -> bool:
    """``phonenumbers.is_valid_number``, cheaper for a number of the region it was read in."""
    if _tried_first(region) and phonenumbers.is_valid_number_for_region(parsed, region):
        return True
    return bool(phonenumbers.is_valid_number(parsed))


def parse_phone(number: str, region: str) -> str:
    """``number`` read in ``region``, as E.164; ``ValueError`` saying why it is not valid."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{number!r} is not a phone number ({exc})") from exc
    if not _is_valid(parsed, region):
        raise ValueError(f"{number!r} is not a valid phone number for region {region}")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not parsed.extension:  # E.164 drops it, the national format would not
        _remember_forms(e164, parsed)
    return e164
