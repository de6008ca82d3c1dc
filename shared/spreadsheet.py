"""Spreadsheet downloads that run nothing: user text in a CSV or XLSX cell stays text.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula (or a DDE call) to
Excel, LibreOffice and Google Sheets, so a merchant named `=HYPERLINK(...)` would be a live link in an
official's sheet. OWASP's CSV-injection guidance: prefix such a cell with a single quote. In XLSX a cell
also has a type: text is written as a string cell (marked quote-prefixed, as Excel marks what one
types after a quote), numbers stay numbers, and the only formulas are the export's own (`Formula`).
Every export builds its rows with these helpers, never with `csv.writer` or `Worksheet.append` directly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class Formula(str):
    """A formula the export writes itself (a total, an average): the only cell text a sheet evaluates."""


def safe_text(text: str) -> str:
    """`text` as a spreadsheet must show it: with a leading single quote when it would be evaluated."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal)  # bool is an int: True/False stay what they are


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """The rows as CSV the way a spreadsheet opens it (UTF-8 with a BOM, for Excel): numbers as written,
    every text cell through `safe_text`, empty cells empty."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(
            [
                value if value is None or _is_number(value) or isinstance(value, Formula) else safe_text(str(value))
                for value in row
            ]
        )
    return out.getvalue()


def append_row(sheet: Worksheet, row: Sequence[Any]) -> None:
    """Append one row: numbers as number cells, a `Formula` as a formula, anything else as a text cell
    (characters XLSX cannot hold are dropped), quote-prefixed where it would look like a formula."""
    values = [
        value
        if value is None or _is_number(value) or isinstance(value, Formula)
        else ILLEGAL_CHARACTERS_RE.sub("", str(value))
        for value in row
    ]
    sheet.append(values)
    if not values:
        return
    for column, value in enumerate(values, 1):
        if isinstance(value, str) and not isinstance(value, Formula):
            cell = sheet.cell(sheet.max_row, column)
            cell.data_type = "s"  # openpyxl takes any text that starts with "=" for a formula
            if value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True
