"""Claim lines from an Excel workbook, each cell as the spreadsheet shows it.

:func:`rvucalc.claims.io.read_claims` reads ``.xlsx`` files here (openpyxl, read-only), not
through ``pandas.read_excel``, which reads an error cell and a formula with no saved value as
an empty cell: an empty ``charge`` is "no charge", so the line would be paid the whole fee
schedule amount with no word said. Here:

- **Error cells** (``#N/A``, ``#REF!``, ``#VALUE!``, ``#DIV/0!``...) are read as their error
  text. Written back, the cell shows the same text; in a column rvucalc prices from, the line
  is refused with ``REPRICE_ERROR_CELL`` (:mod:`rvucalc.claims.cells`).
- **Formulas** are read as the value the spreadsheet saved with them. A workbook written by a
  program and never opened in a spreadsheet has formulas with no saved value (openpyxl), or
  with a placeholder (XlsxWriter saves 0 and asks the spreadsheet to recalculate everything
  when the file is opened: ``fullCalcOnLoad``). Its values are unknown, so the whole file is
  refused with one sentence naming the first such cell and saying to open and save the
  workbook in Excel or LibreOffice.
- **Numbers** are what the spreadsheet shows: Excel keeps 15 significant digits (IEEE doubles,
  displayed to 15 digits; Microsoft, "Excel specifications and limits": number precision 15
  digits). A fraction is rounded to those 15 digits (0.1 + 0.2 is 0.3, not
  0.30000000000000004); a whole number of 16 or more digits, which no 64-bit integer can be
  trusted to hold, becomes the text of its 15 significant digits (a cell Excel shows as
  1.23457E+19 is ``12345678901234600000``, not ``12345678901234567168``). Other whole numbers
  are integers, as ``pandas.read_excel`` reads them.
- Text, booleans and dates as the workbook holds them; an empty cell is an empty text.

The first non-empty row is the header; a column name given twice is refused (as in a CSV);
a column without a name is ``Unnamed: <n>`` (as pandas names it); empty rows are skipped.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .io_base import ClaimsFileError

#: Excel's error values (Microsoft, "Error values in Excel"; openpyxl ``ERROR_CODES`` and the
#: dynamic-array and data-type errors of Excel 365).
ERROR_VALUES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
                "#EXTERNAL!", "#PYTHON!")
#: Significant digits a spreadsheet keeps and shows for a number.
DIGITS = 15
#: Whole numbers from this size on (16 digits or more) are given as text of their 15 digits.
BIG = 10 ** DIGITS


class WorkbookError(ClaimsFileError):
    """A workbook whose cells cannot be read as the spreadsheet shows them."""


def spreadsheet_number(v: int | float) -> int | float | str:
    """A number cell as the spreadsheet shows it (see the module docstring).

    >>> spreadsheet_number(12345678901234567890), spreadsheet_number(0.1 + 0.2), spreadsheet_number(2.0)
    ('12345678901234600000', 0.3, 2)
    """
    f = float(v)
    if not math.isfinite(f):
        return v
    if f.is_integer():
        if abs(f) < BIG:
            return int(f) if not isinstance(v, int) else v
        from decimal import Decimal

        return format(Decimal(format(f, f".{DIGITS}g")), "f")
    return float(format(f, f".{DIGITS}g"))


def _header(values: list[Any]) -> list[str]:
    from .io_base import cell_text

    names = []
    for i, v in enumerate(values):
        text = v if isinstance(v, str) else cell_text(v)
        names.append(text if text else f"Unnamed: {i}")
    return names


def _pick_sheet(wb: Any, path: Path, sheet: str | int) -> Any:
    names = list(wb.sheetnames)
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise WorkbookError(f"{path}: no sheet number {sheet} (sheets, from 0: "
                                f"{', '.join(f'{i} {n!r}' for i, n in enumerate(names))})")
        return wb[names[sheet]]
    if sheet not in names:
        raise WorkbookError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(map(repr, names))})")
    return wb[sheet]


def _cells(ws: Any) -> tuple[list[list[Any]], list[tuple[int, int, str, int]]]:
    """``(rows, formulas)``: every non-empty row's values (see the module docstring), trailing
    empty cells trimmed, and each formula cell as ``(sheet row, column, formula, index in
    rows)`` (row and column 1-based; its value left as None for :func:`_saved_values`)."""
    rows: list[list[Any]] = []
    formulas: list[tuple[int, int, str, int]] = []
    ws.reset_dimensions()  # a declared dimension can be wrong: let openpyxl find the extent
    for r, row in enumerate(ws.iter_rows(), start=1):
        out: list[Any] = []
        for c, cell in enumerate(row, start=1):
            v = cell.value
            t = cell.data_type
            if v is None:
                out.append("")
            elif t == "n":
                out.append(spreadsheet_number(v))
            elif t == "f":
                formulas.append((r, c, str(v), len(rows)))
                out.append(None)
            elif t == "e":
                out.append(str(v))
            else:
                out.append(v)
        while out and out[-1] == "":
            out.pop()
        if out:
            rows.append(out)
    return rows, formulas


def _saved_values(path: Path, sheet: str, wanted: list[tuple[int, int, str, int]]
                  ) -> dict[tuple[int, int], Any]:
    """The values saved with the formula cells *wanted* (a second, value-only reading); a
    formula saved with no value is missing from the result."""
    from openpyxl import load_workbook

    want = {(f[0], f[1]) for f in wanted}
    last = max(f[0] for f in wanted)
    got: dict[tuple[int, int], Any] = {}
    wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()
        for r, row in enumerate(ws.iter_rows(max_row=last), start=1):
            for c, cell in enumerate(row, start=1):
                if (r, c) not in want:
                    continue
                v, t = cell.value, cell.data_type
                if v is None and t == "n":  # no <v>: never calculated
                    continue
                got[(r, c)] = ("" if v is None else str(v) if t == "e"
                               else spreadsheet_number(v) if t == "n" else v)
    finally:
        wb.close()
    return got


def _recalculate_on_load(path: Path) -> bool:
    """Whether the workbook asks to be fully recalculated when opened (``<calcPr
    fullCalcOnLoad="1">`` in ``xl/workbook.xml``, ECMA-376 Part 1 s.18.2.2), as XlsxWriter and
    openpyxl write it. Read from the file itself: openpyxl's parsed ``CalcProperties`` says
    True when the attribute is absent."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            root = ET.fromstring(z.read("xl/workbook.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return False
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "calcPr":
            return el.get("fullCalcOnLoad", "0").strip().lower() in ("1", "true")
    return False


