"""Workbook cells, Parquet types, encodings, streaming parts and warnings (issue 20: "Wrong
amounts from workbook cells" and "Inputs that deserve one sentence, and outputs that must keep
the user's types").

Each example of the issue has a test here that fails on the main of its day, then the class is
swept. Workbooks are built with openpyxl (an error cell: a string such as '#N/A' with data
type 'e'; a formula: openpyxl writes it with no saved value) or XlsxWriter. Amounts are hand
arithmetic on the RVU26C rows of tests/test_reprice.py (99213 national: (1.30 + 1.46 + 0.09) x
33.4009 = 95.19).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import math
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rvucalc.cli import main
from rvucalc.reprice import reprice
from tests.test_reprice import fee

HEAD = ["claim_id", "hcpcs", "modifiers", "units", "pos", "locality", "date_of_service", "charge"]
LINE = {"claim_id": "C1", "hcpcs": "99213", "modifiers": "", "units": "1", "pos": "11",
        "locality": "national", "date_of_service": "2026-08-03", "charge": "200"}
FEE_99213 = 95.19  # (1.30 + 1.46 + 0.09) x 33.4009 = 95.192565, national, office


def _cli(*argv: str) -> int:
    return main(["reprice", *argv, "--no-progress", "--release", "rvu26c"])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _workbook(path: Path, rows: list[dict], errors: dict[tuple[int, str], str] | None = None) -> Path:
    """A workbook of claim lines written by openpyxl; *errors* puts an error cell (data type 'e')
    at (data row, column)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Claims"
    head = list(rows[0])
    ws.append(head)
    for r in rows:
        ws.append([r[k] for k in head])
    for (i, name), text in (errors or {}).items():
        cell = ws.cell(row=i + 2, column=head.index(name) + 1)
        cell.value = text
        cell.data_type = "e"
    wb.save(path)
    return path


