"""Shared steps of the CMS readers: decoding, splitting into rows, finding the
header by its content, mapping header text to canonical names and typed
conversion with errors that name the file, line and column.

CMS changes preambles, column spacing and encodings between releases, so no
reader here trusts a line number: each one describes its header by the cells it
must contain and lets :func:`find_header` locate it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ..errors import CMSFileError, FileAccessError

Source = str | Path | IO[bytes] | bytes

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def source_name(src: Source, name: str | None = None) -> str:
    """A name to show in messages for *src*."""
    if name:
        return name
    if isinstance(src, (str, Path)):
        return str(src)
    return getattr(src, "name", "<bytes>")


def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open *path* for binary reading if (after following symlinks) it is a regular file.

    The file is opened non-blocking and checked with ``fstat`` on the open
    descriptor, so a FIFO (which would block until a writer appears) or a
    device such as ``/dev/zero`` (endless) is refused at once, and the file
    checked is the file read. Every OS error (no such file, permission
    denied, ...) becomes a :class:`~rvucalc.errors.FileAccessError`: one
    sentence naming the file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise FileAccessError(path, "no such file") from exc
    except OSError as exc:
        raise FileAccessError(path, exc.strerror or type(exc).__name__) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a folder" if stat.S_ISDIR(st.st_mode) else "a special file")
            raise FileAccessError(path, f"{kind}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(src: Source, name: str | None = None) -> bytes:
    """Return the raw bytes of a path, a binary file object or bytes.

    A path is read only if it is a regular file (see :func:`open_regular`);
    any OS error is a :class:`~rvucalc.errors.FileAccessError` naming it.
    """
    if isinstance(src, bytes):
        return src
    if isinstance(src, (str, Path)):
        with open_regular(src) as fh:
            try:
                return fh.read()
            except OSError as exc:
                raise FileAccessError(src, exc.strerror or type(exc).__name__) from exc
    return src.read()


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode CMS text: UTF-8 (with or without BOM), else cp1252, else Latin-1.

    CMS ships most files in cp1252; some copies are UTF-8 with a BOM. Latin-1
    never fails, so a file with stray bytes (CMS has shipped 0xFF and DOS
    code-page bytes in names) still reads; only the affected cell changes.
    Returns ``(text, encoding)``. A NUL byte means the file is not text.
    """
    if b"\x00" in data[:4096]:
        raise CMSFileError(name, "a text file (CSV or fixed width)", found="binary data")
    if data[:2] == b"PK":
        raise CMSFileError(name, "a text file", found="a zip/xlsx container")
    if data[:3] == b"\xef\xbb\xbf":
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            data = data[3:]  # UTF-8 with a stray cp1252 byte: drop the BOM, read as cp1252
    for enc in _ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 cannot fail")  # pragma: no cover


def sniff_delimiter(text: str) -> str:
    """Tab for CMS's tab-delimited ``.txt`` exports, else comma."""
    head = text[:20000]
    return "\t" if head.count("\t") > head.count(",") else ","


