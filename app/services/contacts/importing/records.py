"""A CSV file's records, strictly, each with the line it starts on.

Python's ``csv`` module, left lenient, reads a quote that is never closed as a cell
running to the end of the file (one contact whose first name was the rest of the file),
and takes a row of two cells under a header of eleven. Here every record is checked:

* a quote that is not closed where a cell ends (``strict`` mode's errors) makes its
  record's first line a bad row; the lines after it are read again as records, so one
  stray quote loses one row, not the rest of the file;
* a record with more or fewer cells than the header is a bad row; one that runs over
  several lines (a quoted cell with line breaks) is refused whole, naming its lines;
* a NUL character is a bad row, naming its column (PostgreSQL stores no NUL in text).

Blank records (no cell with anything in it) are skipped. Line numbers are the file's,
the header being line 1, so a person can find each refused row in their editor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """Cells of one row starting on ``line``; or, when ``problem`` is set, a bad row
    (``cells`` then empty, ``text`` its first line as written)."""

    line: int
    cells: list[str]
    problem: str = ""
    column: str | None = None
    text: str = ""


class _Lines:
    """The file's lines for ``csv.reader``, numbered; the lines of the record being read
    are kept, so that a broken record can be read again from its second line."""

    def __init__(self, text: str) -> None:
        self._source = io.StringIO(text)  # lines end at "\n" only, "\r\n" kept whole
        self._again: list[tuple[int, str]] = []  # lines to read again, last one first
        self._next = 1
        self.record: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.pop()
        else:
            line = self._source.readline()
            if not line:
                raise StopIteration
            number, self._next = self._next, self._next + 1
        self.record.append((number, line))
        return line

    def read_again_after_first(self) -> None:
        """The record's lines but its first are read again, as records of their own."""
        self._again.extend(reversed(self.record[1:]))


def _quote_problem(error: csv.Error, spanned: int) -> str:
    if "unexpected end of data" in str(error):
        return "a quote opened in this row is never closed (an unterminated quote)"
    if spanned > 1:
        return (
            "a quote opened in this row is not closed where a cell ends (an unterminated "
            "quote?); the lines after it were read as rows of their own"
        )
    return "a quoted cell must end at a comma or the end of the line: check this row's quotes"


def _count_problem(found: int, wanted: int, first: int, last: int) -> str:
    problem = f"this row has {found} cell{'' if found == 1 else 's'}, the header has {wanted}"
    if last > first:
        problem += (
            f"; it runs from line {first} to line {last} because a quoted cell holds line "
            "breaks: check for a quote that is never closed"
        )
    return problem


def read_records(text: str) -> tuple[list[str], Iterator[Record]]:
    """The header's cells (``[]`` for an empty file) and the records after it, read as
    they are iterated. A header that cannot be read raises ``ValueError`` saying why."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], iter(())
    except csv.Error as exc:
        problem = _quote_problem(exc, len(lines.record)).split(";")[0]
        raise ValueError(f"the header row cannot be read: {problem}") from None
    return header, _records(reader, lines, header, "\x00" in text)


def _records(
    reader: Iterator[list[str]], lines: _Lines, header: list[str], has_nul: bool
) -> Iterator[Record]:
    wanted = len(header)
    while True:
        lines.record = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            first, text = lines.record[0]
            yield Record(first, [], _quote_problem(exc, len(lines.record)), text=text)
            lines.read_again_after_first()
            continue
        first, text = lines.record[0]
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != wanted:
            last = lines.record[-1][0]
            problem = _count_problem(len(cells), wanted, first, last)
            yield Record(first, [], problem, text=text)
            continue
        if has_nul:
            bad = next((i for i, cell in enumerate(cells) if "\x00" in cell), None)
            if bad is not None:
                problem = "the cell holds a NUL character (a byte of value 0)"
                yield Record(first, [], problem, column=header[bad], text=text)
                continue
        yield Record(first, cells)
