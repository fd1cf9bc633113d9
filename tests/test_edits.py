"""Claim edits (issue 22): duplicate lines, NCCI procedure-to-procedure edits and MUEs.

Every NCCI file here is written by the test in CMS's exact layout (the practitioner PTP .TXT:
copyright line, title, a header over four lines, tab-delimited rows, CRLF; the MUE CSV: a quoted
multi-line notice, a header whose first cell holds a line break). The edits in them are CMS's
documentation examples: 20983 (cryoablation, whose descriptor includes imaging guidance) with
77013 (CT guidance) in column two; 45380 (colonoscopy with biopsy) with 45378 (diagnostic
colonoscopy); 20610 (arthrocentesis) with 99213 (an office visit: modifier 25 on the visit is
the NCCI-associated modifier); 84439 (free thyroxine) with 84436 (total thyroxine, mutually
exclusive). Their modifier indicators, dates and MUE values are set by each test, not CMS's.

Expected amounts are hand arithmetic on PPRRVU2026_Jul_nonQPP.csv rows (RVU26C, checked against
the mirror below): national GPCIs 1.000, CF 33.4009.
"""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvucalc.calc import edits as E
from rvucalc.errors import CMSFileError
from rvucalc.iotools.ncci import read_mue, read_ptp
from rvucalc.reprice import reprice

CF26 = 33.4009
#: PPRRVU2026_Jul_nonQPP.csv: (work, PE non-facility, MP) of the codes priced below.
RVU = {"20983": (6.71, 139.34, 0.83), "99213": (1.30, 1.46, 0.09), "45378": (3.18, 7.73, 0.41)}

PTP_HEAD = ("CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\n"
            "Column1/Column2 Edits\t\t\t\t\t\t\n"
            "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\n"
            "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n"
            "\t\t\t\t*=no data\t1=allowed\t\n"
            "\t\t\t\t\t9=not applicable\t\n")
MUE_NOTICE = ('"CPT codes, descriptions and other data only are copyright 2025 American Medical Association. '
              'All Rights Reserved.\nApplicable FARS/DFARS Restrictions Apply to Government Use.",,,\n')
MUE_HEADER = {"practitioner": "Practitioner Services MUE Values",
              "outpatient_hospital": "Outpatient Hospital Services MUE Values",
              "dme": "DME Supplier Services MUE Values"}
MAI_TEXT = {1: "1 Line Edit", 2: "2 Date of Service Edit: Policy", 3: "3 Date of Service Edit: Clinical"}
#: An unrelated edit for the parts a test does not fill (a real part is never empty).
FILLER = ("0001A", "0591T", "", "20220101", "20231231", "1", "CPT Manual or CMS manual coding instruction")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("latin-1")


def ptp_text(rows: list[tuple[str, ...]]) -> bytes:
    return crlf(PTP_HEAD + "".join("\t".join(r) + "\n" for r in rows))


