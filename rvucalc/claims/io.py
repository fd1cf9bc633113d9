"""Claim files in and out: every user cell kept exactly as given, outputs written atomically.

Reading (the first stage of the pipeline, see :mod:`rvucalc.claims.contract`):

- **CSV** is read with pyarrow with *every* column as text: no type inference, no missing-value
  words (``NA``, ``N/A``, ``null``, ``#N/A`` stay those words; an empty cell stays an empty
  string), quoted values may span lines. ``0123456789`` and ``007.50`` come back as written.
  The file must be UTF-8 (a byte-order mark is allowed); one that is not is refused naming the
  line, the column and the encoding it looks like (:mod:`rvucalc.claims.encoding`).
- **Parquet** is read as stored: its columns keep the types the user gave them, and every value
  (:mod:`rvucalc.claims.keep_types`: an ``int32`` with nulls, a decimal, a struct, NaN apart
  from null), and are written back with those types.
- **Excel** (``.xlsx``) cells are read as the spreadsheet shows them (text as text, numbers as
  numbers, dates as dates; pass text columns as text cells to keep leading zeros). A number
  cell in a priced column is read as its text: hcpcs ``71046`` (a number) is code ``71046``.
  An error cell is its error text, a formula its saved value (refused when there is none), a
  number of 16 digits or more the text of its 15 significant digits
  (:mod:`rvucalc.claims.workbook_in`).

rvucalc parses the columns it prices from (hcpcs, modifiers, units, dates, place, charge) into
new arrays (:mod:`rvucalc.claims.normalise`); the user's columns are never rewritten.

Writing: CSV with pyarrow's CSV writer (text fields are quoted, so each cell reads back as the
same text), Parquet with pyarrow (rvucalc's text outputs dictionary-encoded), Excel through
:func:`rvucalc.export.to_excel` (text cells typed as text, numbers as numbers). A column that
mixes kinds of values (a workbook column with the text ``'99213'`` in one cell and the number
71046 in the next, or a memo column of text and numbers) has no single CSV or Parquet type: it
is written as text, each cell as a spreadsheet shows it (:func:`cell_text`: 71046 -> ``71046``,
1.0 -> ``1``, a date -> ``2026-08-03``); a column of one kind keeps its type. In a CSV, dates
and times show as a spreadsheet shows them (:func:`csv_table`: ``2026-08-03``, not
``2026-08-03 00:00:00.000000``). A CSV is data: rvucalc does not
rewrite cells that a spreadsheet would run as formulas (``=1+1``, ``-123``); open it in a
spreadsheet with care, or ask for ``.xlsx``, where such cells are written as text. Every
output goes through :func:`rvucalc.atomic.atomic_output`.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..atomic import atomic_output
from . import keep_types
from .contract import LINE
from .io_base import ClaimsFileError, _kind, cell_text  # noqa: F401 (also importable from here)

#: Rows per batch when a CSV is read in batches (about 8-16 MiB of text).
BLOCK_BYTES = 16 << 20


def csv_options(path: str | os.PathLike[str], block_bytes: int = BLOCK_BYTES) -> tuple[
        pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """pyarrow CSV options that read every column of *path* as text, exactly as written."""
    p = Path(path)
    from .encoding import wide_file

    if (wide := wide_file(p)) is not None:  # UTF-16/32: pyarrow would read one column of noise
        raise ClaimsFileError(wide)
    ro = pacsv.ReadOptions(block_size=block_bytes)
    po = pacsv.ParseOptions(newlines_in_values=True)
    try:
        with pacsv.open_csv(p, read_options=ro, parse_options=po) as r:
            names = r.schema.names
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:  # the header: not UTF-8, or not CSV
        raise _csv_error(p, exc) from exc
    except OSError as exc:
        raise ClaimsFileError(f"{p}: cannot read it as CSV ({_plain(exc)})") from exc
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ClaimsFileError(f"{p}: the header names a column twice: {', '.join(dup)}")
    co = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[],
                              strings_can_be_null=False, quoted_strings_can_be_null=False)
    return ro, po, co


def _plain(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_error(p: Path, exc: BaseException, near: int | None = None) -> ClaimsFileError:
    """A CSV that pyarrow could not read, named by the line of its first row with another number
    of cells than the header (found again with the standard library's csv reader, only now that
    reading failed, a record at a time), or by pyarrow's words when no such row is found."""
    from .encoding import not_utf8, wide_file  # a file that is not UTF-8: where, and what it is

    enc = not_utf8(p) if "utf8" in str(exc).lower().replace("-", "") else wide_file(p)
    if enc is not None:
        return ClaimsFileError(enc)
    where = _ragged_row(p)
    if where is not None:
        line, want, got = where
        return ClaimsFileError(f"{p}: line {line:,} has {got} cell(s), the header has {want} "
                               f"(a stray or missing comma, or an unclosed quote?)")
    at = f" near line {near:,}" if near is not None else ""
    return ClaimsFileError(f"{p}: cannot read it as CSV{at} ({_plain(exc)})")


