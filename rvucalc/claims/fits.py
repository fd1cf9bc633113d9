"""Whether the user's columns fit the output format asked for, checked before any pricing.

A format that cannot hold a column is refused in one sentence naming the column and what to
do, before the lines are priced (not after, with a traceback or a cut cell):

- **CSV** holds text and numbers: a column of lists, structs or maps (a Parquet input's
  ``list<string>``) has no CSV form, nor bytes that are not UTF-8 text (``binary``). Refused,
  naming the column; Parquet holds them.
- **Excel** holds at most 32,767 characters in a cell (Microsoft, "Excel specifications and
  limits"; counted in UTF-16 units, as Excel and XlsxWriter count them). XlsxWriter cuts a
  longer text without a word, so a longer cell is refused, naming its column and line; CSV and
  Parquet hold any length. Lists, structs, maps and bytes have no cell form either.

:func:`check_schema` needs only the input's schema (read from a Parquet file's footer), so it
runs for every engine before any line is read; :func:`check_frame` checks the cells of lines
already read (the in-memory engine, and :func:`rvucalc.claims.io.write_claims`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .contract import LINE
from .io_base import ClaimsFileError, _kind
from .keep_types import input_schema, is_nested

#: Most characters (UTF-16 units) Excel holds in one cell.
EXCEL_CELL_CHARS = 32_767


def _format(target: str) -> str | None:
    """``"csv"``, ``"xlsx"`` or None (Parquet holds every column) for an output path."""
    kind = _kind(Path(target))
    return None if kind == "parquet" else kind


def _what(t: pa.DataType) -> str:
    if is_nested(t):
        return f"{t}: a list, struct or map in each cell"
    return f"{t}: bytes"


def _unfit(t: pa.DataType, fmt: str) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if is_nested(t):
        return True
    binary = pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) \
        or pa.types.is_fixed_size_binary(t)
    return binary and fmt == "xlsx"  # CSV: bytes that are UTF-8 text are written as that text


def _named(opt: str, target: str) -> str:
    return f"{opt} {target}" if opt else str(target)


def _refuse(opt: str, target: str, name: object, what: str, fmt: str) -> ClaimsFileError:
    if target == "-":
        opt, target = "CSV to", "standard output"
    holder = "a CSV" if fmt == "csv" else "an Excel workbook"
    other = "CSV or Parquet (.csv, .parquet)" if fmt == "xlsx" and "bytes" in what else "Parquet (.parquet)"
    return ClaimsFileError(f"cannot write {_named(opt, target)}: {holder} cannot hold the column {name!r} "
                           f"({what}); write {other}, or drop or flatten the column first")


def input_arrow_schema(src: str | os.PathLike[str]) -> pa.Schema | None:
    """The Arrow schema of a Parquet claims file (its footer only), else None (CSV cells are
    text; a workbook's cells are text, numbers and dates)."""
    p = Path(src)
    if "://" in str(src) or not p.is_file() or _kind(p) != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(p)
    except (pa.ArrowInvalid, OSError):
        return None  # the reader says what is wrong with it


def check_schema(schema: pa.Schema | None, targets: Iterable[tuple[str, str]]) -> None:
    """Refuse an output (``(option, path)``; a path ``"-"`` is CSV on standard output) whose
    format cannot hold a column of *schema*."""
    if schema is None:
        return
    for opt, target in targets:
        fmt = "csv" if target == "-" else _format(target)
        if fmt is None:
            continue
        for f in schema:
            if _unfit(f.type, fmt):
                raise _refuse(opt, target, f.name, _what(f.type), fmt)


def check_source(src: str | os.PathLike[str], targets: Iterable[tuple[str, str]]) -> None:
    """:func:`check_schema` for the claims file *src* (nothing to check unless it is Parquet)."""
    check_schema(input_arrow_schema(src), targets)


def _utf16_units(values: Iterable[str]) -> np.ndarray:
    return np.array([len(v.encode("utf-16-le")) // 2 for v in values], dtype=np.int64)


def long_cells(col: pd.Series, limit: int = EXCEL_CELL_CHARS) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, lengths)`` of the text cells of *col* longer than *limit* UTF-16 units."""
    arr = None
    if isinstance(col.dtype, (pd.StringDtype, pd.ArrowDtype)):
        try:
            arr = pa.chunked_array(pa.array(col.array))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = None
    if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        # UTF-8 bytes >= UTF-16 units: only cells of more bytes than the limit can be too long
        big = pc.fill_null(pc.greater(pc.binary_length(arr), limit), False).to_numpy(zero_copy_only=False)
        pos = np.flatnonzero(big)
        vals = arr.take(pa.array(pos)).to_pylist() if len(pos) else []
    elif col.dtype == object:
        lens = col.map(lambda v: len(v) if type(v) is str else 0).to_numpy(dtype=np.int64)
        pos = np.flatnonzero(lens > limit // 2)  # a code point is at most two UTF-16 units
        vals = col.iloc[pos].tolist()
    else:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    units = _utf16_units(vals)
    keep = units > limit
    return pos[keep], units[keep]


def check_frame(df: pd.DataFrame, targets: Iterable[tuple[str, str]],
                columns: Iterable[str] | None = None) -> None:
    """Refuse an output that cannot hold a cell of *df* (see the module docstring): an ``.xlsx``
    with a text longer than Excel's cell, naming the column and the line (1-based, as the
    file's data lines are counted; :data:`LINE` when the frame has it); a format that cannot
    hold a column of a Parquet input's type. *columns*: those to check (default every one)."""
    targets = list(targets)
    check_schema(input_schema(df), targets)
    names = [c for c in (df.columns if columns is None else columns) if c in df.columns and c != LINE]
    for opt, target in targets:
        fmt = "csv" if target == "-" else _format(target)
        if fmt == "csv":
            _check_bytes(df, names, opt, target)
        if fmt != "xlsx":
            continue
        for name in names:
            col = df[name]
            if not isinstance(col, pd.Series):
                continue
            pos, units = long_cells(col)
            if not len(pos):
                continue
            line = int(df[LINE].iloc[pos[0]]) if LINE in df.columns else int(pos[0])
            more = f" (and {len(pos) - 1:,} more cell(s) over the limit)" if len(pos) > 1 else ""
            raise ClaimsFileError(
                f"cannot write {_named(opt, target)}: the column {name!r} holds {units[0]:,} characters on line "
                f"{line + 1:,} (row {line + 2:,} counting the header){more}; an Excel cell holds at most "
                f"{EXCEL_CELL_CHARS:,}, and rvucalc does not cut a cell: write CSV or Parquet (.csv, "
                ".parquet), which hold any length")


def _check_bytes(df: pd.DataFrame, names: list[object], opt: str, target: str) -> None:
    """Refuse a CSV output of a column of bytes that are not UTF-8 text."""
    schema = input_schema(df)
    if schema is None:
        return
    for f in schema:
        t = f.type
        if f.name not in names or not (pa.types.is_binary(t) or pa.types.is_large_binary(t)
                                       or pa.types.is_binary_view(t)):
            continue
        vals = [v for v in df[f.name].tolist() if isinstance(v, bytes)]
        try:
            pa.array(vals, type=pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            raise _refuse(opt, target, f.name, f"{t}: bytes that are not UTF-8 text", "csv") from None


def check_outputs(lines: pd.DataFrame, out: str | None, claims_out: str | None = None,
                  claim_column: str = "claim_id") -> None:
    """:func:`check_frame` for ``rvucalc reprice``'s outputs: ``-o`` (CSV on standard output
    when None) holds every column; ``--claims-out`` the claim ids (*claim_column*: the file's
    header of them)."""
    check_frame(lines, [("-o", out or "-")])
    if claims_out and claim_column in lines.columns:
        check_frame(lines, [("--claims-out", claims_out)], columns=[claim_column])


__all__ = ["EXCEL_CELL_CHARS", "check_frame", "check_outputs", "check_schema", "check_source", "input_arrow_schema",
           "long_cells"]
