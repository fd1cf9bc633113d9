"""Issue 21 part 2: column names from real extracts, and what per-claim outputs say.

Headers match rvucalc's names ignoring case, spaces and underscores (``Claim Id``, ``CLAIM_ID``);
``--columns claim_id=CLM_ID,hcpcs=HCPCS_CD,units=LINE_SRVC_CNT`` (API ``columns=``) names the
rest. The user's columns come back exactly as given, under their own headers; an ambiguous match
or a named column the file lacks is an error naming the file and the columns. Per-claim outputs
(``--claims-out``, ``sites --claims``) carry the first/last date of service, total charges, the
place of service and (sites) the actual setting beside the alternatives.

The files are synthetic, written here. Expected amounts are never our own output taken as truth:
a file with other headers must price exactly as the same lines under rvucalc's own names (the
names are the only difference), and the per-claim dates, places and charges are worked out by
hand from the lines below.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import rvucalc
from rvucalc.claims import columns as K
from rvucalc.cli import main

#: The lines under rvucalc's own names (CY2026 dates: RVU26C in the mirror).
CANON = pd.DataFrame({
    "claim_id": ["A", "A", "B", "B", "C", "D"],
    "hcpcs": ["99213", "20983", "99214", "71046", "99213", "20983"],
    "modifiers": ["25", "", "", "26", "", ""],
    "units": ["1", "1", "1", "1", "2", "1"],
    "pos": ["11", "11", "11", "22", "19", "24"],
    "zip": ["90012"] * 6,
    "date_of_service": ["2026-08-03", "08/05/2026", "2026-08-04", "2026-08-04", "2026-09-01", "2026-07-15"],
    "charge": ["$100", "1,200.50", "180", "", "90", "5000"],
})
#: The same lines as a CMS-style extract: other headers, and a column of the user's called
#: ``units`` that is not the units (the named LINE_SRVC_CNT is).
RENAMED = {"claim_id": "CLM_ID", "hcpcs": "HCPCS_CD", "units": "LINE_SRVC_CNT", "modifiers": "Modifiers",
           "pos": "Place of Service", "zip": "ZIP", "date_of_service": "Date_Of_Service", "charge": "CHARGE"}
NAMED = "claim_id=CLM_ID,hcpcs=HCPCS_CD,units=LINE_SRVC_CNT"


def extract() -> pd.DataFrame:
    df = CANON.rename(columns=RENAMED)
    df.insert(3, "units", ["box", "", "n/a", "7", "x", "y"])  # the user's own column, not read
    return df




def added(out: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    return out[[c for c in out.columns if c not in given.columns]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the rule


def test_headers_match_ignoring_case_spaces_and_underscores():
    m = K.resolve(["Claim Id", "HCPCS", "date of service", "POS", "Zip_Code", "UNITS", "memo"])
    assert m == {"claim_id": "Claim Id", "hcpcs": "HCPCS", "units": "UNITS", "pos": "POS",
                 "zip": "Zip_Code", "date_of_service": "date of service"}
    # spelled out, only without the short name itself
    assert K.resolve(["Place of Service", "hcpcs_code"]) == {"hcpcs": "hcpcs_code", "pos": "Place of Service"}
    assert K.resolve(["pos", "Place of Service"]) == {"pos": "pos"}
    # exact names map to themselves: nothing to rename
    assert K.identity(K.resolve(list(CANON.columns)))


def test_named_columns_win_and_are_checked():
    m = K.resolve(list(extract().columns), K.parse(NAMED))
    assert m["units"] == "LINE_SRVC_CNT" and m["claim_id"] == "CLM_ID" and m["hcpcs"] == "HCPCS_CD"
    assert m["pos"] == "Place of Service" and m["date_of_service"] == "Date_Of_Service"
    # the name may be written as a header is, several --columns add up, a mapping is read too
    assert K.parse(["Claim ID=CLM_ID", "units=LINE_SRVC_CNT"]) == (("claim_id", "CLM_ID"), ("units", "LINE_SRVC_CNT"))
    assert K.parse({"hcpcs": "HCPCS_CD"}) == (("hcpcs", "HCPCS_CD"),)
    with pytest.raises(K.ColumnsError, match=r"'clam_id' is not a column rvucalc reads \(did you mean claim_id\?\)"):
        K.parse("clam_id=CLM_ID")
    with pytest.raises(K.ColumnsError, match="is not NAME=HEADER"):
        K.parse("claim_id")
    with pytest.raises(K.ColumnsError, match="claims.csv: --columns names hcpcs=HCPCS, but the file has no such "
                                             "column; its columns are CLM_ID"):
        K.resolve(["CLM_ID", "HCPCS_CD"], K.parse("hcpcs=HCPCS"), source="claims.csv")
    with pytest.raises(K.ColumnsError, match="names the column 'X' for both"):
        K.resolve(["X"], K.parse("zip=X,locality=X"))


def test_two_headers_for_one_name_is_an_error_naming_file_and_headers():
    with pytest.raises(K.ColumnsError) as e:
        K.resolve(["claim_id", "Claim ID", "hcpcs"], source="book.csv")
    msg = str(e.value)
    assert msg.startswith("book.csv: more than one column matches claim_id: 'claim_id', 'Claim ID'")
    assert "--columns claim_id=claim_id" in msg
    # naming one of them settles it; the other is one of the user's columns
    assert K.resolve(["claim_id", "Claim ID"], K.parse("claim_id=Claim ID")) == {"claim_id": "Claim ID"}


# ---------------------------------------------------------------------------------------------
# in memory


def test_reprice_reads_the_extract_and_gives_its_columns_back_as_given():
    ref = rvucalc.reprice(CANON)
    ext = extract()
    out = rvucalc.reprice(ext, columns=NAMED)
    # the user's columns: same headers, same order, same cells
    assert list(out.columns[:len(ext.columns)]) == list(ext.columns)
    pd.testing.assert_frame_equal(out[ext.columns].reset_index(drop=True), ext.reset_index(drop=True))
    # rvucalc's columns: the same lines under other names price the same
    pd.testing.assert_frame_equal(added(out, ext), added(ref, CANON))
    assert out.attrs["rvucalc.columns"] == {"claim_id": "CLM_ID", "hcpcs": "HCPCS_CD", "modifiers": "Modifiers",
                                            "units": "LINE_SRVC_CNT", "pos": "Place of Service", "zip": "ZIP",
                                            "date_of_service": "Date_Of_Service", "charge": "CHARGE"}
    assert ref.attrs["rvucalc.columns"] == {c: c for c in CANON.columns}
    # without --columns CLM_ID is not found (HCPCS_CD is: CMS's name of the code, spelled out)
    with pytest.raises(ValueError, match="claim lines need the column.s. claim_id; have CLM_ID"):
        rvucalc.reprice(ext)


def test_claim_totals_say_when_where_and_what_was_charged():
    out = rvucalc.reprice(extract(), columns=NAMED)
    s = rvucalc.summarise_claims(out)
    assert list(s.columns[:5]) == ["CLM_ID", "first_date_of_service", "last_date_of_service", "place_of_service",
                                   "lines"]
    s = s.set_index("CLM_ID")
    # A: 2026-08-03 and 08/05/2026 (month first); B: both 2026-08-04; C, D one line each
    assert [str(d.date()) for d in s["first_date_of_service"]] == ["2026-08-03", "2026-08-04", "2026-09-01",
                                                                    "2026-07-15"]
    assert [str(d.date()) for d in s["last_date_of_service"]] == ["2026-08-05", "2026-08-04", "2026-09-01",
                                                                   "2026-07-15"]
    assert list(s["place_of_service"]) == ["11", "mixed", "19", "24"]  # B: 11 and 22
    # A: $100 + 1,200.50 = 1,300.50; B: one line without a charge: no total; C 90; D 5,000
    assert s.loc["A", "total_charges"] == 1300.50 and math.isnan(s.loc["B", "total_charges"])
    assert s.loc["C", "total_charges"] == 90.0 and s.loc["D", "total_charges"] == 5000.0
    # the amounts are the sums of the lines (the lines' own figures, two lines for A)
    a = out[out["CLM_ID"] == "A"]["allowed"]
    assert s.loc["A", "allowed"] == round(float(a.sum()), 2)


def test_a_bad_date_or_charge_leaves_the_claim_without_that_figure():
    lines = CANON.iloc[[0, 1]].assign(date_of_service=["2026-08-03", "13/40/2026"], charge=["100", "-5"])
    s = rvucalc.summarise_claims(rvucalc.reprice(lines))
    assert str(s.loc[0, "first_date_of_service"].date()) == "2026-08-03"  # the readable one
    assert str(s.loc[0, "last_date_of_service"].date()) == "2026-08-03"
    assert math.isnan(s.loc[0, "total_charges"])  # -5 is refused: no total of some lines


# ---------------------------------------------------------------------------------------------
# the command line: memory and stream engines


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    canon, ext = tmp_path / "canon.csv", tmp_path / "extract.csv"
    CANON.to_csv(canon, index=False)
    extract().to_csv(ext, index=False)
    return canon, ext


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_cli_reprice_extract(files, tmp_path, engine, capsys):
    canon, ext = files
    o, c = tmp_path / f"{engine}.csv", tmp_path / f"{engine}-claims.csv"
    ro, rc = tmp_path / f"ref-{engine}.csv", tmp_path / f"ref-{engine}-claims.csv"
    assert main(["reprice", str(canon), "-o", str(ro), "--claims-out", str(rc), "--engine", engine,
                 "--no-progress"]) == 0
    assert "columns:" not in capsys.readouterr().err  # rvucalc's own names: nothing to say
    assert main(["reprice", str(ext), "-o", str(o), "--claims-out", str(c), "--engine", engine, "--no-progress",
                 "--columns", "claim_id=CLM_ID,hcpcs=HCPCS_CD", "--columns", "units=LINE_SRVC_CNT"]) == 0
    err = capsys.readouterr().err
    assert "columns: claim_id=CLM_ID, hcpcs=HCPCS_CD, modifiers=Modifiers, units=LINE_SRVC_CNT" in err
    got, ref = pd.read_csv(o, dtype=str, keep_default_na=False), pd.read_csv(ro, dtype=str, keep_default_na=False)
    given = pd.read_csv(ext, dtype=str, keep_default_na=False)
    assert list(got.columns[:len(given.columns)]) == list(given.columns)
    pd.testing.assert_frame_equal(got[given.columns], given)
    pd.testing.assert_frame_equal(got.iloc[:, len(given.columns):], ref.iloc[:, len(CANON.columns):])
    totals, ref_totals = pd.read_csv(c, dtype=str, keep_default_na=False), pd.read_csv(rc, dtype=str,
                                                                                       keep_default_na=False)
    assert totals.columns[0] == "CLM_ID" and ref_totals.columns[0] == "claim_id"
    pd.testing.assert_frame_equal(totals.iloc[:, 1:], ref_totals.iloc[:, 1:])
    assert list(totals["first_date_of_service"]) == ["2026-08-03", "2026-08-04", "2026-09-01", "2026-07-15"]
    assert list(totals["place_of_service"]) == ["11", "mixed", "19", "24"]
    assert list(totals["total_charges"]) == ["1300.5", "", "90", "5000"]


def test_engines_agree_on_the_extract(files, tmp_path):
    _canon, ext = files
    outs = []
    for engine in ("memory", "stream"):
        o, c = tmp_path / f"{engine}.parquet", tmp_path / f"{engine}-c.parquet"
        assert main(["reprice", str(ext), "-o", str(o), "--claims-out", str(c), "--engine", engine,
                     "--no-progress", "--columns", NAMED]) == 0
        outs.append((pq.read_table(o), pq.read_table(c)))
    for a, b in zip(outs[0], outs[1]):  # the same values (string or large_string as each engine writes)
        pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), check_dtype=False, check_categorical=False)


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_cli_errors_name_the_file_and_the_columns(tmp_path, engine, capsys):
    amb = tmp_path / "amb.csv"
    CANON.assign(**{"Claim ID": CANON["claim_id"]}).to_csv(amb, index=False)
    assert main(["reprice", str(amb), "-o", str(tmp_path / "x.csv"), "--engine", engine, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{amb}: more than one column matches claim_id: 'claim_id', 'Claim ID'" in err
    assert not (tmp_path / "x.csv").exists()
    ext = tmp_path / "ext.csv"
    extract().to_csv(ext, index=False)
    assert main(["reprice", str(ext), "-o", str(tmp_path / "x.csv"), "--engine", engine, "--no-progress",
                 "--columns", "claim_id=CLAIM_NUMBER"]) == 2
    err = capsys.readouterr().err
    assert f"{ext}: --columns names claim_id=CLAIM_NUMBER, but the file has no such column" in err
    assert "CLM_ID, HCPCS_CD" in err


# ---------------------------------------------------------------------------------------------
# sites --claims and contracts


def test_sites_claims_actual_setting_beside_the_alternatives(tmp_path, capsys):
    from rvucalc.claims.sites import compare_sites_claims

    more = pd.concat([CANON, CANON.iloc[[0]].assign(claim_id="E", pos="21")], ignore_index=True)
    ext = more.rename(columns=RENAMED)
    ext.insert(3, "units", "x")  # the user's own column, not read (units=LINE_SRVC_CNT is)
    per = compare_sites_claims(ext, columns=NAMED)
    assert list(per.columns[:7]) == ["CLM_ID", "first_date_of_service", "last_date_of_service", "place_of_service",
                                     "actual_setting", "lines", "total_charges"]
    # POS 11 office; 11 + 22 mixed; 19 off-campus HOPD; 24 ASC; 21 (inpatient) none of the three
    assert list(per["actual_setting"]) == ["office", "mixed", "hopd", "asc", "other"]
    assert list(per["place_of_service"]) == ["11", "mixed", "19", "24", "21"]
    assert per["total_charges"].iloc[0] == 1300.50
    ref = compare_sites_claims(more)
    pd.testing.assert_frame_equal(per.iloc[:, 1:], ref.iloc[:, 1:])
    # the line sheets keep the user's headers
    for frame in per.attrs["lines"].values():
        assert list(frame.columns[:5]) == ["CLM_ID", "HCPCS_CD", "Modifiers", "units", "LINE_SRVC_CNT"]
        assert set(frame["units"]) == {"x"} and "claim_id" not in frame.columns
    src = tmp_path / "sites.csv"
    ext.to_csv(src, index=False)
    out = tmp_path / "per.csv"
    assert main(["sites", "--claims", str(src), "--columns", NAMED, "-o", str(out)]) == 0
    assert "columns: claim_id=CLM_ID" in capsys.readouterr().err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got["actual_setting"]) == ["office", "mixed", "hopd", "asc", "other"]


def test_contract_reads_the_extract(tmp_path):
    con = tmp_path / "acme.yaml"
    con.write_text("name: acme\nbase: medicare\nterms:\n  - name: all\n    pay: {percent_of_medicare: 120}\n")
    ref = rvucalc.price_contracts(CANON, [str(con)])
    got = rvucalc.price_contracts(extract(), [str(con)], input_columns=NAMED)
    assert list(got["CLM_ID"]) == list(CANON["claim_id"])
    np.testing.assert_array_equal(got["contract_allowed"].to_numpy(float), ref["contract_allowed"].to_numpy(float))
    from rvucalc.contracts.summary import claims_side_by_side

    per = claims_side_by_side(got)
    assert list(per.columns[:6]) == ["CLM_ID", "claim_number", "first_date_of_service", "last_date_of_service",
                                     "place_of_service", "lines"]
    assert list(per["place_of_service"]) == ["11", "mixed", "19", "24"]
    assert [str(d.date()) for d in per["last_date_of_service"]] == ["2026-08-05", "2026-08-04", "2026-09-01",
                                                                   "2026-07-15"]
    assert list(per["total_charges"].fillna(-1)) == [1300.5, -1, 90.0, 5000.0]


# ---------------------------------------------------------------------------------------------
# Dask (a small in-process cluster: the engine's column matching, not Dask's scheduling, is tested)


def test_dask_dataset_reads_the_extract(tmp_path):
    import distributed

    import rvucalc.dask as rdask
    from rvucalc.claims.pipeline import options

    src = tmp_path / "lines"
    src.mkdir()
    ext = extract()
    ext.iloc[:3].to_parquet(src / "part-0.parquet", index=False)
    ext.iloc[3:].to_parquet(src / "part-1.parquet", index=False)
    out, claims = tmp_path / "priced", tmp_path / "claims"
    opts = options("pfs", columns=NAMED)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        assert rdask.reprice_dataset(str(src), str(out), options=opts, client=client, progress=False,
                                     claims_out=str(claims)) == len(ext)
        bad = tmp_path / "bad"
        with pytest.raises(K.ColumnsError, match=f"{src}: --columns names claim_id=CLAIM_NUMBER"):
            rdask.reprice_dataset(str(src), str(bad), options=options("pfs", columns="claim_id=CLAIM_NUMBER"),
                                  client=client, progress=False)
    got = pd.read_parquet(out).sort_values("_line").reset_index(drop=True)
    ref = rvucalc.reprice(CANON)
    assert list(got.columns[:len(ext.columns)]) == list(ext.columns)
    pd.testing.assert_frame_equal(got[ext.columns], ext, check_dtype=False)
    cols = [c for c in ref.columns if c not in CANON.columns]
    pd.testing.assert_frame_equal(got[cols], ref[cols], check_dtype=False, check_categorical=False)
    totals = pd.read_parquet(claims).sort_values("CLM_ID").reset_index(drop=True)
    assert list(totals["place_of_service"]) == ["11", "mixed", "19", "24"]
    assert list(totals["total_charges"].fillna(-1)) == [1300.5, -1, 90.0, 5000.0]
