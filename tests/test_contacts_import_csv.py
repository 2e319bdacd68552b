"""A CSV file read strictly: a broken row is a row error with its line (the other rows
import), a file in another encoding is refused saying so, and every error names the
header's column, the value and what is wrong in plain words."""

from __future__ import annotations

import codecs
from typing import Any

import httpx
import pytest

from app.services.contacts.importing.parse import FileRefused, open_file, read_rows
from app.services.contacts.importing.problems import VALUE_CHARS, column_of, describe
from tests.conftest import Tenant
from tests.contact_fixtures import locs

HEADER = "first_name,last_name,email,segment\n"


def _rows(body: str) -> list[tuple[int, dict[str, Any], list[str]]]:
    return [(r.line, r.data, [e["msg"] for e in r.errors]) for r in read_rows(body.encode(), "csv")]


def test_an_unterminated_quote_loses_its_own_row_only() -> None:
    body = HEADER + (
        '"Unterminated,Quote,uq@example.com,client\n'
        "Good,Row,g@example.com,client\n"
        '"Multi\nLine",Quoted,,prospect\n'
        "Last,Row,l@example.com,client\n"
    )
    rows = _rows(body)
    assert [(line, data.get("first_name")) for line, data, _ in rows] == [
        (2, None),
        (3, "Good"),
        (4, "Multi\nLine"),  # a quoted cell with a line break is fine
        (6, "Last"),
    ]
    assert rows[0][2] == [
        "a quote opened in this row is not closed where a cell ends (an unterminated quote?); "
        "the lines after it were read as rows of their own"
    ]


def test_an_unterminated_quote_on_the_last_line_is_a_row_error() -> None:
    rows = _rows(HEADER + "A,B,,client\n" + '"Unterminated,Quote,uq@example.com,client,,')
    assert rows[1] == (
        3,
        {},
        ["a quote opened in this row is never closed (an unterminated quote)"],
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Short,Row", "this row has 2 cells, the header has 4"),
        ("A,B,c@x.io,client,extra", "this row has 5 cells, the header has 4"),
        ('"Bad"x,B,,client', "a quoted cell must end at a comma or the end of the line: check"),
    ],
)
def test_rows_the_header_does_not_fit_are_row_errors(row: str, message: str) -> None:
    (line, data, errors), good = _rows(HEADER + row + "\nGood,Row,,client\n")
    assert (line, data) == (2, {})
    assert errors[0].startswith(message)
    assert good[:2] == (3, {"first_name": "Good", "last_name": "Row", "segment": "client"})


def test_a_record_over_several_lines_with_the_wrong_cells_names_its_lines() -> None:
    ((line, _data, errors),) = _rows(HEADER + '"Multi\nLine",Quoted,\n')
    assert line == 2
    assert errors == [
        "this row has 3 cells, the header has 4; it runs from line 2 to line 3 because a "
        "quoted cell holds line breaks: check for a quote that is never closed"
    ]


def test_a_nul_character_is_an_error_of_its_row_and_column() -> None:
    (bad, good) = read_rows((HEADER + "A,B\x00C,,client\nD,E,,client\n").encode(), "csv")
    assert (bad.line, bad.data, bad.errors[0]["column"]) == (2, {}, "last_name")
    assert bad.errors[0]["msg"] == "the cell holds a NUL character (a byte of value 0)"
    assert (good.line, good.data["first_name"]) == (3, "D")
    shown = describe(bad.line, bad.errors, HEADER.strip().split(","))
    assert shown["value"] == "A,B\u2400C,,client"  # PostgreSQL stores no NUL in JSON
    (jsonl,) = read_rows(b'{"first_name": "A\x00"}\n', "jsonl")
    assert jsonl.errors[0]["msg"] == "the line holds a NUL character (a byte of value 0)"


def test_blank_rows_are_skipped_and_line_numbers_stay_the_files() -> None:
    rows = _rows(HEADER + "\n,,,\nA,B,,client\r\n\nC,D,,client\n")
    assert [(line, data["first_name"]) for line, data, _ in rows] == [(4, "A"), (6, "C")]


def test_utf8_with_or_without_a_byte_order_mark_is_read() -> None:
    body = "first_name\nJosé\n".encode()
    for raw in (body, codecs.BOM_UTF8 + body):
        file = open_file(raw, "csv")
        assert file.columns == ["first_name"]
        assert [r.data for r in file.rows] == [{"first_name": "José"}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "first_name\nJosé\n".encode("cp1252"),
            "the file is not UTF-8 text: line 2 holds the byte 0xE9, which UTF-8 does not use "
            "there (the file may be in Windows-1252 or Latin-1): save it as UTF-8",
        ),
        ("first_name\nJosé\n".encode("utf-16"), "the file is UTF-16 text, not UTF-8"),
        ("first_name\nJosé\n".encode("utf-16-le"), "the file is UTF-16 text, not UTF-8"),
        (b"", "the file is empty; the first line must be a header"),
        (b"a,b,a\n1,2,3\n", "the header row must name each column once (a)"),
        (b'"a,b\n', "the header row cannot be read: a quote opened in this row is never closed"),
        (b"first_name,la\x00st\nA,B\n", "the header row holds a NUL character"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_saying_why(raw: bytes, message: str) -> None:
    with pytest.raises(FileRefused) as refused:
        read_rows(raw, "csv")
    assert str(refused.value).startswith(message)


async def test_the_api_refuses_another_encoding_naming_the_body(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/contacts/imports",
        content="first_name\nJosé\n".encode("latin-1"),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert locs(response) == [["body"]]
    assert "not UTF-8" in response.json()["errors"][0]["msg"]
    nul = await client.post(  # once a 500: the job keeps the header, and jsonb holds no NUL
        "/v1/contacts/imports",
        content=b"first_name,\x00\nA,B\n",
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert locs(nul) == [["body"]]


def test_errors_name_the_headers_column_the_value_and_plain_words() -> None:
    header = ["first_name", "email", "phone", "address.city", "custom.source", "crm_id"]
    entries = [
        {"loc": ["emails", 0, "address"], "msg": "value is not a valid email", "value": "x"},
        {"loc": ["phones", 0, "number"], "msg": "Value error, '12' is not a phone number"},
        {"loc": ["address", "city"], "msg": "too long", "value": "O" * 200},
        {"loc": ["custom_fields", "source"], "msg": "m"},
        {"loc": ["custom_fields", "crm_id"], "msg": "m"},
        {"loc": [], "msg": "a person needs a first or last name"},
    ]
    shown = describe(7, entries, header)
    assert (shown["line"], shown["column"], shown["value"]) == (7, "email", "x")
    columns = [e["column"] for e in shown["errors"]]
    assert columns == ["email", "phone", "address.city", "custom.source", "crm_id", None]
    assert shown["errors"][1]["message"] == "'12' is not a phone number"
    long_value = shown["errors"][2]["value"]
    assert len(long_value) == VALUE_CHARS
    assert long_value.endswith("\u2026")
    assert column_of(["emails", 0, "address"], []) == "emails"  # JSON Lines: the key
    assert column_of(["emails", 0, "address"], ["emails"]) == "emails"  # a JSON cell
