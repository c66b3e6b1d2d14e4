"""XLSX workbooks written row by row with XlsxWriter's constant-memory mode.

Every sheet has its header in row 1 (the workbook's title and filters are in the document
properties, not in a row above the header) and every workbook ends with a "definitions"
sheet of (term, definition) rows. Each row is written whole as it comes, straight to
the sheet's file on disk (``sheet_rows.RowWorksheet``, several times cheaper a cell
than XlsxWriter's own path), so memory stays flat however many rows an export has.
Text is written as text, never as a formula or a link; callers neutralise cells that
could start one.
"""

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import xlsxwriter

from .sheet_rows import RowWorksheet

EXCEL_MAX_ROWS = 1_048_576
CHUNK_BYTES = 256 * 1024
OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "default_date_format": "yyyy-mm-dd",
}
SHEET_NAME_LENGTH = 31  # Excel's limit


@dataclass(frozen=True)
class WorkbookInfo:
    """What goes in the document properties."""

    title: str
    subject: str
    generated_at: datetime


class SheetWriter:
    """Rows appended to one sheet, in order, below its header row."""

    def __init__(self, sheet: RowWorksheet, header: Sequence[str], header_format=None):
        self.sheet = sheet
        for column, name in enumerate(header):
            sheet.write_string(0, column, name, header_format)
        sheet.freeze_panes(1, 0)
        self.next_row = 1

    def append(self, row: Sequence) -> None:
        """The next row: text as text, numbers and bools (1/0) as numbers, None and ""
        blank, anything else as its ``str()``."""
        self.sheet.write_values(self.next_row, row)
        self.next_row += 1

    @property
    def rows(self) -> int:
        """Rows written, the header included."""
        return self.next_row


class WorkbookWriter:
    """A workbook being written to a temporary file; ``chunks()`` saves and reads it back."""

    def __init__(self, info: WorkbookInfo):
        self.handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by chunks())
        self.book = xlsxwriter.Workbook(self.handle, OPTIONS)
        self.book.set_properties(
            {
                "title": info.title,
                "subject": info.subject,
                "comments": f"Generated {info.generated_at:%Y-%m-%d %H:%M} UTC",
                "created": info.generated_at.replace(tzinfo=None),
            }
        )
        self.bold = self.book.add_format({"bold": True})

    def sheet(self, name: str, header: Sequence[str]) -> SheetWriter:
        worksheet = self.book.add_worksheet(name[:SHEET_NAME_LENGTH], RowWorksheet)
        return SheetWriter(worksheet, header, self.bold)

    def definitions(self, lines: Iterable[tuple[str, str]]) -> None:
        """The closing "definitions" sheet: what each figure or column means."""
        sheet = self.sheet("definitions", ("term", "definition"))
        sheet.sheet.set_column(0, 0, 40)
        sheet.sheet.set_column(1, 1, 120)
        for line in lines:
            sheet.append(line)

    def chunks(self) -> Iterator[bytes]:
        """Close the workbook and yield its bytes; the temporary file goes with it."""
        try:
            self.book.close()
            self.handle.seek(0)
            while chunk := self.handle.read(CHUNK_BYTES):
                yield chunk
        finally:
            self.handle.close()
