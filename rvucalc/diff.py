"""Release-to-release and year-over-year differences of the physician fee schedule.

``diff(fs_old, fs_new)`` lines up the PPRRVU rows of two releases by HCPCS
code and modifier and says, for each, whether it was added, deleted, changed
or unchanged, which fields changed (RVU components, status, global period,
NA flags, payment-policy indicators, OPPS cap RVUs) and how the national
payments (GPCIs 1.0, each release's own conversion factor) and, optionally,
the payments in chosen localities (each release's own GPCIs) moved.

Payments come from :func:`rvucalc.calc.pfs.price_matrix`, so they are the
fee schedule amounts rounded to cents half up (RVU file documentation,
"The formula for ... physician fee schedule payment amount") with the OPPS
imaging cap applied; a setting with no amount is NaN with its reason code
in ``<setting>_reason_old`` / ``_new``. Differences of amounts are
differences of the rounded amounts; percent changes are
``100 × (new − old) / old``, rounded to 2 decimals (NaN where old is 0 or
absent).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .calc import pfs as pfs_calc
from .calc.money import round_cents

KEY = ("hcpcs", "modifier")

#: Numeric fields compared (RVU components and OPPS cap RVUs).
RVU_FIELDS = ("work_rvu", "pe_nonfacility", "pe_facility", "mp_rvu", "total_nonfacility", "total_facility",
              "opps_pe_nonfacility", "opps_pe_facility", "opps_mp")
#: Text fields compared (status, global period, NA flags, payment policy indicators).
FLAG_FIELDS = ("status", "global_days", "pctc", "na_nonfacility", "na_facility", "mult_proc", "bilat_surg",
               "asst_surg", "co_surg", "team_surg", "endo_base", "imaging_family", "pricing_ind",
               "phys_supervision", "not_used_for_medicare")
#: Fields whose percent change is given.
PCT_FIELDS = ("work_rvu", "total_nonfacility", "total_facility")
SETTINGS = pfs_calc.SETTINGS
CHANGES = ("added", "deleted", "changed", "unchanged")


def pct_change(old: Any, new: Any) -> np.ndarray:
    """``100 × (new − old) / old`` rounded to 2 decimals; NaN where old is 0 or missing."""
    o = np.asarray(old, dtype=float)
    n = np.asarray(new, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(o != 0, (n - o) / o * 100.0, np.nan)
    return np.round(p, 2)


def _prices(fs: Any, rv: pd.DataFrame, gpci: pd.DataFrame | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cent-rounded amounts (rows × places) and reason codes per setting, with *fs*'s CF and floor rule."""
    pm = pfs_calc.price_matrix(rv, gpci, fs.conversion_factor, work_floor=fs.work_floor)
    return pm.amount, pm.reason


def _locality_gpci(fs: Any, ids: Sequence[str]) -> pd.DataFrame:
    g = fs.gpci.set_index("locality_id")
    missing = [x for x in ids if x not in g.index]
    if missing:
        from .errors import UnknownLocalityError

        raise UnknownLocalityError(f"localities {', '.join(missing)} are not in {fs.release.id}'s GPCI file "
                                   f"({fs.sources['gpci'].file})")
    return g.loc[list(ids)].reset_index()


