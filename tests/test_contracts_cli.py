"""``rvucalc contract``: the book priced under contracts, the comparison workbook, rate sheets.

Figures are hand arithmetic from the mirror's CY2026 rows (see tests/test_contracts.py): in Los
Angeles (ZIP 90012) 99214 is $148.89, 99213 $104.89, 20983 $5,757.50 in the office.
"""

from __future__ import annotations

import hashlib
import textwrap

import openpyxl
import pandas as pd
import pytest

from rvucalc.cli import main
from tests.test_contracts import EXAMPLE, HUNDRED


@pytest.fixture()
def files(tmp_path, mirror):
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    acme = tmp_path / "acme.yaml"
    acme.write_text(EXAMPLE)
    hundred = tmp_path / "hundred.yaml"
    hundred.write_text(HUNDRED)
    book = tmp_path / "book.csv"
    book.write_text(textwrap.dedent("""\
        claim_id,hcpcs,modifiers,units,pos,zip,date_of_service,charge,memo
        c1,99214,,1,11,90012,2026-03-10,,007.50
        c1,20983,,1,11,90012,2026-03-10,9000,=1+1
        c2,20983,,1,11,90012,2026-03-10,7000,
        c3,99213,,1,11,90012,2026-03-10,,
        """))
    return tmp_path, acme, hundred, book


def test_book_to_workbook_and_claims(files, capsys):
    tmp, acme, hundred, book = files
    out, claims = tmp / "out.xlsx", tmp / "claims.csv"
    rc = main(["contract", str(book), "--contract", str(acme), "--contract", str(hundred), "-o", str(out),
               "--claims-out", str(claims)])
    err = capsys.readouterr().err
    assert rc == 0, err
    # acme: 178.67 + 7,772.63 + 7,000.00 + 125.87 (120% of $104.89 = $125.868) = $15,077.17
    assert "acme-ppo-2026: $15,077.17 on 4 of 4 lines" in err
    assert "medicare-100: $11,768.78 on 4 of 4 lines; 100.00% of Medicare" in err
    c = pd.read_csv(claims, dtype={"claim_id": str})
    assert c["acme-ppo-2026 allowed"].tolist() == [7951.30, 7000.00, 125.87]
    assert c["medicare-100 allowed"].tolist() == [5906.39, 5757.50, 104.89]
    assert c["medicare-100 percent of Medicare"].tolist() == [100.0, 100.0, 100.0]
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "By category", "Contracts", "Top codes", "Claims", "Terms", "Lines",
                             "Reasons", "Provenance"]
    summary = wb["Summary"]
    assert len(summary._charts) == 1
    rows = [[c.value for c in r] for r in summary.iter_rows()]
    header = next(r for r in rows if r and r[0] == "category")
    assert header[1:3] == ["acme-ppo-2026", "medicare-100"]
    all_services = next(r for r in rows if r and r[0] == "All services")
    assert all_services[2] == 1  # 100% of Medicare, written as the fraction 1 under a percent format
    assert all_services[1] == pytest.approx(15077.17 / 11768.78)
    prov = [[c.value for c in r] for r in wb["Provenance"].iter_rows()]
    sha = {r[3]: r[4] for r in prov if r and len(r) > 4 and r[3]}
    assert sha[str(acme)] == hashlib.sha256(acme.read_bytes()).hexdigest()
    assert sha[str(hundred)] == hashlib.sha256(hundred.read_bytes()).hexdigest()
    assert "PPRRVU2026_Jul_nonQPP.csv" in sha and "GPCI2026.csv" in sha
    lines = [[c.value for c in r] for r in wb["Lines"].iter_rows()]
    head = lines[0]
    memo = [r[head.index("memo")] for r in lines[1:]]
    assert memo[:2] == ["007.50", "=1+1"]  # the user's cells as given, text