def _ragged_row(p: Path) -> tuple[int, int, int] | None:
    """``(line, header cells, its cells)`` of the first record whose number of cells differs
    from the header's (line numbers of the file, the header being line 1), or None."""
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = csv.reader(f)
            want = len(next(rows, []))
            start = rows.line_num + 1
            for row in rows:
                if len(row) != want and any(row):  # a blank line is not a row (as pyarrow skips it)
                    return start, want, len(row)
                start = rows.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def read_claims(path: str | os.PathLike[str], *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a claims file (CSV, Parquet or Excel) into a DataFrame plus the :data:`LINE` column.

    CSV cells are all text, exactly as written (see the module docstring).
    """
    p = Path(path)
    if not p.is_file():
        raise ClaimsFileError(f"{p}: no such file")
    from ..datasets import check_not_output

    check_not_output(p)  # a part of a dataset rvucalc wrote is not claim lines
    kind = _kind(p)
    try:
        if kind == "parquet":  # every value and type as the file holds it (rvucalc.claims.keep_types)
            table = pq.read_table(p)
            df = keep_types.remember(keep_types.to_pandas(table), table.schema)
        elif kind == "xlsx":
            from .workbook_in import read_workbook  # error cells, formulas, 15 digits

            df = read_workbook(p, int(sheet) if str(sheet).isdigit() else sheet)
        else:
            ro, po, co = csv_options(p)
            df = pacsv.read_csv(p, read_options=ro, parse_options=po, convert_options=co).to_pandas()
    except ClaimsFileError:
        raise
    except pa.ArrowInvalid as exc:
        if kind == "csv":
            raise _csv_error(p, exc) from exc
        raise ClaimsFileError(f"{p}: cannot read it as {kind} ({_plain(exc)})") from exc
    except (OSError, ValueError) as exc:
        raise ClaimsFileError(f"{p}: cannot read it as {kind} ({_plain(exc)})") from exc
    if LINE in df.columns:
        raise ClaimsFileError(f"{p}: the column name {LINE!r} is reserved for rvucalc's line number")
    df[LINE] = pd.RangeIndex(len(df)).to_numpy(dtype="int64")
    return df


def iter_claims(path: str | os.PathLike[str], *, block_bytes: int = BLOCK_BYTES) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet claims file in batches of whole lines, each with :data:`LINE`.

    Memory stays bounded by the batch size whatever the file's length. Batches follow the file's
    order; a claim's lines may fall in different batches (see :mod:`rvucalc.claims.contract`).
    """
    p = Path(path)
    if not p.is_file():
        raise ClaimsFileError(f"{p}: no such file")
    from ..datasets import check_not_output

    check_not_output(p)
    start = 0
    try:
        if _kind(p) == "parquet":
            batches: Iterator[pa.RecordBatch] = pq.ParquetFile(p).iter_batches(batch_size=256_000)
        elif _kind(p) == "csv":
            ro, po, co = csv_options(p, block_bytes)
            batches = iter(pacsv.open_csv(p, read_options=ro, parse_options=po, convert_options=co))
        else:
            raise ClaimsFileError(f"{p}: stream a CSV or Parquet file; read Excel with read_claims")
        for b in batches:
            df = keep_types.remember(keep_types.to_pandas(pa.Table.from_batches([b])), b.schema)
            df[LINE] = pd.RangeIndex(start, start + len(df)).to_numpy(dtype="int64")
            start += len(df)
            yield df
    except pa.ArrowInvalid as exc:
        if _kind(p) == "csv":
            raise _csv_error(p, exc, start + 2) from exc
        raise ClaimsFileError(f"{p}: cannot read it near row {start + 1:,} ({_plain(exc)})") from exc
    except OSError as exc:
        raise ClaimsFileError(f"{p}: cannot read it near line {start + 2} ({_plain(exc)})") from exc


def _arrow_column(col: pd.Series) -> pd.Series:
    """*col* as it is when Arrow can type it, else (a column mixing kinds of values) as text."""
    if col.dtype != object:
        return col
    try:
        pa.array(col, from_pandas=True)
        return col
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
        texts = np.array([cell_text(v) for v in col.to_numpy()], dtype=object)  # Arrow: string
        return pd.Series(texts, index=col.index, dtype=object, name=col.name)


def to_arrow(df: pd.DataFrame, *, keep_line: bool = False) -> pa.Table:
    """The table to write: user columns as they are, rvucalc's categoricals dictionary-encoded.

    A column that mixes kinds of values (text and numbers, e.g. from a workbook) has no Arrow
    type: it is written as text, each cell as :func:`cell_text` gives it (the only cells changed,
    and only in that column's type; the column keeps its name and place).
    """
    cols = [c for c in df.columns if keep_line or c != LINE]
    schema = keep_types.input_schema(df)  # a Parquet input's types, given back to its columns
    frame = df[cols]
    frame.attrs = {}  # rvucalc's notes on the frame are not data: pyarrow would try to store them
    try:
        return keep_types.restore_types(pa.Table.from_pandas(frame, preserve_index=False), schema)
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):  # a mixed column: the rare path
        pass
    frame = pd.DataFrame({c: _arrow_column(frame[c]) for c in cols}, index=df.index)
    return keep_types.restore_types(pa.Table.from_pandas(frame, preserve_index=False), schema)


