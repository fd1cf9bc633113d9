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

Each amount's change is also split into its causes (``<setting>_change`` and
``<setting>_from_<part>``, parts in :data:`rvucalc.calc.decompose.PARTS`):
Shapley values over the factors of the amount's formula, rounded to cents by
largest remainder so that the parts add up to the change exactly (see
:mod:`rvucalc.calc.decompose`). :func:`diff_volumes` does the same for the
revenue of a volume table (a book of business).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .calc import decompose as dec
from .calc import pfs as pfs_calc
from .calc.money import round_cents
from .errors import InvalidArgumentError

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
#: ``not on PFS``: a code asked for that neither release's PPRRVU file lists (with the reason
#: naming the fee schedule that pays it, :func:`rvucalc.codes.fee_schedule_of`).
CHANGES = ("added", "deleted", "changed", "unchanged", "not on PFS")
NOT_ON_PFS = "not on PFS"


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


def _take(a: np.ndarray, idx: np.ndarray, fill: Any) -> np.ndarray:
    """``a[idx]``, or *fill* where *a* has no rows (every code asked for is in the other release)."""
    if len(a):
        return a[idx]
    return np.full((len(idx), *a.shape[1:]), fill, dtype=a.dtype if fill == "" else float)


def _locality_gpci(fs: Any, ids: Sequence[str]) -> pd.DataFrame:
    g = fs.gpci.set_index("locality_id")
    missing = [x for x in ids if x not in g.index]
    if missing:
        from .errors import UnknownLocalityError

        raise UnknownLocalityError(f"localities {', '.join(missing)} are not in {fs.release.id}'s GPCI file "
                                   f"({fs.sources['gpci'].file})")
    return g.loc[list(ids)].reset_index()


# -- change decomposition (rvucalc.calc.decompose does the arithmetic) -----------------------

def _place_gpcis(fs: Any, ids: Sequence[str], *, no_floor: bool = True) -> tuple[dict[str, Any], str]:
    """GPCIs of ``national`` (all 1.0) then *ids* as *fs* prices them: ``work`` (the one used),
    ``pe``, ``mp``, and ``no_floor``: the work GPCI without the 1.0 floor, or ``None`` (with
    the reason) when neither *fs*'s GPCI file nor another of its year at hand gives it (or
    *no_floor* is False: not looked for)."""
    if not ids:
        one = np.ones(1)
        return {"work": one, "pe": one, "mp": one, "no_floor": one}, ""
    g = _locality_gpci(fs, ids)
    _, w, pe, mp = pfs_calc.gpci_arrays(g, work_floor=fs.work_floor)
    note = ""
    nf: np.ndarray | None = None
    if not fs.work_floor:
        nf = w
    elif bool(g["has_floor_variants"].all()):
        nf = g["work_gpci_no_floor"].to_numpy(dtype=float)
    elif no_floor:
        from .errors import RvucalcError

        try:
            nf = fs.gpci_for(False).set_index("locality_id").loc[list(ids), "work_gpci_no_floor"].to_numpy(float)
        except RvucalcError:
            note = (f"{fs.release.id}'s {fs.sources['gpci'].file} gives only the work GPCI with the floor, and "
                    f"no other CY{fs.year} GPCI file with the 'without 1.0 Floor' column is at hand")
    return {"work": np.r_[1.0, w], "pe": np.r_[1.0, pe], "mp": np.r_[1.0, mp],
            "no_floor": None if nf is None else np.r_[1.0, nf]}, note


def _gpci_pair(fs_old: Any, fs_new: Any, ids: Sequence[str],
               ids_new: Sequence[str] | None = None) -> tuple[dict, dict, list[str]]:
    """Both releases' place GPCIs (national, then *ids*; *ids_new* for the new one if given);
    the floor is separated only when both give the work GPCI without it."""
    go, note = _place_gpcis(fs_old, ids)
    gn, note_n = _place_gpcis(fs_new, ids if ids_new is None else ids_new, no_floor=go["no_floor"] is not None)
    notes: list[str] = []
    if go["no_floor"] is None or gn["no_floor"] is None:
        go["no_floor"], gn["no_floor"] = go["work"], gn["work"]
        notes.append("the 1.0 work GPCI floor is not a part of its own (gpci_floor is 0; the floor stays in "
                     "work_gpci): " + (note or note_n))
    return go, gn, notes


