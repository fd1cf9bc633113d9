"""Facility claims: hospital outpatient (OPPS) and ASC claim repricing, and site of service per claim.

``rvucalc.reprice_opps(lines)`` and ``rvucalc.reprice_asc(lines)`` are the in-memory engine of
the claims pipeline (:mod:`rvucalc.claims.pipeline`) for ``system="hopd"`` and ``"asc"``: the
whole frame is one chunk, normalised like PFS lines, then priced by the facility stages
(:mod:`rvucalc.claims.facility_pipeline`, rules in :mod:`rvucalc.calc.opps_claims` and
:mod:`rvucalc.calc.asc_claims`). Streaming and Dask call the same ``price_chunk`` with the same
options (``pipeline.options("hopd", ...)``).

:func:`compare_sites_claims` prices each claim three ways - office (PFS non-facility), HOPD
(PFS facility + OPPS) and ASC (PFS facility + ASC) - and :func:`summarise_sites` sums a book of
claims by setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .claims import pipeline
from .claims.contract import LINE, claim_keys

__all__ = ["reprice_opps", "reprice_asc", "compare_sites_claims", "summarise_sites",
           "sites_workbook", "SITES", "SITE_COLUMNS"]


def _opts(system: str, releases: Iterable[str] | None, mirror: str | os.PathLike[str] | None,
          dayfirst: bool, wage_index: float | None, ipps_table2: str | os.PathLike[str] | None
          ) -> pipeline.PricingOptions:
    extra: dict[str, Any] = {}
    if wage_index is not None:
        extra["wage_index"] = float(wage_index)
    if ipps_table2 is not None:
        extra["ipps_table2"] = os.fspath(ipps_table2)
    return pipeline.options(system, releases=None if releases is None else tuple(releases),
                            mirror=mirror, dayfirst=dayfirst, **extra)


def reprice_opps(lines: pd.DataFrame, *, releases: Iterable[str] | None = None,
                 mirror: str | os.PathLike[str] | None = None, wage_index: float | None = None,
                 ipps_table2: str | os.PathLike[str] | None = None,
                 dayfirst: bool = False) -> pd.DataFrame:
    """Reprice hospital outpatient claim lines under the OPPS, claim by claim.

    Parameters
    ----------
    lines:
        One row per claim line: ``claim_id``, ``hcpcs`` (``20983``, ``20983-73``),
        ``modifiers`` (optional), ``units`` (optional, default 1), ``date_of_service``, and the
        hospital's place, any of: ``wage_index`` (the hospital's own, IPPS Table 2), ``ccn``
        (with *ipps_table2*), ``cbsa`` or ``county_fips`` (an approximation, flagged). Read as
        :mod:`rvucalc.claims.normalise` documents; nothing in them is changed.
    releases:
        Addendum B release ids to use (``["opps-2025-01"]``); default: every one at hand,
        chosen per date of service (never another year).
    wage_index:
        One wage index for lines that give none (default: national, flagged).
    ipps_table2:
        Path of CMS's IPPS Table 2 (case-mix and wage index by CCN) for a ``ccn`` column.

    Returns
    -------
    A copy of *lines* plus ``release``, ``release_note``, ``status_indicator``, ``apc``,
    ``line_status`` (paid, discounted, packaged, not paid), ``paid_units``,
    ``discount_factor``, ``facility_wage_index``, ``facility_payment``,
    ``beneficiary_copay``, ``medicare_payment``, ``claim_total`` and ``reason`` (see
    :func:`rvucalc.explain`). Line amounts are rounded once; the claim total is their sum.
    """
    return pipeline.price_frame(lines, _opts("hopd", releases, mirror, dayfirst, wage_index,
                                             ipps_table2))


def reprice_asc(lines: pd.DataFrame, *, releases: Iterable[str] | None = None,
                mirror: str | os.PathLike[str] | None = None, wage_index: float | None = None,
                dayfirst: bool = False) -> pd.DataFrame:
    """Reprice ASC claim lines, claim by claim.

    As :func:`reprice_opps`, with the ASC's place given by ``wage_index``, ``cbsa`` or
    ``county_fips`` columns, and releases such as ``["asc-2025-01"]``. Adds ``release``,
    ``release_note``, ``payment_indicator``, ``line_status``, ``paid_units``,
    ``discount_factor``, ``facility_wage_index``, ``facility_payment``,
    ``beneficiary_copay``, ``medicare_payment``, ``claim_total`` and ``reason``.
    """
    return pipeline.price_frame(lines, _opts("asc", releases, mirror, dayfirst, wage_index, None))


# ---------------------------------------------------------------------------------------------
# site of service per claim

#: The settings compared, with the PFS place of service each is priced at.
SITES = {"office": ("Office (PFS non-facility)", "11"),
         "hopd": ("Hospital outpatient (PFS facility + OPPS)", "22"),
         "asc": ("ASC (PFS facility + ASC)", "24")}
#: Amount columns per setting in :func:`compare_sites_claims`.
SITE_COLUMNS = ("professional", "facility", "total", "medicare", "beneficiary", "lines_unpaid")
#: What each of :data:`SITE_COLUMNS` holds (workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
SITE_KINDS = {"professional": "money", "facility": "money", "total": "money", "medicare": "money",
              "beneficiary": "money", "lines_unpaid": "count"}
#: What the columns of :func:`compare_sites_claims` (per claim) and :func:`summarise_sites` (the
#: book by setting) hold.
CLAIM_KINDS = {"lines": "count", **{f"{site}_{c}": k for site in SITES for c, k in SITE_KINDS.items()},
               "hopd_minus_office": "money", "asc_minus_office": "money", "asc_minus_hopd": "money"}
BOOK_KINDS = {"claims": "count", "claims_with_unpaid_lines": "count",
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
    from .reprice import reprice

    base = lines.assign(pos=pos)
    out = reprice(base, releases=releases, mirror=mirror, dayfirst=dayfirst)
    if not professional_component:
        return out
    mods = base["modifiers"].fillna("").astype(str) if "modifiers" in base else pd.Series(
        "", index=base.index)
    code_mods = base["hcpcs"].fillna("").astype(str).str.strip().str.slice(5)
    has_pctc = (mods + " " + code_mods).str.upper().str.contains(r"(?:^|[^A-Z0-9])(?:26|TC)(?:$|[^A-Z0-9])",
                                                                regex=True)
    with26 = base.assign(modifiers=(mods + " 26").str.strip())
    pc = reprice(with26, releases=releases, mirror=mirror, dayfirst=dayfirst)
    use = (~has_pctc).to_numpy() & pc["payable"].to_numpy(dtype=bool)
    from .claims.pfs import OUTPUT_COLUMNS

    for c in OUTPUT_COLUMNS:  # rvucalc's columns from the -26 pricing; the user's stay as given
        a, b = out[c], pc[c]
        if isinstance(a.dtype, pd.CategoricalDtype):
            a, b = a.astype(object), b.astype(object)
        out[c] = pd.Series(np.where(use, b.to_numpy(dtype=object), a.to_numpy(dtype=object)),
                           index=out.index).astype(out[c].dtype if not isinstance(
                               out[c].dtype, pd.CategoricalDtype) else object)
    return out


def _claim_sums(key: pd.Series, amount: pd.Series, medicare: pd.Series) -> pd.DataFrame:
    """Per claim: amount, Medicare and beneficiary sums in whole cents, and unpaid lines."""
    cents = np.round(amount.to_numpy(float) * 100)
    med = np.round(medicare.to_numpy(float) * 100)
    df = pd.DataFrame({"k": key.to_numpy(), "a": np.nan_to_num(cents), "m": np.nan_to_num(med),
                       "unpaid": np.isnan(cents)})
    g = df.groupby("k", sort=False)
    out = g[["a", "m"]].sum()
    out["unpaid"] = g["unpaid"].sum()
    return out


def compare_sites_claims(lines: pd.DataFrame, *, pfs_releases: Any = None,
                         opps_releases: Iterable[str] | None = None,
                         asc_releases: Iterable[str] | None = None,
                         mirror: str | os.PathLike[str] | None = None,
                         opps_wage_index: float | None = None, asc_wage_index: float | None = None,
                         ipps_table2: str | os.PathLike[str] | None = None,
                         dayfirst: bool = False) -> pd.DataFrame:
    """Each claim priced in the office, a hospital outpatient department and an ASC.

    - **office**: PFS non-facility amounts (place of service 11); no facility payment
      (42 CFR 414.22(b)(5): the non-facility PE pays the practice's costs);
    - **hopd**: PFS facility amounts (place of service 22; professional component where the
      code has one) plus the OPPS claim (:func:`reprice_opps`);
    - **asc**: PFS facility amounts (place of service 24) plus the ASC claim
      (:func:`reprice_asc`).

    *lines*: the columns of :func:`rvucalc.reprice` (``pos`` is set per setting; the one given
    is ignored) plus the facility's place (``wage_index``, ``cbsa``, ``county_fips``, ``ccn``;
    or *opps_wage_index* / *asc_wage_index* for all; none: national).

    Returns one row per claim (in order of first appearance): ``claim_id``, ``lines``, and for
    each setting ``<site>_professional``, ``<site>_facility``, ``<site>_total``,
    ``<site>_medicare``, ``<site>_beneficiary`` (Part B coinsurance of the professional
    service, 42 CFR 410.152, plus the facility copayment/coinsurance) and
    ``<site>_lines_unpaid`` (lines with no amount in that setting, their reasons in the line
    results), then the differences ``hopd_minus_office``, ``asc_minus_office``,
    ``asc_minus_hopd`` (totals). Amounts are sums of line amounts rounded once, so they add up.
    The line results are in ``attrs["lines"]`` (one frame per setting and part).
    """
    had = LINE in lines.columns
    base = lines if had else lines.assign(**{LINE: range(len(lines))})
    ck, _missing = claim_keys(base["claim_id"], base[LINE].to_numpy())
    key = pd.Series(ck, index=base.index)
    office = _pfs(base, "11", False, pfs_releases, mirror, dayfirst)
    prof_h = _pfs(base, "22", True, pfs_releases, mirror, dayfirst)
    prof_a = _pfs(base, "24", True, pfs_releases, mirror, dayfirst)
    fac_lines = base.drop(columns=[c for c in ("pos",) if c in base.columns])
    hopd = reprice_opps(fac_lines, releases=opps_releases, mirror=mirror,
                        wage_index=opps_wage_index, ipps_table2=ipps_table2, dayfirst=dayfirst)
    asc = reprice_asc(fac_lines, releases=asc_releases, mirror=mirror, wage_index=asc_wage_index,
                      dayfirst=dayfirst)
    order = pd.unique(key.to_numpy())
    first = pd.Series(np.arange(len(key))).groupby(key.to_numpy()).first().reindex(order)
    out = pd.DataFrame({"claim_id": base["claim_id"].to_numpy(dtype=object)[first.to_numpy()]})
    out["lines"] = key.value_counts().reindex(order).to_numpy()
    parts = {"office": (office, None), "hopd": (prof_h, hopd), "asc": (prof_a, asc)}
    for site, (prof, fac) in parts.items():
        p = _claim_sums(key, prof["allowed"], prof["medicare_payment"]).reindex(order)
        prof_c, prof_m = p["a"].to_numpy(), p["m"].to_numpy()
        unpaid = p["unpaid"].to_numpy()
        if fac is None:
            fac_c = np.zeros(len(order))
            fac_m = np.zeros(len(order))
        else:
            f = _claim_sums(key, fac["facility_payment"], fac["medicare_payment"]).reindex(order)
            fac_c, fac_m = f["a"].to_numpy(), f["m"].to_numpy()
            unpaid = unpaid + f["unpaid"].to_numpy()
        total = prof_c + fac_c
        med = prof_m + fac_m
        out[f"{site}_professional"] = prof_c / 100
        out[f"{site}_facility"] = fac_c / 100
        out[f"{site}_total"] = total / 100
        out[f"{site}_medicare"] = med / 100
        out[f"{site}_beneficiary"] = (total - med) / 100
        out[f"{site}_lines_unpaid"] = unpaid.astype(np.int64)
    out["hopd_minus_office"] = (np.round(out["hopd_total"] * 100) - np.round(out["office_total"] * 100)) / 100
    out["asc_minus_office"] = (np.round(out["asc_total"] * 100) - np.round(out["office_total"] * 100)) / 100
    out["asc_minus_hopd"] = (np.round(out["asc_total"] * 100) - np.round(out["hopd_total"] * 100)) / 100
    drop = [] if had else [LINE]
    out.attrs["lines"] = {
        "office_professional": office.drop(columns=drop),
        "hopd_professional": prof_h.drop(columns=drop),
        "hopd_facility": hopd.drop(columns=drop),
        "asc_professional": prof_a.drop(columns=drop),
        "asc_facility": asc.drop(columns=drop),
    }
    out.attrs["rvucalc.summary"] = {
        "index": ["claim_id"], "columns": [],
        "values": ["office_total", "hopd_total", "asc_total"], "chart": True,
        "title": "Each claim in the office, a hospital outpatient department and an ASC",
    }
    return out


def summarise_sites(per_claim: pd.DataFrame) -> pd.DataFrame:
    """A book of claims by setting: one row per setting with the claims, the sums of each part,
    and the difference of its total from the office and from the HOPD.

    *per_claim*: :func:`compare_sites_claims`. Sums are exact (whole cents).
    """
    rows = []
    for site, (label, _pos) in SITES.items():
        c = {k: int(np.round(per_claim[f"{site}_{k}"] * 100).sum())
             for k in ("professional", "facility", "total", "medicare", "beneficiary")}
        rows.append({"site": site, "label": label, "claims": len(per_claim),
                     "claims_with_unpaid_lines": int((per_claim[f"{site}_lines_unpaid"] > 0).sum()),
                     **{k: v / 100 for k, v in c.items()}})
    df = pd.DataFrame(rows)
    tot = np.round(df["total"] * 100)
    df["minus_office"] = (tot - tot.iloc[0]) / 100
    df["minus_hopd"] = (tot - tot.iloc[1]) / 100
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
    from .export import to_excel
    from .export.formats import declare_kinds

    views: dict[str, pd.DataFrame] = {
        "By setting": declare_kinds(summarise_sites(per_claim), BOOK_KINDS),
        "Claims": declare_kinds(per_claim.copy(deep=False), CLAIM_KINDS)}
    names = {"office_professional": "Office lines", "hopd_professional": "HOPD prof lines",
             "hopd_facility": "HOPD facility lines", "asc_professional": "ASC prof lines",
             "asc_facility": "ASC facility lines"}
    for k, v in per_claim.attrs.get("lines", {}).items():
        views[names.get(k, k)] = v.drop(columns=[c for c in (LINE,) if c in v.columns])
    if provenance is None:  # the CMS files of every release the line results name
        from .claims.pipeline import provenance as of_releases

        used = {r for v in per_claim.attrs.get("lines", {}).values() if "release" in v.columns
                for r in v["release"].astype(str).unique()}
        provenance = of_releases(sorted(used)) or None
    return to_excel(views, path, title=title, provenance=provenance)
