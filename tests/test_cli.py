"""The command line, as a person and a script use it."""

from __future__ import annotations

import json
import subprocess
import sys

from rvucalc.cli import main


def test_quote_zip_table(capsys):
    assert main(["quote", "20983", "--zip", "90012"]) == 0
    out = capsys.readouterr().out
    assert "01182-18" in out and "$5,757.50" in out and "PPRRVU2026_Jul_nonQPP.csv" in out


def test_quote_json(capsys):
    assert main(["quote", "20983", "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["nonfacility"]["amount"] == 4905.92 and q["facility"]["amount"] == 302.61
    assert q["sources"][0]["release"] == "rvu26c"


def test_unknown_code_suggests_and_exits_2(capsys):
    assert main(["quote", "20984"]) == 2
    err = capsys.readouterr().err
    assert "20984 is not in" in err and "did you mean" in err
    assert main(["quote", "20983", "--zip", "00000"]) == 2
    assert "ZIP 00000" in capsys.readouterr().err


def test_localities_search(capsys):
    assert main(["localities", "manhattan"]) == 0
    assert "13202-01" in capsys.readouterr().out
    assert main(["localities", "90012", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["locality_id"] == "01182-18"


def test_schedule_csv_and_file(capsys, tmp_path):
    assert main(["schedule", "99213", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 109 * 2
    out = tmp_path / "s.parquet"
    assert main(["schedule", "99213", "20983", "--national", "--out", str(out)]) == 0
    import pandas as pd

    assert len(pd.read_parquet(out)) == 4


def test_releases_and_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "rvucalc", "releases", "--system", "pfs"],
                       capture_output=True, text=True, check=True)
    assert "rvu26c" in r.stdout and "rvu24a" in r.stdout