def _refuse_formulas(path: Path, sheet: str, names: list[str], cells: list[tuple[int, int, str, int]],
                     recalc: bool) -> WorkbookError:
    from openpyxl.utils import get_column_letter

    r, c, formula, _ = cells[0]
    where = f"cell {sheet}!{get_column_letter(c)}{r}" + (f" (column {names[c - 1]!r})" if c <= len(names) else "")
    more = f", and {len(cells) - 1:,} more formula cell(s) like it" if len(cells) > 1 else ""
    if recalc:
        why = (f"{where} is the formula ={formula.lstrip('=')}{more}, and the workbook asks to be "
               "recalculated when it is opened: the values saved with its formulas were written by the "
               "program that made it, not calculated")
    else:
        why = (f"{where} is the formula ={formula.lstrip('=')} with no saved value{more}: the workbook was "
               "written by a program and never calculated, so its values are unknown")
    return WorkbookError(f"{path}: {why}. Open it in Excel (or LibreOffice) and save it, then run "
                         "rvucalc again (or give the values themselves, not formulas)")


def read_workbook(path: str | os.PathLike[str], sheet: str | int = 0) -> pd.DataFrame:
    """The claim lines of *sheet* (a name, or a 0-based index) of the workbook *path*.

    Every column is ``object``: each cell as the module docstring says. Raises
    :class:`WorkbookError` (one sentence naming the file) for a missing sheet, a column name
    given twice, or formulas whose values the workbook does not hold.
    """
    from openpyxl import load_workbook

    p = Path(path)
    with warnings.catch_warnings():  # openpyxl's notes on styles/extensions it skips: not the user's data
        warnings.simplefilter("ignore")
        try:
            wb = load_workbook(p, read_only=True, data_only=False, keep_links=False)
        except Exception as exc:  # not a zip, not a workbook (openpyxl's and zipfile's own errors)
            raise WorkbookError(f"{p}: cannot read it as an Excel workbook (.xlsx): "
                                f"{str(exc).strip() or type(exc).__name__}") from exc
        try:
            ws = _pick_sheet(wb, p, sheet)
            title = ws.title
            rows, formulas = _cells(ws)
        finally:
            wb.close()
        if formulas:
            saved = _saved_values(p, title, formulas)
            unknown = [f for f in formulas if (f[0], f[1]) not in saved]
            recalc = _recalculate_on_load(p)
            if unknown or recalc:
                header = rows[0] if formulas[0][3] > 0 else []
                raise _refuse_formulas(p, title, _header(header), unknown or formulas, not unknown)
            for r, c, _, i in formulas:  # each formula's saved value in its place
                rows[i][c - 1] = saved[(r, c)]
            rows = [r for r in rows if any(v != "" for v in r)]
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    names = _header(rows[0] + [""] * (width - len(rows[0])))
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise WorkbookError(f"{p}: the header names a column twice: {', '.join(dup)}")
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=names, dtype=object)
