"""Writing a workbook plan (:mod:`rvucalc.export.layout`) to an ``.xlsx`` file with XlsxWriter.

* Every text value is written with ``write_string``: a text cell, never a
  formula, whatever it starts with. Text that a spreadsheet would run as a
  formula (``=``, ``+``, ``-``, ``@``, tab, CR) also gets Excel's quote
  prefix, so it stays text when a person edits the cell. Control characters
  are stored as ``_xHHHH_`` escapes, so the text reads back exactly.
* Numbers are written as numbers, booleans as booleans, dates as dates; a
  missing value (NaN, NA, None, NaT) is an empty cell.
* Each column's type is decided once from its dtype, so a column of text
  stays text and a column of numbers stays numbers (an ``object`` column
  holding both keeps each value's own type).
* The file is written to a temporary file in the target folder and renamed
  into place (:func:`rvucalc.atomic.atomic_output`); a failed or interrupted
  write leaves no partial file under the target name.
* Large workbooks (over :data:`CONSTANT_MEMORY_CELLS` cells) are streamed row
  by row (XlsxWriter's constant-memory mode); a progress bar is shown on
  standard error for workbooks over :data:`PROGRESS_CELLS` cells when it is a
  terminal (or when asked).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_output
from .formats import (
    CF_FORMAT,
    CURRENCY_FORMAT,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FORMULA_START,
)
from .layout import Chart, Plan, Row, Sheet, Table

#: Above this many table cells the workbook is streamed (constant memory, inline strings).
CONSTANT_MEMORY_CELLS = 2_000_000
#: Above this many table cells a progress bar is shown (a few seconds of writing).
PROGRESS_CELLS = 1_500_000

_HEADER = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "valign": "top"}
_STYLES: dict[str, dict[str, Any]] = {
    "": {}, "title": {"bold": True, "font_size": 14}, "bold": {"bold": True},
    "header": _HEADER, "note": {"italic": True, "font_color": "#595959"},
    "above": {"bold": True, "font_color": "#1F4E78", "text_wrap": True, "valign": "bottom", "font_size": 9},
}
_SERIES_COLORS = ("#1F4E78", "#C55A11", "#548235", "#7030A0", "#BF9000", "#2E75B6", "#A50021", "#7F7F7F")


class _Formats:
    """XlsxWriter formats, one per (style, number format, quote prefix), made on first use."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[tuple[str, str | None, bool], Any] = {}

    def get(self, style: str = "", num: str | None = None, quote: bool = False) -> Any:
        key = (style, num, quote)
        f = self.cache.get(key)
        if f is None and (style or num or quote):
            props = dict(_STYLES.get(style, {}))
            if num:
                props["num_format"] = num
            if quote:
                props["quote_prefix"] = True
            f = self.cache[key] = self.wb.add_format(props)
        return f