def write_ptp(folder: Path, rows: list[tuple[str, ...]], prefix: str = "ccipra", version: str = "v322r0") -> None:
    """The four parts of a quarter's PTP table (CMS splits it by code range): *rows* in f1."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in (1, 2, 3, 4):
        (folder / f"{prefix}-{version}-f{f}.TXT").write_bytes(ptp_text(rows if f == 1 else [FILLER]))


def edit(col1: str, col2: str, indicator: int, effective: str = "20150101", deletion: str = "*",
         rationale: str = "CPT Manual or CMS manual coding instruction") -> tuple[str, ...]:
    return (col1, col2, "", effective, deletion, str(indicator), rationale)


def mue_text(rows: list[tuple[str, int, int]], setting: str = "practitioner") -> bytes:
    body = "".join(f"{c},{v},{MAI_TEXT[m]},Clinical: Data\n" for c, v, m in rows)
    return crlf(MUE_NOTICE + f'"HCPCS/\nCPT Code",{MUE_HEADER[setting]},MUE Adjudication Indicator,'
                             f"MUE Rationale\n" + body)


def write_mue(folder: Path, rows: list[tuple[str, int, int]], setting: str = "practitioner",
              member: str = "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / member).write_bytes(mue_text(rows, setting))


def D(x: float) -> Decimal:
    return Decimal(repr(x))


def half_up(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def fee(code: str) -> float:
    """National non-facility amount by hand: (work + PE + MP) x CF, rounded half up."""
    w, pe, mp = RVU[code]
    return half_up((D(w) + D(pe) + D(mp)) * D(CF26))


def lines(rows: list[dict], **base) -> pd.DataFrame:
    b = {"claim_id": "C1", "modifiers": "", "units": "1", "pos": "11", "locality": "national",
         "date_of_service": "2026-08-03", **base}
    return pd.DataFrame([{**b, **r} for r in rows])


# ---------------------------------------------------------------------------------------------
# readers


def test_ptp_reader_cms_layout(tmp_path):
    p = tmp_path / "ccipra-v322r0-f1.TXT"
    p.write_bytes(ptp_text([edit("20983", "77013", 0), ("45380", "45378", "*", "19960101", "*", "1",
                                                         "More extensive procedure"),
                            edit("84439", "84436", 1, "20100101", "20251231", "Mutually exclusive procedures")]))
    df = read_ptp(p)
    assert list(df.columns) == ["column_one", "column_two", "pre_1996", "effective", "deletion",
                                "modifier_indicator", "rationale"]
    assert df["column_one"].tolist() == ["20983", "45380", "84439"]
    assert df["column_two"].tolist() == ["77013", "45378", "84436"]
    assert df["pre_1996"].tolist() == [False, True, False]
    assert df["effective"].tolist() == [pd.Timestamp(x) for x in ("2015-01-01", "1996-01-01", "2010-01-01")]
    assert pd.isna(df["deletion"][0]) and df["deletion"][2] == pd.Timestamp("2025-12-31")
    assert df["modifier_indicator"].tolist() == [0, 1, 1]
    assert df["rationale"][1] == "More extensive procedure"


@pytest.mark.parametrize("row, line, column, expected", [
    (edit("2098", "77013", 0), 8, "column_one", "5-character"),
    (edit("20983", "77013", 2), 8, "modifier_indicator", "0, 1 or 9"),
    (edit("20983", "77013", 0, "2015-01-01"), 8, "effective", "YYYYMMDD"),
    (edit("20983", "77013", 0, "20150101", "20151331"), 8, "deletion", "YYYYMMDD"),
    (edit("20983", "77013", 0, "20150101", "20141231"), 8, "deletion", "on or after the effective"),
])
def test_ptp_reader_names_the_bad_line_and_column(tmp_path, row, line, column, expected):
    p = tmp_path / "f1.TXT"
    p.write_bytes(ptp_text([edit("45380", "45378", 1), row]))  # data from line 7; the bad row is line 8
    with pytest.raises(CMSFileError, match=expected) as e:
        read_ptp(p)
    assert e.value.line == line and e.value.column == column


def test_ptp_reader_refuses_other_layouts(tmp_path):
    p = tmp_path / "f1.TXT"
    p.write_bytes(ptp_text([edit("45380", "45378", 1)]) + b"20983\t77013\t\t20150101\t*\t0\tx\textra\r\n")
    with pytest.raises(CMSFileError, match="7 tab-separated fields") as e:
        read_ptp(p)
    assert e.value.line == 8
    p.write_bytes(b"PK\x03\x04 an xlsx")
    with pytest.raises(CMSFileError, match=r"\.TXT member"):
        read_ptp(p)
    p.write_bytes(crlf("HCPCS\tdescription\n20983\tcryoablation\n"))
    with pytest.raises(CMSFileError, match="'Column 1', 'Column 2'"):
        read_ptp(p)


@pytest.mark.parametrize("setting", ["practitioner", "outpatient_hospital", "dme"])
def test_mue_reader_cms_layout(tmp_path, setting):
    p = tmp_path / "mue.csv"
    p.write_bytes(mue_text([("20983", 1, 2), ("36415", 2, 3), ("88305", 4, 1)], setting))
    df = read_mue(p)
    assert list(df.columns) == ["hcpcs", "mue", "mai", "mai_text", "rationale", "setting"]
    assert df["hcpcs"].tolist() == ["20983", "36415", "88305"]
    assert df["mue"].tolist() == [1, 2, 4] and df["mai"].tolist() == [2, 3, 1]
    assert df["mai_text"][0] == "2 Date of Service Edit: Policy" and set(df["setting"]) == {setting}


def test_mue_reader_errors_name_the_line(tmp_path):
    p = tmp_path / "mue.csv"
    # the notice spans lines 1-2 and the header lines 3-4: the first code is on line 5
    p.write_bytes(mue_text([("20983", 1, 2)]) + b"36415,two,3 Date of Service Edit: Clinical,x\r\n")
    with pytest.raises(CMSFileError, match="whole number") as e:
        read_mue(p)
    assert e.value.line == 6 and e.value.column == "mue"
    p.write_bytes(mue_text([("20983", 1, 2)]) + b"36415,2,4 Date of Service Edit,x\r\n")
    with pytest.raises(CMSFileError, match="indicator 1, 2 or 3") as e:
        read_mue(p)
    assert e.value.line == 6
    p.write_bytes(mue_text([("20983", 1, 2), ("20983", 2, 2)]))
    with pytest.raises(CMSFileError, match="20983 on lines 5 and 6"):
        read_mue(p)


# ---------------------------------------------------------------------------------------------
# the rules on arrays


def test_duplicate_lines_rule():
    claim = np.array([1, 1, 1, 1, 1, 2, 1, 1])
    day = np.array([10, 10, 10, 11, 10, 10, 10, 10])
    code = np.array([5, 5, 5, 5, 5, 5, 6, 5])
    mods = np.array([0, 0, 0, 0, 3, 0, 0, 0])
    place = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    repeat = np.array([False, False, True, False, False, False, False, False])  # line 2: modifier 76

    def dups(eligible: np.ndarray) -> list[bool]:
        same = E.same_key(E.claim_blocks(claim, eligible), day, code)
        i = same.lines
        return E.duplicate_lines(same, mods[i], place[i], repeat[i], len(claim)).tolist()

    # line 1 repeats line 0; line 2 is a repeat (76); 3 another date; 4 other modifiers; 5 another
    # claim; 6 another code; 7 another place of service
    assert dups(np.ones(8, dtype=bool)) == [False, True] + [False] * 6
    not_eligible = np.ones(8, dtype=bool)
    not_eligible[0] = False  # a refused first line: the next one is the first priced
    assert not any(dups(not_eligible))


def _table(*rows: tuple) -> E.PtpTable:
    c1, c2, first, last, ind = zip(*rows)
    return E.ptp_table(np.array(c1, dtype=object), np.array(c2, dtype=object), np.array(first),
                       np.array(last), np.array(ind))


def test_ptp_rule_indicator_modifier_and_dates():
    t = _table(("20983", "77013", 100, -1, 1), ("45380", "45378", 100, 200, 0), ("84439", "84436", 100, -1, 9))
    codes = np.array(["20983", "77013", "45380", "45378", "84439", "84436"], dtype=object)

    def run(day: int, bypass: list[bool]) -> tuple[list[bool], list[int]]:
        blocks = E.claim_blocks(np.zeros(6, dtype=np.int64), np.ones(6, dtype=bool))
        d, c1 = E.ptp_denials(blocks, np.full(6, day), t.codes.get_indexer(codes), np.array(bypass), t, 6)
        return d.tolist(), c1.tolist()

    plain = [False] * 6
    assert run(150, plain) == ([False, True, False, True, False, False], [-1, 0, -1, 2, -1, -1])
    with59 = [False, True, False, True, False, False]  # 59 on both column two lines
    assert run(150, with59)[0] == [False, False, False, True, False, False]  # indicator 1: allowed; 0: denied
    assert run(201, plain)[0] == [False, True, False, False, False, False]  # 45380/45378 deleted before the date
    assert run(99, plain)[0] == [False] * 6  # before both edits took effect
    assert run(200, plain)[0][3]  # the deletion date is the edit's last day


def test_ptp_rule_needs_the_column_one_line_on_the_same_claim_and_date():
    t = _table(("20983", "77013", 0, -1, 0))
    codes = np.array(["20983", "77013", "77013", "77013"], dtype=object)
    claim = np.array([1, 1, 1, 2])
    day = np.array([5, 5, 6, 5])
    d, _ = E.ptp_denials(E.claim_blocks(claim, np.ones(4, dtype=bool)), day, t.codes.get_indexer(codes),
                         np.zeros(4, dtype=bool), t, 4)
    assert d.tolist() == [False, True, False, False]
    eligible = np.array([False, True, True, True])  # the column one line itself denied: no edit
    d, _ = E.ptp_denials(E.claim_blocks(claim, eligible), day, t.codes.get_indexer(codes), np.zeros(4, dtype=bool),
                         t, 4)
    assert not d.any()


def test_ptp_rule_large_claims_and_batches(monkeypatch):
    """A claim of 100 lines (one code per date tested once, the others follow it), in small
    batches of pairs: the same denials as line by line."""
    rows = [("45380", "45378", 0, -1, 0), ("45385", "45378", 0, -1, 1)]
    rows += [(f"9{i:04d}", f"8{i:04d}", 0, -1, 0) for i in range(96)]  # unrelated edits
    t = _table(*rows)
    codes = np.array(["45378", "45380", "45378", "45385", "45378"] + [f"9{i:04d}" for i in range(95)], dtype=object)
    bypass = np.zeros(100, dtype=bool)
    bypass[4] = True  # 59 on the last 45378: still denied (45380's edit has indicator 0)
    args = (E.claim_blocks(np.zeros(100, dtype=np.int64), np.ones(100, dtype=bool)), np.full(100, 7),
            t.codes.get_indexer(codes), bypass, t, 100)
    want = ([True, False, True, False, True] + [False] * 95, [1, -1, 1, -1, 1] + [-1] * 95)
    d, c1 = E.ptp_denials(*args)
    assert (d.tolist(), c1.tolist()) == want
    monkeypatch.setattr(E, "BIG_CLAIM", 1000)
    monkeypatch.setattr(E, "PAIR_BATCH", 7)
    d, c1 = E.ptp_denials(*args)
    assert (d.tolist(), c1.tolist()) == want


def test_mue_rule_per_line_and_per_day():
    claim = np.array([1, 1, 1, 1, 1, 1, 2])
    day = np.array([5, 5, 5, 5, 6, 5, 5])
    code = np.array([1, 1, 2, 2, 2, 3, 2])
    units = np.array([3.0, 3.0, 1.0, 1.0, 1.0, 5.0, 1.0])
    mue = np.array([4.0, 4, 1, 1, 1, 4, 1])  # code 1: MUE 4 MAI 1; code 2: MUE 1 MAI 2; code 3: MUE 4 MAI 1
    mai = np.array([1, 1, 2, 2, 2, 1, 2], dtype=np.int8)
    every = np.ones(7, dtype=bool)
    same = E.same_key(E.claim_blocks(claim, every), day, code)
    d, got = E.mue_denials(units, mue, mai, every, same)
    # code 1: 3 + 3 units on two lines, each within 4 per line; code 2: 2 units on one date (both
    # lines denied), 1 on the next date and 1 on another claim; code 3: 5 units on one line
    assert d.tolist() == [False, False, True, True, False, True, False]
    assert got.tolist() == [3, 3, 2, 2, 1, 5, 1]
    mai3 = np.where(mai == 2, 3, mai).astype(np.int8)  # MAI 3 is a date of service edit too
    assert E.mue_denials(units, mue, mai3, every, same)[0].tolist() == d.tolist()
    one_left = every.copy()
    one_left[3] = False  # the other line of code 2 already denied by an earlier edit: 1 unit left
    assert not E.mue_denials(units, mue, mai, one_left, same)[0][2]


@pytest.mark.parametrize("together", [False, True])
def test_same_key_is_exact(together):
    """Lines sharing claim, date and code, whether a claim's lines are together or apart."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 50_000, 200_000)
    if together:
        a = np.sort(a)
    b = rng.integers(0, 3, 200_000)
    c = rng.integers(0, 40, 200_000)
    frame = pd.DataFrame({"a": a, "b": b, "c": c})
    same = E.same_key(E.claim_blocks(a, np.ones(len(a), dtype=bool)), b, c)
    assert (np.diff(same.lines) > 0).all()
    assert (np.isin(np.arange(len(a)), same.lines) == frame.duplicated(keep=False).to_numpy()).all()
    want = frame.iloc[same.lines].groupby(["a", "b", "c"], sort=False).ngroup().to_numpy()
    assert (same.ids == want).all() and same.n_ids == want.max() + 1