def test_book_rows_to_csv(files, capsys):
    tmp, acme, hundred, book = files
    out = tmp / "rows.csv"
    assert main(["contract", str(book), "--contract", str(acme), "--contract", str(hundred), "-o", str(out)]) == 0
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(rows) == 8
    assert rows["contract"].tolist() == ["acme-ppo-2026"] * 4 + ["medicare-100"] * 4
    # written as `rvucalc reprice` writes its rows (pyarrow: 7000, not 7000.0)
    assert rows["contract_allowed"].tolist() == ["178.67", "7772.63", "7000", "125.87",
                                                 "148.89", "5757.5", "5757.5", "104.89"]
    # the user's cells come back as given, never rewritten as a spreadsheet guard would ('=1+1)
    assert rows["memo"].tolist()[:2] == ["007.50", "=1+1"]


def test_book_totals_printed_without_output(files, capsys):
    tmp, acme, hundred, book = files
    assert main(["contract", str(book), "--contract", str(acme)]) == 0
    out = capsys.readouterr().out
    assert "$15,077.17" in out and "128.11%" in out  # 15,077.17 / 11,768.78


def test_rate_sheet(files, capsys):
    tmp, acme, hundred, _ = files
    out = tmp / "rates.csv"
    rc = main(["contract", "--rates", str(acme), "--rates", str(hundred), "--codes", "99213", "99214", "20983",
               "--zip", "90012", "--date", "2026-03-10", "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "ZIP 90012, POS 11, date of service 2026-03-10" in text
    line = next(x for x in text.splitlines() if x.startswith("99214"))
    assert line.split("\t") == ["99214", "$148.89", "$178.67", "120.00%", "$148.89", "100.00%"]
    sheet = pd.read_csv(out, dtype={"code": str})
    assert sheet["acme-ppo-2026"].tolist() == [125.87, 178.67, 7772.63]
    assert sheet["acme-ppo-2026 term"].tolist() == ["professional", "professional", "surgery"]


def test_contract_errors_exit_2_naming_the_line(files, capsys):
    tmp, acme, hundred, book = files
    bad = tmp / "bad.yaml"
    bad.write_text("name: bad\nterms:\n  - name: a\n    pay: {percent_of_medicare: 12O}\n")
    assert main(["contract", str(book), "--contract", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml, line 4" in err and "expected a percentage" in err
    assert main(["contract", str(book), "--contract", str(acme), "-o", str(tmp / "x.txt")]) == 2
    assert "suffix" in capsys.readouterr().err
    assert not (tmp / "x.txt").exists()
    assert main(["contract", str(book), "--contract", str(acme), "-o", str(book)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert main(["contract", str(book)]) == 2
    assert "--contract" in capsys.readouterr().err


def test_missing_column_is_one_sentence(files, capsys):
    tmp, acme, _, _ = files
    book = tmp / "nozip.csv"
    book.write_text("claim_id,hcpcs,pos,date_of_service\nc1,99214,11,2026-03-10\n")
    assert main(["contract", str(book), "--contract", str(acme)]) == 2
    err = capsys.readouterr().err
    assert "zip or locality" in err


def test_large_books_leave_lines_and_claims_to_files(files):
    import rvucalc
    from rvucalc.claims.io import read_claims

    tmp, acme, hundred, book = files
    rows = rvucalc.price_contracts(read_claims(book).drop(columns=["_line"]), [acme, hundred])
    out = rvucalc.contracts.to_excel(rows, tmp / "big.xlsx", max_lines=2)
    wb = openpyxl.load_workbook(out)
    assert "Lines" not in wb.sheetnames and "Claims" not in wb.sheetnames
    text = [c.value for r in wb["Summary"].iter_rows() for c in r if isinstance(c.value, str)]
    assert any("8 line rows" in t for t in text) and any("3 per-claim rows" in t for t in text)


def test_stream_engine_writes_what_memory_writes_wide(files, capsys):
    """``--engine stream`` prices the book in parts; its rows (one per line, the contracts side by
    side) and per-claim totals are byte-identical to ``--layout wide`` in memory."""
    tmp, acme, hundred, book = files
    common = ["contract", str(book), "--contract", str(acme), "--contract", str(hundred), "--release", "rvu26c",
              "--offline"]
    assert main([*common, "--layout", "wide", "-o", str(tmp / "mem.csv"), "--claims-out",
                 str(tmp / "mem_claims.csv")]) == 0
    assert main([*common, "--engine", "stream", "--chunk-lines", "2", "--no-progress", "-o", str(tmp / "st.csv"),
                 "--claims-out", str(tmp / "st_claims.csv")]) == 0
    assert (tmp / "st.csv").read_bytes() == (tmp / "mem.csv").read_bytes()
    assert (tmp / "st_claims.csv").read_bytes() == (tmp / "mem_claims.csv").read_bytes()
    got = pd.read_csv(tmp / "st.csv", dtype=str, keep_default_na=False)
    assert got["memo"].tolist() == ["007.50", "=1+1", "", ""]  # the user's cells as given
    # hand arithmetic (tests/test_contracts.py): 99214 120% of $148.89 = $178.67; 20983 135% of
    # $5,757.50 = $7,772.63 (charge $9,000), lesser of the $7,000.00 charge; 99213 120% of $104.89
    assert got["acme-ppo-2026 allowed"].astype(float).tolist() == [178.67, 7772.63, 7000.00, 125.87]
    assert got["medicare-100 allowed"].astype(float).tolist() == [148.89, 5757.50, 5757.50, 104.89]
    totals = pd.read_csv(tmp / "st_claims.csv", dtype=str, keep_default_na=False)
    assert totals["claim_id"].tolist() == ["c1", "c2", "c3"]
    assert totals["acme-ppo-2026 allowed"].astype(float).tolist() == [7951.30, 7000.00, 125.87]  # 178.67 + 7,772.63
    assert "4 lines priced under acme-ppo-2026, medicare-100 (engine stream" in capsys.readouterr().err


def test_engines_refuse_what_they_cannot_write(files, capsys):
    tmp, acme, hundred, book = files
    common = ["contract", str(book), "--contract", str(acme), "--offline"]
    assert main([*common, "--engine", "stream", "-o", str(tmp / "x.xlsx")]) == 2
    assert "not the workbook: use --engine memory" in capsys.readouterr().err
    assert main([*common, "--engine", "stream", "--layout", "long", "-o", str(tmp / "x.csv")]) == 2
    assert "writes the wide layout" in capsys.readouterr().err
    assert main([*common, "--engine", "stream"]) == 2
    assert "needs an output (-o out.csv or out.parquet)" in capsys.readouterr().err
    assert main([*common, "--layout", "wide", "-o", str(tmp / "x.xlsx")]) == 2
    assert "drop --layout wide" in capsys.readouterr().err
    assert not list(tmp.glob("x.*"))


def test_dask_engine_gives_the_figures_of_memory(files, capsys):
    tmp, acme, hundred, book = files
    ds = tmp / "book_ds"
    ds.mkdir()
    pd.read_csv(book, dtype=str, keep_default_na=False).to_parquet(ds / "part.0.parquet", index=False)
    assert main(["contract", str(ds), "--contract", str(acme), "--release", "rvu26c", "--offline",
                 "--engine", "dask", "--workers", "1", "--no-progress", "-o", str(tmp / "out"),
                 "--claims-out", str(tmp / "claims")]) == 0
    got = pd.read_parquet(tmp / "out").sort_values("claim_id", kind="stable")
    assert sorted(got["acme-ppo-2026 allowed"].round(2).tolist()) == [125.87, 178.67, 7000.00, 7772.63]
    totals = pd.read_parquet(tmp / "claims").set_index("claim_id")
    assert totals.loc["c1", "acme-ppo-2026 allowed"] == pytest.approx(7951.30)
    assert "engine dask" in capsys.readouterr().err