def text_rows(text: str, delimiter: str | None = None, name: str | None = None) -> list[list[str]]:
    """Split delimited text into rows of stripped cells (quotes honoured).

    Text that ends inside a quoted cell was cut short (a truncated download or
    copy): with a *name* that raises :class:`CMSFileError` naming the line the
    open cell starts on, instead of reading the cut cell as if it were whole.
    """
    delim = delimiter or sniff_delimiter(text)
    if name is not None:
        check_quotes_closed(text, delim, name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    return [[c.strip() for c in row] for row in reader]


def check_quotes_closed(text: str, delimiter: str, name: str) -> None:
    """Raise :class:`CMSFileError` if *text* ends inside a quoted cell (see :func:`text_rows`)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise CMSFileError(name, "a closing quote: the file ends inside a quoted cell (cut short?)",
                               line=start, found=text[-40:]) from None
        # other quirks (a stray quote inside an unquoted cell) are read leniently


def xlsx_rows(data: bytes, name: str, sheet: str | int | None = None) -> list[list[str]]:
    """Rows of one worksheet of an XLSX workbook as stripped text cells.

    Numbers are written the way CMS's CSV shows them (``1.0`` as ``1``), and
    cells that Excel turned into numbers but that are ids keep their text
    value as far as the number allows; readers pad ids themselves.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CMSFileError(name, "an Excel .xlsx workbook", found=type(exc).__name__) from exc
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            if sheet >= len(wb.worksheets):
                raise CMSFileError(name, f"a worksheet number {sheet}", found=wb.sheetnames)
            ws = wb.worksheets[sheet]
        else:
            if sheet not in wb.sheetnames:
                raise CMSFileError(name, f"a worksheet named {sheet!r}", found=wb.sheetnames)
            ws = wb[sheet]
        out: list[list[str]] = []
        for row in ws.iter_rows(values_only=True):
            out.append([_cell_text(v) for v in row])
        return out
    finally:
        wb.close()


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return repr(v)
    return str(v).strip()


def load_rows(
    src: Source,
    name: str | None = None,
    *,
    sheet: str | int | None = None,
    delimiter: str | None = None,
) -> tuple[list[list[str]], str]:
    """Rows of a CSV/TXT (delimited) or XLSX CMS file and the name to report.

    The format is recognised from the bytes, not the file name: an XLSX is a
    zip container starting with ``PK``.
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if not data.strip():
        raise CMSFileError(nm, "a CMS file with a header row and data", found="an empty file")
    if data[:2] == b"PK":
        return xlsx_rows(data, nm, sheet), nm
    text, _ = decode(data, nm)
    return text_rows(text, delimiter, nm), nm


def norm(s: str) -> str:
    """Normalise header text for matching: upper case, letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", s.upper())


def find_header(
    rows: Sequence[Sequence[str]],
    predicate: Callable[[list[str]], bool],
    name: str,
    what: str,
    *,
    search_rows: int = 200,
) -> int:
    """Index of the first row (0-based) whose normalised cells satisfy *predicate*."""
    for i, row in enumerate(rows[:search_rows]):
        if predicate([norm(c) for c in row]):
            return i
    raise CMSFileError(name, what, line=None, found="no such header row in the first "
                       f"{min(search_rows, len(rows))} rows")


@dataclass(frozen=True)
class Col:
    """How one canonical column is found in a CMS header.

    *match* is a list of normalised header texts (see :func:`norm`) or a
    callable taking the normalised text. The first header cell that matches is used.
    """

    name: str
    match: Sequence[str] | Callable[[str], bool]
    kind: str = "str"  # "str" | "float" | "money" | "int"
    required: bool = True
    #: CMS never ships negative RVUs, GPCIs, rates or wage indexes; a negative
    #: number in a float/money column is refused unless this is set.
    negative_ok: bool = False

    def matches(self, h: str) -> bool:
        if callable(self.match):
            return bool(self.match(h))
        return h in self.match


def map_columns(
    header: Sequence[str], cols: Iterable[Col], name: str, line: int
) -> dict[str, int]:
    """Map canonical names to column positions by header text.

    Raises :class:`CMSFileError` naming the first required column that is missing.
    """
    normed = [norm(h) for h in header]
    out: dict[str, int] = {}
    used: set[int] = set()
    for col in cols:
        pos = next((i for i, h in enumerate(normed) if i not in used and h and col.matches(h)), None)
        if pos is None:
            if col.required:
                raise CMSFileError(
                    name,
                    f"a column for {col.name!r}",
                    line=line,
                    column=col.name,
                    found=[h for h in header if h],
                )
            continue
        out[col.name] = pos
        used.add(pos)
    return out


_MONEY_JUNK = re.compile(r"[$,\s%\u00a0]")


def to_float(
    values: pd.Series,
    *,
    name: str,
    column: str,
    lines: np.ndarray | Sequence[int],
    money: bool = False,
    blank_ok: bool = True,
    negative_ok: bool = True,
) -> pd.Series:
    """Convert text cells to float; blank (and ``.`` for money) become NaN.

    Any other non-numeric cell raises :class:`CMSFileError` with its line.
    With *money*, ``$`` signs, thousands commas and spaces are removed first.
    With ``negative_ok=False`` a negative number raises too (CMS ships none
    in RVU, GPCI, rate or wage index columns); so do ``inf`` and ``nan`` spelt out.
    """
    s = values.astype(str)
    if money:
        s = s.str.replace(_MONEY_JUNK, "", regex=True)
    s = s.str.strip()
    blank = s.isin(["", ".", "-", "nan", "None"]) if money else s.isin(["", "nan", "None"])
    out = pd.to_numeric(s.where(~blank, None), errors="coerce").astype("float64")
    bad = (out.isna() | np.isinf(out)) & ~blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CMSFileError(name, "a number", line=int(lines[i]), column=column,
                           found=values.iloc[i])
    if not blank_ok and blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise CMSFileError(name, "a number", line=int(lines[i]), column=column, found="")
    if not negative_ok:
        neg = (out < 0).to_numpy()
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise CMSFileError(name, "a number that is not negative", line=int(lines[i]),
                               column=column, found=values.iloc[i])
    return out


def build_frame(
    rows: Sequence[Sequence[str]],
    first: int,
    positions: Mapping[str, int],
    cols: Iterable[Col],
    name: str,
    *,
    keep: Callable[[pd.DataFrame], pd.Series] | None = None,
    min_fields: int | None = None,
) -> pd.DataFrame:
    """Build a typed DataFrame from ``rows[first:]``.

    *keep* selects data rows (e.g. a HCPCS-shaped first cell); other rows
    (blank separators, footnotes) are dropped. Each row's 1-based source line
    is kept in the ``attrs['lines']`` tuple for later error messages.
    """
    width = max(positions.values()) + 1
    body = rows[first:]
    padded = [list(r) + [""] * (width - len(r)) if len(r) < width else list(r) for r in body]
    data = {c: [r[p] for r in padded] for c, p in positions.items()}
    df = pd.DataFrame(data, dtype=object)
    lines = np.arange(first + 1, first + 1 + len(body))
    if keep is not None and len(df):
        mask = keep(df).to_numpy(dtype=bool)
        df = df[mask].reset_index(drop=True)
        lines = lines[mask]
        if min_fields is not None:
            short = [i for i, r in zip(np.flatnonzero(mask), (body[j] for j in np.flatnonzero(mask)))
                     if len(r) < min_fields]
            if short:
                j = int(short[0])
                raise CMSFileError(name, f"{min_fields} fields", line=first + 1 + j,
                                   found=f"{len(body[j])} fields")
    for col in cols:
        if col.name not in df:
            continue
        if col.kind in ("float", "money"):
            df[col.name] = to_float(df[col.name], name=name, column=col.name, lines=lines,
                                    money=col.kind == "money", negative_ok=col.negative_ok)
        else:
            df[col.name] = df[col.name].astype(str).str.strip()
    df.attrs["lines"] = Lines(lines)
    df.attrs["source"] = name
    return df


def check_rows(
    rows: Sequence[Sequence[str]],
    header: int,
    positions: Mapping[str, int],
    name: str,
    *,
    key: str,
    is_key: Callable[[str], bool],
    data: Sequence[str] = (),
    what: str = "a valid code",
    top: int | None = None,
    header_width: int | None = None,
    line_of: Callable[[int], int] | None = None,
) -> None:
    """Structural checks of a delimited CMS table, before typing its cells.

    *rows* are all rows of the file, *header* the index of the header row
    (*top* the first row of a stacked header block), *positions* the mapped
    columns, *key* the canonical name of the row key column and *is_key* a
    test of one stripped key cell. Raises :class:`CMSFileError` naming the line for

    * a data row (valid key) above the header: the header has moved below
      data that would otherwise be dropped silently;
    * a row with a malformed key that carries data (a non-empty cell in one
      of the *data* columns): a footnote has no data there, a damaged row has;
    * a data row with fewer fields than the header maps (cut short, e.g. a
      truncated file) or with non-empty cells beyond the header's last
      column (an unquoted delimiter shifted it, or fields were added).

    *line_of* maps a row index to its 1-based line (default ``index + 1``).
    """
    ln = line_of or (lambda i: i + 1)
    kpos = positions[key]
    dpos = [positions[c] for c in data if c in positions]
    hdr = rows[header]
    width = header_width or max((i + 1 for i, c in enumerate(hdr) if c.strip()), default=0)
    need = max(positions.values()) + 1

    def cell(r: Sequence[str], p: int) -> str:
        return r[p].strip() if p < len(r) else ""

    for i in range(top if top is not None else header):
        r = rows[i]
        if is_key(cell(r, kpos)) and (any(cell(r, p) for p in dpos) if dpos else
                                      sum(bool(c.strip()) for c in r) > 1):
            raise CMSFileError(name, f"the header row (line {ln(header)}) above every data row",
                               line=ln(i), column=key, found=cell(r, kpos))
    for i in range(header + 1, len(rows)):
        r = rows[i]
        if not is_key(cell(r, kpos)):
            if any(cell(r, p) for p in dpos):
                raise CMSFileError(name, what, line=ln(i), column=key, found=cell(r, kpos))
            continue
        if len(r) < need:
            raise CMSFileError(name, f"{need} fields, as the header maps", line=ln(i),
                               found=f"{len(r)} fields (row cut short?)")
        extra = [c for c in r[width:] if c.strip()]
        if extra:
            raise CMSFileError(name, f"at most {width} fields, as the header has", line=ln(i),
                               found=f"{len(r)} fields, extra {extra[:3]}")


def drop_duplicates(df: pd.DataFrame, keys: Sequence[str], name: str, what: str) -> pd.DataFrame:
    """Drop exact duplicate rows; raise naming both lines when a key repeats with different values.

    *df* must carry ``attrs['lines']`` (as :func:`build_frame` sets it);
    *what* describes the key for the message (``"one row per ZIP code"``).
    """
    dup_key = df.duplicated(list(keys), keep=False).to_numpy()
    if not dup_key.any():
        return df
    lines = np.asarray(df.attrs.get("lines", np.arange(1, len(df) + 1)), dtype=np.int64)
    keep = ~df.duplicated(keep="first").to_numpy()
    rest, rest_lines = df[keep], lines[keep]
    clash = rest.duplicated(list(keys), keep=False).to_numpy()
    if clash.any():
        idx = np.flatnonzero(clash)
        k = tuple(rest[list(keys)].iloc[idx[0]])
        same = [j for j in idx if tuple(rest[list(keys)].iloc[j]) == k]
        l1, l2 = int(rest_lines[same[0]]), int(rest_lines[same[1]])
        label = "/".join(str(x) for x in k)
        raise CMSFileError(name, f"{what} (rows repeating a key must be identical)", line=l2,
                           column=keys[0], found=f"{label} on lines {l1} and {l2} with different values")
    attrs = dict(df.attrs)
    out = rest.reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs["lines"] = Lines(rest_lines)
    return out


class Lines:
    """Source line numbers of a table's rows, kept in ``DataFrame.attrs``.

    pandas deep-copies and compares ``attrs`` on nearly every operation; this
    wrapper makes both O(1) (copies share it, equality is identity) so a
    19,000-row table does not pay for its provenance on every column access.
    """

    __slots__ = ("a",)

    def __init__(self, lines: object) -> None:
        self.a = np.asarray(lines, dtype=np.int64)

    def __deepcopy__(self, memo: dict) -> Lines:
        return self

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: object) -> object:
        return self.a[i]

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return self.a if dtype is None else self.a.astype(dtype)

    def __repr__(self) -> str:
        return f"Lines({len(self.a)} rows)"