# ---------------------------------------------------------------------------------------------
# through the pipeline


@pytest.fixture
def ncci(tmp_path) -> Path:
    """A mirror folder with the 2026 Q3 practitioner PTP edits and MUEs (synthetic, CMS's layout)."""
    folder = tmp_path / "ncci"
    write_ptp(folder, [edit("20983", "77013", 1), edit("45380", "45378", 0), edit("20610", "99213", 1),
                       edit("84439", "84436", 0, "20100101", "20260630")])
    write_mue(folder, [("20983", 1, 2), ("88305", 4, 1)])
    return folder


def test_rvus_are_cms_rows(fs26):
    rv = fs26.rvus.set_index(["hcpcs", "modifier"])
    for c, (w, pe, mp) in RVU.items():
        r = rv.loc[(c, "")]
        assert (r.work_rvu, r.pe_nonfacility, r.mp_rvu) == (w, pe, mp), c


def test_exact_duplicates_denied_first_paid_in_full(fs26):
    """The issue's finding: a duplicated 20983 was paid 100% + 50% by the multiple-procedure rule."""
    df = lines([{"hcpcs": "20983"}, {"hcpcs": "20983"}, {"hcpcs": "20983", "modifiers": "76"},
                {"hcpcs": "20983", "date_of_service": "2026-08-04"}, {"hcpcs": "99213", "modifiers": "25 59"},
                {"hcpcs": "99213", "modifiers": "59,25"}])
    out = reprice(df, releases=[fs26])
    assert out["reason"].tolist()[:2] == ["", "EDIT_DUPLICATE"]
    assert out["allowed"][0] == fee("20983") and out["mult_proc_factor"][0] == 1.0
    assert np.isnan(out["allowed"][1]) and not out["payable"][1]
    assert out["edit_note"][1].startswith("duplicate of an earlier line")
    assert out["payable"][2] and out["payable"][3]  # 76: a repeat; another date
    assert out["payable"][4] and out["reason"][5] == "EDIT_DUPLICATE"  # the same modifiers in another order
    # without edits, the duplicate is paid at 50% as the second surgery of the date
    plain = reprice(df, releases=[fs26], edits=False)
    assert "edit_note" not in plain.columns
    assert plain["allowed"][1] == half_up(D(fee("20983")) * Decimal("0.5"))