def diff(
    fs_old: Any,
    fs_new: Any,
    *,
    localities: Iterable[str] | str | None = None,
    codes: Sequence[str] | None = None,
    changed_only: bool = False,
) -> pd.DataFrame:
    """What changed between two PFS releases (``FeeSchedule`` objects).

    Parameters
    ----------
    fs_old, fs_new:
        The earlier and the later :class:`rvucalc.FeeSchedule`.
    localities:
        Also compare payments in these localities (ids in any form
        :meth:`FeeSchedule.resolve_locality` takes, or ``"all"``); each
        release is priced with its own GPCI file.
    codes:
        Only these HCPCS codes (all their modifier rows).
    changed_only:
        Drop the ``unchanged`` rows.

    Returns
    -------
    DataFrame, one row per code + modifier × place (``locality_id`` is
    ``"national"`` first, then the localities asked for):

    ``hcpcs, modifier, description, locality_id, change`` (added, deleted,
    changed or unchanged), ``changed_fields`` (comma-separated names: RVU and
    flag field names, ``nonfacility``/``facility`` for payments), then for
    each setting ``<setting>_old, <setting>_new, <setting>_diff,
    <setting>_pct, <setting>_reason_old, <setting>_reason_new``; then
    ``<field>_old, <field>_new`` for every field in :data:`RVU_FIELDS` and
    :data:`FLAG_FIELDS` and ``<field>_pct`` for :data:`PCT_FIELDS`; then
    ``conversion_factor_old, conversion_factor_new, release_old, release_new``.
    A row's change is ``changed`` when any field of the code or its payment
    in that place differs (so a GPCI change alone makes a locality row
    ``changed``). ``attrs`` hold the provenance of both releases and a
    summary layout (counts by change) for :func:`rvucalc.export.to_excel`.
    """
    from .export import provenance_of

    old, new = fs_old.rvus, fs_new.rvus
    if codes is not None:
        from .codes import split_code

        want = {split_code(c)[0] for c in ([codes] if isinstance(codes, str) else codes)}
        old, new = old[old["hcpcs"].isin(want)], new[new["hcpcs"].isin(want)]
    fields = [f for f in RVU_FIELDS + FLAG_FIELDS if f in old.columns and f in new.columns]
    # a flag column that is blank on every row of one release is not in that release's file
    # layout (e.g. RVU25D has no pricing indicator column): comparing it would flag every code
    skipped = [f for f in fields if f in FLAG_FIELDS and ((fs_old.rvus[f].astype(str) == "").all()
                                                          or (fs_new.rvus[f].astype(str) == "").all())]
    fields = [f for f in fields if f not in skipped]
    o = old.reset_index(drop=True)
    n = new.reset_index(drop=True)
    m = o[list(KEY) + ["description"] + fields].merge(
        n[list(KEY) + ["description"] + fields], on=list(KEY), how="outer", suffixes=("_old", "_new"),
        indicator=False, sort=False).sort_values(list(KEY), kind="stable", ignore_index=True)
    # positions of each merged row in the old / new tables (-1 where absent)
    pos_o = pd.Series(np.arange(len(o)), index=pd.MultiIndex.from_frame(o[list(KEY)]))
    pos_n = pd.Series(np.arange(len(n)), index=pd.MultiIndex.from_frame(n[list(KEY)]))
    mk = pd.MultiIndex.from_frame(m[list(KEY)])
    io = pos_o.reindex(mk).fillna(-1).to_numpy(dtype=int)
    inn = pos_n.reindex(mk).fillna(-1).to_numpy(dtype=int)
    in_old, in_new = io >= 0, inn >= 0

    base = pd.DataFrame({
        "hcpcs": m["hcpcs"].astype(str), "modifier": m["modifier"].astype(str),
        "description": m["description_new"].where(in_new, m["description_old"]).astype(str),
    })
    field_changed: dict[str, np.ndarray] = {}
    for f in fields:
        a, b = m[f"{f}_old"], m[f"{f}_new"]
        if f in RVU_FIELDS:
            av, bv = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
            ch = ~(np.isclose(av, bv, rtol=0, atol=1e-9) | (np.isnan(av) & np.isnan(bv)))
        else:
            ch = a.astype(str).fillna("").to_numpy() != b.astype(str).fillna("").to_numpy()
        field_changed[f] = ch & in_old & in_new

    # prices: national, then each locality; each release with its own GPCIs and CF
    ids: list[str] = []
    if localities is not None:
        locs = [localities] if isinstance(localities, str) else list(localities)
        if any(str(x).lower() == "all" for x in locs):
            ids = list(fs_new.gpci["locality_id"])
        else:
            ids = [x for x in (fs_new.resolve_locality(x) for x in locs) if x is not None]
        ids = list(dict.fromkeys(ids))
    places = ["national", *ids]
    # national (GPCIs 1.0), then each locality with each release's own GPCIs and CF
    amt_o_all, rsn_o = _prices(fs_old, o, None)
    amt_n_all, rsn_n = _prices(fs_new, n, None)
    if ids:
        loc_o, _ = _prices(fs_old, o, _locality_gpci(fs_old, ids))
        loc_n, _ = _prices(fs_new, n, _locality_gpci(fs_new, ids))
        amt_o_all = {s: np.hstack([amt_o_all[s], loc_o[s]]) for s in SETTINGS}
        amt_n_all = {s: np.hstack([amt_n_all[s], loc_n[s]]) for s in SETTINGS}

    nrow, nplace = len(m), len(places)
    ro_idx, rn_idx = np.maximum(io, 0), np.maximum(inn, 0)
    both = np.tile(in_old & in_new, nplace)
    any_field = np.zeros(nrow, dtype=bool)
    for ch in field_changed.values():
        any_field |= ch
    names = list(field_changed)
    mat = np.column_stack([field_changed[k] for k in names]) if names else np.zeros((nrow, 0), bool)
    field_names = np.array([", ".join(np.array(names)[row]) for row in mat] if names else [""] * nrow,
                           dtype=object)
    cols: dict[str, Any] = {
        "hcpcs": np.tile(base["hcpcs"].to_numpy(dtype=object), nplace),
        "modifier": np.tile(base["modifier"].to_numpy(dtype=object), nplace),
        "description": np.tile(base["description"].to_numpy(dtype=object), nplace),
        "locality_id": np.repeat(np.array(places, dtype=object), nrow),
    }
    pay: dict[str, Any] = {}
    pay_changed: dict[str, np.ndarray] = {}
    for s in SETTINGS:
        # place-major: all rows for national, then all rows for the first locality, ...
        ao = np.where(np.tile(in_old, nplace), amt_o_all[s][ro_idx, :].T.ravel(), np.nan)
        an = np.where(np.tile(in_new, nplace), amt_n_all[s][rn_idx, :].T.ravel(), np.nan)
        ro = np.tile(np.where(in_old, rsn_o[s][ro_idx], ""), nplace)
        rn = np.tile(np.where(in_new, rsn_n[s][rn_idx], ""), nplace)
        ch = ~(np.isclose(ao, an, rtol=0, atol=0.001) | (np.isnan(ao) & np.isnan(an))) | (ro != rn)
        pay_changed[s] = ch & both
        dd = an - ao  # a difference of two cent amounts, cleaned of float noise (sign kept)
        pay.update({f"{s}_old": ao, f"{s}_new": an, f"{s}_diff": np.sign(dd) * round_cents(np.abs(dd)),
                    f"{s}_pct": pct_change(ao, an), f"{s}_reason_old": ro.astype(object),
                    f"{s}_reason_new": rn.astype(object)})
    t_old, t_new = np.tile(in_old, nplace), np.tile(in_new, nplace)
    changed = np.tile(any_field, nplace) | pay_changed["nonfacility"] | pay_changed["facility"]
    cols["change"] = np.where(~t_old, "added", np.where(~t_new, "deleted",
                              np.where(changed, "changed", "unchanged"))).astype(object)
    # changed_fields: the code's fields, then the payments that moved in this place
    fn = np.tile(field_names, nplace)
    nf, fa = pay_changed["nonfacility"], pay_changed["facility"]
    suffix = np.select([nf & fa, nf, fa], ["nonfacility, facility", "nonfacility", "facility"], "").astype(object)
    sep = np.where((fn != "") & (suffix != ""), ", ", "").astype(object)
    cols["changed_fields"] = fn + sep + suffix
    cols.update(pay)
    for f in fields:
        for side in ("old", "new"):
            v = m[f"{f}_{side}"]
            if f in FLAG_FIELDS:  # text; blank where the code is absent from that release
                v = v.astype(object).where(v.notna(), "").astype(str)
                cols[f"{f}_{side}"] = pd.Categorical(v).take(np.tile(np.arange(nrow), nplace)) \
                    if nplace > 1 else v.to_numpy(dtype=object)
            else:
                cols[f"{f}_{side}"] = np.tile(v.to_numpy(dtype=float, na_value=np.nan), nplace)
        if f in PCT_FIELDS:
            cols[f"{f}_pct"] = np.tile(pct_change(m[f"{f}_old"].to_numpy(dtype=float, na_value=np.nan),
                                                  m[f"{f}_new"].to_numpy(dtype=float, na_value=np.nan)), nplace)
    out = pd.DataFrame(cols)
    out["conversion_factor_old"] = float(fs_old.conversion_factor)
    out["conversion_factor_new"] = float(fs_new.conversion_factor)
    out["release_old"] = fs_old.release.id
    out["release_new"] = fs_new.release.id
    if changed_only:
        out = out[out["change"] != "unchanged"].reset_index(drop=True)
    prov = provenance_of(fs_old, fs_new)
    if skipped:
        prov["parameters"]["fields not compared (absent from one release's file)"] = ", ".join(skipped)
    out.attrs["rvucalc.provenance"] = prov
    out.attrs["rvucalc.skipped_fields"] = skipped
    out.attrs["rvucalc.summary"] = {"index": ["change"], "columns": ["locality_id"], "values": ["hcpcs"],
                                    "agg": "count", "chart": True,
                                    "title": f"PFS changes {fs_old.release.id} -> {fs_new.release.id}"}
    return out


def summarize(d: pd.DataFrame) -> pd.DataFrame:
    """Rows per ``change`` (added, deleted, changed, unchanged) and place, for a report."""
    t = d.groupby(["locality_id", "change"], sort=False).size().unstack("change", fill_value=0)
    return t.reindex(columns=[c for c in CHANGES if c in t.columns]).reset_index()


__all__ = ["CHANGES", "FLAG_FIELDS", "PCT_FIELDS", "RVU_FIELDS", "diff", "pct_change", "summarize"]
