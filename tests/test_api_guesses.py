"""The Python API guesses nothing (issue 20, "The Python API guesses").

Each test is an example of the issue that failed on main before this change: a what-if conversion
factor of -1 or inf priced, a year given as text not found, two places of service silently one,
a volume table's blanks priced as national / office / one service, files written under another
format's name, raw Python errors for a list or a doubled column, the text ``<NA>`` in results,
``localities AL`` matching 87 localities, and a batch quote or a site comparison stopped by one
code. Expected amounts come from the CMS files (read here with the csv module) or hand arithmetic.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.cli import main
from rvucalc.errors import ArgumentTypeError, InvalidArgumentError, RvucalcError


def _pprrvu_row(mirror, code: str) -> list[str]:
    with open(mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"), newline="", encoding="latin-1") as f:
        for row in csv.reader(f):
            if row and row[0] == code and row[1] == "":
                return row
    raise AssertionError(f"{code} not in PPRRVU2026_Jul_nonQPP.csv")


def _addendum_b_row(mirror, code: str) -> list[str]:
    path = mirror("opps/2025-10/508 version of October 2025 Web Addendum B.10.31.25.csv")
    with open(path, newline="", encoding="latin-1") as f:
        for row in csv.reader(f):
            if row and row[0] == code:
                return row
    raise AssertionError(f"{code} not in {path.name}")


# -- conversion factors ----------------------------------------------------------------------

BAD_CFS = [(-1, InvalidArgumentError, "not above zero"), (0, InvalidArgumentError, "not above zero"),
           (float("inf"), InvalidArgumentError, "not a finite number"),
           (float("nan"), InvalidArgumentError, "not a finite number"),
           ("abc", InvalidArgumentError, "not a number"), (True, ArgumentTypeError, "not a number"),
           ([34.0], ArgumentTypeError, "not a number")]


@pytest.mark.parametrize("cf, error, words", BAD_CFS)
def test_a_conversion_factor_is_a_positive_finite_number_everywhere(fs26, cf, error, words):
    """On main, quote('20983', conversion_factor=-1) gave -$146.88, inf gave inf and 'abc' a raw
    ValueError; every function that takes a CF now refuses them in one sentence."""
    calls = {
        "quote": lambda: fs26.quote("20983", conversion_factor=cf),
        "schedule": lambda: fs26.schedule(codes=["20983"], conversion_factor=cf),
        "price_matrix": lambda: fs26.price_matrix(codes=["20983"], conversion_factor=cf),
        "price_volumes": lambda: fs26.price_volumes(pd.DataFrame({"hcpcs": ["20983"], "count": [1]}),
                                                    conversion_factor=cf),
        "load": lambda: rvucalc.load(2026, conversion_factor=cf),
        "asc what-if CF": lambda: fs26.asc.price(1.0, ["20983"], conversion_factor=cf),
    }
    for name, call in calls.items():
        with pytest.raises(error) as e:
            call()
        assert isinstance(e.value, ValueError) and isinstance(e.value, RvucalcError), name
        assert str(e.value).startswith(f"conversion_factor={cf!r} ") and words in str(e.value), name
        assert "positive finite number of dollars per RVU" in str(e.value), name
    if error is ArgumentTypeError:
        assert isinstance(e.value, TypeError)


def test_a_conversion_factor_as_text_of_a_number_is_read(fs26, mirror):
    # 20983 office: total non-facility RVUs of the PPRRVU row x $34.00, half up
    total = float(_pprrvu_row(mirror, "20983")[11])
    want = math.floor(total * 34.0 * 100 + 0.5) / 100
    assert fs26.quote("20983", conversion_factor="34.0").nonfacility.amount == want


@pytest.mark.parametrize("cf", ["-1", "0", "inf", "abc"])
def test_cli_cf_is_refused_in_one_sentence(cf, capsys):
    with pytest.raises(SystemExit) as e:
        main(["quote", "99213", "--cf", cf])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --cf: --cf {cf} is not " in err and "positive finite number of dollars per RVU" in err


# -- years -----------------------------------------------------------------------------------

def test_a_year_as_text_is_the_year():
    """On main, rvucalc.load("2026") said there is no 2026 release."""
    assert rvucalc.load("2026").release.id == rvucalc.load(2026).release.id == "rvu26c"
    assert rvucalc.load(" 2026 ").year == 2026 and rvucalc.load(np.int64(2026)).year == 2026
    for bad in ("CY2026", "26", "2026.5", "twenty"):
        with pytest.raises(InvalidArgumentError, match=r"is not a year: expected a calendar year such as 2026"):
            rvucalc.load(bad)
    with pytest.raises(InvalidArgumentError, match="year=2026.5 is not a year"):
        rvucalc.load(2026.5)
    for bad in (True, [2026]):
        with pytest.raises(ArgumentTypeError):
            rvucalc.load(bad)
    from rvucalc.schedules import clfs

    with pytest.raises(InvalidArgumentError, match="year='CY2026' is not a year"):
        clfs.load("CY2026", 1)
    with pytest.raises(InvalidArgumentError, match="quarter must be 1 to 4, not 5"):
        clfs.load(2026, 5)


# -- places ----------------------------------------------------------------------------------

def test_two_places_are_refused_as_the_cli_refuses_them(fs26, capsys):
    """On main, quote('99213', locality='01182-18', zip='10001') silently priced Manhattan."""
    with pytest.raises(InvalidArgumentError) as e:
        fs26.quote("99213", locality="01182-18", zip="10001")
    assert str(e.value) == ("locality='01182-18' and zip='10001' are two places of service: give one of zip=, "
                            "locality= or county=")
    with pytest.raises(InvalidArgumentError, match="two places of service"):
        fs26.quote("99213", zip="90012", county="06037")
    with pytest.raises(InvalidArgumentError, match="two places of service"):
        fs26.anesthesia("00400", 90, base_units=7, locality="01182-18", zip="10001")
    with pytest.raises(InvalidArgumentError, match="two places of service"):
        fs26.compare_sites("99213", locality="01182-18", zip="10001")
    with pytest.raises(SystemExit) as ex:
        main(["quote", "99213", "--locality", "01182-18", "--zip", "10001"])
    assert ex.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


# -- volume tables ---------------------------------------------------------------------------

def test_price_volumes_says_what_it_assumed(fs26, mirror):
    """On main a blank ZIP was priced nationally with no note and a table without counts was
    taken as one service per row."""
    row = _pprrvu_row(mirror, "99213")
    national = math.floor(float(row[11]) * 33.4009 * 100 + 0.5) / 100  # 2.85 x $33.4009 = $95.19
    vol = pd.DataFrame({"hcpcs": ["99213", "99213", "99213"], "zip": ["", "90012", ""],
                        "setting": ["office", "facility", ""], "count": [4, 2, 1]})
    out = fs26.price_volumes(vol)
    assert out["locality_id"].tolist() == ["national", "01182-18", "national"]
    assert out["note"].tolist() == ["VOL_NATIONAL", "", "VOL_NATIONAL|VOL_SETTING_OFFICE"]
    assert out["amount"].iloc[0] == national and out["revenue"].iloc[0] == round(4 * national, 2)
    for code in ("VOL_NATIONAL", "VOL_SETTING_OFFICE", "VOL_NO_COUNT"):
        assert rvucalc.explain(code).message
    # no count column: amounts, but no revenue and a reason, never one service per row
    nocount = fs26.price_volumes(vol.drop(columns="count"))
    assert nocount["amount"].iloc[0] == national and nocount["revenue"].isna().all()
    assert nocount["reason"].tolist() == ["VOL_NO_COUNT"] * 3


def test_price_volumes_refuses_settings_it_does_not_read(fs26):
    """On main setting 'hospital' became facility silently (and 'lab' a BAD_SETTING row)."""
    vol = pd.DataFrame({"hcpcs": ["99213", "99213", "99213"], "setting": ["office", "hospital", "Hospital"],
                        "count": [1, 1, 1]})
    with pytest.raises(InvalidArgumentError) as e:
        fs26.price_volumes(vol)
    msg = str(e.value)
    assert "'hospital' at row 1" in msg and "accepted: office, nonfacility" in msg and "facility" in msg
    assert "fs.compare_sites or rvucalc.reprice_opps" in msg
    with pytest.raises(InvalidArgumentError, match="'lab' at row 0"):
        fs26.price_volumes(pd.DataFrame({"hcpcs": ["99213"], "setting": ["lab"], "count": [1]}))
    # setting= names a column: a setting word given there is refused, not ignored
    with pytest.raises(InvalidArgumentError, match="setting='facility': the volume table has no column 'facility'"):
        fs26.price_volumes(vol.drop(columns="setting"), setting="facility")
    # a column price_volumes adds would be overwritten: refused
    with pytest.raises(InvalidArgumentError, match="already has column.s. note"):
        fs26.price_volumes(vol.assign(setting="office", note="mine"))


# -- frames, lists and files -----------------------------------------------------------------

def test_wrong_inputs_get_one_sentence(fs26, tmp_path):
    """On main: AttributeError for a list or None, 'Categorical categories must be unique' for a
    locality asked twice, ZeroDivisionError for localities=[], and a ValueError listing 'hcpcs,
    hcpcs' for a frame with two hcpcs columns."""
    for bad, kind in (([{"hcpcs": "99213"}], "a list"), (None, "None")):
        with pytest.raises(ArgumentTypeError, match=f"lines is {kind}, not a pandas DataFrame"):
            rvucalc.reprice(bad)
    two = pd.DataFrame([["a", "99213", "99214", "11", "90012", "2026-03-01"]],
                       columns=["claim_id", "hcpcs", "hcpcs", "pos", "zip", "date_of_service"])
    for call in (rvucalc.reprice, rvucalc.reprice_opps, rvucalc.reprice_asc, rvucalc.compare_sites_claims):
        with pytest.raises(InvalidArgumentError, match=r"more than one column of the same name \('hcpcs' 2 times\)"):
            call(two)
    with pytest.raises(InvalidArgumentError, match=r"localities=\[\] names no locality"):
        fs26.schedule(codes=["99213"], localities=[])
    with pytest.raises(InvalidArgumentError, match="localities names 01182-18 more than once"):
        fs26.schedule(codes=["99213"], localities=["01182-18", "01182-18"])
    with pytest.raises(InvalidArgumentError, match="01182-18 \\(as '01182-18' and '1182-18'\\) more than once"):
        fs26.price_matrix(codes=["99213"], localities=["01182-18", "1182-18"])
    # one release id or code as text is one, not its characters; a number is not a code
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["99213"], "pos": ["11"], "zip": ["90012"],
                          "date_of_service": ["2026-03-01"]})
    assert rvucalc.reprice(lines, releases="rvu26c")["release"].tolist() == ["rvu26c"]  # main: "no release 'r'"
    with pytest.raises(ArgumentTypeError, match=r"releases=5 is an int: expected text or a list of text"):
        rvucalc.reprice(lines, releases=5)
    with pytest.raises(ArgumentTypeError, match=r"codes=99213 is an int: expected text or a list of text"):
        fs26.schedule(codes=99213)
    with pytest.raises(InvalidArgumentError, match="errors must be 'keep' or 'raise'"):
        fs26.schedule(codes=["99213"], errors="ignore")
    # one locality as text is one locality, not its characters
    one = fs26.schedule(codes=["99213"], localities="01182-18")
    assert set(one["locality_id"].astype(str)) == {"01182-18"}