def _excel_saved(path: Path, values: dict[str, str]) -> Path:
    """*path* as a spreadsheet saves it: each formula cell (by reference) with its calculated
    value, and no request to recalculate on opening (what Excel writes; openpyxl cannot)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in values.items():
        sheet, n = re.subn(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*<v\s*/>', rf"\g<1><v>{value}</v>", sheet)
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    parts["xl/workbook.xml"] = re.sub(rb'\s*fullCalcOnLoad="1"', b"", parts["xl/workbook.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


# ---------------------------------------------------------------------------
# error cells


def test_error_cell_in_charge_is_refused_and_comes_back_as_its_text(tmp_path, capsys):
    """Issue: '#N/A' in charge was read as empty (no charge) and the line paid the whole fee."""
    rows = [dict(LINE, claim_id="A"), dict(LINE, claim_id="B")]
    src = _workbook(tmp_path / "claims.xlsx", rows, {(1, "charge"): "#N/A"})
    assert _cli(str(src), "-o", str(tmp_path / "out.csv")) == 0
    a, b = _csv_rows(tmp_path / "out.csv")
    assert a["allowed"] == str(FEE_99213) and a["reason"] == ""
    assert b["charge"] == "#N/A"  # the cell, as the sheet shows it
    assert b["allowed"] == "" and b["payable"] == "false"
    assert b["reason"].split("|")[0] == "REPRICE_ERROR_CELL"
    assert "REPRICE_ERROR_CELL 1" in capsys.readouterr().err


ERRORS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
          "#GETTING_DATA"]
PFS_COLUMNS = ["hcpcs", "modifiers", "units", "pos", "zip", "locality", "date_of_service", "charge",
               "participating"]


@pytest.mark.parametrize("column", PFS_COLUMNS)
def test_every_error_value_in_every_priced_column_refuses_its_line(fs26, column):
    """Sweep: each priced column x each error value, also where an empty cell would be priced
    (an empty zip with a locality, an empty charge or participating cell)."""
    base = dict(LINE, zip="", participating="")
    rows = [base] + [dict(base, claim_id=f"E{i}", **{column: e}) for i, e in enumerate(ERRORS)]
    rows += [dict(base, claim_id="lower", **{column: " #n/a "})]  # blanks and case as typed
    out = reprice(pd.DataFrame(rows), releases=[fs26])
    assert out["allowed"].iloc[0] == fee("99213") == FEE_99213
    bad = out.iloc[1:]
    assert not bad["payable"].any() and bad["allowed"].isna().all()
    assert bad["reason"].astype(str).str.contains("REPRICE_ERROR_CELL").all()
    assert bad[column].tolist() == ERRORS + [" #n/a "]  # the user's cells as given


def test_error_text_in_a_csv_is_refused_like_a_workbooks(tmp_path):
    src = tmp_path / "c.csv"
    with open(src, "w", newline="") as fh:
        w = csv.DictWriter(fh, [*HEAD, "zip"])
        w.writeheader()
        w.writerow(dict(LINE, zip="", locality="#REF!"))
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 0
    (r,) = _csv_rows(tmp_path / "o.csv")
    assert r["locality"] == "#REF!" and r["allowed"] == "" and "REPRICE_ERROR_CELL" in r["reason"]


def test_error_value_in_an_unpriced_column_is_carried_not_refused(fs26):
    out = reprice(pd.DataFrame([dict(LINE, memo="#N/A")]), releases=[fs26])
    assert out["allowed"].tolist() == [FEE_99213] and out["memo"].tolist() == ["#N/A"]


@pytest.mark.parametrize("system,column", [("hopd", c) for c in ("hcpcs", "units", "wage_index", "ccn", "cbsa")]
                         + [("asc", c) for c in ("hcpcs", "modifiers", "wage_index", "county_fips")])
def test_facility_lines_with_an_error_cell_are_refused(mirror, system, column):
    import rvucalc

    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    mirror("asc/2025-01/AA.csv")
    lines = pd.DataFrame([{"claim_id": "A", "hcpcs": "29881", "units": "1", "date_of_service": "2025-02-03",
                           "modifiers": "", "wage_index": "1.0", "ccn": "", "cbsa": "", "county_fips": ""},
                          {"claim_id": "B", "hcpcs": "29881", "units": "1", "date_of_service": "2025-02-03",
                           "modifiers": "", "wage_index": "1.0", "ccn": "", "cbsa": "", "county_fips": "",
                           column: "#N/A"}])
    if column == "wage_index":
        lines.loc[1, "cbsa"] = "31084"  # an error is not "no wage index given": no fallback
    fn = rvucalc.reprice_opps if system == "hopd" else rvucalc.reprice_asc
    out = fn(lines, releases=["opps-2025-01" if system == "hopd" else "asc-2025-01"])
    assert out["facility_payment"].iloc[0] > 0
    assert np.isnan(out["facility_payment"].iloc[1])
    assert "REPRICE_ERROR_CELL" in str(out["reason"].iloc[1])


def test_pos_error_on_a_facility_claim_is_not_its_concern(mirror):
    """The facility systems do not read pos, zip, locality, charge: an error there is carried."""
    import rvucalc

    mirror("asc/2025-01/AA.csv")
    lines = pd.DataFrame([{"claim_id": "A", "hcpcs": "29881", "date_of_service": "2025-02-03",
                           "pos": "#N/A", "zip": "#REF!", "charge": "#VALUE!"}])
    out = rvucalc.reprice_asc(lines, releases=["asc-2025-01"])
    assert out["facility_payment"].tolist() == [1579.16]  # 29881 A2, CY2025 Q1 AA, wage index 1.0


# ---------------------------------------------------------------------------
# formulas


def test_formula_with_no_saved_value_is_refused_naming_the_cell(tmp_path, capsys):
    """Issue: '=25*2' in charge (a workbook never opened in Excel) was read as empty: $104.89
    paid instead of $50.00."""
    rows = [dict(LINE, claim_id="A"), dict(LINE, claim_id="B", charge="=25*2")]
    src = _workbook(tmp_path / "claims.xlsx", rows)
    out = tmp_path / "out.csv"
    assert _cli(str(src), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "Claims!H3" in err and "'charge'" in err and "=25*2" in err and "no saved value" in err
    assert "Open it in Excel" in err and not out.exists()


def test_formula_with_its_saved_value_is_read_as_that_value(tmp_path):
    rows = [dict(LINE, claim_id="A"), dict(LINE, claim_id="B", charge="=25*2")]
    src = _excel_saved(_workbook(tmp_path / "claims.xlsx", rows), {"H3": "50"})
    assert _cli(str(src), "-o", str(tmp_path / "out.csv")) == 0
    a, b = _csv_rows(tmp_path / "out.csv")
    assert a["allowed"] == "95.19" and b["charge"] == "50"
    assert b["allowed"] == "50" and b["charge_limited"] == "true"  # lower of charge (50) and fee (95.19)


def test_formula_with_a_placeholder_value_is_refused(tmp_path, capsys):
    """XlsxWriter saves 0 for each formula and asks Excel to recalculate on opening: 0 is not
    the charge."""
    import xlsxwriter

    src = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Lines")
    ws.write_row(0, 0, HEAD)
    ws.write_row(1, 0, [LINE[k] for k in HEAD[:-1]])
    ws.write_formula(1, len(HEAD) - 1, "=25*2")
    wb.close()
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 2
    err = capsys.readouterr().err
    assert "Lines!H2" in err and "recalculated" in err and "Open it in Excel" in err


@pytest.mark.parametrize("column", ["claim_id", "hcpcs", "units", "date_of_service", "memo"])
def test_formula_with_no_saved_value_in_any_column_is_refused(tmp_path, column):
    from rvucalc.claims.io import ClaimsFileError, read_claims

    rows = [dict(LINE, memo="x"), dict(LINE, **{"memo": "y", column: '="9921"&"3"'})]
    src = _workbook(tmp_path / "c.xlsx", rows)
    with pytest.raises(ClaimsFileError, match=rf"{column}.*no saved value"):
        read_claims(src)


def test_a_workbook_that_cannot_be_read_is_one_sentence(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    assert _cli(str(bad), "-o", str(tmp_path / "o.csv")) == 2
    assert "bad.xlsx: cannot read it as an Excel workbook" in capsys.readouterr().err
    src = _workbook(tmp_path / "c.xlsx", [dict(LINE)])
    assert _cli(str(src), "-o", str(tmp_path / "o.csv"), "--sheet", "Lines") == 2
    assert "no sheet named 'Lines' (sheets: 'Claims')" in capsys.readouterr().err
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["claim_id", "hcpcs", "hcpcs"])
    wb.save(tmp_path / "dup.xlsx")
    assert _cli(str(tmp_path / "dup.xlsx"), "-o", str(tmp_path / "o.csv")) == 2
    assert "names a column twice: hcpcs" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# numbers of 16 digits or more


def test_twenty_digit_and_2_63_cells_come_back_as_the_sheets_15_digits(tmp_path):
    """Issue: 12345678901234569216 for a cell Excel shows as 1.23457E+19; 2**63 crashed CSV and
    Parquet output."""
    rows = [dict(LINE, account=12345678901234567890), dict(LINE, account=2**63)]
    src = _workbook(tmp_path / "c.xlsx", rows)
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 0
    assert [r["account"] for r in _csv_rows(tmp_path / "o.csv")] == ["12345678901234600000",
                                                                     "9223372036854780000"]
    assert _cli(str(src), "-o", str(tmp_path / "o.parquet")) == 0
    t = pq.read_table(tmp_path / "o.parquet")
    assert t.column("account").to_pylist() == ["12345678901234600000", "9223372036854780000"]


# value in the sheet -> what the spreadsheet shows (15 significant digits), by hand
NUMBERS = [
    (123456789012345, 123456789012345),              # 15 digits: a number, as it is
    (-999999999999999, -999999999999999),
    (1234567890123456, "1234567890123460"),          # 16 digits: the 16th rounded away
    (9007199254740993, "9007199254740990"),          # 2**53 + 1
    (-12345678901234567, "-12345678901234600"),
    (2**63 - 1, "9223372036854780000"),
    (2**64, "18446744073709500000"),                 # openpyxl stores 1.844674407370955e+19
    (1e20, "100000000000000000000"),
    (1.5e300, "15" + "0" * 299),
    (0.1 + 0.7, 0.8),                                # 0.7999999999999999 in the file
    (1 / 3, 0.333333333333333),
    (2.0, 2),
    (-0.0, 0),
]


@pytest.mark.parametrize("value,shown", NUMBERS)
def test_number_cells_are_read_as_the_spreadsheet_shows_them(tmp_path, value, shown):
    from rvucalc.claims.io import read_claims

    src = _workbook(tmp_path / "c.xlsx", [dict(LINE, n=value)])
    got = read_claims(src)["n"].iloc[0]
    assert got == shown and type(got) is type(shown)
    assert _cli(str(src), "-o", str(tmp_path / "o.parquet")) == 0
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 0
    assert _csv_rows(tmp_path / "o.csv")[0]["n"] == str(shown)


# ---------------------------------------------------------------------------
# Excel's 32,767 characters per cell


def test_xlsx_output_of_a_too_long_cell_is_refused_before_pricing(tmp_path, capsys, monkeypatch):
    """Issue: a 40,003-character cell was cut to 32,767 in the .xlsx, exit 0."""
    from rvucalc.claims import pipeline

    src = tmp_path / "c.csv"
    pd.DataFrame([dict(LINE, memo="ok"), dict(LINE, memo="x" * 40_003)]).to_csv(src, index=False)

    def no_pricing(*a, **k):
        raise AssertionError("priced before refusing")

    monkeypatch.setattr(pipeline, "price_frame", no_pricing)
    assert _cli(str(src), "-o", str(tmp_path / "o.xlsx")) == 2
    err = capsys.readouterr().err
    assert "'memo'" in err and "40,003 characters on line 2" in err and "CSV or Parquet" in err
    assert not (tmp_path / "o.xlsx").exists()


@pytest.mark.parametrize("text,refused", [
    ("x" * 32_767, False), ("x" * 32_768, True),
    ("\U0001F600" * 16_383, False), ("\U0001F600" * 16_384, True),  # two UTF-16 units each
    ("é" * 32_768, True),
])
def test_every_way_to_an_xlsx_refuses_a_cell_over_the_limit(tmp_path, text, refused):
    from rvucalc.claims.io import ClaimsFileError, write_claims
    from rvucalc.errors import RvucalcError
    from rvucalc.export import to_excel

    frame = pd.DataFrame([dict(LINE, memo=text)])
    src = tmp_path / "c.parquet"
    frame.to_parquet(src)
    assert _cli(str(src), "-o", str(tmp_path / "o.xlsx")) == (2 if refused else 0)
    long_id = pd.DataFrame([dict(LINE, claim_id=text)])
    long_id.to_parquet(tmp_path / "id.parquet")
    assert _cli(str(tmp_path / "id.parquet"), "-o", str(tmp_path / "o.csv"),
                "--claims-out", str(tmp_path / "t.xlsx")) == (2 if refused else 0)
    for write in (lambda p: write_claims(frame, p), lambda p: to_excel(frame, p)):
        target = tmp_path / "api.xlsx"
        if refused:
            with pytest.raises((ClaimsFileError, RvucalcError), match="32,767"):
                write(target)
            assert not target.exists()
        else:
            write(target)
            from openpyxl import load_workbook

            ws = load_workbook(target)["Detail"]
            col = [c.value for c in ws[1]].index("memo") + 1
            assert ws.cell(row=2, column=col).value == text
            target.unlink()


# ---------------------------------------------------------------------------
# Parquet in, Parquet out: the user's schema


def _claims_table(extra: dict[str, pa.Array]) -> pa.Table:
    n = len(next(iter(extra.values())))
    base = {k: pa.array([v] * n) for k, v in LINE.items()}
    base["claim_id"] = pa.array([f"C{i}" for i in range(n)])
    return pa.table({**base, **extra})


def _same(a: list, b: list) -> bool:
    def eq(x, y):
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            return True
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(eq(x[k], y[k]) for k in x)
        if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
            return len(x) == len(y) and all(eq(p, q) for p, q in zip(x, y))
        return type(x) is type(y) and x == y

    return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_parquet_user_columns_keep_their_schema(tmp_path, engine):
    """Issue: int32 with a null -> double, decimal(12,3) -> decimal(7,3), a struct's int ->
    double, NaN -> null."""
    src = tmp_path / "in.parquet"
    pq.write_table(_claims_table({
        "i32": pa.array([1, None, 3], pa.int32()),
        "dec": pa.array([decimal.Decimal("1234.500"), None, decimal.Decimal("-0.001")], pa.decimal128(12, 3)),
        "st": pa.array([{"a": 1, "b": "x"}, {"a": None, "b": "y"}, None],
                       pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "f": pa.array([float("nan"), None, 1.5]),
    }), src)
    out = tmp_path / "out.parquet"
    assert _cli(str(src), "-o", str(out), "--engine", engine) == 0
    want, got = pq.read_table(src), pq.read_table(out)
    for name in want.column_names:
        assert got.schema.field(name).type == want.schema.field(name).type, name
        assert _same(got.column(name).to_pylist(), want.column(name).to_pylist()), name
    f = got.column("f")
    assert f.null_count == 1 and math.isnan(f[0].as_py())  # NaN stays NaN, null stays null
    assert got.column("allowed").to_pylist() == [FEE_99213] * 3


def _typed(t: pa.DataType) -> pa.Array:
    """Three values of *t*, one of them null (and a NaN for floats)."""
    if pa.types.is_null(t):
        return pa.nulls(3)
    if pa.types.is_boolean(t):
        return pa.array([True, None, False])
    if pa.types.is_integer(t):
        top = {8: 127, 16: 32767, 32: 2**31 - 1, 64: 2**63 - 1}[t.bit_width]
        if pa.types.is_unsigned_integer(t):
            top = 2 * top + 1
        return pa.array([1, None, top], t)
    if pa.types.is_floating(t):
        return pa.array([1.5, None, float("nan")], pa.float64()).cast(t)
    if pa.types.is_decimal(t):
        return pa.array([decimal.Decimal("1.250"), None, decimal.Decimal("-9.999")], pa.decimal128(7, 3)).cast(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.array(["007.50", None, "é"], t)
    if pa.types.is_fixed_size_binary(t):
        return pa.array([b"ab", None, b"\x00\xff"], t)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.array([b"ab", None, b"\x00\xff"], t)
    if pa.types.is_date(t):
        return pa.array([dt.date(2026, 8, 3), None, dt.date(1900, 1, 1)], t)
    if pa.types.is_timestamp(t):
        return pa.array([dt.datetime(2026, 8, 3, 10, 15, 1), None, dt.datetime(1970, 1, 1)], pa.timestamp("us")).cast(t)
    if pa.types.is_time(t):
        return pa.array([dt.time(14, 30, 1), None, dt.time(0, 0)], t)
    if pa.types.is_duration(t):
        return pa.array([dt.timedelta(seconds=5), None, dt.timedelta(days=1)], t)
    if pa.types.is_dictionary(t):
        return pa.array(["x", None, "y"]).dictionary_encode().cast(t)
    raise AssertionError(t)


PRIMITIVE = {
    "null": pa.null(), "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(),
    "int64": pa.int64(), "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
    "uint64": pa.uint64(), "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "decimal32(7,3)": pa.decimal32(7, 3), "decimal64(12,3)": pa.decimal64(12, 3),
    "decimal128(12,3)": pa.decimal128(12, 3), "decimal256(40,3)": pa.decimal256(40, 3),
    "string": pa.string(), "large_string": pa.large_string(), "string_view": pa.string_view(),
    "binary": pa.binary(), "large_binary": pa.large_binary(), "binary_view": pa.binary_view(),
    "fixed_size_binary(2)": pa.binary(2), "date32": pa.date32(), "date64": pa.date64(),
    "timestamp(s)": pa.timestamp("s"), "timestamp(ms)": pa.timestamp("ms"), "timestamp(us)": pa.timestamp("us"),
    "timestamp(ns)": pa.timestamp("ns"), "timestamp(us, UTC)": pa.timestamp("us", "UTC"),
    "timestamp(ms, America/New_York)": pa.timestamp("ms", "America/New_York"),
    "time32(s)": pa.time32("s"), "time32(ms)": pa.time32("ms"), "time64(us)": pa.time64("us"),
    "time64(ns)": pa.time64("ns"), "duration(s)": pa.duration("s"), "duration(ns)": pa.duration("ns"),
    "dictionary(int32, string)": pa.dictionary(pa.int32(), pa.string()),
    "dictionary(int8, string)": pa.dictionary(pa.int8(), pa.string()),
}
NESTED = {
    "list<string>": (pa.list_(pa.string()), [["a"], None, ["b", None]]),
    "large_list<int32>": (pa.large_list(pa.int32()), [[1, None], None, []]),
    "fixed_size_list<double, 2>": (pa.list_(pa.float64(), 2), [[1.0, float("nan")], None, [None, 2.0]]),
    "list_view<int64>": (pa.list_view(pa.int64()), [[1], None, [2, 3]]),
    "large_list_view<int32>": (pa.large_list_view(pa.int32()), [[1], None, [2]]),
    "struct<int32, string>": (pa.struct([("a", pa.int32()), ("b", pa.string())]),
                              [{"a": 1, "b": "x"}, {"a": None, "b": "y"}, None]),
    "map<string, int32>": (pa.map_(pa.string(), pa.int32()), [[("k", 1)], None, [("j", None)]]),
    "struct<list<int16>, decimal(9,2)>": (pa.struct([("l", pa.list_(pa.int16())), ("d", pa.decimal128(9, 2))]),
                                          [{"l": [1], "d": decimal.Decimal("1.10")}, None, {"l": None, "d": None}]),
    "list<struct<date32, float64>>": (pa.list_(pa.struct([("d", pa.date32()), ("x", pa.float64())])),
                                      [[{"d": dt.date(2026, 1, 2), "x": float("nan")}], None, []]),
}
EXTENSION = {
    "uuid": lambda: pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"0" * 16, None, b"1" * 16], pa.binary(16))),
    "json": lambda: pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a": 1}', None, "[]"])),
    "bool8": lambda: pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, None, 0], pa.int8())),
    "fixed_shape_tensor": lambda: pa.ExtensionArray.from_storage(
        pa.fixed_shape_tensor(pa.int32(), [2]), pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int32(), 2))),
}
ALL_TYPES = {**{k: (lambda t=t: _typed(t)) for k, t in PRIMITIVE.items()},
             **{k: (lambda t=t, v=v: pa.array(v, t)) for k, (t, v) in NESTED.items()}, **EXTENSION}


@pytest.mark.parametrize("engine", ["memory", "stream"])
@pytest.mark.parametrize("name", list(ALL_TYPES))
def test_every_parquet_type_round_trips(tmp_path, name, engine):
    """Sweep: pyarrow's primitive, nested and extension types that Parquet stores (union,
    run-end encoded and month_day_nano_interval it does not: see the test below)."""
    src = tmp_path / "in.parquet"
    pq.write_table(_claims_table({"x": ALL_TYPES[name]()}), src)
    out = tmp_path / "out.parquet"
    assert _cli(str(src), "-o", str(out), "--engine", engine) == 0
    want, got = pq.read_table(src), pq.read_table(out)
    assert got.schema.field("x").type == want.schema.field("x").type
    assert _same(got.column("x").to_pylist(), want.column("x").to_pylist())
    assert got.column("allowed").to_pylist() == [FEE_99213] * 3


@pytest.mark.parametrize("array", [
    pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval()),
    pa.UnionArray.from_sparse(pa.array([0], pa.int8()), [pa.array([1]), pa.array(["a"])]),
    pa.RunEndEncodedArray.from_arrays(pa.array([1], pa.int32()), pa.array(["x"])),
])
def test_types_parquet_cannot_store_never_reach_rvucalc(tmp_path, array):
    with pytest.raises(pa.ArrowNotImplementedError):
        pq.write_table(pa.table({"x": array}), tmp_path / "x.parquet")


TYPED_PRICED = [("units", t) for t in (pa.int8(), pa.int32(), pa.uint64(), pa.float32(), pa.float64(),
                                        pa.decimal128(5, 1))] + \
    [("charge", t) for t in (pa.int16(), pa.int64(), pa.float64(), pa.decimal128(12, 3), pa.decimal256(40, 2))] + \
    [("hcpcs", pa.int64()), ("pos", pa.int8()), ("pos", pa.uint16()), ("zip", pa.int32()), ("zip", pa.int64())]


@pytest.mark.parametrize("column,t", TYPED_PRICED, ids=lambda x: str(x))
def test_typed_priced_columns_with_nulls_are_priced_like_their_text(tmp_path, fs26, column, t):
    """A priced column kept as its Arrow type (a null in it) is read as the same text would be."""
    from rvucalc.claims.io import read_claims

    text = {"units": ["1", "", "2", "1"], "charge": ["50", "", "200", "1000"], "hcpcs": ["71046", "", "71046", "99213"],
            "pos": ["11", "", "11", "11"], "zip": ["90012", "", "2108", "10001"]}[column]
    base = pd.DataFrame({"claim_id": ["A", "B", "C", "D"], "hcpcs": ["71046", "71046", "71046", "99213"],
                         "units": "1", "pos": "11", "zip": ["90012", "90012", "02108", "10001"],
                         "date_of_service": "2026-08-03", "charge": ["50", "60", "200", "1000"]})
    want = reprice(base.assign(**{column: text}), releases=[fs26])
    table = pa.Table.from_pandas(base, preserve_index=False)
    values = [None if v == "" else (decimal.Decimal(v) if pa.types.is_decimal(t) else float(v)
                                    if pa.types.is_floating(t) else int(v)) for v in text]
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, t))
    pq.write_table(table, tmp_path / "t.parquet")
    got = reprice(read_claims(tmp_path / "t.parquet"), releases=[fs26])
    for c in ("allowed", "reason", "locality_id", "units_factor", "charge_limited"):
        assert got[c].astype(object).where(got[c].notna(), None).tolist() == \
            want[c].astype(object).where(want[c].notna(), None).tolist(), c


# ---------------------------------------------------------------------------
# formats that cannot hold a column


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_list_column_to_csv_is_refused_before_pricing_naming_it(tmp_path, capsys, monkeypatch, engine):
    """Issue: a list<string> column written to CSV failed after every line was priced."""
    from rvucalc.claims import engine as chunk_engine
    from rvucalc.claims import pipeline

    def no_pricing(*a, **k):
        raise AssertionError("priced before refusing")

    monkeypatch.setattr(pipeline, "price_frame", no_pricing)
    monkeypatch.setattr(pipeline, "price_chunk", no_pricing)
    monkeypatch.setattr(chunk_engine, "resolve", no_pricing)
    src = tmp_path / "in.parquet"
    pq.write_table(_claims_table({"tags": pa.array([["a"], None, ["b"]], pa.list_(pa.string()))}), src)
    assert _cli(str(src), "-o", str(tmp_path / "o.csv"), "--engine", engine) == 2
    err = capsys.readouterr().err
    assert "'tags'" in err and "list<" in err and "Parquet" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("name", list(NESTED))
@pytest.mark.parametrize("target", ["o.csv", "o.xlsx", "-"])
def test_every_nested_type_is_refused_by_csv_and_excel(tmp_path, capsys, name, target):
    src = tmp_path / "in.parquet"
    t, v = NESTED[name]
    pq.write_table(_claims_table({"x": pa.array(v, t)}), src)
    argv = [str(src)] + ([] if target == "-" else ["-o", str(tmp_path / target)])
    assert _cli(*argv) == 2
    err = capsys.readouterr().err
    assert "cannot hold the column 'x'" in err and "write Parquet" in err


def test_bytes_to_csv_are_text_when_they_are_utf8_else_refused(tmp_path, capsys):
    src = tmp_path / "in.parquet"
    pq.write_table(_claims_table({"b": pa.array([b"caf\xc3\xa9", None, b"x"])}), src)
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 0
    assert [r["b"] for r in _csv_rows(tmp_path / "o.csv")] == ["café", "", "x"]
    pq.write_table(_claims_table({"b": pa.array([b"caf\xe9", None, b"x"])}), src)
    for engine in ("memory", "stream"):
        assert _cli(str(src), "-o", str(tmp_path / "o2.csv"), "--engine", engine) == 2
        assert "'b'" in capsys.readouterr().err
    assert _cli(str(src), "-o", str(tmp_path / "o.xlsx")) == 2
    assert "cannot hold the column 'b'" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# encodings


def _claims_bytes(n: int, memo: str = "note") -> list[bytes]:
    lines = [",".join(HEAD + ["memo"]).encode()]
    for i in range(n):
        lines.append(",".join([f"C{i}", "99213", "", "1", "11", "national", "2026-08-03", "100", f"{memo} {i}"]).encode())
    return lines


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_a_cp1252_byte_far_down_names_its_line_column_and_encoding(tmp_path, capsys, engine):
    """Issue: one cp1252 byte at line 300,002 was reported with no line and as column '#7'."""
    lines = _claims_bytes(300_010)
    lines[300_001] = lines[300_001].replace(b"note", b"caf\xe9")  # line 300,002 (the header is line 1)
    src = tmp_path / "c.csv"
    src.write_bytes(b"\n".join(lines) + b"\n")
    assert _cli(str(src), "-o", str(tmp_path / "o.csv"), "--engine", engine) == 2
    err = capsys.readouterr().err
    assert "line 300,002, column 'memo'" in err and "0xE9" in err and "Windows-1252" in err
    assert "#7" not in err


@pytest.mark.parametrize("codec,name", [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
                                        ("utf-32", "UTF-32")])
@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_a_utf16_file_is_named_as_such(tmp_path, capsys, codec, name, engine):
    """Issue: a UTF-16 file gave "Expected 8 columns, got 1"."""
    src = tmp_path / "u.csv"
    src.write_bytes(b"\n".join(_claims_bytes(5)).decode().encode(codec))
    assert _cli(str(src), "-o", str(tmp_path / "o.csv"), "--engine", engine) == 2
    err = capsys.readouterr().err
    assert f"looks like {name}" in err and "line 1, column 'claim_id'" in err and "Expected" not in err


@pytest.mark.parametrize("where,line,col", [(0, 1, None), (1, 2, "claim_id"), (2, 3, "hcpcs"), (1000, 1001, "memo")])
@pytest.mark.parametrize("byte,enc", [(b"\xe9", "Windows-1252"), (b"\x96", "Windows-1252"), (b"\x81", "ISO-8859-1")])
def test_bytes_that_are_not_utf8_anywhere(tmp_path, capsys, where, line, col, byte, enc):
    lines = _claims_bytes(1200)
    field = {None: b"claim_id", "claim_id": b"C", "hcpcs": b"99213", "memo": b"note"}[col]
    lines[where] = lines[where].replace(field, field + byte, 1)
    src = tmp_path / "c.csv"
    src.write_bytes(b"\r\n".join(lines))
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 2
    err = capsys.readouterr().err
    assert f"line {line:,}" in err and enc in err and f"0x{byte[0]:02X}" in err
    assert (f"column '{col}'" in err) if col else "in the header" in err


def test_first_bad_byte_across_block_boundaries(tmp_path, monkeypatch):
    from rvucalc.claims import encoding

    monkeypatch.setattr(encoding, "BLOCK", 7)  # blocks that cut lines and characters
    p = tmp_path / "x.csv"
    p.write_bytes("a,b\né,ü\nxyz,€\n".encode() + b"ok,caf\xe9\n")
    assert encoding.first_bad_byte(p) == (len("a,b\né,ü\nxyz,€\n".encode()) + 6, 4, b"ok,caf\xe9", 6)
    p.write_bytes("a,b\né,ü\n".encode())
    assert encoding.first_bad_byte(p) is None


# ---------------------------------------------------------------------------
# streaming parts sized by bytes


def _wide_first(path: Path, wide: int, narrow: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = wide + narrow
    df = pd.DataFrame({
        "claim_id": [f"C{k}" for k in rng.integers(0, n // 2, n)], "hcpcs": rng.choice(["99213", "20983", "27447"], n),
        "modifiers": "", "units": "1", "pos": "11", "locality": "national", "date_of_service": "2026-08-03",
        "memo": ["w" * 2000] * wide + [""] * narrow})
    df.to_csv(path, index=False)
    return df


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_stream_parts_are_sized_by_bytes_not_by_the_first_batch(tmp_path, kind):
    """Issue: a file starting with 2 KB lines made parts many times their size (1.53 GB peak
    against 0.55 GB for the same lines without them): every part now holds at most SLACK times
    its lines and bytes, whatever the first batch held."""
    from rvucalc.claims import stream
    from rvucalc.claims.pipeline import PricingOptions, price_frame

    df = _wide_first(tmp_path / "w.csv", 600, 20_000)
    src = tmp_path / f"w.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pandas(df.astype(str), preserve_index=False), src, row_group_size=500)
    opts = PricingOptions(releases=("rvu26c",))
    chunk = 2_000
    with stream._run(src, tmp_path) as run:
        stream._partition(run, chunk, "claim_id", 64 << 10, _NoBar())
        sizes = []
        for part in run.parts:
            t = stream._read_tmp(part)
            sizes.append((len(t), t.nbytes))
        assert sum(s[0] for s in sizes) == len(df)
        assert max(s[0] for s in sizes) <= chunk * stream.SLACK
        assert max(s[1] for s in sizes) <= chunk * stream.LINE_BYTES * stream.SLACK * 1.2  # nbytes of slices
    out = tmp_path / "o.csv"
    stream.reprice_file(src, out, options=opts, chunk_lines=chunk, progress=False, workers=1)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    want = price_frame(pd.read_csv(tmp_path / "w.csv", dtype=str, keep_default_na=False), opts)
    assert got["claim_id"].tolist() == df["claim_id"].tolist()
    for col in ("allowed", "mult_proc_factor"):
        np.testing.assert_array_equal(pd.to_numeric(got[col]).to_numpy(), want[col].to_numpy(dtype=float))


class _NoBar:
    def update(self, n: int) -> None:
        pass


# ---------------------------------------------------------------------------
# no Python warnings


def _claims_csv(path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["claim_id", "hcpcs", "units", "pos", "zip", "date_of_service", "charge"])
        w.writerow(["A", "20983", "1", "22", "90012", "2025-08-03", "100"])
        w.writerow(["A", "99213", "1", "22", "90012", "2025-08-03", ""])
    return path


@pytest.mark.parametrize("ext", ["csv", "parquet", "json", "xlsx"])
def test_sites_claims_prints_no_python_warning(tmp_path, ext, mirror):
    """Issue: `rvucalc sites --claims -o x.csv` printed a UserWarning with a source path."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    src = _claims_csv(tmp_path / "c.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["sites", "--claims", str(src), "--release", "rvu25d", "-o", str(tmp_path / f"x.{ext}")]) == 0
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("argv", [
    ["reprice", "{src}", "-o", "{tmp}/o.csv"], ["reprice", "{src}", "-o", "{tmp}/o.parquet"],
    ["reprice", "{src}", "-o", "{tmp}/o.xlsx", "--claims-out", "{tmp}/t.parquet"],
    ["reprice", "{src}", "-o", "{tmp}/o.parquet", "--engine", "stream", "--claims-out", "{tmp}/t.csv"],
    ["reprice", "{xlsx}", "-o", "{tmp}/o.csv"],
    ["sites", "20983", "-o", "{tmp}/s.parquet"], ["sites", "20983", "-o", "{tmp}/s.csv"],
    ["schedule", "20983", "--out", "{tmp}/s.parquet"],
])
def test_commands_print_no_python_warning(tmp_path, argv, mirror):
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    src = _claims_csv(tmp_path / "c.csv")
    xlsx = _workbook(tmp_path / "c.xlsx", [dict(LINE)])
    args = [a.format(src=src, tmp=tmp_path, xlsx=xlsx) for a in argv] + ["--release", "rvu25d"]
    if argv[0] == "reprice":
        args.append("--no-progress")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 0
    assert [str(w.message) for w in caught] == []



