"""``rvucalc quote``, ``schedule``, ``sites``, ``localities`` and ``anes``: prices of codes in places."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import RvucalcError
from ..models import quote_items
from ..render import Table, emit, usd
from .common import load_args, no_match


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
        from ..export import write_table

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
        from ..atomic import check_output

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
    from ..export import to_excel, write_table

    if str(out).lower().endswith((".xlsx", ".xlsm")):
        to_excel(cmp, out, title=cmp.heading)  # its frame, sources and notes (rvucalc.export)
    else:
        write_table(cmp.to_frame(), out)


def _sites_claims(a: argparse.Namespace) -> int:
    """``rvucalc sites --claims claims.csv [-o sites.xlsx]``: each claim in the three settings."""
    import pandas as pd

    from ..atomic import check_output
    from ..claims.contract import LINE
    from ..claims.io import read_claims, write_claims
    from ..claims.sites import compare_sites_claims, sites_workbook, summarise_sites

    if a.out:
        check_output(a.out, [a.claims])
    from ..claims.columns import parse, resolve

    lines = read_claims(a.claims).drop(columns=[LINE])
    given = parse(getattr(a, "columns", None))
    mapping = resolve(lines.columns, given, source=a.claims)  # errors name the file
    if "zip" not in mapping and "locality" not in mapping and (a.zip or a.locality):
        lines = lines.assign(**({"zip": a.zip} if a.zip else {"locality": a.locality}))
    per = compare_sites_claims(lines, columns=given, pfs_releases=[a.release] if a.release else None,
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