def zpad(s: pd.Series, width: int) -> pd.Series:
    """Zero-pad numeric ids (``2102`` → ``02102``, ``5`` → ``05``); others unchanged."""
    s = s.astype(str).str.strip()
    s = s.str.replace(r"\.0$", "", regex=True)
    return s.where(~s.str.fullmatch(r"\d+"), s.str.zfill(width))


HCPCS_RE = r"[A-Z0-9]{5}"


def is_hcpcs(s: pd.Series) -> pd.Series:
    """True where a cell looks like a 5-character HCPCS/CPT code."""
    return s.astype(str).str.strip().str.upper().str.fullmatch(HCPCS_RE).fillna(False)


def read_locality_table(
    src: Source,
    name: str | None,
    cols: Sequence[Col],
    *,
    is_header: Callable[[list[str]], bool],
    header_what: str,
    data: tuple[str, ...],
    mac_digits: str = "4,5",
    sheet: str | int | None = None,
) -> tuple[pd.DataFrame, list[list[str]], int, dict[str, int], str]:
    """The shared steps of CMS's per-locality files (GPCI, LOCCO, ANES).

    Finds the header by content, reports malformed rows (:func:`check_rows`),
    keeps the rows keyed by a MAC number, zero-pads ``mac`` (5) and
    ``locality`` (2) and adds ``locality_id`` (``"01182-18"``) in front.
    Returns ``(frame, rows, header index, column positions, name)``.
    """
    rows, nm = load_rows(src, name, sheet=sheet)
    hdr = find_header(rows, is_header, nm, header_what)
    pos = map_columns(rows[hdr], cols, nm, hdr + 1)
    pattern = rf"\d{{{mac_digits}}}"
    check_rows(rows, hdr, pos, nm, key="mac", is_key=lambda c: re.fullmatch(pattern, c) is not None,
               data=data, what=f"a MAC number ({mac_digits.replace(',', '-')} digits)")
    df = build_frame(rows, hdr + 1, pos, cols, nm,
                     keep=lambda d: d["mac"].astype(str).str.strip().str.fullmatch(pattern))
    if df.empty:
        raise CMSFileError(nm, "locality rows below the header", line=hdr + 2)
    df["mac"] = zpad(df["mac"], 5)
    df["locality"] = zpad(df["locality"], 2)
    df.insert(0, "locality_id", df["mac"] + "-" + df["locality"])
    return df, rows, hdr, pos, nm