def test_a_book_with_exact_duplicates(fs26):
    """The issue's book: lines of a warehouse extract repeated in their claim, lines shuffled.
    Every repeated line is denied (the later one in the file), no other line is."""
    rng = np.random.default_rng(22)
    codes = np.array(["99213", "20983", "45378", "97110", "71046", "27447", "70450", "11300"], dtype=object)
    rows = []
    for c in range(3000):  # claims of 1-4 distinct codes
        for code in rng.choice(codes, rng.integers(1, 5), replace=False):
            rows.append({"claim_id": f"K{c}", "hcpcs": code, "modifiers": rng.choice(["", "26", "59"]),
                         "units": str(rng.integers(1, 3))})
    df = lines(rows)
    copies = df.sample(frac=0.03, random_state=1)  # 3% of the lines again, as the extract repeats them
    book = pd.concat([df, copies], ignore_index=True)
    book = book.iloc[rng.permutation(len(book))].reset_index(drop=True)
    out = reprice(book, releases=[fs26])
    key = ["claim_id", "hcpcs", "modifiers"]
    repeat = book.duplicated(key, keep="first").to_numpy()
    assert (out["reason"].str.contains("EDIT_DUPLICATE").to_numpy() == repeat).all() and repeat.sum() == len(copies)
    assert out.loc[repeat, "allowed"].isna().all()