def _values(s: pd.Series) -> tuple[str, list[Any]]:
    """(kind, values) of a column: kind is number, bool, datetime or mixed; missing -> None."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cats = s.cat.categories
        if pd.api.types.is_numeric_dtype(cats.dtype) and not pd.api.types.is_bool_dtype(cats.dtype):
            s = s.astype(cats.dtype if not cats.hasnans else float)
            dt = s.dtype
        else:
            codes = s.cat.codes.to_numpy()
            lut = [(x.item() if isinstance(x, np.generic) else x) for x in cats.tolist()] + [None]
            kind = "text" if all(type(x) is str for x in lut[:-1]) else "mixed"
            if kind == "text":
                lut = [x if x else None for x in lut]
            return kind, [lut[c] for c in codes]
    if pd.api.types.is_bool_dtype(dt):
        if not s.hasnans:
            return "bool", s.to_numpy(dtype=bool).tolist()
        return "mixed", [None if x is pd.NA else bool(x) for x in s.astype(object)]
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        a = s.to_numpy(dtype=float, na_value=np.nan)
        vals: list[Any] = a.tolist()
        if np.isnan(a).any() or np.isinf(a).any():
            vals = [None if (x != x or x in (math.inf, -math.inf)) else x for x in vals]
        return "number", vals
    if pd.api.types.is_datetime64_any_dtype(dt):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return "datetime", [None if pd.isna(x) else x.to_pydatetime() for x in s]
    out = s.astype(object).tolist()
    if pd.api.types.is_string_dtype(dt) and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        # text only: an empty text is an empty cell
        return "text", [x if (type(x) is str and x) else None for x in out]
    return "mixed", [None if (x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and x != x))
                     else (x.item() if isinstance(x, np.generic) else x) for x in out]


def _width(header: Any, kind: str, vals: list[Any], fmt: str | None) -> float:
    n = len(str(header))
    if kind == "number":
        m = 10 if fmt in (CURRENCY_FORMAT, CF_FORMAT) else 7
        nums = [abs(v) for v in vals[:5000] if v is not None]
        if nums:
            m = max(m, len(f"{max(nums):,.2f}") + (3 if fmt == CURRENCY_FORMAT else 1))
        n = max(min(n, 24), m)
    elif kind == "datetime":
        n = max(n, 11)
    else:
        sample = [len(str(v)) for v in vals[:2000] if v is not None]
        if sample:
            n = max(n, max(sample))
    return float(min(max(n + 2, 8), 60))


class _SheetWriter:
    def __init__(self, wb: Any, fmts: _Formats, tick: Callable[[int], None]) -> None:
        self.wb = wb
        self.f = fmts
        self.tick = tick

    def text(self, ws: Any, r: int, c: int, v: str, style: str = "", num: str | None = None) -> None:
        ws.write_string(r, c, v, self.f.get(style, num, v.startswith(FORMULA_START)))

    def value(self, ws: Any, r: int, c: int, v: Any, style: str = "", num: str | None = None) -> None:
        if v is None:
            if style:
                ws.write_blank(r, c, None, self.f.get(style))
            return
        if isinstance(v, str):
            if v:
                self.text(ws, r, c, v, style, num)
            elif style:
                ws.write_blank(r, c, None, self.f.get(style))
        elif isinstance(v, bool | np.bool_):
            ws.write_boolean(r, c, bool(v), self.f.get(style, num))
        elif isinstance(v, int | float | np.integer | np.floating):
            x = float(v)
            if math.isnan(x) or math.isinf(x):
                if style:
                    ws.write_blank(r, c, None, self.f.get(style))
                return
            ws.write_number(r, c, x if isinstance(v, float | np.floating) else int(v), self.f.get(style, num))
        elif isinstance(v, _dt.datetime):
            ws.write_datetime(r, c, v.replace(tzinfo=None), self.f.get(style, num or DATETIME_FORMAT))
        elif isinstance(v, _dt.date):
            ws.write_datetime(r, c, v, self.f.get(style, num or DATE_FORMAT))
        elif isinstance(v, pd.Timestamp):
            ws.write_datetime(r, c, v.to_pydatetime().replace(tzinfo=None), self.f.get(style, num or DATETIME_FORMAT))
        else:
            self.text(ws, r, c, str(v), style, num)

    def row(self, ws: Any, r: int, row: Row) -> None:
        fm = list(row.formats or [])
        for c, v in enumerate(row.values):
            self.value(ws, r, c, v, row.style, fm[c] if c < len(fm) else None)

    def table(self, ws: Any, r: int, t: Table) -> tuple[int, int, list[float]]:
        """Write *t* at row *r*; returns (header row, last data row, column widths)."""
        df = t.frame
        if df.attrs:  # pandas deep-copies attrs into every column taken: drop them first
            df = df.copy(deep=False)
            df.attrs = {}
        cols = list(df.columns)
        if t.header_above is not None:
            for c, v in enumerate(t.header_above):
                self.value(ws, r, c, v, "above")
            ws.set_row(r, 64)
            r += 1
        header = r
        for c, name in enumerate(cols):
            self.value(ws, r, c, str(name), "header")
        columns: list[tuple[Callable[..., Any], list[Any], Any]] = []
        widths = []
        for c, name in enumerate(cols):
            kind, vals = _values(df.iloc[:, c])
            num = t.formats.get(name)
            widths.append(_width(name, kind, vals, num))
            if kind == "number":
                fn = getattr(ws, "_write_number", ws.write_number)  # without the A1-notation wrapper
                fmt = self.f.get("", num)
            elif kind == "text" and not any(v is not None and v.startswith(FORMULA_START) for v in vals):
                fn = getattr(ws, "_write_string", ws.write_string)
                fmt = self.f.get("", num)
            elif kind == "bool":
                fn = ws.write_boolean
                fmt = self.f.get("", num)
            elif kind == "datetime":
                fn = ws.write_datetime
                fmt = self.f.get("", num or (DATE_FORMAT if all(
                    v is None or (v.hour == v.minute == v.second == 0) for v in vals[:1000]) else DATETIME_FORMAT))
            else:
                fn = self._mixed(ws, num)
                fmt = None
            columns.append((fn, vals, fmt))
        n = len(df)
        step = 20_000
        for i0 in range(0, n, step):
            i1 = min(n, i0 + step)
            for i in range(i0, i1):
                rr = r + 1 + i
                for c, (fn, vals, fmt) in enumerate(columns):
                    v = vals[i]
                    if v is not None and fn(rr, c, v, fmt) == -2:  # XlsxWriter cut a text to 32,767
                        raise _too_long(ws, cols[c], rr, v)
            self.tick((i1 - i0) * max(len(cols), 1))
        return header, r + n, widths

    def _mixed(self, ws: Any, num: str | None) -> Callable[..., Any]:
        plain = self.f.get("", num)
        quoted = self.f.get("", num, True)
        write_string = getattr(ws, "_write_string", ws.write_string)
        value = self.value

        def write(r: int, c: int, v: Any, _fmt: Any) -> int:
            if type(v) is str:
                if v:  # an empty text is an empty cell
                    return write_string(r, c, v, quoted if v.startswith(FORMULA_START) else plain)
            else:
                value(ws, r, c, v, "", num)
            return 0

        return write

    def chart(self, sheet: Sheet, ws: Any, ch: Chart, where: Mapping[str, tuple[int, int, Table]],
              anchor: tuple[int, int], k: int) -> int:
        """Insert *ch* at *anchor*; returns its height in rows."""
        from xlsxwriter.utility import xl_rowcol_to_cell

        header, last, t = where[ch.table]
        cols = list(t.frame.columns)
        first = header + 1
        if ch.rows is not None:
            last = min(last, header + ch.rows)
        ncat = last - header
        q = ws.name.replace("'", "''")

        def ref(r0: int, c0: int, r1: int | None = None) -> str:
            a = xl_rowcol_to_cell(r0, c0, row_abs=True, col_abs=True)
            if r1 is None:
                return f"='{q}'!{a}"
            return f"='{q}'!{a}:{xl_rowcol_to_cell(r1, c0, row_abs=True, col_abs=True)}"

        kind = "bar" if ch.horizontal else "column"
        c = self.wb.add_chart({"type": kind})
        cat_col = cols.index(ch.categories)
        for i, v in enumerate(ch.values):
            j = cols.index(v)
            name = ch.series_names[i] if ch.series_names else ref(header, j)
            c.add_series({"name": name, "categories": ref(first, cat_col, last),
                          "values": ref(first, j, last), "gap": 60,
                          "fill": {"color": _SERIES_COLORS[i % len(_SERIES_COLORS)]}, "border": {"none": True}})
        c.set_title({"name": ch.title, "name_font": {"size": 11, "bold": True}})
        value_axis = {"name": ch.value_title, "num_format": ch.number_format, "name_font": {"size": 9, "bold": False},
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
        if ch.major_unit is not None:
            value_axis.update(major_unit=ch.major_unit, min=0)
        cat_axis: dict[str, Any] = {"name": ch.category_title, "name_font": {"size": 9, "bold": False},
                                    "num_font": {"size": 8}}
        if ch.horizontal:
            cat_axis["reverse"] = True  # first table row at the top, like the table
            cat_axis["crossing"] = "max"  # and the amounts axis at the bottom
            c.set_x_axis(value_axis)
            c.set_y_axis(cat_axis)
        else:
            c.set_x_axis(cat_axis)
            c.set_y_axis(value_axis)
        if len(ch.values) > 1:
            c.set_legend({"position": "bottom"})
        else:
            c.set_legend({"none": True})
        nser = max(1, len(ch.values))
        if ch.horizontal:
            width, height = 640, int(min(max(300, 16 * ncat * nser ** 0.5 + 110), 3000))
        else:
            width, height = int(min(max(520, 36 * ncat * nser ** 0.5 + 160), 1400)), 340
        c.set_size({"width": width, "height": height})
        ws.insert_chart(anchor[0], anchor[1], c, {"x_offset": 8, "y_offset": 4, "object_position": 1})
        return math.ceil(height / 20) + 2


class _CellTooLong(Exception):
    """A text cell over Excel's limit (said as an OutputError naming the file by :func:`write`)."""


