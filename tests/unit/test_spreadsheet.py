"""Cells a spreadsheet would run (OWASP CSV injection) are written as text, in CSV and in XLSX alike."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from shared.spreadsheet import Formula, append_row, csv_text, safe_text

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "=1+2|cmd"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_a_spreadsheet_would_evaluate_gets_a_leading_quote(text: str) -> None:
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["三亚湾海景酒店", "a=b", "1-2", "", "'=already quoted", " =spaced"])
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert safe_text(text) == text


def test_csv_escapes_text_but_keeps_numbers_and_opens_with_a_bom() -> None:
    out = csv_text([["名称", *DANGEROUS], ["金额", -2, 3.5, 0]])
    assert out.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"), newline="")))
    assert rows == [["名称", *("'" + t for t in DANGEROUS)], ["金额", "-2", "3.5", "0"]]


def test_xlsx_writes_text_as_text_numbers_as_numbers_and_only_our_own_formulas() -> None:
    book = Workbook()
    sheet = book.active
    append_row(sheet, ["名称", *DANGEROUS, "bad\x01char"])
    append_row(sheet, ["金额", -2, 3.5, Formula("=SUM(B2:C2)"), None])
    saved = io.BytesIO()
    book.save(saved)
    first, second = load_workbook(saved).active.iter_rows()
    # XML reads a carriage return back as a line feed; the cell is text either way.
    assert [c.value for c in first] == ["名称", *(t.replace("\r", "\n") for t in DANGEROUS), "badchar"]
    assert all(c.data_type == "s" for c in first)
    assert [c.quotePrefix for c in first[1 : len(DANGEROUS) + 1]] == [True] * len(DANGEROUS)
    assert not first[0].quotePrefix
    assert [(c.value, c.data_type) for c in second[:4]] == [("金额", "s"), (-2, "n"), (3.5, "n"), ("=SUM(B2:C2)", "f")]
