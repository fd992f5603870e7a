"""Reading the files a Chinese office produces: CSV in UTF-8 (with or without BOM) or
GB18030/GBK, and XLSX (first sheet, formulas as their computed values, a merged range's
value in each of its cells)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

SAMPLE = 1 << 20  # bytes looked at to decide the encoding
MAX_BYTES = 2 << 30  # refuse files over 2 GiB
XML_CHUNK = 1 << 20  # bytes of a sheet's XML looked through at a time
# A merged range in a sheet's XML, <mergeCell ref="A3:A5"/>: its range.
MERGE_REF = re.compile(rb"""<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*["']([^"']*)["']""")


class FileError(ValueError):
    """The file cannot be read as a table; the message says why, for the person."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]  # (row number as in the file, values)
    encoding: str


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for a BOM, utf-8 when the sample decodes as UTF-8, else GB18030 (a
    superset of GBK and GB2312, what Excel on a Chinese Windows writes)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
    except UnicodeDecodeError:
        raise FileError(
            _("The file is neither UTF-8 nor GB18030/GBK text: save it as CSV UTF-8 or XLSX.")
        ) from None
    return "gb18030"


def _clean_header(value: object) -> str:
    return str(value or "").replace("\ufeff", "").strip()


def _check_headers(headers: list[str]) -> list[str]:
    if not any(headers):
        raise FileError(_("The first row must hold the column names."))
    seen: set[str] = set()
    for header in headers:
        if header and header in seen:
            raise FileError(_("The column “%(name)s” appears twice.") % {"name": header})
        seen.add(header)
    return headers


def open_table(path: Path) -> Table:
    if not path.is_file():
        raise FileError(_("The uploaded file is no longer kept: upload it again."))
    if path.stat().st_size > MAX_BYTES:
        raise FileError(_("The file is larger than 2 GB: split it into smaller files."))
    if path.stat().st_size == 0:
        raise FileError(_("The file is empty."))
    if path.suffix.lower() == ".xlsx":
        return _xlsx(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return _csv(path)
    raise FileError(_("Upload a CSV or XLSX file."))


def _csv(path: Path) -> Table:
    with path.open("rb") as f:
        sample = f.read(SAMPLE)
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:20000], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    handle = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    reader = csv.reader(handle, dialect)
    try:
        headers = _check_headers([_clean_header(h) for h in next(reader)])
    except StopIteration:
        handle.close()
        raise FileError(_("The file is empty.")) from None
    except UnicodeDecodeError:
        handle.close()
        raise FileError(_("The file mixes text encodings: save it again as CSV UTF-8.")) from None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            try:
                for number, values in enumerate(reader, start=2):
                    if not any(v.strip() for v in values):
                        continue
                    yield number, {h: v.strip() for h, v in zip(headers, values, strict=False)}
            except UnicodeDecodeError:
                raise FileError(
                    _("Row %(row)d is not in the file's encoding (%(enc)s).")
                    % {"row": reader.line_num + 1, "enc": encoding}
                ) from None

    return Table(headers, rows(), encoding)


def _xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        # data_only: formulas read as the values Excel computed (``_sheet_rows`` tells
        # those never computed from empty cells).
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        merged = _merged_ranges(book, sheet)
    except Exception:
        raise FileError(_("This is not a readable XLSX workbook.")) from None
    values = _sheet_rows(book, sheet)
    try:
        first = next(values, None)
        if first is None:
            raise FileError(_("The file is empty."))
        headers = _check_headers([_clean_header(h) for h in first[1]])
    except FileError:
        values.close()
        book.close()
        raise
    fill = _MergedCells(merged, below=first[0])

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, row in values:
                cells = [_cell(v) for v in row]
                # A merged range alone does not make a row: its own cells must hold
                # something.
                if not any(c or isinstance(c, Uncomputed) for c in cells):
                    continue
                cells.extend([""] * (len(headers) - len(cells)))  # every column, as in a CSV
                yield number, dict(zip(headers, fill(number, cells), strict=False))
        finally:
            values.close()
            book.close()

    return Table(headers, rows(), "xlsx")


