"""The terminal surfaces (issue 11): one table renderer, plain when piped, fitted when on a terminal,
several codes per quote, hints for codes of other fee schedules, empty results, --version."""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rvucalc.cli import build_parser, main
from rvucalc.render import Table, emit

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process with stdout a pipe (not a terminal)."""
    e = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "rvucalc", *args], capture_output=True, text=True, env=e,
                          timeout=120)


def tsv(out: str) -> list[list[str]]:
    """The data lines (not '# ' titles and notes) of plain output, split on tabs."""
    return [ln.split("\t") for ln in out.splitlines() if ln and not ln.startswith("#")]


# -- plain when piped --------------------------------------------------------

def test_piped_output_is_plain_tab_separated():
    r = run("quote", "20983", "99213", "77013", "--zip", "90012")
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout  # no colour
    assert not set("─│┃━┏┗") & set(r.stdout)  # no box drawing
    rows = tsv(r.stdout)
    head = rows[0]
    assert head[:5] == ["code", "description", "status", "office", "facility"]
    by_code = {x[0]: x for x in rows[1:4]}
    # 20983 in Los Angeles 01182-18 (README reference figure); 99213 by hand from RVU26C + GPCI2026:
    # (1.30 x 1.041 + 1.46 x 1.183 + 0.09 x 0.664) x 33.4009 = 104.887 -> $104.89
    assert by_code["20983"][3] == "$5,757.50" and by_code["99213"][3] == "$104.89"
    assert by_code["77013"][3] == "-" and "77013 office: carrier-priced" in r.stdout
    assert all(ln.startswith("#") or "\t" in ln for ln in r.stdout.splitlines() if ln)


def test_schedule_national_amounts_description_and_asked_order():
    r = run("schedule", "99213", "20983", "--national")
    assert r.returncode == 0, r.stderr
    rows = tsv(r.stdout)
    assert rows[0] == ["code", "description", "office", "facility", "reason"]
    # asked order (the file has 20983 before 99213); amounts = total RVUs x 33.4009:
    # 99213 2.85 -> $95.19, 1.72 -> $57.45; 20983 146.88 -> $4,905.92, 9.06 -> $302.61
    assert rows[1][:4] == ["99213", "Office o/p est low 20 min", "$95.19", "$57.45"]
    assert rows[2][:4] == ["20983", "Ablate bone tumor(s) perq", "$4,905.92", "$302.61"]


def test_compare_keeps_whole_locality_names():
    r = run("compare", "20983", "--localities", "CA", "--offline")
    assert r.returncode == 0, r.stderr
    names = [x[2] for x in tsv(r.stdout)[1:]]
    assert "SAN JOSE-SUNNYVALE-SANTA CLARA (SANTA CLARA CNTY)" in names
    assert "SAN JOSE-SUNNYVALE-SANTA CLARA (SAN BENITO CNTY)" in names
    assert len(set(names)) == len(names)  # no two rows read the same


# -- fitted on a terminal ----------------------------------------------------

@pytest.mark.parametrize("width", [60, 80, 120])
def test_terminal_tables_fit_and_keep_amounts(width):
    t = Table(["site", "physician", "facility", "total", "note"],
              [["Office (PFS non-facility)", "$5,757.50", "$0.00", "$5,757.50", "a long note " * 8],
               ["Hospital outpatient", "$311.78", "-", "-", ""]],
              numeric=["physician", "facility", "total"])
    buf = io.StringIO()
    emit("title line", t, console=Console(file=buf, width=width, force_terminal=True, color_system=None))
    out = buf.getvalue()
    assert max(len(ln) for ln in out.splitlines()) <= width
    for amount in ("$5,757.50", "$0.00", "$311.78"):
        assert amount in out  # never cut or wrapped
    assert "Office (PFS" in out and "non-facility)" in out


def test_very_narrow_terminal_falls_back_to_records():
    t = Table(["locality_id", "name", "20983 office", "20983 facility", "77013 office"],
              [["01112-09", "SAN JOSE-SUNNYVALE-SANTA CLARA (SANTA CLARA CNTY)", "$6,120.06", "$322.94", "-"]],
              numeric=["20983 office", "20983 facility", "77013 office"])
    buf = io.StringIO()
    emit(t, console=Console(file=buf, width=40, force_terminal=True, color_system=None))
    out = buf.getvalue()
    assert "$6,120.06" in out and "$322.94" in out and "77013 office: -" in out


def test_sites_on_a_terminal_does_not_overflow():
    import rvucalc

    fs = rvucalc.load(2026)
    cmp = fs.compare_sites("20983", zip="90012", county_fips="06037")
    buf = io.StringIO()
    emit(*cmp.render_items(), console=Console(file=buf, width=80, force_terminal=True, color_system=None))
    lines = buf.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    row = next(ln for ln in lines if ln.startswith("ASC"))
    # ASC: PFS facility $311.78 + ASC (J8, Addendum FF): device $3,411.79 + service $1,862.55 x
    # (0.5 x 1.2699 + 0.5) = 3411.79 + 2113.90 = 5525.69
    assert "$311.78" in row and "$5,525.69" in row and "J8" in row


# -- sites ---------------------------------------------------------------------

def test_sites_headed_by_the_pfs_locality_and_says_where_the_facility_is(capsys):
    assert main(["sites", "99213", "--county", "06037"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert "PFS amounts for 01182-18" in head and "national" not in head and "county 06037" in head
    # the ASC wage index of CBSA 31084 in the mirror's CY2026 ASC file is 1.2699
    assert re.search(r"ASC facility placed: county 06037 Los Angeles, CA -> CBSA 31084 .*1\.2699 "
                     r"\(wage_index\.csv, asc-cy2026\)", out)


def test_sites_conditional_packaging_said_beside_the_amount(capsys):
    # CY2025: Addendum B lists 71046 with SI Q3; the Jan 2025 ASC addendum BB with PI Z3
    assert main(["sites", "71046-26", "--release", "rvu25d"]) == 0
    out = capsys.readouterr().out
    rows = {r[0]: r for r in tsv(out)[1:]}
    assert rows["Hospital outpatient"][-1] == "Q3 *" and rows["ASC"][-1] == "Z3 *"
    assert "conditionally packaged (SI Q3)" in out
    assert "conditional (PI Z3): paid only when provided integral to a covered surgical procedure" in out


def test_hopd_2026_one_sentence_no_http_text(capsys):
    assert main(["sites", "20983"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "OPPS_RELEASE_MISSING" in ln)
    msg = line.split("Hospital outpatient: ", 1)[1].rsplit(" [", 1)[0]
    assert msg.endswith(".") and msg.count(". ") == 0 and msg.startswith("CMS's CY2026 OPPS Addendum B is not at hand")
    assert "january-2026-opps-addendum-b.zip" in msg and "rvucalc fetch opps-2026-01" in msg
    assert "HTTPSConnectionPool" not in out and "Max retries" not in out


def test_hopd_sentence_from_a_failed_download_is_plain(fs26):
    from rvucalc.sites import unavailable_reason

    raw = ("could not download https://www.cms.gov/files/zip/january-2026-opps-addendum-b.zip for OPPS: "
           "HTTPSConnectionPool(host='www.cms.gov', port=443): Max retries exceeded (Caused by "
           "NameResolutionError(...))")
    fs26.download, keep = True, fs26.download
    try:
        why = unavailable_reason(fs26, "opps", [raw])
    finally:
        fs26.download = keep
    assert "CMS's site could not be reached" in why.message
    assert "HTTPSConnectionPool" not in why.message and "NameResolution" not in why.message
    assert "downloads are off" not in why.message


def test_failed_download_not_retried_in_the_process(tmp_path, monkeypatch):
    import time

    from rvucalc import fetch

    monkeypatch.delenv("RVUCALC_OFFLINE")  # RVUCALC_OFFLINE forbids every download (issue 9)
    fetch.reset_network_failures()

    from rvucalc.catalogue import FileSpec, Release
    from rvucalc.errors import DownloadError
    from rvucalc.fetch import locate

    rel = Release(id="t", system="pfs", year=2026, label="test", folder=tmp_path,
                  url="http://127.0.0.1:9/none.zip", files={"x": FileSpec(table="x", name="X.csv")})
    os.environ["RVUCALC_CACHE"], keep = str(tmp_path / "c"), os.environ["RVUCALC_CACHE"]
    try:
        with pytest.raises(DownloadError):
            locate(rel, "x", mirror=tmp_path / "m", download=True, progress=False)
        t0 = time.perf_counter()
        with pytest.raises(DownloadError, match="not retried"):
            locate(rel, "x", mirror=tmp_path / "m", download=True, progress=False)
        assert time.perf_counter() - t0 < 0.5
    finally:
        os.environ["RVUCALC_CACHE"] = keep


# -- quote -------------------------------------------------------------------

def test_quote_several_codes_county_and_informational_modifier(capsys):
    assert main(["quote", "99213-25", "20983", "--county", "06037", "--json"]) == 0
    import json

    qs = json.loads(capsys.readouterr().out)
    assert [q["asked"] for q in qs] == ["99213-25", "20983"]
    assert qs[0]["nonfacility"]["amount"] == 104.89 and qs[1]["nonfacility"]["amount"] == 5757.50
    assert qs[0]["locality"]["locality_id"] == "01182-18"
    assert qs[0]["notes"][0]["code"] == "MOD_NO_PRICE_EFFECT"
    assert main(["quote", "99213-25"]) == 0
    assert "modifier 25 does not change the fee schedule amount" in capsys.readouterr().out


def test_quote_26_tc_53_keep_their_rows_and_policy_modifiers_are_refused(capsys):
    assert main(["quote", "71046", "71046-26", "71046-TC", "--locality", "01182-18"]) == 0
    codes = [r[0] for r in tsv(capsys.readouterr().out)[1:4]]
    assert codes == ["71046", "71046-26", "71046-TC"]
    assert main(["quote", "99213-50"]) == 2
    err = capsys.readouterr().err
    assert "modifier 50 changes the payment" in err and "rvucalc.reprice" in err


@pytest.mark.parametrize("code, words", [  # codes absent from RVU26C's PPRRVU file
    ("0001U", "laboratory test, paid under the Clinical Laboratory Fee Schedule"),
    ("0002U", "laboratory test"),
    ("E0601", "DMEPOS fee schedule"),
    ("K0001", "DMEPOS fee schedule"),
    ("L3000", "DMEPOS fee schedule"),
    ("C9399", "hospital outpatient (OPPS) code"),
    ("S0020", "not valid for Medicare"),
])
def test_codes_of_other_fee_schedules_get_a_hint(capsys, code, words, fee_files_not_at_hand):
    """Where the code's schedule has no file at hand (with one, lab/drug/DME codes are priced:
    tests/test_fee_wiring.py)."""
    assert main(["quote", code]) == 2
    err = capsys.readouterr().err
    assert words in err and "did you mean" not in err


def test_codes_on_file_but_paid_elsewhere_say_where(capsys, fee_files_not_at_hand):
    # in the PPRRVU file with a status the PFS does not pay (36415 X, J9271 E, A0428 ...)
    assert main(["quote", "36415", "J9271", "A0428"]) == 0
    out = capsys.readouterr().out
    # the same reason cell as schedule, compare, price_volumes and reprice (issue 20)
    assert "laboratory test: paid under the Clinical Laboratory Fee Schedule" in out
    assert "[PFS_STATUS_X|NOT_PFS_CLFS]" in out
    assert "drug or biological: paid from CMS's ASP drug pricing file" in out
    assert "[PFS_STATUS_E|NOT_PFS_ASP]" in out
    assert "ambulance service: paid under the ambulance fee schedule" in out


def test_unknown_code_still_suggests_near_codes(capsys):
    assert main(["quote", "20984"]) == 2
    assert "did you mean" in capsys.readouterr().err


# -- empty results, localities, releases, version, errors ------------------------

def test_empty_results_say_so_with_status_1():
    r = run("localities", "zzz")
    assert r.returncode == 1 and r.stdout == ""
    assert "no match: no payment locality matches 'zzz'" in r.stderr


def test_unknown_system_is_refused_with_the_choices():
    r = run("releases", "--system", "foo")
    assert r.returncode == 2 and "invalid choice: 'foo'" in r.stderr and "pfs" in r.stderr


def test_localities_zip_and_county_forms(capsys):
    assert main(["localities", "--county", "06037", "--json"]) == 0
    import json

    assert [x["locality_id"] for x in json.loads(capsys.readouterr().out)] == ["01182-18"]
    assert main(["localities", "--zip", "06037", "--json"]) == 0  # Berlin, CT
    assert [x["locality_id"] for x in json.loads(capsys.readouterr().out)] == ["13102-00"]
    # a bare 5-digit number: both readings, each labelled
    assert main(["localities", "06037"]) == 0
    rows = tsv(capsys.readouterr().out)
    assert rows[0][0] == "matched"
    assert [(r[0].split(" ")[2], r[1]) for r in rows[1:]] == [("ZIP", "13102-00"), ("county", "01182-18")]


def test_version():
    r = run("--version")
    assert r.returncode == 0 and re.fullmatch(r"rvucalc \d+\.\d+\.\d+\s*", r.stdout)


def test_year_not_in_catalogue_error_is_accurate():
    from rvucalc.errors import MissingFileError
    from rvucalc.facade import choose_release

    for dl in (True, False):
        with pytest.raises(MissingFileError) as e:
            choose_release(2030, download=dl)
        msg = str(e.value)
        assert "no PFS release for CY2030" in msg and "allow downloads" not in msg
    r = run("quote", "20983", "--year", "2030", RVUCALC_OFFLINE="0")
    assert r.returncode == 2 and "allow downloads" not in r.stderr and "catalogued years: 2024-2026" in r.stderr


def test_anes_command(capsys):
    # (7 base units + 90/15 time units) x 21.26 (ANES2026, 01182-18 non-QP) = 276.38
    assert main(["anes", "00400", "--minutes", "90", "--base-units", "7", "--zip", "90012"]) == 0
    out = capsys.readouterr().out
    assert "$276.38" in out
    assert main(["anes", "00400-QK", "--minutes", "90", "--base-units", "7", "--locality", "01182-18"]) == 0
    assert "$138.19" in capsys.readouterr().out


# -- code shape -------------------------------------------------------------------

def test_shared_options_are_declared_once():
    for f in ("main.py", "pricing.py", "data.py", "workbench.py"):  # what was cli.py, cli_workbench.py
        src = (ROOT / "rvucalc" / "cli" / f).read_text()
        for opt in ("--year", "--mirror", "--offline", "--qp", "--zip", "--json"):
            assert f'add_argument("{opt}"' not in src, (f, opt)
    ap = build_parser()
    sub = next(a for a in ap._actions if a.dest == "cmd").choices
    for cmd in ("quote", "schedule", "sites", "localities", "anes", "compare"):
        opts = {o for a in sub[cmd]._actions for o in a.option_strings}
        assert {"--year", "--mirror", "--offline"} <= opts, cmd


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.add(node.module or "")
            if node.module is None:
                out.update(a.name for a in node.names)
    return out


def test_facade_sites_diff_import_in_one_direction():
    pkg = ROOT / "rvucalc"
    assert "facade" not in _runtime_imports(pkg / "sites.py")
    assert "facade" not in _runtime_imports(pkg / "diff.py")
    facade = _runtime_imports(pkg / "facade.py")
    assert {"sites", "diff"} <= facade


@pytest.mark.parametrize("columns", [60, 80, 100])
@pytest.mark.parametrize("args, amounts", [
    (("quote", "20983", "99213", "--zip", "90012"), ["$5,757.50", "$104.89"]),
    (("schedule", "99213", "20983", "--national"), ["$95.19", "$4,905.92"]),
    (("sites", "20983", "--zip", "90012", "--county", "06037"), ["$5,757.50", "$5,525.69"]),
    (("compare", "20983", "77013", "--localities", "CA", "--offline"), ["$5,757.50", "$6,386.40"]),
    (("diff", "2025", "2026", "--codes", "20983"), ["$4,702.21", "$4,905.92", "+4.33%"]),
])
def test_commands_on_a_terminal_fit_the_width(columns, args, amounts):
    """Every command drawn for a terminal of COLUMNS width: no line wider, every amount whole."""
    r = run(*args, columns=columns, RVUCALC_TABLES="rich")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= columns
    for a in amounts:
        assert a in r.stdout


def test_schedule_terminal_view_of_many_rows_and_codes_not_on_the_pfs(capsys, fee_files_not_at_hand):
    assert main(["schedule", "--national", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert len(tsv(out)) == 1 + 3 and re.search(r"first 3 of [\d,]+ rows shown", out)
    assert main(["schedule", "99213", "0001U", "71046", "--localities", "01182-18"]) == 0
    rows = tsv(capsys.readouterr().out)
    assert [r[0] for r in rows[1:]] == ["99213", "0001U", "71046", "71046-26", "71046-TC"]
    assert rows[2][-3:] == ["-", "-", "NOT_PFS_CLFS"]