# ---------------------------------------------------------------------------
# Parquet in, Parquet out through the Dask engine (one local cluster per run: the sweep is one run)


def test_every_parquet_type_round_trips_through_dask(tmp_path):
    """The sweep above, through ``--engine dask``: every type as a column of one dataset of two
    parts (the second alone has a null in ``late_null``: the parts' pandas types must agree), and
    a priced ``charge`` that is a double. Before, a struct column failed the run with "Could not
    convert <object object ...>", an int32 with a null came back as double and a NaN as null."""
    src = tmp_path / "in"
    src.mkdir()
    cols = {f"x_{i}": make() for i, make in enumerate(ALL_TYPES.values())}
    first = _claims_table({**cols, "late_null": pa.array([1, 2, 3], pa.int32()),
                           "charge_d": pa.array([250.0, float("nan"), None])})
    second = _claims_table({**cols, "late_null": pa.array([4, None, 6], pa.int32()),
                            "charge_d": pa.array([1.0, 2.0, 3.0])})
    second = second.set_column(second.schema.get_field_index("claim_id"), "claim_id",
                               pa.array(["D0", "D1", "D2"]))
    pq.write_table(first, src / "part-0.parquet")
    pq.write_table(second, src / "part-1.parquet")
    out = tmp_path / "out"
    assert _cli(str(src), "-o", str(out), "--engine", "dask") == 0
    want = pa.concat_tables([pq.read_table(src / "part-0.parquet"), pq.read_table(src / "part-1.parquet")])
    got = pq.read_table(out)
    ids = got.column("claim_id").to_pylist()
    order = sorted(range(len(ids)), key=ids.__getitem__)  # the parts' claims, in input order
    names = dict(zip(cols, ALL_TYPES))
    wrong = []
    for name in want.column_names:
        values = got.column(name).to_pylist()
        if got.schema.field(name).type != want.schema.field(name).type or \
                not _same([values[i] for i in order], want.column(name).to_pylist()):
            wrong.append((names.get(name, name), str(got.schema.field(name).type), [values[i] for i in order]))
    # The one known difference: Dask's distributed Parquet reader makes a null element of a
    # fixed-size list of floats a NaN, and a NaN a null (not rvucalc's conversion: the same read
    # without workers keeps them; README "What rvucalc checks" states the limit)
    assert [w[0] for w in wrong] == ["fixed_size_list<double, 2>"], wrong
    assert got.column("allowed").to_pylist() == [FEE_99213] * 6