class Uncomputed(str):
    """A formula no spreadsheet program has computed (a file written by a program and never
    opened in Excel or WPS): read as empty, and said on its row by the import."""


def uncomputed_columns(values: dict[str, str]) -> list[str]:
    """The columns of a row whose formula has no computed value."""
    return [column for column, value in values.items() if isinstance(value, Uncomputed)]


def uncomputed_message(column: str) -> str:
    return _(
        "Column “%(name)s” holds a formula without a computed value: open and save the file "
        "in Excel or WPS first."
    ) % {"name": column}


def _sheet_rows(book: Any, sheet: Any) -> Iterator[tuple[int, list[object]]]:
    """The rows of the sheet that are in its XML, as (row number, values from column A
    on), read by the parser of openpyxl's read-only mode, with a formula that has no
    computed value as ``Uncomputed`` (``data_only`` reads it as None, like an empty cell)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell: dict[str, Any] = super().parse_cell(element)
            # An empty value of a text formula (t="str") is its result: "".
            if (
                cell["value"] is None
                and element.find(FORMULA_TAG) is not None
                and (element.get("t") != "str" or element.find(VALUE_TAG) is None)
            ):
                cell["value"] = Uncomputed()
            return cell

    with book._archive.open(sheet._worksheet_path) as source:
        parser = Parser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        try:
            for number, cells in parser.parse():
                row: list[object] = [None] * max((cell["column"] for cell in cells), default=0)
                for cell in cells:
                    row[cell["column"] - 1] = cell["value"]
                yield number, row
        except Exception:
            # The parser fails on a damaged sheet with whatever it meets.
            raise FileError(_("This is not a readable XLSX workbook.")) from None


def _merged_ranges(book: Any, sheet: Any) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (first column, first row, last column, last row).
    Read-only mode does not read them, and they come after the rows in the sheet's XML:
    one pass over the XML looks for their tags only. For 200,000 rows it takes 0.8 s
    beside 17-29 s to read the rows; a normal load, which reads them, takes 770 MB."""
    from openpyxl.utils import range_boundaries

    ranges = []

    def add(data: bytes, end: int) -> None:
        for ref in MERGE_REF.findall(data, 0, end):
            with contextlib.suppress(ValueError, TypeError):
                ranges.append(range_boundaries(ref.decode("ascii", "replace")))

    rest = b""
    with book._archive.open(sheet._worksheet_path) as source:
        while chunk := source.read(XML_CHUNK):
            data = rest + chunk
            # A tag cut by the chunk's end is looked at with the next chunk.
            cut = data.rfind(b"<")
            cut = len(data) if cut < 0 else cut
            add(data, cut)
            rest = data[cut:]
    add(rest, len(rest))
    return ranges


class _MergedCells:
    """Merged ranges below the header row read as a person reads them: the value of a
    range's first cell is in every cell of the range. Rows come in order, so only the
    ranges over the current row are open at a time."""

    def __init__(self, ranges: list[tuple[int, int, int, int]], *, below: int) -> None:
        # By first row, last first: the next range to open is at the end.
        self.waiting = sorted((r for r in ranges if r[1] > below), key=lambda r: -r[1])
        self.open: list[tuple[int, int, int, str]] = []  # columns, last row, value

    def __call__(self, number: int, row: list[str]) -> list[str]:
        while self.waiting and self.waiting[-1][1] <= number:
            first_col, first_row, last_col, last_row = self.waiting.pop()
            # The first cell's row is not read when empty: the range shows nothing then.
            value = row[first_col - 1] if first_row == number and first_col <= len(row) else ""
            self.open.append((first_col, last_col, last_row, value))
        self.open = [r for r in self.open if r[2] >= number]
        for first_col, last_col, _last_row, value in self.open:
            row.extend([""] * (last_col - len(row)))
            row[first_col - 1 : last_col] = [value] * (last_col - first_col + 1)
        return row


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Uncomputed):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value).strip()
