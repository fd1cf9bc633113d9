"""Site of service per claim: each claim priced in the office, a hospital outpatient department
and an ASC, and a book of claims summed by setting.

:func:`compare_sites_claims` prices each claim three ways - office (PFS non-facility), HOPD
(PFS facility + OPPS facility, :mod:`rvucalc.claims.opps`) and ASC (PFS facility + ASC
facility, :mod:`rvucalc.claims.asc`) - through the claims pipeline
(:func:`rvucalc.claims.pipeline.price_frame`), and :func:`summarise_sites` sums a book of
claims by setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from . import columns as K
from . import pipeline
from .contract import LINE, claim_keys

__all__ = ["compare_sites_claims", "summarise_sites", "not_priced", "not_priced_notes",
           "sites_workbook", "SITES", "SITE_COLUMNS"]


def _price_pfs(lines: pd.DataFrame, releases: Any, mirror: Any, dayfirst: bool) -> pd.DataFrame:
    """PFS claim lines priced in memory (as :func:`rvucalc.reprice`)."""
    opts = pipeline.options("pfs", releases=releases, mirror=mirror, dayfirst=dayfirst)
    return pipeline.price_frame(lines, opts, schedules=pipeline.schedules_of(releases))


# ---------------------------------------------------------------------------------------------
# site of service per claim

#: The settings compared, with the PFS place of service each is priced at.
SITES = {"office": ("Office (PFS non-facility)", "11"),
         "hopd": ("Hospital outpatient (PFS facility + OPPS)", "22"),
         "asc": ("ASC (PFS facility + ASC)", "24")}
#: The setting a claim was served in, by its place of service (CMS place of service codes:
#: 11 office; 22 on-campus and 19 off-campus outpatient hospital; 24 ASC); any other POS is
#: ``"other"``, several ``"mixed"``, none ``""``.
ACTUAL_SETTING = {"11": "office", "22": "hopd", "19": "hopd", "24": "asc"}
#: Amount columns per setting in :func:`compare_sites_claims`.
SITE_COLUMNS = ("professional", "facility", "total", "medicare", "beneficiary", "lines_unpaid",
                "reason")
#: What each of :data:`SITE_COLUMNS` holds (workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
SITE_KINDS = {"professional": "money", "facility": "money", "total": "money", "medicare": "money",
              "beneficiary": "money", "lines_unpaid": "count", "reason": "text"}
#: What the columns of :func:`compare_sites_claims` (per claim) and :func:`summarise_sites` (the
#: book by setting) hold.
CLAIM_KINDS = {"lines": "count", "total_charges": "money", **{f"{site}_{c}": k for site in SITES for c, k in SITE_KINDS.items()},
               "hopd_minus_office": "money", "asc_minus_office": "money", "asc_minus_hopd": "money"}
BOOK_KINDS = {"claims": "count", "claims_priced": "count", "claims_not_priced": "count",
              **{c: k for c, k in SITE_KINDS.items() if k == "money"},
              "minus_office": "money", "minus_hopd": "money"}


def _pfs(lines: pd.DataFrame, pos: str, professional_component: bool, releases: Any,
         mirror: Any, dayfirst: bool) -> pd.DataFrame:
    """PFS amounts per line at place of service *pos*.

    In a facility the physician bills only the professional component of a service that has
    one (PC/TC indicator 1: the -26 row), the facility the rest (42 CFR 414.22(b)(5)(i); RVU
    file documentation, PC/TC indicator): lines without 26/TC are priced with -26 where the
    code's -26 row is payable, else as billed.
    """

    base = lines.assign(pos=pos)
    out = _price_pfs(base, releases, mirror, dayfirst)
    if not professional_component:
        return out
    mods = base["modifiers"].fillna("").astype(str) if "modifiers" in base else pd.Series(
        "", index=base.index)
    code_mods = base["hcpcs"].fillna("").astype(str).str.strip().str.slice(5)
    has_pctc = (mods + " " + code_mods).str.upper().str.contains(r"(?:^|[^A-Z0-9])(?:26|TC)(?:$|[^A-Z0-9])",
                                                                regex=True)
    with26 = base.assign(modifiers=(mods + " 26").str.strip())
    pc = _price_pfs(with26, releases, mirror, dayfirst)
    use = (~has_pctc).to_numpy() & pc["payable"].to_numpy(dtype=bool)
    from .pfs import OUTPUT_COLUMNS

    for c in OUTPUT_COLUMNS:  # rvucalc's columns from the -26 pricing; the user's stay as given
        a, b = out[c], pc[c]
        if isinstance(a.dtype, pd.CategoricalDtype):
            a, b = a.astype(object), b.astype(object)
        out[c] = pd.Series(np.where(use, b.to_numpy(dtype=object), a.to_numpy(dtype=object)),
                           index=out.index).astype(out[c].dtype if not isinstance(
                               out[c].dtype, pd.CategoricalDtype) else object)
    return out


#: PFS reasons of a line that is $0.00 on the physician's side, not unknown: bundled (status B),
#: reporting only (status M, Category II measure codes). RVU file documentation, Attachment A.
PFS_ZERO = frozenset({"PFS_STATUS_B", "PFS_STATUS_M", "NOT_PFS_MEASURE"})


def _facility_bills() -> frozenset[str]:
    """PFS reasons that, in a HOPD or ASC, mean the facility bills the line, not the physician:
    NA in the facility setting, or a code of another fee schedule (a device, drug, supply...)."""
    from ..calc.pfs import NA_REASONS
    from ..codes import REASONS

    return frozenset({NA_REASONS["facility"].code} | {r.code for r in REASONS.values()})


def _first_codes(reason: pd.Series, setting: str) -> np.ndarray:
    """The refusing reason code of each line (:mod:`rvucalc.claims.tally`'s rule), per distinct text."""
    from .tally import _primary, refusing_for

    refusing = refusing_for(setting)
    codes, uniq = pd.factorize(reason.astype(object).fillna(""), use_na_sentinel=False)
    table = np.array([_primary(str(u), refusing) for u in uniq] + [""], dtype=object)
    return table[codes]


def _claim_part(key: np.ndarray, order: np.ndarray, amount: pd.Series, medicare: pd.Series,
                bad: np.ndarray) -> pd.DataFrame:
    """Per claim: amount and Medicare sums in whole cents (lines not priced add nothing), and
    whether any line of the claim is not priced (``bad``)."""
    cents = np.nan_to_num(np.round(amount.to_numpy(float) * 100))
    med = np.nan_to_num(np.round(medicare.to_numpy(float) * 100))
    df = pd.DataFrame({"k": key, "a": cents, "m": med, "bad": bad})
    return df.groupby("k", sort=False).agg(a=("a", "sum"), m=("m", "sum"), bad=("bad", "any")
                                           ).reindex(order)


def _line_states(prof: pd.DataFrame, fac: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Which lines of a setting have no amount, and the refusing code of each.

    A professional line with no amount is not priced unless its reason says the amount is $0.00
    (:data:`PFS_ZERO`) or, in a facility, that the facility bills it (NA facility, a code of
    another fee schedule): then it counts 0.00 on the physician's side. A facility line with no
    amount is never priced (no release, no wage index, not payable in that setting...).
    """
    p_amount = prof["allowed"].to_numpy(float)
    p_code = _first_codes(prof["reason"], "pfs")
    excused = np.isin(p_code, list(PFS_ZERO | (_facility_bills() if fac is not None else set())))
    p_bad = np.isnan(p_amount) & ~excused
    if fac is None:
        return {"p_bad": p_bad, "f_bad": np.zeros(len(p_bad), dtype=bool), "code": np.where(
            p_bad, p_code, "")}
    f_bad = np.isnan(fac["facility_payment"].to_numpy(float))
    f_code = _first_codes(fac["reason"], "facility")
    code = np.where(f_bad, f_code, np.where(p_bad, p_code, ""))
    return {"p_bad": p_bad, "f_bad": f_bad, "code": code}


def _no_amount_text(site: str, fac: pd.DataFrame | None, rows: np.ndarray, year: np.ndarray) -> str:
    """Plain words for facility lines refused with ``FACILITY_NO_RELEASE``: the sentence
    ``rvucalc sites CODE`` gives for the missing file (:func:`rvucalc.sites.unavailable_text`),
    or the release note when a file was found but could not be read."""
    from ..fetch import offline
    from ..sites import unavailable_text

    system = "opps" if site == "hopd" else "asc"
    notes = fac["release_note"].astype(object).fillna("").to_numpy()[rows] if fac is not None \
        and "release_note" in fac.columns else np.full(len(rows), "", dtype=object)
    said: dict[str, None] = {}
    for y, note in sorted(set(zip(year[rows].tolist(), notes.tolist(), strict=True))):
        if str(note).startswith("no CY") and str(note).endswith("at hand") or not note:  # a file missing
            if y > 0:
                said.setdefault(unavailable_text(system, int(y), not offline()))
        else:
            said.setdefault(str(note))
    return " ".join(said)


def compare_sites_claims(lines: pd.DataFrame, *, pfs_releases: Any = None,
                         opps_releases: Iterable[str] | None = None,
                         asc_releases: Iterable[str] | None = None,
                         mirror: str | os.PathLike[str] | None = None,
                         opps_wage_index: float | None = None, asc_wage_index: float | None = None,
                         ipps_table2: str | os.PathLike[str] | None = None,
                         dayfirst: bool = False, columns: Any = None) -> pd.DataFrame:
    """Each claim priced in the office, a hospital outpatient department and an ASC.

    - **office**: PFS non-facility amounts (place of service 11); no facility payment
      (42 CFR 414.22(b)(5): the non-facility PE pays the practice's costs);
    - **hopd**: PFS facility amounts (place of service 22; professional component where the
      code has one) plus the OPPS claim (:func:`rvucalc.reprice_opps`);
    - **asc**: PFS facility amounts (place of service 24) plus the ASC claim
      (:func:`rvucalc.reprice_asc`).

    *lines*: the columns of :func:`rvucalc.reprice` (``pos`` is set per setting; the one given
    is ignored) plus the facility's place (``wage_index``, ``cbsa``, ``county_fips``, ``ccn``;
    or *opps_wage_index* / *asc_wage_index* for all; none: national). *columns*: the headers of
    those columns when they are named otherwise (as for :func:`rvucalc.reprice`; headers are
    also matched ignoring case, spaces and underscores, :mod:`rvucalc.claims.columns`).

    Returns one row per claim (in order of first appearance): the claim id (under the user's
    header: ``claim_id``, or e.g. ``CLM_ID``), ``first_date_of_service`` and
    ``last_date_of_service``, ``place_of_service`` (the claim's own POS as given, ``"mixed"``
    when its lines give several) and ``actual_setting`` (where it was served, from that POS:
    ``office`` 11, ``hopd`` 22 or 19, ``asc`` 24; ``other``, ``mixed`` or ``""``), ``lines``,
    ``total_charges`` (with a charge column; NaN when a line has no charge), and for
    each setting ``<site>_professional``, ``<site>_facility``, ``<site>_total``,
    ``<site>_medicare``, ``<site>_beneficiary`` (Part B coinsurance of the professional
    service, 42 CFR 410.152, plus the facility copayment/coinsurance), ``<site>_lines_unpaid``
    and ``<site>_reason``, then the differences ``hopd_minus_office``, ``asc_minus_office``,
    ``asc_minus_hopd`` (totals). Amounts are sums of line amounts rounded once, so they add up.

    **Missing data is never $0.00.** A line is *not priced* in a setting when its facility
    part has no amount (no OPPS/ASC release for the date's year, no wage index, a code not
    payable in that setting: ASC not covered, OPPS inpatient only...), or its professional
    part has none (no PFS amount: carrier priced, not on the PFS in the office...) - except
    where the reason means $0.00 (bundled status B, reporting-only codes) or, in a HOPD or
    ASC, that the facility bills the line (NA facility, a device or drug code) and the
    facility priced it. Packaged facility lines are $0.00 and priced. A claim with a line not
    priced in a setting has NaN for that setting's total, Medicare and beneficiary amounts and
    for the differences that use them (and NaN professional or facility amount when that part
    is the one missing); ``<site>_lines_unpaid`` counts the claim's lines not priced in the
    setting (a line once, whichever part is missing) and ``<site>_reason`` is the refusing
    reason code of its first such line (``""`` when priced; plain words:
    :func:`rvucalc.explain`). ``attrs["rvucalc.reason_text"]`` holds, per setting, the words
    of reasons that say more than their code, e.g. which CMS file is missing and how to get
    it (:func:`not_priced`). The line results are in ``attrs["lines"]`` (one frame per setting
    and part).
    """
    from .normalise import parse_dates
    from .summary import total_charges, when_where

    mapping = K.resolve(lines.columns, columns)
    K.require(mapping, lines.columns, ("claim_id", "hcpcs", "date_of_service"))
    claim_col = mapping["claim_id"]
    had = LINE in lines.columns
    user = lines if had else lines.assign(**{LINE: range(len(lines))})
    # priced through a view under rvucalc's names; the line results get the user's headers back
    base = K.pricing_view(user, mapping)
    ck, _missing = claim_keys(base["claim_id"], base[LINE].to_numpy())
    key = pd.Series(ck, index=base.index)
    office = _pfs(base, "11", False, pfs_releases, mirror, dayfirst)
    prof_h = _pfs(base, "22", True, pfs_releases, mirror, dayfirst)
    prof_a = _pfs(base, "24", True, pfs_releases, mirror, dayfirst)
    fac_lines = base.drop(columns=[c for c in ("pos",) if c in base.columns])
    hopd = pipeline.price_frame(fac_lines, pipeline.facility_options(
        "hopd", opps_releases, mirror, dayfirst, opps_wage_index, ipps_table2))
    asc = pipeline.price_frame(fac_lines, pipeline.facility_options(
        "asc", asc_releases, mirror, dayfirst, asc_wage_index, None))
    k = key.to_numpy()
    order = pd.unique(k)
    first = pd.Series(np.arange(len(key))).groupby(k).first().reindex(order)
    out = pd.DataFrame({claim_col: base["claim_id"].to_numpy(dtype=object)[first.to_numpy()]})
    dense = pd.factorize(k)[0]  # claims numbered in order of first line, as ``order``
    found = {c: c for c in mapping}  # the view's names
    for c, v in when_where(base, found, dense, len(order), dayfirst).items():
        out[c] = v
    if "place_of_service" in out.columns:
        pc, pu = pd.factorize(out["place_of_service"].to_numpy(dtype=object))
        setting_u = np.array([ACTUAL_SETTING.get(p, p if p in ("", "mixed") else "other") for p in pu]
                             + [""], dtype=object)  # distinct POS values, not claims
        out["actual_setting"] = setting_u[pc]
    out["lines"] = key.value_counts().reindex(order).to_numpy()
    if "charge" in mapping:
        out["total_charges"] = total_charges(base["charge"], dense, len(order))
    _day, year, _q = parse_dates(base["date_of_service"], dayfirst=dayfirst)
    texts: dict[str, dict[str, str]] = {}
    parts = {"office": (office, None), "hopd": (prof_h, hopd), "asc": (prof_a, asc)}
    for site, (prof, fac) in parts.items():
        st = _line_states(prof, fac)
        p = _claim_part(k, order, prof["allowed"], prof["medicare_payment"], st["p_bad"])
        prof_c, prof_m = p["a"].to_numpy(float), p["m"].to_numpy(float)
        p_bad = p["bad"].to_numpy(bool)
        if fac is None:
            fac_c, fac_m, f_bad = np.zeros(len(order)), np.zeros(len(order)), np.zeros(len(order), bool)
        else:
            f = _claim_part(k, order, fac["facility_payment"], fac["medicare_payment"], st["f_bad"])
            fac_c, fac_m, f_bad = f["a"].to_numpy(float), f["m"].to_numpy(float), f["bad"].to_numpy(bool)
        bad = p_bad | f_bad
        total = np.where(bad, np.nan, prof_c + fac_c)
        med = np.where(bad, np.nan, prof_m + fac_m)
        out[f"{site}_professional"] = np.where(p_bad, np.nan, prof_c) / 100
        out[f"{site}_facility"] = np.where(f_bad, np.nan, fac_c) / 100
        out[f"{site}_total"] = total / 100
        out[f"{site}_medicare"] = med / 100
        out[f"{site}_beneficiary"] = (total - med) / 100
        line_bad = st["p_bad"] | st["f_bad"]
        out[f"{site}_lines_unpaid"] = pd.Series(line_bad).groupby(k).sum().reindex(
            order).to_numpy().astype(np.int64)
        # the refusing code of each claim's first line not priced (in line order)
        pos = np.where(line_bad, np.arange(len(k)), len(k))
        first_bad = pd.Series(pos).groupby(k).min().reindex(order).to_numpy()
        codes = np.append(st["code"].astype(object), "")
        out[f"{site}_reason"] = pd.Series(codes[first_bad], dtype="str")
        rows = first_bad[first_bad < len(k)]
        no_rel = rows[codes[rows] == "FACILITY_NO_RELEASE"]
        if len(no_rel):
            texts.setdefault(site, {})["FACILITY_NO_RELEASE"] = _no_amount_text(site, fac, no_rel, year)
    for a, b in (("hopd", "office"), ("asc", "office"), ("asc", "hopd")):
        out[f"{a}_minus_{b}"] = (np.round(out[f"{a}_total"] * 100) - np.round(out[f"{b}_total"] * 100)) / 100
    drop = [] if had else [LINE]
    out.attrs["lines"] = {
        "office_professional": K.user_frame(office.drop(columns=drop), mapping, user),
        "hopd_professional": K.user_frame(prof_h.drop(columns=drop), mapping, user),
        "hopd_facility": K.user_frame(hopd.drop(columns=drop), mapping, user),
        "asc_professional": K.user_frame(prof_a.drop(columns=drop), mapping, user),
        "asc_facility": K.user_frame(asc.drop(columns=drop), mapping, user),
    }
    out.attrs[K.ATTR] = dict(mapping)
    out.attrs["rvucalc.reason_text"] = texts
    out.attrs["rvucalc.summary"] = {
        "index": [claim_col], "columns": [],
        "values": ["office_total", "hopd_total", "asc_total"], "chart": True,
        "title": "Each claim in the office, a hospital outpatient department and an ASC",
    }
    return out


def not_priced(per_claim: pd.DataFrame) -> pd.DataFrame:
    """The claims each setting could not price, by reason: one row per setting and reason code
    with ``site``, ``label``, ``reason``, ``claims`` and ``message`` (plain words: the specific
    sentence of ``attrs["rvucalc.reason_text"]``, e.g. which CMS file is missing and how to
    get it, else :func:`rvucalc.explain`). Empty when every claim was priced everywhere.
    """
    from ..reasons import explain

    texts = per_claim.attrs.get("rvucalc.reason_text") or {}
    rows = []
    for site, (label, _pos) in SITES.items():
        col = f"{site}_reason"
        if col not in per_claim.columns:
            continue
        r = per_claim[col].astype(object).fillna("").astype(str)
        counts = r[r != ""].value_counts(sort=True)
        for code, n in counts.items():
            msg = texts.get(site, {}).get(str(code))
            if not msg:
                try:
                    x = explain(str(code))
                except KeyError:
                    x = None
                msg = x.message if x is not None else str(code)
            rows.append({"site": site, "label": label, "reason": str(code), "claims": int(n),
                         "message": msg})
    return pd.DataFrame(rows, columns=["site", "label", "reason", "claims", "message"])


def not_priced_notes(per_claim: pd.DataFrame) -> list[str]:
    """One sentence per setting and reason: ``Hospital outpatient (PFS facility + OPPS): not
    priced for 2 of 2 claims (no total): CMS's CY2026 OPPS Addendum B is not at hand ...
    [FACILITY_NO_RELEASE]`` (for the CLI and the workbook's Summary sheet)."""
    n = len(per_claim)
    return [f"{r.label}: not priced for {r.claims:,} of {n:,} claims (no total): {r.message.rstrip()}"
            f" [{r.reason}]" for r in not_priced(per_claim).itertuples()]


def summarise_sites(per_claim: pd.DataFrame) -> pd.DataFrame:
    """A book of claims by setting: one row per setting with the claims, the sums of each part,
    and the difference of its total from the office and from the HOPD.

    *per_claim*: :func:`compare_sites_claims`. Sums are exact (whole cents).

    A sum is **NaN (blank) when any claim has no such amount** in that setting: a book total
    that leaves claims out would not compare with the other settings' totals, and a missing
    amount is never counted as $0.00. ``claims_priced`` and ``claims_not_priced`` say how many
    claims the setting could price, ``not_priced_reason`` the refusing codes with their counts
    (``FACILITY_NO_RELEASE 2``; words: :func:`not_priced`); ``attrs["rvucalc.notes"]`` holds
    the sentences (:func:`not_priced_notes`). To compare the claims every setting priced,
    filter first: ``summarise_sites(per[per[["office_total", "hopd_total",
    "asc_total"]].notna().all(axis=1)])``.
    """
    rows = []
    for site, (label, _pos) in SITES.items():
        c = {}
        for k in ("professional", "facility", "total", "medicare", "beneficiary"):
            v = per_claim[f"{site}_{k}"]
            c[k] = np.nan if v.isna().any() else int(np.round(v * 100).sum()) / 100
        priced = int(per_claim[f"{site}_total"].notna().sum())
        reasons = per_claim.get(f"{site}_reason", pd.Series("", index=per_claim.index))
        r = reasons.astype(object).fillna("").astype(str)
        counts = r[r != ""].value_counts(sort=True)
        rows.append({"site": site, "label": label, "claims": len(per_claim), "claims_priced": priced,
                     "claims_not_priced": len(per_claim) - priced,
                     "not_priced_reason": ", ".join(f"{k} {n}" for k, n in counts.items()),
                     **c})
    df = pd.DataFrame(rows)
    tot = np.round(df["total"] * 100)
    df["minus_office"] = (tot - tot.iloc[0]) / 100
    df["minus_hopd"] = (tot - tot.iloc[1]) / 100
    df.attrs["rvucalc.notes"] = not_priced_notes(per_claim)
    df.attrs["rvucalc.summary"] = {"index": ["site"], "columns": [],
                                   "values": ["professional", "facility", "total", "medicare",
                                              "beneficiary"],
                                   "chart": True, "title": "A book of claims by site of service"}
    return df


def sites_workbook(per_claim: pd.DataFrame, path: str | os.PathLike[str], *,
                   title: str = "Site of service per claim", provenance: Any = None) -> Any:
    """Write the comparison as an analyst's workbook (:func:`rvucalc.export.to_excel`).

    Sheets: the book summary by setting (pivot and chart), one row per claim, then the line
    results of each setting and part (professional and facility), then provenance.
    """
    from ..export import to_excel
    from ..export.formats import declare_kinds

    views: dict[str, pd.DataFrame] = {
        "By setting": declare_kinds(summarise_sites(per_claim), BOOK_KINDS),
        # in place: a copy would deep-copy the line frames kept in its attrs
        "Claims": declare_kinds(per_claim, CLAIM_KINDS)}
    names = {"office_professional": "Office lines", "hopd_professional": "HOPD prof lines",
             "hopd_facility": "HOPD facility lines", "asc_professional": "ASC prof lines",
             "asc_facility": "ASC facility lines"}
    for k, v in per_claim.attrs.get("lines", {}).items():
        views[names.get(k, k)] = v.drop(columns=[c for c in (LINE,) if c in v.columns])
    if provenance is None:  # the CMS files of every release the line results name
        from .pipeline import provenance as of_releases

        used = {r for v in per_claim.attrs.get("lines", {}).values() if "release" in v.columns
                for r in v["release"].astype(str).unique()}
        provenance = of_releases(sorted(used)) or None
    return to_excel(views, path, title=title, provenance=provenance)
