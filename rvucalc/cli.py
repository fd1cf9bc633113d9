"""Command line: ``rvucalc quote 20983 --zip 90012`` and friends.

Every subcommand prints tables for a person (:mod:`rvucalc.render`: rich on a
terminal, tab-separated text when piped), or ``--json`` / ``--csv`` for
scripts. Options shared by several commands are declared once
(:mod:`rvucalc.cli_common`).

Exit status: 0 done; 1 a search or filter matched nothing ("no match: ..." on
standard error); 2 an error (one plain sentence on standard error: a bad code,
option or file, a release that is not at hand).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from . import catalogue
from .cli_common import (
    NoMatch,
    load_args,
    no_match,
    output_options,
    place_options,
    pricing_options,
    release_options,
)
from .errors import RvucalcError
from .models import quote_items
from .render import Table, emit, usd

SYSTEMS = ("pfs", "opps", "asc", "wage_index", "zip5", "anes_base")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="rvucalc", description="What does Medicare pay for this service, here?")
    ap.add_argument("--version", action="version", version=f"rvucalc {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    rel, price, place = release_options(), pricing_options(), place_options()

    q = sub.add_parser("quote", parents=[place, rel, price, output_options()],
                       help="price HCPCS codes, office and facility",
                       description="Price one or more codes nationally or in one place. "
                                   "Example: rvucalc quote 20983 99213 77013 --zip 90012")
    q.add_argument("codes", nargs="+", metavar="code",
                   help="HCPCS code, optionally with modifier: 20983, 71046-26, 99213-25")
    q.add_argument("--modifier", help="modifier for every code: 26, TC, 53 (own rows) or one with no price "
                                      "effect (25, 59, LT ...)")

    s = sub.add_parser("schedule", parents=[rel, price, output_options(out=True)],
                       help="price codes in every locality (a table)",
                       description="Example: rvucalc schedule 99213 20983 --national")
    s.add_argument("codes", nargs="*", help="HCPCS codes (default: the whole fee schedule)")
    s.add_argument("--localities", nargs="*", help="locality ids (default: all)")
    s.add_argument("--national", action="store_true", help="national amounts (GPCIs 1.0)")
    s.add_argument("--limit", type=int, default=300, help="rows shown in the terminal (default 300)")

    st = sub.add_parser("sites", parents=[place_options(county=False), rel, price, output_options()],
                        help="office vs hospital outpatient vs ASC for one code, or for each "
                             "claim of a file (--claims)",
                        description="Example: rvucalc sites 20983 --zip 90012 --county 06037. --zip/--locality "
                                    "place the physician (PFS locality); --cbsa/--county the facility (wage "
                                    "index); --county alone places both.")
    st.add_argument("code", nargs="?", help="HCPCS code, e.g. 20983")
    st.add_argument("--claims", help="claim lines (.csv, .parquet, .xlsx): price each claim in the "
                    "three settings, with a book summary")
    st.add_argument("-o", "--out", help="write the comparison: .xlsx (a workbook; with --claims: summary, "
                    "claims and line sheets), .csv, .parquet or .json (a row per setting; with --claims "
                    "a row per claim)")
    fac = st.add_argument_group("where the facility is (wage index)")
    fac.add_argument("--cbsa", help="CBSA of the facility, e.g. 31084")
    fac.add_argument("--county", help="5-digit county FIPS of the facility, e.g. 06037; without --zip or "
                                      "--locality it also places the physician (PFS locality)")
    fac.add_argument("--wage-index", type=float, help="facility wage index given directly")
    fac.add_argument("--opps-wage-index", type=float, help="the hospital's own IPPS wage index (Table 2)")
    fac.add_argument("--ccn", help="the hospital's CCN, looked up in --ipps-table2")
    fac.add_argument("--ipps-table2", help="path of CMS's IPPS Table 2 (wage index by CCN) for the year")

    lo = sub.add_parser("localities", parents=[place, rel, output_options()],
                        help="list or search payment localities",
                        description="Search by name, state or county name; or give --zip or --county. A bare "
                                    "5-digit number is shown both as a ZIP code and as a county FIPS code.")
    lo.add_argument("search", nargs="?", help="text in the name, state or counties (or a 5-digit number)")

    an = sub.add_parser("anes", parents=[place, rel, pricing_options(cf=False), output_options()],
                        help="price an anesthesia service (base + time units x anesthesia CF)",
                        description="Example: rvucalc anes 00400 --minutes 90 --base-units 7 --zip 90012 "
                                    "--modifier QK")
    an.add_argument("code", help="anesthesia code 00100-01999, optionally with modifier: 00400-QK")
    an.add_argument("--minutes", type=float, help="anesthesia time in minutes (time units = minutes / 15)")
    an.add_argument("--base-units", type=float,
                    help="base units of the code (default: CMS's base-unit file, when at hand)")
    an.add_argument("--modifier", help="AA, QZ (100%%), QK, QY, QX (50%%) or AD (3 base units)")
    an.add_argument("--present-at-induction", action="store_true", help="AD: add 1 time unit")

    from . import cli_reprice, cli_workbench

    cli_reprice.add_parser(sub)
    cli_workbench.add_parsers(sub)
    from . import cli_contract  # rvucalc contract (payer contracts)

    cli_contract.add_parser(sub)

    r = sub.add_parser("releases", help="list the release catalogue")
    r.add_argument("--system", choices=SYSTEMS, help="only this payment system's releases")

    f = sub.add_parser("fetch", parents=[release_options(year=False)],
                       help="download a release's files into the cache (or find them in the mirror)")
    f.add_argument("release", help="release id, e.g. rvu26a")
    return ap


def cmd_quote(a: argparse.Namespace) -> int:
    fs = load_args(a)
    quotes = [fs.quote(c, a.modifier, zip=a.zip, locality=a.locality, county=a.county) for c in a.codes]
    if a.json:
        data = [json.loads(q.model_dump_json()) for q in quotes]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
        return 0
    if a.csv:
        import pandas as pd

        pd.concat([q.to_frame() for q in quotes], ignore_index=True).to_csv(sys.stdout, index=False)
        return 0
    emit(*quote_items(quotes, fs.release.label))
    return 0


def cmd_schedule(a: argparse.Namespace) -> int:
    fs = load_args(a)
    df = fs.schedule(a.codes or None, a.localities or None, national=a.national,
                     errors="keep" if a.codes else "raise")
    if a.out:
        from .export import write_table

        write_table(df, a.out, provenance=fs)
        print(f"wrote {len(df):,} rows to {a.out}", file=sys.stderr)
        return 0
    if a.csv:
        df.to_csv(sys.stdout, index=False)
        return 0
    if a.json:
        print(df.to_json(orient="records", indent=2))
        return 0
    import numpy as np
    import pandas as pd

    from .reasons import explain

    # the long table is setting-major with the same (code, locality) order in each setting
    setting = df["setting"].astype(str).to_numpy()
    nf, fa = df[setting == "nonfacility"], df[setting == "facility"]
    n = len(nf)
    nf, fa = nf.head(a.limit), fa.head(a.limit)
    assert (nf["hcpcs"].astype(str).to_numpy() == fa["hcpcs"].astype(str).to_numpy()).all()
    desc = fs.rvus.drop_duplicates("hcpcs").set_index("hcpcs")["description"].astype(str)
    has_desc = bool((desc != "").any())
    names = fs.localities.set_index("locality_id")["locality_name"].astype(str)
    hc, md = nf["hcpcs"].astype(str), nf["modifier"].astype(str)
    show = pd.DataFrame({"code": (hc + np.where(md != "", "-" + md, "")).to_numpy()})
    if has_desc:
        show["description"] = hc.map(desc).fillna("").to_numpy()
    if not a.national:
        show["locality"] = nf["locality_id"].astype(str).to_numpy()
        show["name"] = nf["locality_id"].astype(str).map(names).fillna("").to_numpy()
    show["office"] = [usd(x) for x in nf["amount"].to_numpy()]  # at most --limit display cells
    show["facility"] = [usd(x) for x in fa["amount"].to_numpy()]
    r1 = pd.Series(nf["reason"].astype(str).to_numpy())
    r2 = pd.Series(fa["reason"].astype(str).to_numpy())
    show["reason"] = r1.where(r1 == r2, (r1 + " " + r2).str.strip()).to_numpy()
    t = Table.from_frame(show, numeric=["office", "facility"])
    notes = []
    used = sorted(x for x in df["reason"].astype(str).unique() if x)
    for code in used:
        w = explain(code)
        notes.append(f"{code}: {w.message if w else code}")
    head = f"{fs.release.label}; CF ${fs.conversion_factor:.4f}; " + (
        "national (GPCIs 1.0)" if a.national else f"{df['locality_id'].nunique()} localities")
    if n > a.limit:
        notes.append(f"first {a.limit} of {n:,} rows shown: --csv, --json or --out FILE for all")
    emit(head, t, *(["\n".join(notes)] if notes else []))
    return 0


def cmd_sites(a: argparse.Namespace) -> int:
    if a.claims:
        return _sites_claims(a)
    if not a.code:
        print("rvucalc sites: give a HCPCS code or --claims FILE", file=sys.stderr)
        return 2
    if a.out:
        from .atomic import check_output

        check_output(a.out)
    fs = load_args(a)
    cmp = fs.compare_sites(a.code, zip=a.zip, locality=a.locality, cbsa=a.cbsa,
                           county_fips=a.county,
                           wage_index=a.wage_index, opps_wage_index=a.opps_wage_index,
                           hospital_ccn=a.ccn, ipps_table2=a.ipps_table2)
    if a.out:
        _write_site_comparison(cmp, a.out)
        print(f"{cmp.hcpcs} compared in {len(cmp.rows)} settings -> {a.out}", file=sys.stderr)
        for r in cmp.rows:
            if r.total is None:
                words = "; ".join(x.message for x in r.reasons)
                print(f"{r.label}: no amount: {words}", file=sys.stderr)
        return 0
    if a.json:
        print(cmp.model_dump_json(indent=2))
    elif a.csv:
        cmp.to_frame().to_csv(sys.stdout, index=False)
    else:
        emit(*cmp.render_items())
    return 0


def _write_site_comparison(cmp: Any, out: str) -> None:
    """``rvucalc sites CODE -o FILE``: the comparison's rows (:meth:`SiteComparison.to_frame`) as
    a workbook (.xlsx, with the settings that have no amount and why under the summary's
    heading) or a table (.csv, .parquet, .json)."""
    from .export import to_excel, write_table

    if str(out).lower().endswith((".xlsx", ".xlsm")):
        to_excel(cmp, out, title=cmp.heading)  # its frame, sources and notes (rvucalc.export)
    else:
        write_table(cmp.to_frame(), out)


def _sites_claims(a: argparse.Namespace) -> int:
    """``rvucalc sites --claims claims.csv [-o sites.xlsx]``: each claim in the three settings."""
    import pandas as pd

    from .atomic import check_output
    from .claims.contract import LINE
    from .claims.io import read_claims, write_claims
    from .facility_claims import compare_sites_claims, sites_workbook, summarise_sites

    if a.out:
        check_output(a.out, [a.claims])
    lines = read_claims(a.claims).drop(columns=[LINE])
    if "zip" not in lines.columns and "locality" not in lines.columns and (a.zip or a.locality):
        lines = lines.assign(**({"zip": a.zip} if a.zip else {"locality": a.locality}))
    per = compare_sites_claims(lines, pfs_releases=[a.release] if a.release else None,
                               mirror=a.mirror, ipps_table2=a.ipps_table2,
                               opps_wage_index=a.opps_wage_index if a.opps_wage_index is not None
                               else a.wage_index, asc_wage_index=a.wage_index)
    book = summarise_sites(per)
    if a.out:
        if str(a.out).lower().endswith((".xlsx", ".xlsm")):
            sites_workbook(per, a.out)
        else:
            write_claims(per, a.out)
    elif a.csv:
        per.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", 60, "display.width", 160):
            print(book.drop(columns=["label"]).to_string(index=False, na_rep="-"))
    print(f"{len(per):,} claims compared" + (f" -> {a.out}" if a.out else ""), file=sys.stderr)
    for note in book.attrs.get("rvucalc.notes", ()):
        print(note, file=sys.stderr)
    return 0


def _localities_found(fs: Any, a: argparse.Namespace) -> tuple[Any, list[str]]:
    """(matching localities, how each matched) for the search options."""
    import pandas as pd

    loc = fs.localities
    if a.zip:
        lid = fs.resolve_locality(zip=a.zip)
        return loc[loc["locality_id"] == lid], [f"ZIP {a.zip}"]
    if a.county:
        lid, placed = fs.county_locality(a.county)
        return loc[loc["locality_id"] == lid], [placed]
    if a.locality:
        lid = fs.resolve_locality(a.locality)
        return loc[loc["locality_id"] == lid], [f"locality {a.locality}"]
    if not a.search:
        return loc, [""] * len(loc)
    term = a.search.strip()
    if term.isdigit() and len(term) == 5:  # a ZIP code or a county FIPS code: show both readings
        parts, labels = [], []
        for kind in ("zip", "county"):
            try:
                if kind == "zip":
                    lid, label = fs.resolve_locality(zip=term), f"read as ZIP {term}"
                else:
                    lid, placed = fs.county_locality(term)
                    label = f"read as {placed}"
            except RvucalcError:
                continue
            parts.append(loc[loc["locality_id"] == lid])
            labels.append(label)
        if not parts:
            return loc.iloc[0:0], []
        return pd.concat(parts, ignore_index=True), labels
    t = term.upper()
    hay = (loc["locality_id"] + " " + loc["state"] + " " + loc["locality_name"] + " "
           + loc.get("state_name", "") + " " + loc.get("counties", "")).str.upper()
    hit = loc[hay.str.contains(t, regex=False)]
    return hit, [""] * len(hit)


def cmd_localities(a: argparse.Namespace) -> int:
    fs = load_args(a)
    loc, how = _localities_found(fs, a)
    what = a.search or a.zip or a.county or a.locality
    if loc.empty:
        return no_match(f"no payment locality matches {what!r} in {fs.release.id}")
    cols = ["locality_id", "state", "locality_name", "work_gpci", "pe_gpci", "mp_gpci", "counties"]
    out = loc[cols].reset_index(drop=True)
    if any(how):
        out.insert(0, "matched", how)
    if a.json:
        print(json.dumps(out.to_dict(orient="records"), indent=2))
    elif a.csv:
        out.to_csv(sys.stdout, index=False)
    else:
        t = Table.from_frame(out.assign(**{c: out[c].map(lambda v: f"{v:.3f}")
                                           for c in ("work_gpci", "pe_gpci", "mp_gpci")}),
                             numeric=["work_gpci", "pe_gpci", "mp_gpci"])
        emit(f"{len(out)} of {len(fs.localities)} payment localities ({fs.sources['gpci'].file})", t)
    return 0


def cmd_anes(a: argparse.Namespace) -> int:
    fs = load_args(a)
    q = fs.anesthesia(a.code, a.minutes, base_units=a.base_units, modifier=a.modifier, locality=a.locality,
                      zip=a.zip, county=a.county, qp=a.qp or None, present_at_induction=a.present_at_induction)
    if a.json:
        print(q.model_dump_json(indent=2))
    elif a.csv:
        q.to_frame().to_csv(sys.stdout, index=False)
    else:
        emit(*q.render_items())
    return 0


def cmd_releases(a: argparse.Namespace) -> int:
    rels = catalogue.releases(a.system)
    if not rels:
        return no_match(f"no release of system {a.system!r} in the catalogue")
    t = Table(["id", "system", "year", "effective", "label"])
    for r in rels:
        t.rows.append([r.id, r.system, str(r.year), r.effective or "", r.label])
    emit(t)
    return 0


def cmd_fetch(a: argparse.Namespace) -> int:
    """Find or download every table of a release; say for each whether its sha256 is verified.

    Downloads are off with ``--offline`` or ``$RVUCALC_OFFLINE``: then only
    what is at hand is listed, and the exit status is 1 if anything is missing.
    """
    from .errors import ChecksumError, DownloadError, MissingFileError
    from .fetch import locate, offline

    rel = catalogue.get(a.release)
    download = not (a.offline or offline())
    missing = 0
    t = Table(["table", "file", "origin", "sha256"])
    for table in rel.files:
        try:
            loc = locate(rel, table, mirror=a.mirror, download=download)
        except (MissingFileError, DownloadError) as exc:
            missing += 1
            what = "REFUSED" if isinstance(exc, ChecksumError) else "not available"
            print(f"rvucalc: {table}: {what}: {exc}", file=sys.stderr)
            continue
        if loc.verified:
            trust = "verified"
        elif loc.tofu:
            trust = (f"UNVERIFIED {loc.sha256[:12]} (no CMS checksum; recorded at first download"
                     f"{' on ' + loc.tofu_date if loc.tofu_date else ''}: trust on first use)")
        else:
            trust = f"UNVERIFIED {loc.sha256[:12]} (no CMS checksum in the catalogue)"
        t.rows.append([table, str(loc.path), loc.origin, trust])
    if t.rows:
        emit(t)
    return 1 if missing else 0


COMMANDS = {"quote": cmd_quote, "sites": cmd_sites, "schedule": cmd_schedule, "localities": cmd_localities,
            "releases": cmd_releases, "fetch": cmd_fetch, "anes": cmd_anes}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line's handler (:func:`main`).

    A subclass of :class:`KeyboardInterrupt`, so a SIGTERM runs the same cleanup as Ctrl-C
    (``finally`` blocks: temporary files and folders removed); the exit status is 143.
    """

    exit_status = 143


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the cleanup short
    raise Terminated()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (the CLI only, never on import)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Ctrl-C (SIGINT) and SIGTERM stop a command with one line on standard error and exit
    status 130 and 143; cleanup runs as on an error (outputs are never left half-written).
    """
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        with _sigterm_raises():
            return _main(a)
    except KeyboardInterrupt as exc:
        print("rvucalc: " + ("terminated" if isinstance(exc, Terminated) else "interrupted"), file=sys.stderr)
        return int(getattr(exc, "exit_status", 130))


def _main(a: argparse.Namespace) -> int:
    try:
        if a.cmd == "reprice":
            from . import cli_reprice

            return cli_reprice.run(a)
        if a.cmd == "contract":
            return a.func(a)
        if a.cmd in COMMANDS:
            return COMMANDS[a.cmd](a)
        from . import cli_workbench

        return cli_workbench.COMMANDS[a.cmd](a)
    except NoMatch as exc:
        return no_match(str(exc))
    except RvucalcError as exc:
        print(f"rvucalc: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