def test_ptp_edits_through_reprice(fs26, ncci):
    df = lines([{"claim_id": "A", "hcpcs": "20983"}, {"claim_id": "A", "hcpcs": "77013", "modifiers": "26"},
                {"claim_id": "B", "hcpcs": "20983"}, {"claim_id": "B", "hcpcs": "77013-26", "modifiers": "59"},
                {"claim_id": "C", "hcpcs": "45380"}, {"claim_id": "C", "hcpcs": "45378", "modifiers": "59"},
                {"claim_id": "D", "hcpcs": "20610"}, {"claim_id": "D", "hcpcs": "99213", "modifiers": "25"},
                {"claim_id": "E", "hcpcs": "20983"}, {"claim_id": "E", "hcpcs": "77013", "modifiers": "26 25"},
                {"claim_id": "F", "hcpcs": "84439"}, {"claim_id": "F", "hcpcs": "84436"}])
    out = reprice(df, releases=[fs26], mirror=str(ncci))
    reason = out["reason"].tolist()
    # A: indicator 1, no modifier: denied; B: with 59: allowed; C: indicator 0: 59 does not help;
    # D: 25 on the visit (an E&M code): allowed; E: 25 on a non-E&M code is no bypass; F: the edit
    # was deleted 2026-06-30, before the date of service
    assert ["EDIT_NCCI_PTP" in r for r in reason[1::2]] == [True, False, True, False, True, False]
    assert reason[1] == reason[5] == reason[9] == "EDIT_NCCI_PTP" and reason[3] == reason[7] == ""
    assert "NOT_PFS_CLFS" in reason[11]  # 84436 is a laboratory code (not on the PFS), not an edit
    assert out["edit_note"][1] == "NCCI PTP edit: column two code of 20983 on the same date of service"
    assert out["edit_note"][5].endswith("of 45380 on the same date of service")
    assert np.isnan(out["allowed"][5]) and out["allowed"][4] == out["allowed"][4]
    # the column one code is paid as if alone: 45380 not reduced by 45378
    assert out["mult_proc_factor"][4] == 1.0 and out["mult_proc_rank"][4] == 1
    assert out["allowed"][7] == fee("99213")