def test_files_are_written_under_their_own_suffix(tmp_path):
    """On main, to_excel(df, 'x.csv') wrote a workbook named x.csv."""
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(InvalidArgumentError) as e:
        rvucalc.export.to_excel(df, tmp_path / "x.csv")
    assert "x.csv ends in '.csv', and a workbook is written as .xlsx or .xlsm: name the file x.xlsx" in str(e.value)
    with pytest.raises(InvalidArgumentError, match="x.txt ends in '.txt', and a table is written as .csv"):
        rvucalc.export.write_table(df, tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []
    rvucalc.export.write_table(df, tmp_path / "x.pq")
    assert pd.read_parquet(tmp_path / "x.pq").equals(df)


def test_anesthesia_minutes_and_base_units(fs26):
    for kw, words in ((dict(minutes=-90, base_units=7), "minutes=-90 is below zero"),
                      (dict(minutes=90, base_units=-7), "base_units=-7 is below zero"),
                      (dict(minutes="abc", base_units=7), "minutes='abc' is not a number"),
                      (dict(minutes=float("inf"), base_units=7), "minutes=inf is not a finite number")):
        with pytest.raises(InvalidArgumentError, match=words):
            fs26.anesthesia("00400", **kw)


# -- <NA> ------------------------------------------------------------------------------------

def test_no_na_text_in_frames_tables_csv_or_workbooks(fs26, tmp_path):
    """On main the ASC row of compare_sites('99213') had the text '<NA>' as its indicator, in the
    frame, the terminal table and the workbook (99213 is not on the ASC list)."""
    from openpyxl import load_workbook

    from rvucalc.render import Table, emit

    cmp = fs26.compare_sites("99213")
    frame = cmp.to_frame()
    assert frame["indicator"].tolist() == ["", "", ""]
    assert frame.loc[frame["site"] == "asc", "reason"].iloc[0].split("|")[0:2] == ["ASC_NOT_COVERED",
                                                                                   "FACILITY_NATIONAL_RATE"]
    asc = fs26.asc.price(1.0, ["99213"])
    assert asc["payment_indicator"].iloc[0] == "" and asc["description"].iloc[0] == ""
    comp = fs26.compare(["99213", "C2618"], ["01182-18"])
    assert comp.loc[comp["hcpcs"] == "C2618", "description"].eq("").all()
    for name, df in {"sites": frame, "asc": asc, "compare": comp}.items():
        buf = io.StringIO()
        emit(Table.from_frame(df), file=buf)
        assert "<NA>" not in buf.getvalue(), name
        assert "<NA>" not in str(cmp), name
        rvucalc.export.write_table(df, tmp_path / f"{name}.csv")
        assert "<NA>" not in (tmp_path / f"{name}.csv").read_text(), name
        rvucalc.export.to_excel(df, tmp_path / f"{name}.xlsx", chart=False)
        wb = load_workbook(tmp_path / f"{name}.xlsx")
        assert not any(c.value == "<NA>" for ws in wb for row in ws.iter_rows() for c in row), name


# -- localities ------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["AL", "CA", "OR", "IN", "ny"])
def test_localities_of_a_two_letter_state(state, mirror, capsys, monkeypatch):
    """On main, `rvucalc localities AL` listed 87 localities (every 'ALL COUNTIES')."""
    with open(mirror("pfs/rvu26c/GPCI2026.csv"), newline="", encoding="latin-1") as f:
        want = sum(1 for row in csv.reader(f) if len(row) > 2 and row[1].strip() == state.upper()
                   and row[0].strip().isdigit())
    monkeypatch.setenv("RVUCALC_TABLES", "plain")
    assert main(["localities", state, "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {want} of 109 payment localities")
    rows = [ln.split("\t") for ln in out.splitlines() if ln and not ln.startswith("#")][1:]
    assert len(rows) == want and {r[1] for r in rows} == {state.upper()}


# -- batches and hospital-only codes ---------------------------------------------------------

def test_a_batch_quote_prints_every_code_it_can(capsys, monkeypatch, mirror):
    """On main `rvucalc quote 99213 0001U` exited 2 and printed nothing for 99213. Since the lab
    fee schedule is wired in (issue 21), 0001U is priced from the CLFS ($720.00, January 2026);
    a code no schedule has (ZZZZ1) gets its "not quoted" row."""
    monkeypatch.setenv("RVUCALC_TABLES", "plain")
    nf = math.floor(float(_pprrvu_row(mirror, "99213")[11]) * 33.4009 * 100 + 0.5) / 100  # $95.19
    assert main(["quote", "99213", "0001U", "ZZZZ1", "--year", "2026"]) == 0
    got = capsys.readouterr()
    table = [r.split("\t") for r in got.out.splitlines() if r and not r.startswith("#")]
    office = table[0].index("office")
    rows: dict[str, list[str]] = {}  # the first table: fee schedule amounts
    for r in table[1:]:
        rows.setdefault(r[0], r)
    assert rows["99213"][office] == f"${nf:,.2f}"
    assert rows["0001U"][office] == "$720.00"
    assert rows["ZZZZ1"][office:] == ["-", "-", "not quoted"]
    assert "[PFS_CODE_ABSENT]" in got.out
    assert got.err.startswith("rvucalc quote: ZZZZ1 not quoted: ZZZZ1 is not in PFS Relative Value File RVU26C")
    assert main(["quote", "99213", "ZZZZ1", "--year", "2026", "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str, keep_default_na=False)
    assert frame["code"].tolist() == ["99213", "99213", "ZZZZ1", "ZZZZ1"]
    assert frame["reason"].tolist() == ["", "", "PFS_CODE_ABSENT", "PFS_CODE_ABSENT"]
    # nothing could be quoted: exit status 2, each code's sentence
    assert main(["quote", "ZZZZ1", "ZZZZ2", "--year", "2026"]) == 2
    err = capsys.readouterr().err
    assert "ZZZZ1 is not in PFS Relative Value File" in err and err.count("rvucalc: ") == 2


def test_hospital_only_codes_get_their_site_rows(fs25, fs26, mirror, capsys, monkeypatch):
    """On main fs.compare_sites('C2618') raised and `rvucalc sites C2618` said "see rvucalc sites"."""
    c = fs25.compare_sites("C2618").to_frame().set_index("site")
    si = _addendum_b_row(mirror, "C2618")[2]  # N: packaged, no separate payment
    assert c.loc["hopd", "indicator"] == si == "N"
    assert c.loc["office", "reason"].split("|")[0] == "NOT_PFS_OPPS" and math.isnan(c.loc["office", "total"])
    assert "not on the physician fee schedule" in c.loc["office", "reason_text"]
    assert c.loc["hopd", "professional"] == 0.0 and "OPPS_SI_N" in c.loc["hopd", "reason"]
    # G0463 (PFS status X): the HOPD total is the hospital's OPPS rate; the physician bills nothing
    rate = float(_addendum_b_row(mirror, "G0463")[5].replace("$", "").replace(",", ""))  # $128.870
    g = fs25.compare_sites("G0463").to_frame().set_index("site")
    assert (g.loc["hopd", "professional"], g.loc["hopd", "facility"], g.loc["hopd", "total"]) == (0.0, rate, rate)
    assert g.loc["hopd", "indicator"] == "J2" and math.isnan(g.loc["office", "total"])
    # CY2026: no Addendum B at hand: the HOPD row says so, never 2025's rate
    g26 = fs26.compare_sites("G0463").to_frame().set_index("site")
    assert "OPPS_RELEASE_MISSING" in g26.loc["hopd", "reason"] and math.isnan(g26.loc["hopd", "total"])
    monkeypatch.setenv("RVUCALC_TABLES", "plain")
    assert main(["sites", "C2618", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "\nHospital outpatient\t$0.00\t-\t-\t-\t-\tN\n" in out and "[NOT_PFS_OPPS]" in out
    with pytest.raises(rvucalc.UnknownCodeError):  # a code merely unknown is still an error
        fs26.compare_sites("ZZZZZ")


def test_claims_use_the_same_facility_rule_as_compare_sites(mirror):
    """A claim of one G0463 line (status X: the hospital bills it) is priced in a HOPD by the
    claims comparison as by compare_sites: the physician's part $0.00, the total the OPPS rate (on
    main its HOPD total was NaN, PFS_STATUS_X). National: no wage index given."""
    rate = float(_addendum_b_row(mirror, "G0463")[5].replace("$", "").replace(",", ""))  # $128.870
    lines = pd.DataFrame({"claim_id": ["1"], "hcpcs": ["G0463"], "pos": ["22"], "zip": ["90012"],
                          "date_of_service": ["2025-10-15"]})
    per = rvucalc.compare_sites_claims(lines).iloc[0]
    assert (per["hopd_professional"], per["hopd_facility"], per["hopd_total"]) == (0.0, rate, rate)
    assert per["hopd_reason"] == "" and math.isnan(per["office_total"])
