"""The ``reprice`` subcommand (parser and run), on a small synthetic claims file."""

from __future__ import annotations

import argparse

import pandas as pd

from rvucalc.cli.reprice import add_parser, run


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    return ap.parse_args(argv)


def test_cli_csv_to_xlsx_and_parquet(tmp_path, fs26):
    src = tmp_path / "claims.csv"
    src.write_text("claim_id,hcpcs,modifiers,units,pos,zip,date_of_service,charge\n"
                   "1,20983,50,1,11,90012,2026-08-03,\n"
                   "1,99213,,1,11,02108,2026-08-03,10\n"
                   "2,ZZZZZ,,1,11,90012,2026-08-03,\n")
    for ext in ("xlsx", "parquet", "csv"):
        out = tmp_path / f"priced.{ext}"
        assert run(_parse(["reprice", str(src), "-o", str(out), "--release", "rvu26c", "--no-progress"])) == 0
        df = pd.read_excel(out, sheet_name="Detail") if ext == "xlsx" else pd.read_parquet(out) if ext == "parquet" else pd.read_csv(out)
        assert len(df) == 3 and list(df["claim_id"].astype(str)) == ["1", "1", "2"]
        assert df["allowed"][0] == 8636.25  # 5757.50 (LA, see test_reprice) x 1.5
        assert df["allowed"][1] == 10.0  # the charge is lower
        assert df["reason"][2] == "REPRICE_UNKNOWN_CODE"


def test_cli_bad_file_exits_2(tmp_path, capsys):
    assert run(_parse(["reprice", str(tmp_path / "missing.csv"), "--no-progress"])) == 2
    assert "rvucalc reprice" in capsys.readouterr().err


def test_cli_offline_forbids_downloads_for_the_run(tmp_path, fs26, monkeypatch):
    import os

    monkeypatch.setenv("RVUCALC_OFFLINE", "0")  # restored after the test
    src = tmp_path / "claims.csv"
    src.write_text("claim_id,hcpcs,units,pos,zip,date_of_service\n1,20983,1,11,90012,2026-08-03\n")
    out = tmp_path / "priced.csv"
    assert run(_parse(["reprice", str(src), "-o", str(out), "--release", "rvu26c", "--offline",
                       "--no-progress"])) == 0
    assert os.environ["RVUCALC_OFFLINE"] == "1"
    assert pd.read_csv(out)["allowed"][0] == 5757.50  # LA office amount (see test_reprice)