def _rvu_arrays(rv: pd.DataFrame, idx: np.ndarray, facility: np.ndarray | bool) -> dict[str, np.ndarray]:
    """RVUs of rows *idx* of *rv* (the setting's PE RVUs; the OPPS cap's RVUs)."""
    if len(rv) == 0:
        nan = np.full(len(idx), np.nan)
        return dict.fromkeys(("work", "pe", "mp", "cap_work", "ope", "omp"), nan)

    def f(c: str) -> np.ndarray:
        return rv[c].to_numpy(dtype=float)[idx]

    return {"work": f("work_rvu"), "pe": np.where(facility, f("pe_facility"), f("pe_nonfacility")),
            "mp": f("mp_rvu"), "cap_work": pfs_calc.cap_work_rvu(rv)[idx],
            "ope": np.where(facility, f("opps_pe_facility"), f("opps_pe_nonfacility")), "omp": f("opps_mp")}


def _unpaid(reason: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The part taking a change where a side has no amount: ``code`` (not in the release),
    ``na`` (the setting's NA indicator) or ``status`` (any other reason)."""
    from .codes import NOT_IN_RELEASE
    from .codes import REASONS as NOT_PFS

    r = np.asarray(reason, dtype=object)
    absent = ~np.asarray(present, dtype=bool) | np.isin(r, [NOT_IN_RELEASE.code, *(x.code for x in NOT_PFS.values())])
    na = np.isin(r, [x.code for x in pfs_calc.NA_REASONS.values()])
    return np.where(absent, "code", np.where(na, "na", "status")).astype(object)


def _side(cf: float, r: dict[str, np.ndarray], g: dict[str, np.ndarray], amount: np.ndarray,
          unpaid: np.ndarray) -> dec.Side:
    """A :class:`rvucalc.calc.decompose.Side` (arrays already shaped to broadcast)."""
    floor = g["work"] - g["no_floor"]
    gp = (g["no_floor"], floor, g["pe"], g["mp"])
    has_cap = (np.nan_to_num(r["ope"]) > 0) | (np.nan_to_num(r["omp"]) > 0)
    return dec.Side(dec.Formula(cf, r["work"], r["pe"], r["mp"], *gp),
                    dec.Formula(cf, r["cap_work"], r["ope"], r["omp"], *gp), has_cap, amount, unpaid)


def _causes(fs_old: Any, fs_new: Any, o: pd.DataFrame, n: pd.DataFrame, io: np.ndarray, inn: np.ndarray,
            ids: Sequence[str], amt_o: dict[str, np.ndarray], amt_n: dict[str, np.ndarray],
            rsn_o: dict[str, np.ndarray], rsn_n: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """``<setting>_change`` and ``<setting>_from_<part>`` (dollars), place-major as :func:`diff`
    lays out its rows, and notes (e.g. the floor not separated)."""
    go, gn, notes = _gpci_pair(fs_old, fs_new, ids)
    go = {k: v[None, :] for k, v in go.items()}
    gn = {k: v[None, :] for k, v in gn.items()}
    in_old, in_new = io >= 0, inn >= 0
    ro, rn = np.maximum(io, 0), np.maximum(inn, 0)
    cols: dict[str, np.ndarray] = {}
    for s in SETTINGS:
        fac = s == "facility"
        sides = []
        for fs, rv, r_i, present, amt, rsn, g in ((fs_old, o, ro, in_old, amt_o, rsn_o, go),
                                                  (fs_new, n, rn, in_new, amt_n, rsn_n, gn)):
            a = _take(amt[s], r_i, np.nan)
            why = np.where(present, _take(rsn[s], r_i, ""), "")
            r = {k: v[:, None] for k, v in _rvu_arrays(rv, r_i, fac).items()}
            sides.append(_side(float(fs.conversion_factor), r, g, np.where(present[:, None], a, np.nan),
                               _unpaid(why, present)[:, None]))
        d = dec.decompose(*sides)
        cols[f"{s}_change"] = d.change.T.ravel() / 100.0
        for p in dec.PARTS:
            cols[f"{s}_from_{p}"] = d.parts[p].T.ravel() / 100.0
    return cols, notes


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
    Then, per setting, ``<setting>_change``: new − old amount with a side that
    has no amount counting as $0 (so a deleted code's change is minus its old
    amount), and ``<setting>_from_<part>`` for each part of
    :data:`rvucalc.calc.decompose.PARTS` (conversion factor, work / PE / MP RVUs,
    work GPCI, the 1.0 work GPCI floor, PE / MP GPCIs, OPPS cap, NA, status,
    code added or deleted): dollars that add up to ``<setting>_change`` exactly,
    to the cent, on every row. The attribution is order-independent: Shapley
    values over the factors of ``CF × Σ RVU × GPCI``, rounded to cents by
    largest remainder (see :mod:`rvucalc.calc.decompose`). The floor is a part
    of its own only when both releases give the work GPCI without the floor
    (else it stays in ``work_gpci``, ``gpci_floor`` is 0 and
    ``attrs["rvucalc.decomposition_notes"]`` and the provenance say so).
    A code asked for in *codes* that neither release lists has one row per
    place with change ``not on PFS``, no amounts, and the reason naming the fee
    schedule that pays it (:func:`rvucalc.codes.fee_schedule_of`).
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
        ao = np.where(np.tile(in_old, nplace), _take(amt_o_all[s], ro_idx, np.nan).T.ravel(), np.nan)
        an = np.where(np.tile(in_new, nplace), _take(amt_n_all[s], rn_idx, np.nan).T.ravel(), np.nan)
        ro = np.tile(np.where(in_old, _take(rsn_o[s], ro_idx, ""), ""), nplace)
        rn = np.tile(np.where(in_new, _take(rsn_n[s], rn_idx, ""), ""), nplace)
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
    causes, notes = _causes(fs_old, fs_new, o, n, io, inn, ids, amt_o_all, amt_n_all, rsn_o, rsn_n)
    cols.update(causes)
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
    if codes is not None:
        out = _with_not_on_pfs(out, sorted(want - set(old["hcpcs"]) - set(new["hcpcs"])), places,
                               fs_old, fs_new)
    if changed_only:
        out = out[out["change"] != "unchanged"].reset_index(drop=True)
    prov = provenance_of(fs_old, fs_new)
    prov["parameters"]["change decomposition"] = DECOMPOSITION
    for note in notes:
        prov["parameters"]["change decomposition note"] = note
    out.attrs["rvucalc.decomposition_notes"] = notes
    _money_kinds(out)
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


#: What the ``*_from_*`` columns are (stated in every output's provenance).
DECOMPOSITION = (
    "each change (a side with no amount counting as $0) is the exact sum of its parts in cents: "
    "Shapley values over the factors of amount = CF x (work RVU x work GPCI + PE RVU x PE GPCI + "
    "MP RVU x MP GPCI), the work GPCI split into its value without the 1.0 floor and the floor; the "
    "OPPS imaging cap; NA, status or code added/deleted where one side has no amount; rounded to "
    "cents by largest remainder (rvucalc.calc.decompose)")

#: Short names of the parts for terminal tables.
SHORT: dict[str, str] = {"cf": "CF", "work_rvu": "work RVU", "pe_rvu": "PE RVU", "mp_rvu": "MP RVU",
                         "work_gpci": "work GPCI", "gpci_floor": "GPCI floor", "pe_gpci": "PE GPCI",
                         "mp_gpci": "MP GPCI", "opps_cap": "OPPS cap", "na": "NA", "status": "status",
                         "code": "code added/deleted", "conversion_factor": "CF", "weight": "weight",
                         "apc_move": "APC move", "rate_basis": "rate basis", "indicator": "indicator"}
SORTS = ("increase", "decrease", "abs")


def _with_not_on_pfs(out: pd.DataFrame, missing: Sequence[str], places: Sequence[str], fs_old: Any,
                     fs_new: Any) -> pd.DataFrame:
    """*out* plus a ``not on PFS`` row per place for each code asked for that neither release
    lists, with the reason naming the schedule that pays it (never dropped silently)."""
    if not missing:
        return out
    from .codes import fee_schedule_of, not_on_pfs_reason

    k = len(places)
    hint = [f"not on the PFS: {f.hint}" if (f := fee_schedule_of(c)) else
            "not in either release's PPRRVU file" for c in missing]
    why = [not_on_pfs_reason(c).code for c in missing]
    rows: dict[str, Any] = {"hcpcs": np.tile(np.array(missing, dtype=object), k), "modifier": "",
                            "description": np.tile(np.array(hint, dtype=object), k),
                            "locality_id": np.repeat(np.array(places, dtype=object), len(missing)),
                            "change": NOT_ON_PFS, "changed_fields": ""}
    for s in SETTINGS:
        rows[f"{s}_reason_old"] = rows[f"{s}_reason_new"] = np.tile(np.array(why, dtype=object), k)
        rows[f"{s}_change"] = 0.0
        rows.update({f"{s}_from_{p}": 0.0 for p in dec.PARTS})
    rows.update(conversion_factor_old=float(fs_old.conversion_factor),
                conversion_factor_new=float(fs_new.conversion_factor),
                release_old=fs_old.release.id, release_new=fs_new.release.id)
    extra = pd.DataFrame(rows).reindex(columns=out.columns)
    for c in out.columns:  # blank text where the code has no field values
        if c not in rows and not pd.api.types.is_float_dtype(out[c].dtype):
            extra[c] = ""
    both = pd.concat([out, extra], ignore_index=True)
    place = pd.Categorical(both["locality_id"].astype(str), categories=list(dict.fromkeys(places)))
    key = pd.DataFrame({"p": place.codes, "h": both["hcpcs"].astype(str), "m": both["modifier"].astype(str)})
    return both.iloc[key.sort_values(["p", "h", "m"], kind="stable").index].reset_index(drop=True)


def _money_kinds(out: pd.DataFrame, extra: Sequence[str] = ()) -> None:
    """Declare the decomposition's columns (and *extra*) money for workbooks."""
    from .export.formats import declare_kinds

    parts = {f"{s}_from_{p}" for s in SETTINGS for p in dec.PARTS} | {f"from_{p}" for p in dec.PARTS}
    declare_kinds(out, {c: "money" for c in [*parts, *(f"{s}_change" for s in SETTINGS), *extra]})


def notes_of(d: pd.DataFrame) -> list[str]:
    """Lines to print under a :func:`diff` table: codes not on the PFS (which schedule pays
    them) and the decomposition's notes."""
    gone = d.loc[d["change"] == NOT_ON_PFS, ["hcpcs", "description", "nonfacility_reason_new"]]
    gone = gone.drop_duplicates("hcpcs")
    return ([f"{r.hcpcs}: {r.description} [{r.nonfacility_reason_new}]" for r in gone.itertuples(index=False)]
            + [f"note: {x}" for x in d.attrs.get("rvucalc.decomposition_notes", [])])


def sort_changes(d: pd.DataFrame, sort: str = "abs", by: str = "pct", setting: str = "nonfacility") -> pd.DataFrame:
    """Rows of a :func:`diff` frame ordered by their change in *setting*.

    *sort*: ``increase`` (largest increase first), ``decrease`` (largest decrease first) or
    ``abs`` (largest either way first). *by*: ``pct`` (``<setting>_pct``) or ``dollars``
    (``<setting>_change``, where a code added or deleted counts its whole amount; *setting*
    ``"rate"`` for a :func:`rvucalc.facility_diff.facility_diff` frame). Rows
    without a value (no percent for an added code) come last, in their order.
    """
    if sort not in SORTS:
        raise InvalidArgumentError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if by not in ("pct", "dollars"):
        raise InvalidArgumentError(f"by must be 'pct' or 'dollars', not {by!r}")
    v = d[f"{setting}_pct" if by == "pct" else f"{setting}_change"].to_numpy(dtype=float)
    key = {"increase": -v, "decrease": v, "abs": -np.abs(v)}[sort]
    order = np.argsort(np.where(np.isnan(key), np.inf, key), kind="stable")
    return d.iloc[order].reset_index(drop=True)


def cause_text(d: pd.DataFrame, setting: str = "nonfacility", top: int = 3, prefix: str | None = None,
               parts: Sequence[str] = dec.PARTS) -> pd.Series:
    """The *top* largest parts of each row's change, in words: ``"PE RVU +$7.81, CF +$4.59"``.

    *prefix*: the columns' prefix (``f"{setting}_from_"`` for a :func:`diff` frame,
    ``"from_"`` for :func:`diff_volumes` and :func:`rvucalc.facility_diff.facility_diff`,
    whose *parts* are :data:`rvucalc.calc.decompose.RATE_PARTS`).
    """
    pre = f"{setting}_from_" if prefix is None else prefix
    m = d[[pre + p for p in parts]].to_numpy(dtype=float)
    order = np.argsort(-np.abs(m), axis=1, kind="stable")[:, :top]
    vals = np.take_along_axis(m, order, axis=1)
    names = np.array([SHORT.get(p, p) for p in parts], dtype=object)[order]
    text = pd.Series([""] * len(d), index=d.index, dtype=object)
    for j in range(order.shape[1]):  # a few columns, not rows
        v = pd.Series(vals[:, j], index=d.index)
        piece = pd.Series(names[:, j], index=d.index) + " " + np.where(v < 0, "-$", "+$") \
            + v.abs().map("{:,.2f}".format)
        piece = piece.where(v.abs() >= 0.005, "")
        text = text + np.where((text != "") & (piece != ""), ", ", "") + piece
    return text


def _norm(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def diff_volumes(fs_old: Any, fs_new: Any, volumes: pd.DataFrame, *, code: str = "hcpcs",
                 modifier: str = "modifier", locality: str = "locality", zip: str = "zip",
                 setting: str = "setting", count: str = "count") -> pd.DataFrame:
    """The revenue change of a book of business (a volume table) from *fs_old* to *fs_new*, and its causes.

    *volumes* is what :meth:`rvucalc.FeeSchedule.price_volumes` takes (code, optional
    modifier, locality or ZIP, setting, count); each release prices it with its own files
    (a ZIP is looked up in each release's ZIP file, so a ZIP that moved locality is priced
    where each year puts it).

    Returns *volumes* as given (row for row, its columns untouched) plus
    ``locality_id_old, locality_id_new, pfs_setting, amount_old, amount_new,
    amount_change`` (per service), ``revenue_old, revenue_new, revenue_change``
    (``amount × count`` rounded to cents half up, as ``price_volumes``), ``reason_old,
    reason_new`` and ``from_<part>`` for each part in
    :data:`rvucalc.calc.decompose.PARTS`: the revenue change's causes in dollars. A side
    with no amount counts as $0 (its reason says why; the change is the part ``na``,
    ``status`` or ``code``). Each unit change is split as in :func:`diff` (Shapley values,
    see :mod:`rvucalc.calc.decompose`), multiplied by the count, and rounded to cents by
    largest remainder so that the parts add up to ``revenue_change`` to the cent on every
    row, and so over the book. :func:`book_causes` sums them.
    """
    from .codes import modifier_effect, split_code
    from .errors import RvucalcError
    from .export import provenance_of

    kw = {"code": code, "modifier": modifier, "locality": locality, "zip": zip, "setting": setting,
          "count": count}
    # only the columns price_volumes reads: the user's other columns (a "note" ...) stay theirs
    priced_in = volumes[[c for c in dict.fromkeys(kw.values()) if c in volumes.columns]]
    po = fs_old.price_volumes(priced_in, **kw)
    pn = fs_new.price_volumes(priced_in, **kw)
    new_cols = ["locality_id_old", "locality_id_new", "pfs_setting", "amount_old", "amount_new",
                "amount_change", "revenue_old", "revenue_new", "revenue_change", "reason_old", "reason_new",
                *(f"from_{p}" for p in dec.PARTS), "release_old", "release_new"]
    clash = [c for c in new_cols if c in volumes.columns]
    if clash:
        raise RvucalcError(f"the volume table already has column(s) {', '.join(clash)}, which diff_volumes "
                           "adds: rename them")
    nrow = len(volumes)
    # the PPRRVU row of each line: its code and the modifier that has its own row (26, TC, 53)
    codes_in = _norm(volumes[code]).str.upper()
    mods_in = (_norm(volumes[modifier]).str.upper().str.replace(r"\.0$", "", regex=True) if modifier in volumes
               else pd.Series([""] * nrow, index=volumes.index))
    keys, uniq = pd.factorize(codes_in + "|" + mods_in)
    row_key = []
    for v in uniq:  # distinct values, not rows
        c, m = str(v).split("|", 1)
        try:
            cc, mm = split_code(c)
        except RvucalcError:
            row_key.append("")
            continue
        mm = m or mm
        row_key.append(f"{cc}|{mm if modifier_effect(mm) == 'row' else ''}")
    rkey = np.array(row_key, dtype=object)[keys] if nrow else np.array([], dtype=object)
    facility = po["pfs_setting"].to_numpy(dtype=object) == "facility"
    lid = {"old": po["locality_id"].astype(str).to_numpy(dtype=object),
           "new": pn["locality_id"].astype(str).to_numpy(dtype=object)}
    ids = {k: sorted({x for x in v if x not in ("", "national")}) for k, v in lid.items()}
    go, gn, notes = _gpci_pair(fs_old, fs_new, ids["old"], ids["new"])
    sides = []
    for side, fs, priced, g in (("old", fs_old, po, go), ("new", fs_new, pn, gn)):
        rv = fs.rvus
        pos = pd.Series(np.arange(len(rv)), index=rv["hcpcs"].astype(str) + "|" + rv["modifier"].astype(str))
        pos = pos[~pos.index.duplicated()]
        r_i = pos.reindex(rkey).fillna(-1).to_numpy(dtype=int)
        present = r_i >= 0
        col = pd.Series(np.arange(1 + len(ids[side])), index=["national", *ids[side]])
        c_i = col.reindex(lid[side]).fillna(0).to_numpy(dtype=int)
        gg = {k: v[c_i] for k, v in g.items()}
        amount = priced["amount"].to_numpy(dtype=float)
        sides.append(_side(float(fs.conversion_factor), _rvu_arrays(rv, np.maximum(r_i, 0), facility), gg,
                           np.where(present, amount, np.nan),
                           _unpaid(priced["reason"].astype(str).to_numpy(dtype=object), present)))
    unit = dec.decompose(*sides)
    cnt = (pd.to_numeric(volumes[count], errors="coerce").to_numpy(dtype=float) if count in volumes
           else np.zeros(nrow))  # no count column: no revenue (VOL_NO_COUNT), never 1 service each
    cnt = np.where(np.isnan(cnt) | (cnt < 0), 0.0, cnt)
    rev_o, rev_n = po["revenue"].to_numpy(dtype=float), pn["revenue"].to_numpy(dtype=float)
    total = (np.rint(np.nan_to_num(rev_n) * 100) - np.rint(np.nan_to_num(rev_o) * 100)).astype(np.int64)
    raw = np.column_stack([unit.parts[p] / 100.0 * cnt for p in dec.PARTS]) if nrow \
        else np.zeros((0, len(dec.PARTS)))
    cents = dec.allocate_cents(raw, total)
    out = volumes.copy()
    out["locality_id_old"], out["locality_id_new"] = lid["old"], lid["new"]
    out["pfs_setting"] = po["pfs_setting"].to_numpy(dtype=object)
    out["amount_old"], out["amount_new"] = po["amount"].to_numpy(float), pn["amount"].to_numpy(float)
    out["amount_change"] = unit.change / 100.0
    out["revenue_old"], out["revenue_new"] = rev_o, rev_n
    out["revenue_change"] = total / 100.0
    out["reason_old"] = po["reason"].astype(str).to_numpy(dtype=object)
    out["reason_new"] = pn["reason"].astype(str).to_numpy(dtype=object)
    for j, p in enumerate(dec.PARTS):
        out[f"from_{p}"] = cents[:, j] / 100.0
    out["release_old"], out["release_new"] = fs_old.release.id, fs_new.release.id
    prov = provenance_of(fs_old, fs_new)
    prov["parameters"]["change decomposition"] = DECOMPOSITION
    for note in notes:
        prov["parameters"]["change decomposition note"] = note
    out.attrs["rvucalc.provenance"] = prov
    out.attrs["rvucalc.decomposition_notes"] = notes
    _money_kinds(out, ("amount_old", "amount_new", "amount_change", "revenue_old", "revenue_new",
                       "revenue_change"))
    out.attrs["rvucalc.summary"] = {"index": ["pfs_setting"], "columns": [],
                                    "values": ["revenue_old", "revenue_new", "revenue_change"], "agg": "sum",
                                    "title": f"Book revenue {fs_old.release.id} -> {fs_new.release.id}"}
    return out


def book_causes(d: pd.DataFrame, prefix: str = "from_", change: str = "revenue_change") -> pd.DataFrame:
    """The causes of a book's revenue change (a :func:`diff_volumes` frame), summed in whole cents.

    One row per part of :data:`rvucalc.calc.decompose.PARTS` (``part``, ``cause`` in words,
    ``dollars``, ``share``: percent of the total change, rounded to 2 decimals), then a
    ``total`` row whose dollars are the sum of *change*; the parts add up to it exactly.
    """
    cents = {p: int(np.rint(d[prefix + p].to_numpy(dtype=float) * 100).sum()) for p in dec.PARTS}
    tot = int(np.rint(d[change].to_numpy(dtype=float) * 100).sum())
    rows = [(p, dec.PART_LABELS[p], cents[p] / 100.0) for p in dec.PARTS]
    rows.append(("total", "total change", tot / 100.0))
    t = pd.DataFrame(rows, columns=["part", "cause", "dollars"])
    t["share"] = np.round(t["dollars"] / (tot / 100.0) * 100.0, 2) if tot else np.nan
    return t


__all__ = ["CHANGES", "DECOMPOSITION", "FLAG_FIELDS", "NOT_ON_PFS", "PCT_FIELDS", "RVU_FIELDS", "SORTS",
           "book_causes", "cause_text", "diff", "diff_volumes", "notes_of", "pct_change", "sort_changes",
           "summarize"]
