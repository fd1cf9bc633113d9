"""What-if conversion factors (issue 24): --cf in dollars or as a percent of the year's own CF, on
quote, sites, compare and diff; refused when not a positive, finite number."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest

from rvucalc.cli import main
from rvucalc.whatif import ConversionFactorError, WhatIfCF, parse_cf


@pytest.mark.parametrize("text, want", [
    ("34", WhatIfCF(dollars=34.0)), ("34.0", WhatIfCF(dollars=34.0)), ("$34.0", WhatIfCF(dollars=34.0)),
    (34, WhatIfCF(dollars=34.0)), ("98.8%", WhatIfCF(percent=98.8)), (" 101 % ", WhatIfCF(percent=101.0)),
])
def test_parse(text, want):
    assert parse_cf(text) == want


@pytest.mark.parametrize("bad", ["0", "-3", "0%", "-1.2%", "nan", "inf", "nan%", "1e400", "abc", "", "%",
                                 "98.8%%", math.nan, math.inf, -2.0, 0, True])
def test_refused_in_one_sentence(bad):
    with pytest.raises(ConversionFactorError, match=r"positive finite number of dollars per RVU .* \(e\.g\. 98\.8%\)"):
        parse_cf(bad)


def test_percent_is_of_each_years_own_cf():
    w = parse_cf("98.8%")
    # CY2026 non-QP CF $33.4009 x 0.988 = 32.99968... -> $33.0001 (four decimals, as CMS states a CF);
    # CY2025 $32.3465 x 0.988 = 31.958342 -> $31.9583
    assert w.value(33.4009) == 33.0001 and w.value(32.3465) == 31.9583


def test_quote_percent_and_qp(fs25, fs26):
    import rvucalc

    # 20983 national office CY2025: 145.37 RVUs x $31.9583 = 4645.778... -> $4,645.78
    q = fs25.quote("20983", conversion_factor="98.8%")
    assert q.conversion_factor == 31.9583 and q.nonfacility.amount == 4645.78
    assert q.conversion_factor_kind.startswith("what-if (user): 98.8% of $32.3465")
    # with --qp the percent is of the QP CF: $33.5675 x 0.988 = 33.16469 -> $33.1647
    fs = rvucalc.load(2026, qp=True, conversion_factor="98.8%")
    assert fs.conversion_factor == 33.1647 and "QP" in fs.conversion_factor_kind
    with pytest.raises(ConversionFactorError):
        rvucalc.load(2026, conversion_factor=-1)


def test_cli_refuses_bad_cf(capsys):
    with pytest.raises(SystemExit) as e:  # argparse's exit status 2, one sentence under the usage line
        main(["quote", "99213", "--offline", "--cf", "0"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --cf: --cf 0 is not above zero: expected a positive finite number of dollars per RVU" in err


def test_sites_what_if_is_said_and_leaves_facility_alone(fs25, capsys):
    base = {r.site: r for r in fs25.compare_sites("20983").rows}
    cmp = fs25.compare_sites("20983", conversion_factor=34.0)
    rows = {r.site: r for r in cmp.rows}
    # physician: 145.37 x 34.0 = 4942.58 (office); facility (OPPS, ASC) unchanged
    assert rows["office"].professional == 4942.58
    assert rows["hopd"].facility == base["hopd"].facility == 7143.73
    assert rows["asc"].facility == base["asc"].facility == 4911.21
    assert cmp.notes and "not scaled" in cmp.notes[0] and "$34.0000" in cmp.notes[0]
    frame = cmp.to_frame()
    assert (frame["conversion_factor"] == 34.0).all() and frame.attrs["rvucalc.notes"] == cmp.notes
    # the command line says it on the table, in JSON and in CSV
    argv = ["sites", "20983", "--release", "rvu25d", "--offline", "--cf", "98.8%"]
    assert main(argv) == 0
    assert "facility amounts (OPPS hospital outpatient, ASC) are the releases' own rates, not scaled" \
        in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    assert "not scaled" in json.loads(capsys.readouterr().out)["notes"][0]
    assert main([*argv, "--csv"]) == 0
    assert "what-if (user): 98.8% of $32.3465" in capsys.readouterr().out
    # without a what-if nothing is added
    assert fs25.compare_sites("20983").notes == []


def test_many_places_what_if(fs25):
    df = fs25.compare_sites_many(["20983"], ["national"], conversion_factor="98.8%")
    office = df[df["site"] == "office"].iloc[0]
    assert office["professional"] == 4645.78 and office["conversion_factor"] == 31.9583
    assert df[df["site"] == "hopd"]["facility"].iloc[0] == 7143.73
    assert "not scaled" in df.attrs["rvucalc.notes"][0]


def test_diff_prices_the_newer_side_at_the_what_if(capsys):
    # this year's RVUs at a projected CF: every amount moves by the CF alone.
    # 99213 national office CY2026: 2.85 RVUs x $33.4009 = 95.19; x $33.0001 = 94.0503 -> $94.05
    assert main(["diff", "rvu26c", "rvu26c", "--cf", "98.8%", "--codes", "99213", "--offline", "--csv"]) == 0
    d = pd.read_csv(io.StringIO(capsys.readouterr().out)).iloc[0]
    assert (d["nonfacility_old"], d["nonfacility_new"]) == (95.19, 94.05)
    assert (d["conversion_factor_old"], d["conversion_factor_new"]) == (33.4009, 33.0001)
    assert main(["diff", "rvu26c", "rvu26c", "--cf", "98.8%", "--codes", "99213", "--offline"]) == 0
    assert "what-if: the newer side (rvu26c) is priced at CF $33.0001" in capsys.readouterr().out
    assert main(["diff", "rvu26c", "rvu26c", "--offline"]) == 2  # the same release and no what-if
    assert main(["diff", "opps-2025-01", "opps-2025-07", "--cf", "34"]) == 2
    assert "leave --cf out of a facility diff" in capsys.readouterr().err


def test_compare_takes_cf_and_says_it(capsys):
    # 99213 national office at $34.0: 2.85 RVUs x 34.0 = $96.90
    assert main(["compare", "99213", "--localities", "01182-18", "--cf", "34", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "CF $34.0000 (what-if (user))" in out and "$96.90" in out


def _claims(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim_id,hcpcs,units,pos,zip,date_of_service\n"
                    "1,99213,1,11,90012,2025-11-03\n"
                    "2,99213,1,11,10001,2026-08-03\n")
    return path


def test_reprice_percent_is_each_dates_own_cf(tmp_path):
    import rvucalc

    lines = pd.read_csv(_claims(tmp_path), dtype=str)
    base = rvucalc.reprice(lines, edits=False)
    got = rvucalc.reprice(lines, edits=False, conversion_factor="98.8%")
    assert list(got["release"].astype(str)) == ["rvu25d", "rvu26c"]
    # each line's own CF x 0.988: 2025 $32.3465 -> $31.9583, 2026 $33.4009 -> $33.0001; the amount
    # moves by the CF alone: 98.19 x 31.9583 / 32.3465 = 97.0116 -> 97.01; 107.63 x 33.0001 / 33.4009
    # = 106.3385 -> 106.34 (cents from RVUs x GPCIs x CF, so within a cent of these)
    assert list(base["fee_schedule_amount"]) == [98.19, 107.63]
    assert list(got["fee_schedule_amount"]) == [97.01, 106.34]
    notes = list(got["release_note"].astype(str))
    assert "what-if CF $31.9583" in notes[0] and "what-if CF $33.0001" in notes[1]
    assert "REPRICE_RELEASE_FALLBACK" not in "".join(got["reason"].astype(str))  # a what-if is no fallback
    assert (base["release_note"].astype(str) == "").all()  # the published release is untouched


def test_reprice_cli_every_engine_says_it(tmp_path, capsys):
    src = _claims(tmp_path)
    for engine in ("memory", "stream"):
        out = tmp_path / f"{engine}.csv"
        assert main(["reprice", str(src), "-o", str(out), "--cf", "34", "--engine", engine, "--no-edits",
                     "--no-progress", "--offline"]) == 0
        assert "what-if: priced at the conversion factor 34" in capsys.readouterr().err
        df = pd.read_csv(out)
        assert df["release_note"].str.contains(r"what-if CF \$34\.0000").all()
    with pytest.raises(SystemExit) as e:  # refused by the option itself, before any line is read
        main(["reprice", str(src), "--cf", "-1", "--offline"])
    assert e.value.code == 2
    assert "--cf -1 is not above zero" in capsys.readouterr().err
    assert main(["reprice", str(src), "--cf", "34", "--setting", "asc", "--offline"]) == 2


def test_asc_cf_asked_on_its_own(fs25, capsys, tmp_path):
    # 29881 national, ASC AA October 2025 (PI A2) $1,579.16 at the CY2025 ASC CF $54.895; at 102%:
    # $55.9929, 1579.16 x 55.9929 / 54.895 = 1610.7432 -> $1,610.74 (42 CFR 416.171)
    cmp = fs25.compare_sites("29881", asc_conversion_factor="102%")
    rows = {r.site: r for r in cmp.rows}
    assert rows["asc"].facility == 1610.74 and rows["hopd"].facility == 3244.61  # OPPS unchanged
    assert rows["hopd"].professional == 538.25  # the PFS too
    assert "What-if ASC conversion factor $55.9929" in cmp.notes[0]
    df = fs25.compare_sites_many(["29881"], ["national"], asc_conversion_factor=55.9929)
    assert df.loc[df["site"] == "asc", "facility"].iloc[0] == 1610.74
    # both: the PFS note says which facility amounts moved
    both = fs25.compare_sites("29881", conversion_factor="98.8%", asc_conversion_factor="102%")
    assert "the ASC facility amounts are at the what-if ASC CF" in both.notes[0]
    assert main(["sites", "29881", "--release", "rvu25d", "--offline", "--asc-cf", "102%"]) == 0
    assert "$1,610.74" in capsys.readouterr().out
    # sites --claims prices each line's own releases: a what-if there is refused, not ignored
    assert main(["sites", "--claims", str(_claims(tmp_path)), "--cf", "34", "--offline"]) == 2
    assert "not applied to --claims" in capsys.readouterr().err