def _too_long(ws: Any, name: Any, row: int, v: str) -> Exception:
    """A text longer than an Excel cell holds (XlsxWriter would cut it, without a word)."""
    n = len(v.encode("utf-16-le")) // 2
    return _CellTooLong(f"sheet {ws.name!r}, column {name!r}, row {row + 1:,}: the text holds {n:,} characters, "
                       "more than the 32,767 an Excel cell holds; rvucalc does not cut a cell: write CSV "
                       "or Parquet, which hold any length")


def write(plan: Plan, path: str | os.PathLike[str], *, progress: bool | None = None) -> Path:
    """Write *plan* to *path* (atomically); returns the path."""
    p = Path(path)
    try:
        with atomic_output(p) as tmp:
            _write(plan, tmp, progress)
    except _CellTooLong as exc:
        from ..atomic import OutputError

        raise OutputError(f"cannot write {p}: {exc}") from None
    return p


def _write(plan: Plan, tmp: Path, progress: bool | None) -> None:
    import xlsxwriter
    from tqdm import tqdm

    cells = plan.cells
    if progress is None:
        progress = cells > PROGRESS_CELLS and sys.stderr.isatty()
    bar = tqdm(total=cells, desc="workbook", unit="cell", unit_scale=True, disable=not progress,
               file=sys.stderr, leave=False)
    wb = xlsxwriter.Workbook(str(tmp), {
        "constant_memory": cells > CONSTANT_MEMORY_CELLS, "strings_to_formulas": False,
        "strings_to_urls": False, "strings_to_numbers": False, "use_zip64": cells > CONSTANT_MEMORY_CELLS,
        "default_date_format": DATE_FORMAT,
    })
    try:
        wb.set_properties(plan.properties)
        fmts = _Formats(wb)
        w = _SheetWriter(wb, fmts, bar.update)
        for sheet in plan.sheets:
            _sheet(w, wb.add_worksheet(sheet.name), sheet)
        wb.close()
    except BaseException:
        with contextlib.suppress(Exception):
            wb.fileclosed = True  # nothing more to write; the caller removes the temporary file
        raise
    finally:
        bar.close()