def test_edit_deleted_before_or_effective_after_the_date_of_service(fs26, tmp_path):
    folder = tmp_path / "n"
    write_ptp(folder, [edit("45380", "45378", 0, "20260901"), edit("20983", "77013", 0, "20150101", "20260801")])
    write_mue(folder, [])
    df = lines([{"claim_id": "A", "hcpcs": "45380"}, {"claim_id": "A", "hcpcs": "45378"},
                {"claim_id": "B", "hcpcs": "45380", "date_of_service": "2026-09-15"},
                {"claim_id": "B", "hcpcs": "45378", "date_of_service": "2026-09-15"},
                {"claim_id": "C", "hcpcs": "20983"}, {"claim_id": "C", "hcpcs": "77013"}])
    out = reprice(df, releases=[fs26], mirror=str(folder))
    assert ["EDIT_NCCI_PTP" in r for r in out["reason"].tolist()[1::2]] == [False, True, False]


def test_mue_through_reprice(fs26, ncci):
    df = lines([{"claim_id": "A", "hcpcs": "20983", "units": "2"},
                {"claim_id": "B", "hcpcs": "20983", "modifiers": "RT"}, {"claim_id": "B", "hcpcs": "20983",
                                                                         "modifiers": "LT"},
                {"claim_id": "C", "hcpcs": "20983", "modifiers": "RT"},
                {"claim_id": "D", "hcpcs": "88305", "units": "5"}, {"claim_id": "D", "hcpcs": "88305", "units": "4",
                                                                    "modifiers": "59"}])
    out = reprice(df, releases=[fs26], mirror=str(ncci))
    assert out["reason"].str.contains("EDIT_MUE").tolist() == [True, True, True, False, True, False]
    assert out["edit_note"][0] == "MUE 1 unit per date of service (MAI 2); 2 billed on that date"
    assert out["edit_note"][1] == out["edit_note"][0]  # RT and LT lines summed on their date
    assert out["edit_note"][4] == "MUE 4 units per line (MAI 1); 5 billed on the line"
    assert out["payable"][3] and out["payable"][5]


def _without_edits(fs) -> object:
    """What ``rvucalc reprice`` gives its summary: the lines priced again without edits."""
    import functools

    from rvucalc.claims import pipeline

    return functools.partial(pipeline.price_chunk, opts=pipeline.options("pfs", releases=("rvu26c",), edits=False),
                             schedules={"rvu26c": fs})


def test_summary_and_workbook_notes_say_what_ran_and_what_was_removed(fs26, ncci):
    from rvucalc.claims.tally import LineTally, refusing_for

    df = lines([{"claim_id": "A", "hcpcs": "20983"}, {"claim_id": "A", "hcpcs": "20983"},
                {"claim_id": "B", "hcpcs": "99213"}, {"claim_id": "B", "hcpcs": "20610"},
                {"claim_id": "Q1", "hcpcs": "99213", "date_of_service": "2026-02-10"}])
    out = reprice(df, releases=[fs26], mirror=str(ncci))
    assert LineTally(refusing_for("pfs"))(out).text().splitlines()[4] == (  # without a re-pricer: no dollars
        "  edits denied 2 lines (EDIT_DUPLICATE 1, EDIT_NCCI_PTP 1)")
    text = LineTally(refusing_for("pfs"), reprice=_without_edits(fs26))(out).text().splitlines()
    assert text[1].startswith("  note: REPRICE_RELEASE_FALLBACK")  # the Q1 line (no rvu26a at hand)
    # the quarter priced with another release is said, though its line was paid (issue 24)
    assert "2026 Q1" in text[2] and "rvu26c" in text[2] and text[2].endswith("(1 line)")
    text = text[2:]
    assert text[1] == "  edits: duplicate lines; MUEs ncci-mue-practitioner-2026q3; NCCI PTP edits " \
                      "ncci-ptp-practitioner-2026q3"
    # removed: the duplicate 20983, which without edits is the second surgery of the date (50%),
    # and the 99213 bundled into 20610 (no modifier 25)
    removed = half_up(D(fee("20983")) * Decimal("0.5")) + fee("99213")
    assert text[2] == (f"  edits denied 2 lines (EDIT_DUPLICATE 1, EDIT_NCCI_PTP 1), removing ${removed:,.2f} "
                       "of allowed amount")
    assert text[3].startswith("  edits not applied: MUEs (practitioner) for 2026 Q1: ncci-mue-practitioner-2026q1 "
                              "is not at hand; get its files from https://www.cms.gov/") and text[3].endswith("(1 line)")
    assert "rvucalc fetch ncci-ptp-practitioner-2026q1" in text[4]
    notes = out.attrs["rvucalc.notes"]
    assert any(n.startswith("Claim edits not applied: NCCI PTP edits (practitioner) for 2026 Q1") for n in notes)
    files = {s["file"] for s in out.attrs["rvucalc.provenance"]["sources"]}
    assert {"ccipra-v322r0-f1.TXT", "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"} <= files


