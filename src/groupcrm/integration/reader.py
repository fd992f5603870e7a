"""Reading the files a Chinese office produces: CSV in UTF-8 (with or without BOM) or
GB18030/GBK, and XLSX (first sheet, formulas as their computed values)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

SAMPLE = 1 << 20  # bytes looked at to decide the encoding
MAX_BYTES = 2 << 30  # refuse files over 2 GiB


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
        # data_only: formulas read as the values Excel computed; merged cells keep their
        # value in the top-left cell only.
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise FileError(_("This is not a readable XLSX workbook.")) from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        headers = _check_headers([_clean_header(h) for h in next(values)])
    except StopIteration:
        book.close()
        raise FileError(_("The file is empty.")) from None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, row in enumerate(values, start=2):
                cells = ["" if v is None else _cell(v) for v in row]
                if not any(cells):
                    continue
                yield number, dict(zip(headers, cells, strict=False))
        finally:
            book.close()

    return Table(headers, rows(), "xlsx")


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value).strip()
