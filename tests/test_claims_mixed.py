"""Claim files whose columns mix kinds of values (a workbook column of text and numbers).

Issue: an .xlsx input with the text cell ``'99213'`` above the number 71046 in the hcpcs column
(or a memo column of text and numbers) crashed every CSV, Parquet and stdout write after
pricing ("ArrowTypeError: Expected bytes, got a 'int' object"). Such a column now comes back as
text, each cell as a spreadsheet shows it; a number cell in the hcpcs column is read as its code.
Every workbook here is written by the test; expected texts are written out by hand.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rvucalc.claims.io import cell_text, read_claims, to_arrow, write_claims
from rvucalc.cli.reprice import add_parser, run
from rvucalc.reprice import reprice
from tests.test_reprice import fee

HEADER = ["claim_id", "hcpcs", "pos", "locality", "date_of_service", "memo"]
#: (cells as the workbook holds them, the text a spreadsheet shows for the memo cell)
ROWS = [
    (["A", "99213", "11", "national", "2026-08-03", "abc"], "abc"),
    (["B", 71046, "11", "national", "2026-08-03", 5], "5"),
    (["C", "71046", "11", "national", "2026-08-03", 1.0], "1"),
    (["D", "71046", "11", "national", "2026-08-03", 1.5], "1.5"),
    (["E", "71046", "11", "national", "2026-08-03", dt.datetime(2026, 8, 3)], "2026-08-03"),
    (["F", "71046", "11", "national", "2026-08-03", True], "TRUE"),
    (["G", "71046", "11", "national", "2026-08-03", None], ""),
]
HCPCS_TEXT = ["99213", "71046", "71046", "71046", "71046", "71046", "71046"]


def _workbook(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for cells, _ in ROWS:
        ws.append(cells)
    wb.save(path)
    return path


def _cli(*argv: str) -> int:
    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    return run(ap.parse_args(["reprice", *argv, "--no-progress", "--release", "rvu26c"]))


def _check_csv(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    hdr = rows[0]
    assert hdr[:len(HEADER)] == HEADER
    assert [r[1] for r in rows[1:]] == HCPCS_TEXT
    assert [r[5] for r in rows[1:]] == [want for _, want in ROWS]
    reason = hdr.index("reason")
    assert [r[reason] for r in rows[1:]] == [""] * len(ROWS)


def test_mixed_workbook_columns_write_csv(tmp_path):
    src = _workbook(tmp_path / "mixed.xlsx")
    assert _cli(str(src), "-o", str(tmp_path / "out.csv")) == 0
    _check_csv((tmp_path / "out.csv").read_text(encoding="utf-8"))


def test_mixed_workbook_columns_write_stdout(tmp_path, capfdbinary):
    src = _workbook(tmp_path / "mixed.xlsx")
    assert _cli(str(src)) == 0
    _check_csv(capfdbinary.readouterr().out.decode("utf-8"))


def test_mixed_workbook_columns_write_parquet_as_text(tmp_path):
    src = _workbook(tmp_path / "mixed.xlsx")
    assert _cli(str(src), "-o", str(tmp_path / "out.parquet")) == 0
    t = pq.read_table(tmp_path / "out.parquet")
    assert str(t.schema.field("hcpcs").type) == "string"
    assert str(t.schema.field("memo").type) == "string"
    assert t.column("hcpcs").to_pylist() == HCPCS_TEXT
    # an empty cell is read as "" (claims.io), the others are the text a spreadsheet shows
    assert t.column("memo").to_pylist() == [want for _, want in ROWS]


def test_mixed_workbook_columns_keep_their_cells_in_xlsx(tmp_path):
    from openpyxl import load_workbook

    src = _workbook(tmp_path / "mixed.xlsx")
    assert _cli(str(src), "-o", str(tmp_path / "out.xlsx")) == 0
    wb = load_workbook(tmp_path / "out.xlsx")
    ws = wb["Detail"] if "Detail" in wb.sheetnames else wb[wb.sheetnames[1]]
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "claim_id")
    got = [r[1] for r in rows[start + 1:start + 1 + len(ROWS)]]
    assert got == ["99213", 71046, "71046", "71046", "71046", "71046", "71046"]  # the number stays a number


def test_numeric_hcpcs_cell_is_priced_as_its_code(tmp_path):
    lines = read_claims(_workbook(tmp_path / "mixed.xlsx"))
    assert lines["hcpcs"].tolist()[:2] == ["99213", 71046]  # as the workbook holds them
    out = reprice(lines, releases=["rvu26c"])
    assert out.payable.all() and (out.reason == "").all()
    assert out.allowed[1] == out.allowed[2] == fee("71046")  # number 71046 and text "71046": 33.07
    assert out.hcpcs.tolist()[:2] == ["99213", 71046]  # the user's cells are not rewritten


def test_api_frame_with_mixed_column_writes(tmp_path):
    lines = pd.DataFrame({"claim_id": ["A", "B"], "hcpcs": ["71046", 71046], "pos": "11",
                          "locality": "national", "date_of_service": "2026-08-03",
                          "memo": pd.Series(["x", 2], dtype=object)})
    out = reprice(lines, releases=["rvu26c"])
    assert out.memo.tolist() == ["x", 2]  # the frame itself is the user's, as given
    write_claims(out, tmp_path / "o.csv")
    write_claims(out, tmp_path / "o.parquet")
    back = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False)
    assert back.hcpcs.tolist() == ["71046", "71046"] and back.memo.tolist() == ["x", "2"]
    assert pq.read_table(tmp_path / "o.parquet").column("memo").to_pylist() == ["x", "2"]


def test_columns_of_one_kind_keep_their_type():
    df = pd.DataFrame({"n": pd.Series([1, 2], dtype=object), "s": pd.Series(["a", None], dtype=object)})
    t = to_arrow(df)
    assert str(t.schema.field("n").type) == "int64" and t.column("s").to_pylist() == ["a", None]


@pytest.mark.parametrize("value,text", [
    ("0123", "0123"), (71046, "71046"), (1.0, "1"), (-0.0, "0"), (1.5, "1.5"),
    (0.1 + 0.2, "0.3"), (1e-05, "0.00001"), (123456789012.25, "123456789012.25"),
    (True, "TRUE"), (False, "FALSE"), (dt.datetime(2026, 8, 3), "2026-08-03"),
    (dt.datetime(2026, 8, 3, 14, 30), "2026-08-03 14:30:00"), (dt.date(2026, 8, 3), "2026-08-03"),
    (pd.Timestamp("2026-08-03"), "2026-08-03"), (dt.time(14, 30), "14:30:00"),
    (None, None), (float("nan"), None), (pd.NaT, None),
])
def test_cell_text_is_what_a_spreadsheet_shows(value, text):
    assert cell_text(value) == text


def test_float_hcpcs_is_priced_as_its_code(fs26):
    """A float column (or a number 71046.0 next to 71046, which pandas hashes as one value) is
    read as the whole number's digits; the text "71046.0" is not a code."""
    lines = pd.DataFrame({"claim_id": ["a", "b", "c", "d"],
                          "hcpcs": pd.Series([71046.0, 71046, "71046", "71046.0"], dtype=object),
                          "pos": "11", "locality": "national", "date_of_service": "2026-08-03"})
    out = reprice(lines, releases=[fs26])
    assert out.allowed.tolist()[:3] == [fee("71046")] * 3  # 33.07
    assert out.reason.tolist() == ["", "", "", "REPRICE_BAD_CODE"]  # text that is no code
    floats = reprice(lines.iloc[:1].assign(hcpcs=[71046.0]), releases=[fs26])
    assert floats.hcpcs.dtype == "float64" and floats.allowed.tolist() == [fee("71046")]