def test_removed_dollars_skip_lines_refused_anyway(fs26):
    """A denied line that would not be paid without the edits either (an unknown code) removes
    nothing; a payable duplicate removes what it would have been paid (here the whole fee: 99213
    has no multiple-procedure reduction)."""
    from rvucalc.claims.edits import removed_rows

    calls: list[int] = []

    def again(sub: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(sub))
        return _without_edits(fs26)(sub)

    out = reprice(lines([{"claim_id": "A", "hcpcs": "ZZZZZ"}, {"claim_id": "A", "hcpcs": "ZZZZZ"},
                         {"claim_id": "B", "hcpcs": "99213"}, {"claim_id": "B", "hcpcs": "99213"}]), releases=[fs26])
    assert out["reason"].tolist() == ["REPRICE_UNKNOWN_CODE", "EDIT_DUPLICATE|REPRICE_UNKNOWN_CODE", "",
                                      "EDIT_DUPLICATE"]
    assert removed_rows(out, again) == [("edit_removed", "allowed", round(fee("99213") * 100), -1)]
    assert calls == [2]  # claim B only


def test_edits_off(fs26, ncci):
    from rvucalc.claims.tally import LineTally, refusing_for

    df = lines([{"hcpcs": "20983"}, {"hcpcs": "20983"}])
    out = reprice(df, releases=[fs26], mirror=str(ncci), edits=False)
    assert out["payable"].all() and "edit_note" not in out.columns
    assert LineTally(refusing_for("pfs"))(out).text().splitlines()[1] == "  edits: off (edits=False, --no-edits)"


def test_cli_no_edits(fs26, tmp_path, capsys):
    from rvucalc.cli import main

    src = tmp_path / "claims.csv"
    lines([{"hcpcs": "99213"}, {"hcpcs": "99213"}]).to_csv(src, index=False)
    for flag, paid in (([], "true,false"), (["--no-edits"], "true,true")):
        out = tmp_path / f"out{len(flag)}.csv"
        assert main(["reprice", str(src), "-o", str(out), "--release", "rvu26c", "--no-progress", *flag]) == 0
        got = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert ",".join(got["payable"]) == paid
        assert ("edit_note" in got.columns) != bool(flag)
        err = capsys.readouterr().err
        assert ("edits: off" in err) == bool(flag)
        # the summary prices the claim again without edits: the duplicate visit was worth its fee
        assert (f"removing ${fee('99213'):,.2f} of allowed amount" in err) != bool(flag)


def test_workbook_notes_name_the_release_to_fetch(fs26, tmp_path):
    """No NCCI file at hand: the workbook says once that PTP edits and MUEs were not applied."""
    import openpyxl

    from rvucalc.claims.io import write_claims

    out = reprice(lines([{"hcpcs": "99213"}, {"hcpcs": "99213"}]), releases=[fs26], mirror=str(tmp_path))
    book = write_claims(out, tmp_path / "priced.xlsx", title="Repriced claim lines")
    wb = openpyxl.load_workbook(book, read_only=True)
    cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    said = [c for c in cells if "Claim edits not applied" in c]
    assert len([c for c in said if "ncci-ptp-practitioner-2026q3" in c]) == 1
    assert any("rvucalc fetch ncci-mue-practitioner-2026q3" in c for c in said)


def test_stream_gives_the_in_memory_edits(fs26, ncci, tmp_path):
    from rvucalc.claims import pipeline
    from rvucalc.claims.stream import reprice_file
    from rvucalc.claims.tally import LineTally, refusing_for

    rows = []
    for c in range(60):  # claims whose lines are far apart in the file
        rows += [{"claim_id": f"K{c}", "hcpcs": "20983"}, {"claim_id": f"K{c}", "hcpcs": "20983" if c % 2 else "77013"}]
    df = lines(rows).iloc[np.random.default_rng(3).permutation(len(rows))].reset_index(drop=True)
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    import functools

    from rvucalc.claims.edits import off

    opts = pipeline.options("pfs", releases=("rvu26c",), mirror=f"{ncci}{os.pathsep}{os.environ['RVUCALC_MIRROR']}")
    mem = pipeline.price_frame(pd.read_csv(src, dtype=str, keep_default_na=False), opts)
    again = functools.partial(pipeline.price_chunk, opts=off(opts))
    tally = LineTally(refusing_for("pfs"), reprice=again)
    reprice_file(src, tmp_path / "s.csv", options=opts, chunk_lines=16, progress=False, tally=tally)
    streamed = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    assert (streamed["reason"] == mem["reason"].astype(str)).all()
    assert (streamed["reason"] != "").sum() == 60
    text = tally.text().splitlines()
    assert text[1:3] == LineTally(refusing_for("pfs"), reprice=again)(mem).text().splitlines()[1:3]
    # 30 claims of 20983 twice (the second: the 50% surgery without edits) and 30 of 20983 with
    # 77013 (column two: 77013 without a modifier is carrier priced, no amount either way)
    half = half_up(D(fee("20983")) * Decimal("0.5"))
    assert text[2].endswith(f"removing ${30 * half:,.2f} of allowed amount")


