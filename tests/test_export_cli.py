"""The compare and diff subcommands (rvucalc.cli.workbench), run in-process."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout

import pandas as pd
import pytest
from openpyxl import load_workbook

from rvucalc.cli.workbench import COMMANDS, add_parsers
from rvucalc.errors import RvucalcError


def run(*argv: str) -> tuple[int, str]:
    ap = argparse.ArgumentParser(prog="rvucalc")
    add_parsers(ap.add_subparsers(dest="cmd", required=True))
    a = ap.parse_args(list(argv))
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = COMMANDS[a.cmd](a)
    return rc, buf.getvalue()


def test_compare_out_xlsx(tmp_path, fs26):
    out = tmp_path / "rates.xlsx"
    rc, _ = run("compare", "20983", "77013", "--localities", "CA", "--out", str(out), "--offline")
    assert rc == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Detail", "Reasons", "Provenance"]
    det = pd.DataFrame(wb["Detail"].values)
    det.columns = det.iloc[0]
    det = det.iloc[1:]
    assert set(det["state"].dropna()) == {"CA"}
    nat = det[(det["hcpcs"] == "20983") & (det["locality_id"] == "national")]
    assert nat["nonfacility"].iloc[0] == 4905.92  # 146.88 x 33.4009, half up
    assert len(wb["Summary"]._charts) == 2  # one per code with an amount: 20983, 77013-26


def test_compare_terminal_and_json(fs26):
    rc, text = run("compare", "20983", "--localities", "01182-18", "--offline")
    assert rc == 0 and "$4,905.92" in text and "01182-18" in text
    rc, text = run("compare", "20983", "--localities", "01182-18", "--json", "--offline")
    recs = json.loads(text)
    assert [r["locality_id"] for r in recs] == ["national", "01182-18"]
    assert recs[1]["nonfacility"] == 5757.5  # LA, see test_export_excel


def test_compare_unknown_state(fs26):
    with pytest.raises(RvucalcError, match="not a state"):
        run("compare", "20983", "--localities", "ZZ", "--offline")


def test_diff_csv(fs25, fs26):
    rc, text = run("diff", "2025", "2026", "--codes", "20983", "--csv", "--offline")
    assert rc == 0
    df = pd.read_csv(io.StringIO(text), dtype={"hcpcs": str})
    r = df.iloc[0]
    assert (r["hcpcs"], r["nonfacility_old"], r["nonfacility_new"], r["nonfacility_pct"]) == \
        ("20983", 4702.21, 4905.92, 4.33)


def test_diff_terminal_and_same_release(fs25, fs26):
    rc, text = run("diff", "rvu25d", "rvu26c", "--limit", "5", "--offline")
    assert rc == 0 and "RVU25D" in text and "added" in text and "deleted" in text
    with pytest.raises(RvucalcError, match="same release"):
        run("diff", "2026", "rvu26c", "--offline")
