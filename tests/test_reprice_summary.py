"""The summary ``rvucalc reprice`` prints on standard error: honest counts, the same from every engine.

Review findings: the in-memory summary named only the top 4 reasons, so "6 not (...)" showed
counts adding up to 5, and it counted REPRICE_RELEASE_FALLBACK (a note: the line was priced with
another release) as a reason lines were not paid; the stream and Dask engines printed only
"3,699 lines priced -> out". Inputs are synthetic files written here; the expected lines are
worked out by hand from each line's reasons (the rule: a line not payable counts once, under the
first of its codes that refuses a line).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rvucalc.cli import main

# claim 2 and 5 fall in 2026 Q1: the mirror has no Q1 release (rvu26a), so they are priced with
# rvu26c and carry REPRICE_RELEASE_FALLBACK (a note). Reasons by line (hand):
#  1 payable; 2 payable + FALLBACK; 3, 4 UNKNOWN_CODE; 5 FALLBACK + UNKNOWN_CODE; 6 BAD_UNITS (units 0);
#  7 BAD_DATE; 8 NO_LOCALITY; 9 BAD_POS; 10 BAD_UNITS + UNKNOWN_CODE (counted once, as BAD_UNITS).
LINES = """claim_id,hcpcs,modifiers,units,pos,locality,date_of_service
1,99213,,1,11,national,2026-08-03
2,99213,,1,11,national,2026-02-10
3,ZZZZZ,,1,11,national,2026-08-03
4,ZZZZZ,,1,11,national,2026-08-03
5,ZZZZZ,,1,11,national,2026-02-10
6,99213,,0,11,national,2026-08-03
7,99213,,1,11,national,2026-13-45
8,99213,,1,11,99999-99,2026-08-03
9,99213,,1,ZZ,national,2026-08-03
10,ZZZZZ,,0,11,national,2026-08-03
"""
# 10 lines, 2 payable, 8 not: UNKNOWN_CODE 3 (lines 3-5), BAD_UNITS 2 (6, 10), then BAD_DATE, BAD_POS
# and NO_LOCALITY 1 each (ties by code): the first four named, NO_LOCALITY's line said as "1 more".
FIRST = ("10 lines priced: 2 payable, 8 not payable (REPRICE_UNKNOWN_CODE 3, REPRICE_BAD_UNITS 2, "
         "REPRICE_BAD_DATE 1, REPRICE_BAD_POS 1, and 1 more line for other reasons)")


@pytest.fixture
def lines_csv(tmp_path: Path) -> Path:
    p = tmp_path / "claims.csv"
    p.write_text(LINES)
    return p


def _summary(capsys, argv: list[str], out: Path) -> list[str]:
    assert main(argv) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith(f" -> {out}"), err
    return [err[0][: -len(f" -> {out}")], *err[1:]]


def test_in_memory_summary_counts_each_unpaid_line_once_by_refusing_reason(lines_csv, tmp_path, capsys, fs26):
    out = tmp_path / "priced.csv"
    got = _summary(capsys, ["reprice", str(lines_csv), "-o", str(out), "--engine", "memory", "--no-progress"], out)
    # precondition: the Q1 lines were priced with a fallback release (the mirror has no rvu26a)
    priced = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert priced["reason"][1] == "REPRICE_RELEASE_FALLBACK" and priced["payable"][1] == "true"
    assert got[0] == FIRST
    counts = [int(x) for x in re.findall(r" (\d+)(?:,|\)| more)", got[0].split("not payable")[1])]
    assert sum(counts) == 8  # the counts add up to the lines not payable
    assert "FALLBACK" not in got[0]  # a note, not a refusal
    assert got[1].startswith("  note: REPRICE_RELEASE_FALLBACK on 2 lines (")
    assert got[2].startswith("  ") and "rvu26c" in got[2]  # the release note of the Q1 lines
    assert got[2].endswith("(2 lines)")  # lines 2 (paid) and 5 (not paid)
    # then the claim edits (issue 22): duplicate lines checked (none: one line per claim); the
    # mirror has no NCCI file, so the PTP edits and MUEs were not applied to the lines they would
    # edit: 2026 Q1 lines 2 and 5, 2026 Q3 lines 1, 3, 4, 8 and 9 (lines 6 and 10 have no units,
    # line 7 no date: refused before any edit)
    assert got[3] == "  edits: duplicate lines"
    assert [g.split(":")[0] for g in got[4:]] == ["  edits not applied"] * 4
    assert [g.split(": ")[1] for g in got[4:]] == [
        "MUEs (practitioner) for 2026 Q1", "MUEs (practitioner) for 2026 Q3",
        "NCCI PTP edits (practitioner) for 2026 Q1", "NCCI PTP edits (practitioner) for 2026 Q3"]
    assert [g.rsplit("(", 1)[1] for g in got[4:]] == ["2 lines)", "5 lines)", "2 lines)", "5 lines)"]
    assert "rvucalc fetch ncci-ptp-practitioner-2026q1" in got[6]  # the release to fetch is named


def test_stream_and_dask_print_the_in_memory_summary(lines_csv, tmp_path, capsys, fs26):
    import distributed

    out = tmp_path / "mem.csv"
    ref = _summary(capsys, ["reprice", str(lines_csv), "-o", str(out), "--engine", "memory", "--no-progress"], out)
    assert ref[0] == FIRST
    # streaming, in parts of 2 lines priced on 2 threads: the counts are added up part by part
    out = tmp_path / "st.csv"
    assert _summary(capsys, ["reprice", str(lines_csv), "-o", str(out), "--engine", "stream", "--chunk-lines", "4",
                             "--workers", "2", "--no-progress"], out) == ref
    # Dask: the lines as a dataset of three files, text as text
    ds = tmp_path / "ds"
    ds.mkdir()
    df = pd.read_csv(lines_csv, dtype=str, keep_default_na=False)
    for i, part in enumerate((df.iloc[:3], df.iloc[3:7], df.iloc[7:])):
        part.to_parquet(ds / f"part{i}.parquet", index=False)
    out = tmp_path / "dask_out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=":0") as cluster:
        got = _summary(capsys, ["reprice", str(ds), "-o", str(out), "--engine", "dask", "--scheduler",
                                cluster.scheduler_address, "--no-progress"], out)
    assert got == ref
    assert len(pd.read_parquet(out)) == 10


def _frame(rows: list[tuple[bool, str]], note: str = "") -> pd.DataFrame:
    return pd.DataFrame({"_line": range(len(rows)), "payable": [p for p, _ in rows], "reason": [r for _, r in rows],
                         "release_note": [note if not p else "" for p, _ in rows]})


def test_tally_facility_reasons_and_parts_add_up():
    """OPPS/ASC lines: the reason that refuses, not the informational codes before it."""
    from rvucalc.claims.tally import LineTally

    rows = [(False, "MOD_NOT_PRICED|FACILITY_NO_RELEASE|FACILITY_NATIONAL_RATE|FACILITY_LINE_NOT_PRICED"),
            (False, "REPRICE_BAD_CHARGE|FACILITY_NO_RELEASE|FACILITY_NATIONAL_RATE|FACILITY_LINE_NOT_PRICED"),
            (False, "REPRICE_BAD_DATE|FACILITY_NATIONAL_RATE|FACILITY_LINE_NOT_PRICED"),
            (False, "FACILITY_LINE_NOT_PRICED"),
            (False, ""),
            (True, "FACILITY_RELEASE_OTHER_QUARTER|FACILITY_NATIONAL_RATE"),
            (True, "")]
    t = LineTally(None)
    t.add(t.count(_frame(rows[:3], "no addendum")))  # two chunks, as the engines count them
    t.add(t.count(_frame(rows[3:], "other note").assign(_line=range(3, 7))))
    text = t.text(top=2).splitlines()
    assert text[0] == ("7 lines priced: 2 payable, 5 not payable (FACILITY_NO_RELEASE 2, FACILITY_LINE_NOT_PRICED 1, "
                       "and 2 more lines for other reasons)")
    assert text[1].startswith("  note: FACILITY_RELEASE_OTHER_QUARTER on 1 line (")
    # every note, by first line, with its lines (rows 0-2: "no addendum"; rows 3 and 4 unpaid: "other note")
    assert text[2:] == ["  no addendum (3 lines)", "  other note (2 lines)"]
    assert LineTally(None)(_frame(rows)).text(top=9).splitlines()[0].endswith(
        "(FACILITY_NO_RELEASE 2, FACILITY_LINE_NOT_PRICED 1, REPRICE_BAD_DATE 1, no reason stated 1)")


def test_tally_all_payable_and_empty():
    from rvucalc.claims.tally import LineTally

    assert LineTally(frozenset())(_frame([(True, "")] * 3)).text() == "3 lines priced: 3 payable"
    assert LineTally(frozenset())(_frame([])).text(out="x.csv") == "0 lines priced: 0 payable -> x.csv"


def test_tally_facility_informational_codes_before_the_refusal():
    """A facility line without a claim id, or with a discount or copayment note, that is not paid
    is counted under the code that refuses it (registered later), not under the note."""
    from rvucalc.claims.tally import LineTally

    rows = [(False, "CLAIM_ID_MISSING|OPPS_NO_WAGE_INDEX"), (False, "OPPS_T_DISCOUNT|OPPS_NO_WAGE_INDEX"),
            (False, "ASC_MULT_PROC_50|ASC_PREVENTIVE|ASC_IRA_COPAYMENT|ASC_NO_WAGE_INDEX"),
            (False, "ASC_J8_WAGE_WHOLE_RATE|OPPS_MOD73_50PCT|WI_APPROX_OPPS|ASC_NO_RATE")]
    assert LineTally(None)(_frame(rows)).text(top=9).splitlines()[0] == (
        "4 lines priced: 0 payable, 4 not payable (OPPS_NO_WAGE_INDEX 2, ASC_NO_RATE 1, ASC_NO_WAGE_INDEX 1)")
