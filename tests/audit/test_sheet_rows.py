"""Whole rows written at once: the same XML as XlsxWriter's own cell by cell path, read
back by openpyxl with the right types (a change inside XlsxWriter fails here)."""

import io
import math
import zipfile
from datetime import UTC, date, datetime
from enum import StrEnum

import pytest
import xlsxwriter
from openpyxl import load_workbook

from pro_app.audit.sheet_rows import MEMO_LIMIT, RowWorksheet
from pro_app.audit.workbooks import OPTIONS, WorkbookInfo, WorkbookWriter


class Colour(StrEnum):
    RED = "red"


HEADER = ("text", "int", "float", "flag", "other", "blank", "empty")
ROWS = [
    ("plain", 3, 2.5, True, date(2024, 5, 1), None, ""),
    ("=1+2", -7, 1e-20, False, Colour.RED, None, ""),
    ("a < b & c > d \"q\" 'x'", 10**17, 0.1 + 0.2, None, None, None, None),
    (" leading and trailing ", 0, -0.0, None, None, None, None),
    ("line\nbreak\ttab\x01ctrl _x0041_ \ufffe", 1, 3.0, None, None, None, None),
    ("plain again", None, math.nan, None, None, None, None),
    ("ünïcödé 😀", None, math.inf, None, None, None, None),
    (None, None, -math.inf, None, None, None, None),
    (None, None, None, None, None, None, None),  # a row with nothing in it
    ("", 5),  # a short row
    ("x" * 40_000, 1),  # past Excel's 32,767 characters
]


def _stock_write(sheet, row: int, values) -> None:
    """What ``SheetWriter.append`` did before whole rows: XlsxWriter cell by cell."""
    for column, value in enumerate(values):
        if value is None or value == "":
            continue
        if value.__class__ is str:
            sheet.write_string(row, column, value)
        elif value.__class__ in (int, float):
            sheet.write_number(row, column, value)
        elif value.__class__ is bool:
            sheet.write_number(row, column, int(value))
        else:
            sheet.write_string(row, column, str(value))


def _book(write_rows, **options) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {**OPTIONS, **options})
    book.set_properties({"created": datetime(2026, 1, 1)})  # noqa: DTZ001 (fixed, for a stable file)
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("rows", RowWorksheet)
    for column, name in enumerate(HEADER):
        sheet.write_string(0, column, name, bold)
    sheet.freeze_panes(1, 0)
    write_rows(sheet)
    book.close()
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def _rows_fast(sheet) -> None:
    for number, values in enumerate(ROWS, start=1):
        sheet.write_values(number, values)


def _rows_stock(sheet) -> None:
    for number, values in enumerate(ROWS, start=1):
        _stock_write(sheet, number, values)


@pytest.mark.parametrize("constant_memory", [True, False])
def test_whole_rows_make_the_same_package_as_cell_by_cell_writes(constant_memory):
    fast = _parts(_book(_rows_fast, constant_memory=constant_memory))
    stock = _parts(_book(_rows_stock, constant_memory=constant_memory))
    assert fast.keys() == stock.keys()
    for name in stock:
        assert fast[name] == stock[name], name
    assert b'<dimension ref="A1:G12"/>' in fast["xl/worksheets/sheet1.xml"]


def test_text_shaped_like_rich_string_xml_stays_text():
    """XlsxWriter's constant-memory mode writes such a text raw into the sheet."""

    def rich(sheet) -> None:
        sheet.write_values(1, ("<r><t>not rich</t></r>", "<r>&</r>"))

    sheet = _parts(_book(rich))["xl/worksheets/sheet1.xml"].decode()
    assert "<t>&lt;r&gt;&lt;t&gt;not rich&lt;/t&gt;&lt;/r&gt;</t>" in sheet
    values = list(load_workbook(io.BytesIO(_book(rich)), read_only=True).active.values)
    assert values[1][:2] == ("<r><t>not rich</t></r>", "<r>&</r>")


def test_the_workbook_reads_back_with_its_types():
    values = list(load_workbook(io.BytesIO(_book(_rows_fast)), read_only=True).active.values)
    assert values[0] == HEADER
    assert values[1][:5] == ("plain", 3, 2.5, 1, "2024-05-01")
    assert values[2][:5] == ("=1+2", -7, 1e-20, 0, "red")  # text, never a formula
    assert values[3][:3] == ("a < b & c > d \"q\" 'x'", 1e17, 0.3)  # 16 digits, as XlsxWriter
    assert values[4][0] == " leading and trailing "
    assert values[5][0].startswith("line\nbreak\ttab")
    assert values[6][:3] == ("plain again", None, "=#NUM!")  # NaN and infinities as errors
    assert values[7][:3] == ("ünïcödé 😀", None, "=1/0")
    assert values[8][2] == "=-1/0"
    assert values[9] == (None,) * 7  # the empty row is not written
    assert values[10][:2] == (None, 5)
    assert len(values[11][0]) == 32_767  # cut to Excel's limit
    assert [type(row[1]) for row in values[1:5]] == [int, int, float, int]


def test_rows_must_come_in_order_and_fit_the_sheet():
    book = xlsxwriter.Workbook(io.BytesIO(), OPTIONS)
    sheet = book.add_worksheet("rows", RowWorksheet)
    sheet.write_values(3, ("a",))
    with pytest.raises(ValueError, match="after rows already written"):
        sheet.write_values(3, ("b",))
    with pytest.raises(ValueError, match="after rows already written"):
        sheet.write_values(2, ("b",))
    sheet.write_string(5, 0, "held by XlsxWriter")
    with pytest.raises(ValueError, match="after rows already written"):
        sheet.write_values(5, ("b",))
    with pytest.raises(ValueError, match="limits"):
        sheet.write_values(1_048_576, ("b",))
    sheet.write_values(6, ("c",))  # flushes row 5 first
    book.close()


def test_the_memo_is_bounded_and_cleared_values_render_the_same():
    def many(sheet) -> None:
        for number in range(1, MEMO_LIMIT + 10):
            sheet.write_values(number, (f"id{number % (MEMO_LIMIT + 5)}", number))
        assert len(sheet._row_memo) <= MEMO_LIMIT

    def stock(sheet) -> None:
        for number in range(1, MEMO_LIMIT + 10):
            _stock_write(sheet, number, (f"id{number % (MEMO_LIMIT + 5)}", number))

    assert _parts(_book(many)) == _parts(_book(stock))


def test_a_workbook_keeps_its_header_row_and_ends_with_definitions():
    writer = WorkbookWriter(WorkbookInfo("Title", "Subject", datetime(2026, 1, 1, tzinfo=UTC)))
    sheet = writer.sheet("patients", ("study_id", "days"))
    sheet.append(("A1", 4))
    sheet.append(("'=cmd", 5.5))
    writer.definitions([("study_id", "The study id.")])
    workbook = load_workbook(io.BytesIO(b"".join(writer.chunks())))
    assert workbook.sheetnames == ["patients", "definitions"]
    patients = workbook["patients"]
    assert [[cell.value for cell in row] for row in patients.iter_rows()] == [
        ["study_id", "days"],
        ["A1", 4],
        ["'=cmd", 5.5],
    ]
    assert patients["A1"].font.b and not patients["A2"].font.b
    assert patients["A3"].data_type == "s" and patients["B2"].data_type == "n"
    assert patients.freeze_panes == "A2"
    assert list(workbook["definitions"].values) == [
        ("term", "definition"),
        ("study_id", "The study id."),
    ]
