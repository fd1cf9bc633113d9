"""``rvucalc quote``, ``schedule``, ``sites``, ``localities`` and ``anes``: prices of codes in places."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import RvucalcError, UnknownCodeError, UnsupportedModifierError
from ..models import quote_items
from ..render import Table, emit, usd
from .common import load_args, no_match


def _refusal(fs: Any, asked: str, exc: RvucalcError) -> tuple[str, str, str]:
    """(code as asked, reason code, the error's sentence) of a code the quote refused."""
    from ..codes import NOT_IN_RELEASE, POLICY_MODIFIER, not_on_pfs_reason, split_code

    if isinstance(exc, UnsupportedModifierError):
        why = POLICY_MODIFIER.code
    else:
        try:
            code = split_code(asked)[0]
        except RvucalcError:
            code = ""
        on_pfs = bool(code) and bool((fs.rvus["hcpcs"] == code).any())
        why = NOT_IN_RELEASE.code if on_pfs or not code else not_on_pfs_reason(code).code
    return str(asked).strip().upper(), why, str(exc)


def cmd_quote(a: argparse.Namespace) -> int:
    """Quote each code; a code that cannot be quoted (not on the PFS, a policy modifier) gets a
    reason row and a line on standard error, the others are printed. Exit status 2 only when no
    code could be quoted (then the sentences alone, as for one code)."""
    fs = load_args(a)
    quotes, refused = [], []
    rural = getattr(a, "rural", None)
    for c in a.codes:
        try:
            quotes.append(fs.quote(c, a.modifier, zip=a.zip, locality=a.locality, county=a.county,
                                   rural=None if rural is None else rural.upper()))
        except (UnknownCodeError, UnsupportedModifierError) as exc:
            if len(a.codes) == 1:
                raise
            refused.append(_refusal(fs, c, exc))
    if not quotes:
        for _code, _why, words in refused:
            print(f"rvucalc: {words}", file=sys.stderr)
        return 2
    for code, _why, words in refused:
        print(f"rvucalc quote: {code} not quoted: {words}", file=sys.stderr)
    if a.json:
        data = [json.loads(q.model_dump_json()) for q in quotes]
        data += [{"code": code, "quoted": False, "reason": why, "reason_text": words}
                 for code, why, words in refused]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
        return 0
    if a.csv:
        import pandas as pd

        frames = [q.to_frame() for q in quotes]
        if refused:  # a row per setting, as for a quoted code: no amount, the reason
            frames.append(pd.DataFrame([{"code": code, "hcpcs": code[:5], "setting": s, "reason": why,
                                         "reason_text": words}
                                        for code, why, words in refused for s in ("nonfacility", "facility")]))
        out = pd.concat(frames, ignore_index=True)
        text_cols = [c for c in out.columns if out[c].dtype == object]
        out[text_cols] = out[text_cols].fillna("")
        out.to_csv(sys.stdout, index=False)
        return 0
    emit(*quote_items(quotes, fs.release.label, refused=refused))
    return 0


def cmd_schedule(a: argparse.Namespace) -> int:
    fs = load_args(a)
    rural = getattr(a, "rural", None)
    df = fs.schedule(a.codes or None, a.localities or None, national=a.national,
                     errors="keep" if a.codes else "raise", rural=None if rural is None else rural.upper())
    if a.out:
        from ..export import write_table

        write_table(df, a.out, provenance=fs)
        print(f"wrote {len(df):,} rows to {a.out}", file=sys.stderr)
        return 0
    if _dumped(df, a):
        return 0
    import numpy as np
    import pandas as pd

    from ..reasons import explain

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
    if "fee_schedule" in nf and (nf["fee_schedule"].astype(str) != "pfs").any():  # lab, drug, DME codes
        show["schedule"] = nf["fee_schedule"].astype(str).str.upper().to_numpy()
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
    from ..whatif import WHAT_IF

    kind = str(fs.conversion_factor_kind)
    head = f"{fs.release.label}; CF ${fs.conversion_factor:.4f}" + (f" ({kind})" if kind.startswith(WHAT_IF) else "") + "; " + (
        "national (GPCIs 1.0)" if a.national else f"{df['locality_id'].nunique()} localities")
    if n > a.limit:
        notes.append(f"first {a.limit} of {n:,} rows shown: --csv, --json or --out FILE for all")
    emit(head, t, *(["\n".join(notes)] if notes else []))
    return 0


def _one(values: list[str] | None, what: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise RvucalcError(f"one {what} for one code's comparison; several places take --codes")
    return values[0]


def cmd_sites(a: argparse.Namespace) -> int:
    places = len(a.zip or []) + len(a.locality or []) + len(a.county or [])
    if a.claims:
        for opt, v in (("--cf", a.cf), ("--asc-cf", a.asc_cf), ("--qp", a.qp or None)):
            if v is not None:
                raise RvucalcError(f"{opt} is not applied to --claims (each claim line's date chooses its "
                                   "releases, at their own conversion factors); leave it out, or price the "
                                   "lines at a what-if PFS CF with rvucalc reprice --cf")
        a.zip, a.locality, a.county = _one(a.zip, "--zip"), _one(a.locality, "--locality"), _one(a.county, "--county")
        return _sites_claims(a)
    if a.codes or (a.code and (places > 2 or len(a.zip or []) + len(a.locality or []) > 1
                               or len(a.county or []) > 1)):
        return _sites_many(a)
    if not a.code:
        print("rvucalc sites: give a HCPCS code, --codes CODE ... or --claims FILE", file=sys.stderr)
        return 2
    if a.zip and a.locality:
        raise RvucalcError("give --zip or --locality for one code's comparison, not both "
                           "(several places take --codes)")
    a.zip, a.locality, a.county = _one(a.zip, "--zip"), _one(a.locality, "--locality"), _one(a.county, "--county")
    if a.out:
        from ..atomic import check_output

        check_output(a.out)
    fs = load_args(a)
    cmp = fs.compare_sites(a.code, zip=a.zip, locality=a.locality, cbsa=a.cbsa,
                           county_fips=a.county,
                           wage_index=a.wage_index, opps_wage_index=a.opps_wage_index,
                           hospital_ccn=a.ccn, ipps_table2=a.ipps_table2, asc_conversion_factor=a.asc_cf)
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


def _sites_many(a: argparse.Namespace) -> int:
    """``rvucalc sites --codes 20983 29881 --zip 90012 --zip 10001 --county 06037 [-o sites.xlsx]``:
    every code in every place (each --zip, --locality, --county a place), one tidy frame."""
    from ..sites import Place

    for opt, v in (("--cbsa", a.cbsa), ("--wage-index", a.wage_index), ("--opps-wage-index", a.opps_wage_index),
                   ("--ccn", a.ccn), ("--ipps-table2", a.ipps_table2)):
        if v is not None:
            raise RvucalcError(f"{opt} places one facility; with several codes or places give each place by "
                               "--zip, --locality or --county (a county places the facility too), or use "
                               "rvucalc.sites.Place(cbsa=...) in Python")
    if a.out:
        from ..atomic import check_output

        check_output(a.out)
    codes = ([a.code] if a.code else []) + list(a.codes or [])
    places = ([Place(zip=z) for z in a.zip or []] + [Place(locality=x) for x in a.locality or []]
              + [Place(county=c) for c in a.county or []]) or [Place()]
    fs = load_args(a)
    df = fs.compare_sites_many(codes, places, asc_conversion_factor=a.asc_cf)
    if a.out:
        from ..export import write_table

        write_table(df, a.out, title=f"{len(df['hcpcs'].unique())} codes in {len(places)} places: where it is "
                                     f"done, what Medicare pays ({fs.release.label})")
        print(f"{df['hcpcs'].nunique()} codes x {df['place'].nunique()} places x 3 settings -> {a.out}",
              file=sys.stderr)
        for note in df.attrs.get("rvucalc.notes", []):
            print(note, file=sys.stderr)
        return 0
    if _dumped(df, a):
        return 0
    import pandas as pd

    wide = df.pivot_table(index=["hcpcs", "place"], columns="site", values="total", sort=False,
                          dropna=False, aggfunc="first").reset_index()
    show = pd.DataFrame({"code": wide["hcpcs"], "place": wide["place"]})
    for site, label in (("office", "office"), ("hopd", "hospital outpatient"), ("asc", "ASC")):
        show[label] = [usd(x) for x in wide[site].to_numpy()] if site in wide else "-"
    notes = list(df.attrs.get("rvucalc.notes", []))
    for place, part in df.groupby("place", sort=False):
        first = part.iloc[0]
        fp = part.loc[part["site"] == "asc", "facility_placement"]
        notes.append(f"{place}: PFS {first['locality_id']} ({first['pfs_placement']}); facility: "
                     f"{fp.iloc[0] if len(fp) and fp.iloc[0] else 'no facility file at hand'}")
    notes.append("totals (physician + facility); --csv, --json or -o FILE.xlsx for every amount and reason")
    emit(f"{fs.release.label}; CF ${fs.conversion_factor:.4f} ({fs.conversion_factor_kind})",
         Table.from_frame(show, numeric=["office", "hospital outpatient", "ASC"]), "\n".join(notes))
    return 0


def _write_site_comparison(cmp: Any, out: str) -> None:
    """``rvucalc sites CODE -o FILE``: the comparison's rows (:meth:`SiteComparison.to_frame`) as
    a workbook (.xlsx, with the settings that have no amount and why under the summary's
    heading) or a table (.csv, .parquet, .json)."""
    from ..export import to_excel, write_table

    if str(out).lower().endswith((".xlsx", ".xlsm")):
        to_excel(cmp, out, title=cmp.heading)  # its frame, sources and notes (rvucalc.export)
    else:
        write_table(cmp.to_frame(), out)


def _dumped(df: Any, a: argparse.Namespace) -> bool:
    """``--csv`` or ``--json``: the frame's rows on standard output (True when written)."""
    if a.csv:
        df.to_csv(sys.stdout, index=False)
    elif a.json:
        print(df.to_json(orient="records", indent=2))
    return bool(a.csv or a.json)


def _sites_claims(a: argparse.Namespace) -> int:
    """``rvucalc sites --claims claims.csv [-o sites.xlsx]``: each claim in the three settings."""

    from ..atomic import check_output
    from ..claims.contract import LINE
    from ..claims.io import read_claims, write_claims
    from ..claims.sites import BOOK_KINDS, compare_sites_claims, sites_workbook, summarise_sites

    if a.out:
        check_output(a.out, [a.claims])
    from ..claims.columns import parse, resolve

    workbook = bool(a.out) and str(a.out).lower().endswith((".xlsx", ".xlsm"))
    line_sheets = bool(getattr(a, "line_sheets", False))
    if line_sheets and not workbook:
        raise ValueError("--line-sheets adds the line results to the workbook: give -o sites.xlsx")
    lines = read_claims(a.claims).drop(columns=[LINE])
    given = parse(getattr(a, "columns", None))
    mapping = resolve(lines.columns, given, source=a.claims)  # errors name the file
    if "zip" not in mapping and "locality" not in mapping and (a.zip or a.locality):
        lines = lines.assign(**({"zip": a.zip} if a.zip else {"locality": a.locality}))
    per = compare_sites_claims(lines, columns=given, pfs_releases=[a.release] if a.release else None,
                               mirror=a.mirror, ipps_table2=a.ipps_table2,
                               opps_wage_index=a.opps_wage_index if a.opps_wage_index is not None
                               else a.wage_index, asc_wage_index=a.wage_index,
                               clinic_visit=not getattr(a, "no_clinic_visit", False),
                               keep_lines=bool(line_sheets), progress=None)
    book = summarise_sites(per)
    if a.out:
        if workbook:
            sites_workbook(per, a.out, lines=line_sheets)
        else:
            write_claims(per, a.out)
    elif a.csv:
        per.to_csv(sys.stdout, index=False)
    else:  # the renderer of every command: a table on a terminal, TSV when piped
        show = book[["site", "claims", "claims_billable", "claims_priced", "coverage_percent", "total", "lines_priced",
                     "like_for_like_claims", "like_for_like_total", "minus_office", "not_priced_reason"]
                    ].astype(object)
        for c, kind in BOOK_KINDS.items():
            if c in show.columns and kind in ("money", "count"):  # three rows, one per setting
                show[c] = [usd(x) if kind == "money" else "-" if x != x else f"{int(x):,}"
                           for x in book[c].to_numpy(dtype=float)]
        emit(Table.from_frame(show, numeric=[c for c in BOOK_KINDS if c in show.columns]))
    print(f"{len(per):,} claims compared" + (f" -> {a.out}" if a.out else ""), file=sys.stderr)
    from .common import columns_note

    if note := columns_note(per.attrs.get("rvucalc.columns") or {}):
        print(note, file=sys.stderr)
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
    if len(t) == 2 and t.isalpha() and (loc["state"].astype(str).str.upper() == t).any():
        # a two-letter state code is the state ("AL" is Alabama, not every "ALL COUNTIES")
        hit = loc[loc["state"].astype(str).str.upper() == t]
        return hit, [""] * len(hit)
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


