"""A worksheet that writes a whole row of plain values at once, in constant-memory mode.

XlsxWriter's ``write_string``/``write_number`` cost about 4 µs a cell (argument
conversion, bounds checks, then a cell object rendered to XML one attribute at a time),
which makes a ten-million-cell export take a minute. ``RowWorksheet.write_values``
renders each distinct value's cell once (values repeat a lot: study ids, timepoints,
score names) and writes the row's XML in one piece, exactly as XlsxWriter would have
written it, to the same row-data file; everything else (header formats, frozen panes,
the package) stays XlsxWriter's.

It reaches into XlsxWriter's constant-memory internals (``previous_row``, ``table``,
``fh``, the ``dim_*`` bounds, its escaping helpers), so ``pyproject.toml`` pins the
XlsxWriter versions it was checked against and ``tests/audit/test_sheet_rows.py``
compares its output with XlsxWriter's own, byte for byte.
"""

import math
from collections.abc import Sequence

from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

MEMO_LIMIT = 50_000  # distinct values remembered per sheet; the memo is cleared past it
_CELL_STARTS: list[str] = []  # '<c r="A', '<c r="B' ...
_MEMO_KINDS = frozenset((str, int, float, bool))  # True and 1 make the same cell
_NON_FINITE = {  # what nan_inf_to_errors writes: an error formula and its cached value
    "nan": ("#NUM!", "#NUM!"),
    "inf": ("1/0", "#DIV/0!"),
    "-inf": ("-1/0", "#DIV/0!"),
}


def _cell_starts(count: int) -> list[str]:
    while len(_CELL_STARTS) < count:
        _CELL_STARTS.append(f'<c r="{xl_col_to_name(len(_CELL_STARTS))}')
    return _CELL_STARTS


class RowWorksheet(Worksheet):
    """A worksheet with ``write_values``, for ``Workbook.add_worksheet(worksheet_class=...)``."""

    def __init__(self):
        super().__init__()
        self._row_memo: dict = {}

    def write_values(self, row: int, values: Sequence) -> None:
        """Write ``values`` into ``row`` from column A, unformatted: text as an inline
        string (never a formula), int, float and bool as numbers (bool as 1/0), anything
        else as its ``str()``; None and "" leave the cell blank. Rows go in increasing
        order, as constant-memory mode requires."""
        if not self.constant_memory or self.excel_version != 2007 or row in self.row_info:
            self._write_each(row, values)
            return
        self._start_row(row, len(values))
        memo, starts, cell_tail = self._row_memo, _cell_starts(len(values)), self._cell_tail
        number, cells = str(row + 1), []
        first = last = None
        for column, value in enumerate(values):
            if value is None:
                continue
            tail = memo.get(value) if value.__class__ in _MEMO_KINDS else None
            if tail is None:
                tail = cell_tail(value)
            if tail:  # "" for an empty text
                cells.append(starts[column] + number + tail)
                if first is None:
                    first = column
                last = column
        if first is None:
            return
        self.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
        self.previous_row = row + 1  # nothing more can go in this row
        self._stretch(row, first, last)

    def _start_row(self, row: int, width: int) -> None:
        """Check the row can still be written and flush the row XlsxWriter holds."""
        if row >= self.xls_rowmax or width > self.xls_colmax:
            raise ValueError(f"row {row} or its {width} columns are past the sheet's limits")
        pending = self.previous_row
        if row < pending or (row == pending and self.table.get(row)):
            raise ValueError(f"row {row} comes after rows already written")
        if row > pending and (self.table or pending in self.row_info or pending in self.comments):
            self._write_single_row(row)
        self.previous_row = row

    def _stretch(self, row: int, first: int, last: int) -> None:
        """Widen the sheet's used range (its ``<dimension>``) to the cells written."""
        if self.dim_rowmin is None or row < self.dim_rowmin:
            self.dim_rowmin = row
        if self.dim_rowmax is None or row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None or first < self.dim_colmin:
            self.dim_colmin = first
        if self.dim_colmax is None or last > self.dim_colmax:
            self.dim_colmax = last

    def _cell_tail(self, value) -> str:
        """A cell's XML after its row number (from the ``r`` attribute's closing quote),
        remembered for str, int and float; "" for an empty text."""
        kind = value.__class__
        if kind is bool:
            return self._cell_tail(int(value))
        if kind is int or kind is float:
            if kind is float and not math.isfinite(value):
                formula, result = _NON_FINITE[repr(value)]
                return f'" t="e"><f>{formula}</f><v>{result}</v></c>'
            tail = f'"><v>{value:.16G}</v></c>'
            if value == 0:  # 0 and -0.0 are one key but two cells
                return tail
        elif kind is str:
            tail = self._string_tail(value) if value else ""
        else:
            return self._string_tail(str(value))
        if len(self._row_memo) >= MEMO_LIMIT:
            self._row_memo.clear()
        self._row_memo[value] = tail
        return tail

    def _string_tail(self, text: str) -> str:
        """An inline string cell, escaped as XlsxWriter escapes it; a text that looks
        like rich-string XML is still plain text here."""
        if len(text) > self.xls_strmax // 2 and _utf16_len(text) > self.xls_strmax:
            text = _utf16_truncate(text, self.xls_strmax)
        text = self._escape_control_characters(text)
        space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
        text = self._escape_data(text)
        return f'" t="inlineStr"><is><t{space}>{text}</t></is></c>'

    def _write_each(self, row: int, values: Sequence) -> None:
        """XlsxWriter's own cell by cell path, with the same conversions."""
        for column, value in enumerate(values):
            kind = value.__class__
            if value is None or (kind is str and not value):
                continue
            if kind is str:
                self.write_string(row, column, value)
            elif kind is int or kind is float:
                self.write_number(row, column, value)
            elif kind is bool:
                self.write_number(row, column, int(value))
            else:
                self.write_string(row, column, str(value))
