"""Malformed CMS files, generated at run time from the real files in the mirror.

Every case starts from a real CMS file (its preamble, header, every data row
or an even spread of about 300 of them, and its footer), applies one corruption, writes the result
under pytest's ``tmp_path`` (nothing is committed) and reads it with the
project's reader. Each case either

* loads, and gives exactly the table the uncorrupted file gives (where CMS
  could plausibly ship it: extra preamble, blank lines, footers, a moved
  header, a stray cp1252 byte in a UTF-8 file, an exact duplicate row), or
* raises :class:`rvucalc.errors.CMSFileError` naming the file and, where the
  fault is on a line, that line (as a text editor counts it) and the column.

No other exception type may escape (the test fails on KeyError, IndexError,
UnicodeDecodeError, pandas' ValueError, ...).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.iotools.anes import read_anes
from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
from rvucalc.iotools.gpci import read_gpci
from rvucalc.iotools.locco import read_locco
from rvucalc.iotools.opps import read_addendum_b
from rvucalc.iotools.oppscap import read_oppscap
from rvucalc.iotools.pprrvu import read_pprrvu
from rvucalc.iotools.zip5 import read_zip5

Rows = list[list[str]]


@dataclass
class Spec:
    """One real CMS file and how to find its parts."""

    id: str
    rel: str
    read: Callable[..., pd.DataFrame]
    is_header: Callable[[list[str]], bool]
    key_re: str  # a data row's first cell
    num: int | str | None  # a numeric column: raw index or header text
    num_name: str | None  # its canonical name
    req: int | str  # a required column to rename / delete
    req_name: str
    text: int | str | None  # a free-text column (for stray bytes)
    text_name: str | None
    dup_key: tuple[int, ...] | None  # raw positions of the row key (None: repeats are legal)
    delimiter: str = ","
    stacked: int = 0  # header rows stacked above the one found by is_header (PPRRVU)
    head: int = 300  # data rows kept
    rename_to: str = "RENAMED"
    dedupes_exact: bool = True
    extra: dict = field(default_factory=dict)


def _first(cell: str) -> Callable[[list[str]], bool]:
    return lambda r: bool(r) and r[0].strip().upper() == cell


SPECS: list[Spec] = [
    *[Spec(f"pprrvu-{y}", rel, read_pprrvu, _first("HCPCS"), r"[A-Z0-9]{5}", 5, "work_rvu",
           5, "work_rvu", 2, "description", (0, 1), stacked=4, rename_to="UNITS")
      for y, rel in (("2026", "pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"), ("2025", "pfs/rvu25d/PPRRVU2025_Oct.csv"))],
    *[Spec(f"gpci-{v}", rel, read_gpci, lambda r: "State" in r and "Locality Name" in r, r"\d{5}",
           "PE GPCI", "pe_gpci", "PE GPCI", "pe_gpci", "Locality Name", "locality_name", (0, 2),
           )
      for v, rel in (("8col", "pfs/rvu26a/GPCI2026.csv"), ("7col", "pfs/rvu26c/GPCI2026.csv"),
                     ("2025", "pfs/rvu25d/GPCI2025.csv"))],
    *[Spec(f"locco-{y}", rel, read_locco, lambda r: any(c.strip() == "Counties" for c in r), r"\d{3,5}",
           None, None, "Fee Schedule Area", "area_name", "Counties", "counties", None)
      for y, rel in (("2026", "pfs/rvu26a/26LOCCO.csv"), ("2025", "pfs/rvu25d/25LOCCO.csv"))],
    *[Spec(f"anes-{y}", rel, read_anes, _first("CONTRACTOR"), r"\d{5}", -1, "anes_cf", 2, "locality_name",
           2, "locality_name", (0, 1))
      for y, rel in (("2026", "pfs/rvu26a/ANES2026.csv"), ("2025", "pfs/rvu25d/ANES2025.csv"))],
    Spec("oppscap", "pfs/rvu25d/OPPSCAP_Oct.csv", read_oppscap, _first("HCPCS"), r"[A-Z0-9]{5}",
         "FACILITY PRICE", "facility_price", 4, "locality", None, None, (0, 1, 3, 4)),
    *[Spec(f"addb-{k}", rel, read_addendum_b, _first("HCPCS CODE"), r"[A-Z0-9]{5}", "Payment Rate",
           "payment_rate", "Payment Rate", "Payment Rate", "Short Descriptor", "description", (0,))
      for k, rel in (("2025", "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"),
                     ("2024", "opps/2024-01/ADD_B.csv"),
                     ("2024web", "opps/2024-01/January_Web_2024_Addendum_B.04.24.24.csv"))],
    *[Spec(f"asc-{q}-{a}", f"asc/{q}/{a}.{ext}", read_addendum_aa if a == "AA" else read_addendum_bb,
           _first("HCPCS CODE"), r"[A-Z0-9]{5}", "Payment Weight", "relative_weight", "Payment Weight",
           "relative_weight", "Short Descriptor", "description", (0,),
           delimiter="\t" if ext == "txt" else ",")
      for q, ext in (("2024-01", "txt"), ("2026-01", "csv"), ("2025-04", "csv")) for a in ("AA", "BB")],
]


# --------------------------------------------------------------------------- helpers


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows(path: Path, delimiter: str) -> Rows:
    return list(csv.reader(io.StringIO(_decode(path.read_bytes()), newline=""), delimiter=delimiter))


def _text(rows: Rows, delimiter: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def _line_of(rows: Rows, i: int, delimiter: str) -> int:
    """1-based physical line on which record *i* starts once written."""
    return _text(rows[:i], delimiter).count("\n") + 1


def _col(header: list[str], which: int | str) -> int:
    if isinstance(which, int):
        return which % len(header)
    key = re.sub(r"\s+", " ", which.upper())
    for i, c in enumerate(header):
        if key in re.sub(r"\s+", " ", c.upper()):
            return i
    raise AssertionError(f"no header cell like {which!r} in {header}")


@dataclass
class Sample:
    """The real file cut to its preamble, header, a spread of its data rows and its footer."""

    spec: Spec
    rows: Rows
    hdr: int  # index of the header row found by spec.is_header
    data: list[int]  # indices of data rows

    @property
    def top(self) -> int:
        return self.hdr - self.spec.stacked

    def col(self, which: int | str) -> int:
        return _col(self.rows[self.hdr], which)

    def pick(self, *cols: int, skip: int = 20, positive: bool = False) -> int:
        """A data row (index into rows) with every cell in *cols* non-empty (and > 0)."""
        for i in self.data[skip:]:
            r = self.rows[i]
            if all(c < len(r) and r[c].strip() for c in cols) and (
                    not positive or all(_positive(r[c]) for c in cols)):
                return i
        raise AssertionError(f"{self.spec.id}: no data row with cells {cols} filled")


def _positive(cell: str) -> bool:
    try:
        return float(cell.strip().lstrip("$").replace(",", "")) > 0
    except ValueError:
        return False


def _sample(spec: Spec, mirror: Callable[[str], Path]) -> Sample:
    rows = _rows(mirror(spec.rel), spec.delimiter)
    hdr = next(i for i, r in enumerate(rows) if spec.is_header(r))
    key = re.compile(spec.key_re)
    data = [i for i in range(hdr + 1, len(rows)) if rows[i] and key.fullmatch(rows[i][0].strip().upper())]
    footer = list(range(data[-1] + 1, len(rows)))
    if len(data) > spec.head:  # a spread of rows from the whole file, in file order
        keep = data[:: -(-len(data) // spec.head)]
        body = keep
    else:
        keep = data
        body = list(range(hdr + 1, keep[-1] + 1))
    rows = rows[: hdr + 1] + [rows[i] for i in body] + [rows[i] for i in footer]
    new_data = [hdr + 1 + j for j, i in enumerate(body) if i in set(keep)]
    return Sample(spec, rows, hdr, new_data)


_SAMPLES: dict[str, Sample] = {}


def _fresh(spec: Spec, mirror) -> Sample:
    if spec.id not in _SAMPLES:
        _SAMPLES[spec.id] = _sample(spec, mirror)
    s = _SAMPLES[spec.id]
    return Sample(s.spec, [list(r) for r in s.rows], s.hdr, list(s.data))


@pytest.fixture(params=SPECS, ids=[s.id for s in SPECS])
def sample(request: pytest.FixtureRequest, mirror) -> Sample:
    return _fresh(request.param, mirror)


# files where a fault does not apply are not parametrized at all (no skips)
_NUMERIC = [s for s in SPECS if s.num is not None]
_UNIQUE_KEYS = [s for s in SPECS if s.dup_key is not None]
_FREE_TEXT = [s for s in SPECS if s.text is not None]


@pytest.fixture(params=_NUMERIC, ids=[s.id for s in _NUMERIC])
def numeric_sample(request: pytest.FixtureRequest, mirror) -> Sample:
    return _fresh(request.param, mirror)


@pytest.fixture(params=_UNIQUE_KEYS, ids=[s.id for s in _UNIQUE_KEYS])
def unique_key_sample(request: pytest.FixtureRequest, mirror) -> Sample:
    return _fresh(request.param, mirror)


@pytest.fixture(params=_FREE_TEXT, ids=[s.id for s in _FREE_TEXT])
def text_sample(request: pytest.FixtureRequest, mirror) -> Sample:
    return _fresh(request.param, mirror)


def _write(tmp_path: Path, s: Sample, rows: Rows, tag: str) -> Path:
    ext = ".txt" if s.spec.delimiter == "\t" else ".csv"
    p = tmp_path / f"{s.spec.id}-{tag}{ext}"
    p.write_bytes(_text(rows, s.spec.delimiter).encode("cp1252", errors="replace"))
    return p


def _plain(df: pd.DataFrame, drop: tuple[str | None, ...] = ()) -> pd.DataFrame:
    out = df.drop(columns=[c for c in drop if c and c in df]).reset_index(drop=True).copy()
    out.attrs = {}
    return out


def _baseline(tmp_path: Path, s: Sample) -> pd.DataFrame:
    return s.spec.read(_write(tmp_path, s, s.rows, "baseline"))


def _loads_same(tmp_path: Path, s: Sample, path: Path, drop: tuple[str | None, ...] = ()) -> pd.DataFrame:
    try:
        got = s.spec.read(path)
    except CMSFileError as exc:  # pragma: no cover - shown on failure
        pytest.fail(f"{s.spec.id}: a file CMS could ship was refused: {exc}")
    base = _baseline(tmp_path, s)
    pd.testing.assert_frame_equal(_plain(got, drop), _plain(base, drop))
    return got


def _raises(s: Sample, path: Path, *, line: int | None = None, column: str | None = None,
            any_line: bool = False) -> CMSFileError:
    """Read *path*; it must raise CMSFileError naming the file (and line/column when given)."""
    try:
        s.spec.read(path)
    except CMSFileError as exc:
        assert exc.file.endswith(path.name) and path.name in str(exc), str(exc)
        assert exc.expected, str(exc)
        if line is not None:
            assert exc.line == line, f"{exc} (wanted line {line})"
        if any_line:
            assert exc.line is not None, str(exc)
        if column is not None:
            assert exc.column == column or repr(column) in str(exc), f"{exc} (wanted column {column})"
        return exc
    pytest.fail(f"{s.spec.id}: {path.name} loaded without error")


# --------------------------------------------------------------------------- layout faults


def test_extra_preamble_loads(tmp_path: Path, sample: Sample) -> None:
    w = len(sample.rows[sample.hdr])
    pre = [["Released by CMS (corrupt-corpus test)"] + [""] * (w - 1), [""] * w,
           ["A note CMS added this quarter"] + [""] * (w - 1)]
    _loads_same(tmp_path, sample, _write(tmp_path, sample, pre + sample.rows, "preamble"))


def test_header_moved_down_loads(tmp_path: Path, sample: Sample) -> None:
    w = len(sample.rows[sample.hdr])
    rows = sample.rows
    extra = [[""] * w, ["Notes: see the record layout"] + [""] * (w - 1), [""] * w]
    rows = rows[: sample.top] + extra + rows[sample.top:]
    _loads_same(tmp_path, sample, _write(tmp_path, sample, rows, "header-down"))


def test_header_below_data_rows_raises(tmp_path: Path, sample: Sample) -> None:
    """Data rows above the header would be silently lost: refuse the file."""
    rows = sample.rows
    block = rows[sample.top: sample.hdr + 1]
    first = sample.data[:3]
    moved = rows[: sample.top] + [rows[i] for i in first] + block + [
        r for i, r in enumerate(rows) if i > sample.hdr and i not in first]
    p = _write(tmp_path, sample, moved, "header-below-data")
    _raises(sample, p, line=_line_of(moved, sample.top, sample.spec.delimiter))


def test_header_missing_raises(tmp_path: Path, sample: Sample) -> None:
    rows = [r for i, r in enumerate(sample.rows) if i != sample.hdr]
    _raises(sample, _write(tmp_path, sample, rows, "no-header"))


def test_renamed_column_raises(tmp_path: Path, sample: Sample) -> None:
    rows = sample.rows
    c = sample.col(sample.spec.req)
    rows[sample.hdr][c] = sample.spec.rename_to
    p = _write(tmp_path, sample, rows, "renamed")
    _raises(sample, p, line=_line_of(rows, sample.hdr, sample.spec.delimiter), column=sample.spec.req_name)


def test_missing_column_raises(tmp_path: Path, sample: Sample) -> None:
    c = sample.col(sample.spec.req)
    rows = [r[:c] + r[c + 1:] if len(r) > c else r for r in sample.rows]
    p = _write(tmp_path, sample, rows, "missing-col")
    _raises(sample, p, line=_line_of(rows, sample.hdr, sample.spec.delimiter), column=sample.spec.req_name)


def test_footer_lines_load(tmp_path: Path, sample: Sample) -> None:
    w = len(sample.rows[sample.hdr])
    foot = [[""] * w, ["NOTE: footnote added by CMS."] + [""] * (w - 1),
            ["Source: CMS"] + [""] * (w - 1), ["*"] + [""] * (w - 1)]
    _loads_same(tmp_path, sample, _write(tmp_path, sample, sample.rows + foot, "footer"))


def test_blank_lines_load(tmp_path: Path, sample: Sample) -> None:
    w = len(sample.rows[sample.hdr])
    rows = sample.rows
    for i in sorted({sample.hdr + 1, sample.data[5], sample.data[len(sample.data) // 2],
                     sample.data[-1] + 1}, reverse=True):
        rows.insert(i, [] if i % 2 else [""] * w)
    _loads_same(tmp_path, sample, _write(tmp_path, sample, rows, "blank-lines"))


# --------------------------------------------------------------------------- row faults


def test_too_few_fields_raises(tmp_path: Path, sample: Sample) -> None:
    rows = sample.rows
    need = sample.col(sample.spec.req)
    i = sample.pick(need)
    rows[i] = rows[i][: max(2, need // 2 + 1)]
    p = _write(tmp_path, sample, rows, "few-fields")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter))


def test_too_many_fields_raises(tmp_path: Path, sample: Sample) -> None:
    rows = sample.rows
    i = sample.data[25]
    rows[i] = rows[i] + ["EXTRA", "9.99"]
    p = _write(tmp_path, sample, rows, "many-fields")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter))


def test_shifted_row_raises(tmp_path: Path, sample: Sample) -> None:
    """An unquoted delimiter inside a cell shifts the rest of the row right."""
    rows = sample.rows
    i = sample.pick(sample.col(sample.spec.req))
    rows[i] = rows[i][:1] + ["X"] + rows[i][1:]
    p = _write(tmp_path, sample, rows, "shifted")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter))


def test_bad_key_raises(tmp_path: Path, sample: Sample) -> None:
    """A data row whose code is malformed must be reported, not dropped."""
    rows = sample.rows
    i = sample.pick(sample.col(sample.spec.req))
    rows[i][0] = rows[i][0].strip()[:-1] + "%"
    p = _write(tmp_path, sample, rows, "bad-key")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter))


def test_non_numeric_raises(tmp_path: Path, numeric_sample: Sample) -> None:
    sample = numeric_sample
    rows = sample.rows
    c = sample.col(sample.spec.num)
    i = sample.pick(c)
    rows[i][c] = "1.2.3x"
    p = _write(tmp_path, sample, rows, "non-numeric")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter), column=sample.spec.num_name)


def test_negative_raises(tmp_path: Path, numeric_sample: Sample) -> None:
    sample = numeric_sample
    rows = sample.rows
    c = sample.col(sample.spec.num)
    i = sample.pick(c, positive=True)
    rows[i][c] = "-" + rows[i][c].strip().lstrip("$")
    p = _write(tmp_path, sample, rows, "negative")
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter), column=sample.spec.num_name)


def test_conflicting_duplicate_raises(tmp_path: Path, unique_key_sample: Sample) -> None:
    """(LOCCO is not here: CMS repeats a locality there, once per county group.)"""
    sample = unique_key_sample
    rows = sample.rows
    c = sample.col(sample.spec.num if sample.spec.num is not None else sample.spec.req)
    i = sample.pick(c)
    twin = list(rows[i])
    twin[c] = "7" if twin[c].strip() != "7" else "8"
    j = sample.data[-1] + 1
    rows.insert(j, twin)
    p = _write(tmp_path, sample, rows, "dup-conflict")
    exc = _raises(sample, p, line=_line_of(rows, j, sample.spec.delimiter))
    assert str(_line_of(rows, i, sample.spec.delimiter)) in str(exc)


def test_exact_duplicate(tmp_path: Path, sample: Sample) -> None:
    rows = sample.rows
    i = sample.data[10]
    rows.insert(sample.data[-1] + 1, list(rows[i]))
    p = _write(tmp_path, sample, rows, "dup-exact")
    if sample.spec.dedupes_exact:
        _loads_same(tmp_path, sample, p)
    else:
        _raises(sample, p, any_line=True)


# --------------------------------------------------------------------------- byte faults


def test_cp1252_byte_in_utf8_file_loads(tmp_path: Path, text_sample: Sample) -> None:
    """UTF-8 (with BOM) text that also holds one cp1252 byte: still read, only that cell differs."""
    sample = text_sample
    rows = sample.rows
    c = sample.col(sample.spec.text)
    i = sample.pick(c)
    rows[i][c] = rows[i][c] + " caf\u00e9 \u2013 MARKER"
    text = _text(rows, sample.spec.delimiter)
    data = b"\xef\xbb\xbf" + text.encode("utf-8").replace(b"MARKER", b"\x96 na\xefve")
    ext = ".txt" if sample.spec.delimiter == "\t" else ".csv"
    p = tmp_path / f"{sample.spec.id}-mixed{ext}"
    p.write_bytes(data)
    got = _loads_same(tmp_path, sample, p, drop=(sample.spec.text_name,))
    assert len(got) == len(_baseline(tmp_path, sample))


def test_truncated_mid_row_raises(tmp_path: Path, sample: Sample) -> None:
    rows = sample.rows
    i = sample.pick(sample.col(sample.spec.req), skip=40)
    head = _text(rows[:i], sample.spec.delimiter)
    row = _text([rows[i]], sample.spec.delimiter)
    need = _text([rows[i][: sample.col(sample.spec.req)]], sample.spec.delimiter).rstrip("\r\n")
    cut = head + row[: max(len(need) - 1, len(row) // 3)]
    p = tmp_path / f"{sample.spec.id}-truncated.csv"
    p.write_bytes(cut.encode("cp1252", errors="replace"))
    _raises(sample, p, line=_line_of(rows, i, sample.spec.delimiter))


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\x00\x01\x02PNG\x00" * 200,
                                     bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n" + bytes(3000)],
                         ids=["empty", "whitespace", "nul-binary", "all-bytes", "png"])
def test_empty_or_binary_raises(tmp_path: Path, sample: Sample, content: bytes) -> None:
    p = tmp_path / f"{sample.spec.id}-junk.csv"
    p.write_bytes(content)
    _raises(sample, p)


def test_zip_instead_of_member_raises(tmp_path: Path, sample: Sample) -> None:
    p = tmp_path / f"{sample.spec.id}.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("README.txt", "not the member you are looking for")
    _raises(sample, p)


# --------------------------------------------------------------------------- XLSX


def _xlsx(path: Path, sheets: dict[str, Rows]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append([_num(c) for c in r])
    wb.save(path)
    return path


def _num(c: str) -> object:
    """Store numeric-looking cells as numbers, as Excel does."""
    if re.fullmatch(r"\d+\.\d+", c.strip()):
        return float(c)
    return c


def test_gpci_xlsx_right_and_wrong_sheet(tmp_path: Path, mirror) -> None:
    spec = next(s for s in SPECS if s.id == "gpci-8col")
    s = _sample(spec, mirror)
    notes = [["Addendum E notes"], ["nothing to see here"]]
    p = _xlsx(tmp_path / "GPCI2026.xlsx", {"Notes": notes, "GPCI": s.rows})
    base = read_gpci(_write(tmp_path, s, s.rows, "b"))
    got = read_gpci(p, sheet="GPCI")
    pd.testing.assert_frame_equal(_plain(got), _plain(base))
    for kwargs in ({}, {"sheet": "Missing"}, {"sheet": 7}):
        with pytest.raises(CMSFileError) as ei:
            read_gpci(p, **kwargs)
        assert "GPCI2026.xlsx" in str(ei.value)
    # a bad cell in a worksheet is reported by its spreadsheet row
    rows = [list(r) for r in s.rows]
    i = s.pick(s.col("PE GPCI"))
    rows[i][s.col("PE GPCI")] = "n/a"
    p2 = _xlsx(tmp_path / "GPCI2026-bad.xlsx", {"GPCI": rows})
    with pytest.raises(CMSFileError) as ei:
        read_gpci(p2)
    assert ei.value.line == i + 1 and ei.value.column == "pe_gpci"


def _zip5_rows(mirror, n: int = 300) -> Rows:
    import openpyxl

    wb = openpyxl.load_workbook(mirror("pfs/zip5_jan2026/ZIP5_JAN2026.xlsx"), read_only=True)
    try:
        out: Rows = []
        for row in wb.worksheets[0].iter_rows(values_only=True):
            out.append(["" if v is None else str(v) for v in row])
            if len(out) > n:
                break
        return out
    finally:
        wb.close()


def test_zip5_xlsx_faults(tmp_path: Path, mirror) -> None:
    rows = _zip5_rows(mirror)
    good = read_zip5(_xlsx(tmp_path / "ZIP5.xlsx", {"ZIP5": rows}))
    assert len(good) == len(rows) - 1
    # first sheet is not the data: header not found, error names the file
    with pytest.raises(CMSFileError) as ei:
        read_zip5(_xlsx(tmp_path / "ZIP5-wrong-sheet.xlsx", {"Layout": [["field", "start"]], "ZIP5": rows}))
    assert "ZIP5-wrong-sheet.xlsx" in str(ei.value)
    # a malformed ZIP in a data row is reported, not dropped
    bad = [list(r) for r in rows]
    bad[40][1] = "9950X"
    with pytest.raises(CMSFileError) as ei:
        read_zip5(_xlsx(tmp_path / "ZIP5-bad-zip.xlsx", {"ZIP5": bad}))
    assert ei.value.line == 41
    # the same ZIP twice with a different locality
    dup = [list(r) for r in rows] + [list(rows[12])]
    dup[-1][3] = "77"
    with pytest.raises(CMSFileError) as ei:
        read_zip5(_xlsx(tmp_path / "ZIP5-dup.xlsx", {"ZIP5": dup}))
    assert ei.value.line == len(dup)
    # a truncated workbook is not a workbook
    data = (tmp_path / "ZIP5.xlsx").read_bytes()
    (tmp_path / "ZIP5-cut.xlsx").write_bytes(data[: len(data) // 2])
    with pytest.raises(CMSFileError):
        read_zip5(tmp_path / "ZIP5-cut.xlsx")


# --------------------------------------------------------------------------- ZIP5 fixed width


@pytest.fixture(scope="module")
def zip5_lines(mirror) -> list[str]:
    text = mirror("pfs/zip5_oct2025/ZIP5_OCT2025.txt").read_bytes().decode("latin-1")
    return text.splitlines()[:500]


def _zip5_file(tmp_path: Path, lines: list[str], tag: str, raw: bytes | None = None) -> Path:
    p = tmp_path / f"ZIP5-{tag}.txt"
    p.write_bytes(raw if raw is not None else ("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return p


def test_zip5_txt_plausible_variants_load(tmp_path: Path, zip5_lines: list[str]) -> None:
    base = read_zip5(_zip5_file(tmp_path, zip5_lines, "base"))
    assert len(base) == 500
    blank = zip5_lines[:100] + ["", "   "] + zip5_lines[100:] + [""]
    pd.testing.assert_frame_equal(_plain(read_zip5(_zip5_file(tmp_path, blank, "blank"))), _plain(base))
    lf = ("\n".join(zip5_lines) + "\n").encode("latin-1")
    pd.testing.assert_frame_equal(_plain(read_zip5(_zip5_file(tmp_path, [], "lf", lf))), _plain(base))
    # a stray high byte in the unused filler of one record
    odd = list(zip5_lines)
    odd[7] = odd[7][:40] + "\u00e9" + odd[7][41:]
    pd.testing.assert_frame_equal(_plain(read_zip5(_zip5_file(tmp_path, odd, "byte"))), _plain(base))


@pytest.mark.parametrize("fault", ["truncated", "short-record", "bad-zip", "bad-carrier", "dup-zip",
                                   "preamble", "empty", "binary"])
def test_zip5_txt_faults_raise(tmp_path: Path, zip5_lines: list[str], fault: str) -> None:
    lines = list(zip5_lines)
    raw = None
    line = None
    if fault == "truncated":
        raw = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        raw = raw[: -45]  # cut in the middle of the last record
        line = len(lines)
    elif fault == "short-record":
        lines[60] = lines[60][:30]
        line = 61
    elif fault == "bad-zip":
        lines[60] = lines[60][:2] + "99O01" + lines[60][7:]
        line = 61
    elif fault == "bad-carrier":
        lines[60] = lines[60][:7] + "0X102" + lines[60][12:]
        line = 61
    elif fault == "dup-zip":
        twin = lines[3][:12] + "99" + lines[3][14:]
        lines.append(twin)
        line = len(lines)
    elif fault == "preamble":
        lines.insert(0, "ZIP CODE TO CARRIER LOCALITY FILE")
        line = 1
    elif fault == "empty":
        raw = b""
    elif fault == "binary":
        raw = bytes(range(256)) * 20
    p = _zip5_file(tmp_path, lines, fault, raw)
    with pytest.raises(CMSFileError) as ei:
        read_zip5(p)
    assert p.name in str(ei.value)
    if line is not None:
        assert ei.value.line == line, str(ei.value)


def test_gpci_blank_value_raises(tmp_path: Path, mirror) -> None:
    s = _sample(next(x for x in SPECS if x.id == "gpci-7col"), mirror)
    rows = [list(r) for r in s.rows]
    c = s.col("MP GPCI")
    i = s.pick(c)
    rows[i][c] = ""
    p = _write(tmp_path, s, rows, "blank-gpci")
    with pytest.raises(CMSFileError) as ei:
        read_gpci(p)
    assert ei.value.line == i + 1 and ei.value.column == "mp_gpci"