def test_dates_in_csv_as_a_spreadsheet_shows_them(tmp_path):
    """A workbook's date cells (a column of dates only keeps its date type) and a Parquet
    timestamp column show in a CSV as 2026-08-03, not 2026-08-03 00:00:00.000000; in memory
    and streamed alike. Parquet output keeps the dates as dates."""
    from openpyxl import Workbook

    from rvucalc.claims.pipeline import options
    from rvucalc.claims.stream import reprice_file

    wb = Workbook()
    ws = wb.active
    ws.append(["claim_id", "hcpcs", "pos", "locality", "date_of_service", "seen_at", "at"])
    ws.append(["A", "99213", "11", "national", dt.datetime(2026, 8, 3), dt.datetime(2026, 8, 3, 10, 15),
               dt.time(14, 30)])
    ws.append(["B", "71046", "11", "national", dt.datetime(2026, 8, 4), dt.datetime(2026, 8, 4),
               dt.time(9, 5, 30)])
    wb.save(tmp_path / "d.xlsx")
    assert _cli(str(tmp_path / "d.xlsx"), "-o", str(tmp_path / "d.csv")) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "d.csv").read_text(encoding="utf-8"))))
    assert [r[4:7] for r in rows[1:]] == [["2026-08-03", "2026-08-03 10:15:00", "14:30:00"],
                                          ["2026-08-04", "2026-08-04", "09:05:30"]]
    reason = rows[0].index("reason")
    assert [r[reason] for r in rows[1:]] == ["", ""]
    assert _cli(str(tmp_path / "d.xlsx"), "-o", str(tmp_path / "d.parquet")) == 0
    t = pq.read_table(tmp_path / "d.parquet")
    assert str(t.schema.field("date_of_service").type).startswith("timestamp")
    # a Parquet input with a timestamp column: the in-memory and the streamed CSV are the same
    src = tmp_path / "typed.parquet"
    pq.write_table(t.select(["claim_id", "hcpcs", "pos", "locality", "date_of_service", "seen_at"]), src)
    assert _cli(str(src), "-o", str(tmp_path / "mem.csv")) == 0
    reprice_file(src, tmp_path / "st.csv", options=options(releases=["rvu26c"]), chunk_lines=1,
                 progress=False)
    mem = (tmp_path / "mem.csv").read_text(encoding="utf-8")
    assert (tmp_path / "st.csv").read_text(encoding="utf-8") == mem
    assert [r[4:6] for r in list(csv.reader(io.StringIO(mem)))[1:]] == [
        ["2026-08-03", "2026-08-03 10:15:00"], ["2026-08-04", "2026-08-04"]]


def test_csv_table_keeps_fractions_of_a_second():
    import pyarrow as pa

    from rvucalc.claims.io import csv_table

    t = pa.table({"ts": pa.array([dt.datetime(2026, 8, 3, 10, 15, 1, 250000), None], pa.timestamp("us")),
                  "n": [1, 2]})
    out = csv_table(t)
    assert out.column("ts").to_pylist() == ["2026-08-03 10:15:01.250000", None]
    assert out.column("n").to_pylist() == [1, 2]
    assert cell_text(dt.datetime(2026, 8, 3, 10, 15, 1, 250000)) == "2026-08-03 10:15:01.250000"