def _sheet(w: _SheetWriter, ws: Any, sheet: Sheet) -> None:
    # printing: landscape, one page wide, header row repeated on each page
    ws.set_landscape()
    ws.set_paper(1)
    ncols = max((len(b.frame.columns) for b in sheet.blocks if isinstance(b, Table)), default=0)
    if ncols <= 24:  # wider sheets print across pages rather than in unreadably small type
        ws.fit_to_pages(1, 0)
    r = 0
    where: dict[str, tuple[int, int, Table]] = {}
    widths: dict[int, float] = {}
    frozen = False
    filtered = False
    for b in sheet.blocks:
        if isinstance(b, Row):
            w.row(ws, r, b)
            if b.style in ("", "header"):  # titles, notes and headings may run into the next cells
                for c, v in enumerate(b.values):
                    if isinstance(v, str):
                        widths[c] = max(widths.get(c, 0.0), float(min(len(v) + 2, 60)))
            r += 1
            continue
        header, last, ws_widths = w.table(ws, r, b)
        where[b.key] = (header, last, b)
        for c, x in enumerate(ws_widths):
            widths[c] = max(widths.get(c, 0.0), x)
        if b.autofilter and not filtered and len(b.frame.columns):
            ws.autofilter(header, 0, max(last, header), len(b.frame.columns) - 1)
            filtered = True
        if sheet.freeze == b.key and not frozen:
            ws.freeze_panes(header + 1, b.freeze_cols)
            ws.repeat_rows(header)
            frozen = True
        r = last + 2
    fixed = dict(sheet.widths or {})
    for c in sorted(set(widths) | set(fixed)):
        ws.set_column(c, c, fixed.get(c, widths.get(c, 8.43)))
    if sheet.charts and sheet.charts[0].table in where:
        header, _, t = where[sheet.charts[0].table]
        row, col = header, len(t.frame.columns) + 1
        for k, ch in enumerate(sheet.charts):
            if ch.table in where:
                row += w.chart(sheet, ws, ch, where, (row, col), k)


__all__ = ["CONSTANT_MEMORY_CELLS", "PROGRESS_CELLS", "write"]