def test_hospital_outpatient_claims_use_the_hospital_tables(tmp_path):
    """OPPS lines are edited with the hospital outpatient PTP table (ccioph), not the practitioner
    one; the edits run before the release stage (here no 2026 OPPS addendum is at hand)."""
    from rvucalc.claims import pipeline

    folder = tmp_path / "n"
    write_ptp(folder, [edit("45380", "45378", 0)], prefix="ccioph")
    write_ptp(folder, [edit("20983", "77013", 0)], prefix="ccipra")
    df = lines([{"hcpcs": "45380"}, {"hcpcs": "45378"}, {"hcpcs": "20983"}, {"hcpcs": "77013"}])
    out = pipeline.price_frame(df, pipeline.options("hopd", mirror=str(folder)))
    assert [r.split("|")[0] for r in out["reason"]][1::2] == ["EDIT_NCCI_PTP", "FACILITY_NO_RELEASE"]
    status = out.attrs["rvucalc.edits"]["status"]
    assert ["ran", "NCCI PTP edits ncci-ptp-hospital-2026q3", 4] in status
    assert any(s[0] == "missing" and "ncci-mue-outpatient-hospital-2026q3" in s[1] for s in status)


def test_explain_edit_codes():
    import rvucalc

    for code in ("EDIT_DUPLICATE", "EDIT_NCCI_PTP", "EDIT_MUE"):
        r = rvucalc.explain(code)
        assert r is not None and r.code == code and r.rule


# ---------------------------------------------------------------------------------------------
# catalogue


def test_catalogue_ncci_releases():
    from rvucalc import catalogue

    ptp = catalogue.releases("ncci_ptp")
    mue = catalogue.releases("ncci_mue")
    assert {(r.extra["setting"], r.quarter) for r in ptp} == {(s, q) for s in ("practitioner", "hospital")
                                                             for q in (1, 2, 3, 4)}
    assert {(r.extra["setting"], r.quarter) for r in mue} == {(s, q) for s in ("practitioner",
                                                                              "outpatient_hospital", "dme")
                                                             for q in (1, 2, 3, 4)}
    for r in (*ptp, *mue):
        assert r.year == 2026 and r.effective == f"2026-{3 * r.quarter - 2:02d}-01" and r.page
        assert all(f.sha256 is None for f in r.files.values())  # trust on first use
    q3 = catalogue.get("ncci-ptp-practitioner-2026q3")
    assert [f.name for f in q3.files.values()] == [f"ccipra-v322r0-f{i}.TXT" for i in (1, 2, 3, 4)]
    assert q3.files["ptp_f2"].url == ("https://www.cms.gov/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-"
                                      "ccipra-v322r0-f2.zip")
    assert catalogue.get("ncci-mue-practitioner-2026q3").files["mue"].name == \
        "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"


def test_a_part_downloads_from_its_own_zip(tmp_path, monkeypatch):
    """Each PTP part is a zip of its own: a missing part names its own address to download."""
    from rvucalc import catalogue
    from rvucalc.errors import MissingFileError
    from rvucalc.fetch import locate

    monkeypatch.setenv("RVUCALC_CACHE", str(tmp_path / "cache"))
    rel = catalogue.get("ncci-ptp-practitioner-2026q3")
    with pytest.raises(MissingFileError, match=r"medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f3\.zip"):
        locate(rel, "ptp_f3", mirror=str(tmp_path), download=False)
    write_ptp(tmp_path / "m", [edit("20983", "77013", 0)])
    loc = locate(rel, "ptp_f3", mirror=str(tmp_path / "m"), download=False)
    assert loc.path.name == "ccipra-v322r0-f3.TXT" and not loc.verified


def test_mirror_path_env_has_several_folders(fs26, ncci):
    """The NCCI files may sit in a folder of their own beside the CMS mirror (os.pathsep)."""
    mirror = f"{ncci}{os.pathsep}{ncci.parent / 'nothing'}"
    out = reprice(lines([{"hcpcs": "20983", "units": "3"}]), releases=[fs26], mirror=mirror)
    assert out["reason"][0] == "EDIT_MUE"