def _csv_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_string_view(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t) \
            or pa.types.is_binary_view(t):  # text; bytes only when they are UTF-8 text
        return pa.string()
    if (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_time(t):
        return pa.string()
    return t


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """The types :func:`csv_table` gives *schema*'s columns (the CSV writer's schema)."""
    return pa.schema([f.with_type(_csv_type(f.type)) for f in schema], metadata=schema.metadata)


def _csv_column(c: pa.ChunkedArray) -> pa.ChunkedArray:
    t = c.type
    if pa.types.is_dictionary(t):
        return c.cast(t.value_type)
    if pa.types.is_timestamp(t) and t.tz is None:
        day = pc.equal(c, pc.floor_temporal(c, unit="day"))
        if pc.all(day).as_py() is not False:  # whole days (or none): Arrow's ISO date text, fast
            return c.cast(pa.date32(), safe=False).cast(pa.string())
        whole = pc.equal(c, pc.floor_temporal(c, unit="second"))
        return pc.if_else(day, pc.strftime(c, format="%Y-%m-%d"), pc.if_else(
            whole, pc.strftime(c.cast(pa.timestamp("s"), safe=False), format="%Y-%m-%d %H:%M:%S"),
            pc.strftime(c, format="%Y-%m-%d %H:%M:%S")))
    if pa.types.is_time(t):
        sec = c.cast(pa.time32("s"), safe=False)
        return pc.if_else(pc.equal(sec.cast(t), c), sec.cast(pa.string()), c.cast(pa.string()))
    if _csv_type(t) != t:
        return c.cast(_csv_type(t))
    return c


def _check_csv_types(schema: pa.Schema) -> None:
    """Refuse a column a CSV cannot hold: lists, structs, maps (checked before pricing by the CLI)."""
    for f in schema:
        if keep_types.is_nested(f.type.value_type if pa.types.is_dictionary(f.type) else f.type):
            raise ClaimsFileError(f"a CSV cannot hold the column {f.name!r} ({f.type}: a list, struct or map in "
                                  "each cell); write Parquet (.parquet), or drop or flatten the column first")


def _csv_convert(table: pa.Table, i: int) -> pa.ChunkedArray:
    try:
        return _csv_column(table.column(i))
    except pa.ArrowInvalid as exc:  # bytes that are not UTF-8 text
        raise ClaimsFileError(f"a CSV cannot hold the column {table.column_names[i]!r} "
                              f"({table.schema.field(i).type}: {_plain(exc)}); write Parquet "
                              "(.parquet)") from exc


def csv_table(table: pa.Table) -> pa.Table:
    """*table* as its CSV shows it: dictionary columns decoded to text; dates and times (a
    workbook's date cells, a Parquet timestamp) as a spreadsheet shows them, as
    :func:`cell_text` does: ``2026-08-03`` at midnight, else ``2026-08-03 10:15:00`` (with the
    fraction of a second when there is one); a time ``14:30:00``. Other columns as they are."""
    _check_csv_types(table.schema)
    schema = csv_schema(table.schema)
    if schema.equals(table.schema):
        return table
    return pa.table([_csv_convert(table, i) for i in range(table.num_columns)], schema=schema)


#: Rows one thread turns into CSV text at a time in :func:`write_csv_table` (about 12 MB of
#: text for a priced line); a table under two slices is written in one piece, on one thread.
CSV_SLICE_ROWS = 1 << 16
#: Most threads :func:`write_csv_table` formats slices on (fewer when the machine has fewer cores).
CSV_THREADS = 4


def _csv_threads() -> int:
    return min(CSV_THREADS, pa.cpu_count())


def _sliceable(t: pa.DataType) -> bool:
    """Whether a column of type *t* gets the same CSV text converted slice by slice as whole:
    columns written as they are, and dictionaries (each cell decoded by itself, never an error)."""
    return _csv_type(t) == t or pa.types.is_dictionary(t)


def _whole_columns(table: pa.Table) -> pa.Table:
    """*table* with the columns that must be converted whole converted, in column order as
    :func:`csv_table` does them (so the same first error is raised): a timestamp column's
    whole-day rule is one decision for the column (``2026-08-03`` for every cell, or the mixed
    rule), and bytes are refused when they are not UTF-8 text, before any byte is written."""
    for i, f in enumerate(table.schema):
        if not _sliceable(f.type):
            table = table.set_column(i, f.with_type(_csv_type(f.type)), _csv_convert(table, i))
    return table


@contextlib.contextmanager
def _binary_output(sink: str | os.PathLike[str] | pa.NativeFile | BinaryIO) -> Iterator[Any]:
    """*sink* to write bytes to: a path opened (once) and closed here, a file as given."""
    if isinstance(sink, (str, os.PathLike)):
        with pa.OSFile(os.fspath(sink), "wb") as f:
            yield f
    else:
        yield sink


def write_csv_table(table: pa.Table, sink: str | os.PathLike[str] | pa.NativeFile | BinaryIO, *,
                    header: bool = True) -> None:
    """Write *table* as CSV with pyarrow, as :func:`csv_table` shows it.

    A table of two slices (:data:`CSV_SLICE_ROWS`) or more is formatted on threads (pyarrow
    releases the GIL), slice by slice, and the slices written in order: the same bytes as one
    :func:`pyarrow.csv.write_csv` of the whole table (header once); a million repriced lines
    (182 MB) took 1.6 s instead of 2.6 s on two cores. At most one slice per thread and one
    more are held as text at a time. A column the CSV cannot hold is refused before any byte
    is written.
    """
    opts = pacsv.WriteOptions(include_header=header, quoting_style="needed")
    rows, threads = CSV_SLICE_ROWS, _csv_threads()
    if threads < 2 or table.num_rows < 2 * rows or table.num_columns == 0:
        pacsv.write_csv(csv_table(table), sink, write_options=opts)
        return
    _check_csv_types(table.schema)
    table = _whole_columns(table)
    rest = pacsv.WriteOptions(include_header=False, quoting_style="needed")

    def text(start: int) -> pa.Buffer:
        buf = pa.BufferOutputStream()
        pacsv.write_csv(csv_table(table.slice(start, rows)), buf, write_options=opts if start == 0 else rest)
        return buf.getvalue()

    with _binary_output(sink) as out, ThreadPoolExecutor(threads, thread_name_prefix="rvucalc-csv") as pool:
        pending: deque[Future[pa.Buffer]] = deque()
        try:
            for start in range(0, table.num_rows, rows):
                pending.append(pool.submit(text, start))
                if len(pending) > threads:  # bounded: the oldest slice written before another is begun
                    out.write(pending.popleft().result())
            while pending:
                out.write(pending.popleft().result())
        finally:
            for f in pending:  # an error: the slices not begun are not formatted
                f.cancel()


def write_claims(df: pd.DataFrame, path: str | os.PathLike[str], *, provenance: object = None,
                 title: str | None = None) -> Path:
    """Write priced claim lines to *path* (.csv, .parquet or .xlsx), atomically."""
    p = Path(path)
    kind = _kind(p)
    from .fits import check_frame

    check_frame(df, [("", str(p))])  # a cell or column the format cannot hold: refused, never cut
    if kind == "xlsx":
        from ..export import write_table

        out = df.drop(columns=[LINE]) if LINE in df.columns else df
        return write_table(out, p, provenance=provenance, title=title)
    table = to_arrow(df)
    with atomic_output(p) as tmp:
        if kind == "parquet":
            pq.write_table(table, tmp)
        else:
            write_csv_table(table, tmp)
    return p
