"""Lab, drug and DME codes on the pricing surfaces: ``quote``, ``schedule``, ``compare`` and
``price_volumes`` price them from their own fee schedule (issue 21), one vectorised call per
schedule, and say which (``fee_schedule``: ``clfs``, ``asp``, ``dmepos``).

Which codes: those :func:`rvucalc.codes.fee_schedule_of` gives to the CLFS, the ASP file or the
DMEPOS/PEN fee schedule **and** that the PFS does not price (not in the release's PPRRVU file,
or a status that is not payable: the surfaces' ``NOT_PFS_CLFS`` ... reasons). 88305, pathology in
the lab range with status A, stays on the PFS.

Which quarter: the PFS release's (``rvu26c`` is July 2026: Q3), else another quarter of the same
year with a note (:mod:`rvucalc.schedules._load`), never another year; where no file of the year
is at hand the surfaces keep saying ``NOT_PFS_CLFS`` ... with no amount, as before.

Amounts are for **one unit** (a quote is per service): CLFS national limit; ASP payment limit
per billing unit, rounded to the cent; DMEPOS fee of the state (from the ZIP code or locality)
and of the rural or non-rural area as given (``rural``); rural is never assumed
(``DMEPOS_RURAL_UNKNOWN`` where the two fees differ). The same amount in the office and facility
columns: these schedules do not vary by place of service.

Plain arguments only (never imports :mod:`rvucalc.facade`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .. import codes as C

#: Schedules priced here, by :func:`rvucalc.codes.fee_schedule_of` key.
KEYS = ("clfs", "asp", "dmepos")
#: ``NOT_PFS_CLFS`` -> ``clfs`` ...
KEY_OF_REASON = {C.REASONS[k].code: k for k in KEYS}
#: Column of the per-unit amount in each schedule's priced lines.
PER_UNIT = {"clfs": "rate", "asp": "payment_limit", "dmepos": "fee"}

_MISSING: dict[tuple[Any, ...], Any] = {}


def _module(key: str) -> Any:
    from . import asp, clfs, dmepos

    return {"clfs": clfs, "asp": asp, "dmepos": dmepos}[key]


def rates(key: str, year: int, quarter: int, mirror: str | os.PathLike[str] | None = None) -> Any:
    """The quarter's tables of schedule *key* (cached per process by :mod:`rvucalc.schedules`), or a
    falsy :class:`~rvucalc.schedules._load.Unavailable`; a year found missing is not looked for
    again in this process (:func:`clear_cache`)."""
    k = (key, year, quarter, None if mirror is None else os.fspath(mirror))
    if k in _MISSING:
        return _MISSING[k]
    got = _module(key).rates_or_unavailable(year, quarter, mirror=mirror, progress=False)
    if not got:
        _MISSING[k] = got
    return got


def clear_cache() -> None:
    """Forget the quarters found missing and the loaded tables."""
    from ._load import clear_cache as clear_tables

    _MISSING.clear()
    clear_tables()


def key_of_reason(reason: str) -> str:
    """``clfs`` for a reason cell with ``NOT_PFS_CLFS`` (the first such code), else ``""``."""
    return next((KEY_OF_REASON[c] for c in str(reason).split("|") if c in KEY_OF_REASON), "")


def release_quarter(release: Any) -> tuple[int, int]:
    """``(year, quarter)`` of a PFS release (its quarter, else its effective date's)."""
    if getattr(release, "quarter", None):
        return int(release.year), int(release.quarter)
    eff = str(getattr(release, "effective", "") or "")
    if len(eff) >= 7 and eff[5:7].isdigit():
        return int(release.year), (int(eff[5:7]) - 1) // 3 + 1
    order = getattr(release, "order", None)
    q = int(order[1]) if order and 1 <= int(order[1]) <= 4 else 1
    return int(release.year), q


def price_codes(keys: Any, hcpcs: Any, modifiers: Any, year: int, quarter: int, *, state: Any = None,
                rural: Any = None, zip: Any = None, mirror: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Price one unit of each row's code on schedule ``keys[i]`` (``""``: not priced here).

    Returns, per row in input order: ``priced`` (True where the schedule's file was at hand),
    ``amount`` (one unit, NaN with a reason), ``beneficiary``, ``rate`` (per unit as the file
    gives it), ``reason`` (the schedule's, ``""`` where payable), ``fee_schedule``, ``release``,
    ``release_note``, ``description`` (the file's) and ``sources`` (a list per row's schedule).
    """
    k = np.asarray(keys, dtype=object).reshape(-1)
    n = len(k)
    cols: dict[str, np.ndarray] = {
        "priced": np.zeros(n, dtype=bool), "amount": np.full(n, np.nan), "beneficiary": np.full(n, np.nan),
        "rate": np.full(n, np.nan), "reason": np.full(n, "", dtype=object), "fee_schedule": k.copy(),
        "release": np.full(n, "", dtype=object), "release_note": np.full(n, "", dtype=object),
        "description": np.full(n, "", dtype=object)}
    code = np.asarray(hcpcs, dtype=object).reshape(-1)
    mods = np.asarray(modifiers if modifiers is not None else [""] * n, dtype=object).reshape(-1)
    sources: list[Any] = []
    for key in KEYS:
        at = np.flatnonzero(k == key)
        if not at.size:
            continue
        r = rates(key, year, quarter, mirror)
        if not r:
            continue
        if key == "dmepos":
            res = r.price(code[at], mods[at], None, state=_pick(state, at), rural=_pick(rural, at),
                          zip=_pick(zip, at))
        else:
            res = r.price(code[at], mods[at], None)
        cols["priced"][at] = True
        cols["amount"][at] = res["allowed"].to_numpy(dtype=float)
        cols["beneficiary"][at] = res["beneficiary"].to_numpy(dtype=float)
        cols["rate"][at] = res[PER_UNIT[key]].to_numpy(dtype=float)
        cols["reason"][at] = res["reason"].astype(object).fillna("").to_numpy(dtype=object)
        cols["release"][at] = r.release.id
        cols["release_note"][at] = r.note
        cols["description"][at] = _descriptions(r.table, res)
        sources.extend(r.sources)
    out = pd.DataFrame(cols)
    out.attrs["sources"] = sources
    return out


def _codes_at(v: Any, at: np.ndarray, n: int) -> np.ndarray:
    """Integer codes of the values of *v* (one per row, or one for all) at rows *at*."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "iu":
        return v[at].astype(np.int64)
    if isinstance(getattr(v, "dtype", None), pd.CategoricalDtype):
        return np.asarray(pd.Categorical(v).codes)[at].astype(np.int64)
    a = np.asarray(v, dtype=object).reshape(-1)
    if a.size == 1 and n != 1:
        return np.zeros(len(at), dtype=np.int64)
    return pd.factorize(pd.Series(a[at], dtype=object).fillna(""))[0].astype(np.int64)


def _values_at(v: Any, at: np.ndarray, n: int) -> np.ndarray:
    """The values of *v* (one per row, or one for all) at rows *at*, as text ("" for none)."""
    if isinstance(getattr(v, "dtype", None), pd.CategoricalDtype):
        c = pd.Categorical(v)
        cats = np.asarray([str(x) for x in c.categories] + [""], dtype=object)
        codes = np.asarray(c.codes)[at]
        return cats[np.where(codes >= 0, codes, len(cats) - 1)]
    a = np.asarray(v, dtype=object).reshape(-1)
    a = np.repeat(a, len(at)) if a.size == 1 and n != 1 else a[at]
    return pd.Series(a, dtype=object).fillna("").astype(str).to_numpy(dtype=object)


def _set_text(col: Any, at: np.ndarray, head_values: np.ndarray, which: np.ndarray, base: str = "",
              n: int = 0) -> pd.Categorical:
    """*col* (a categorical, a text column, or None: every row *base*) as a categorical with
    ``head_values[which]`` at rows *at*: codes are set, no text is hashed per row."""
    if col is None:
        cat = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[base])
    elif isinstance(getattr(col, "dtype", None), pd.CategoricalDtype):
        cat = pd.Categorical(col)
    else:
        cat = pd.Categorical(np.asarray(col, dtype=object))
    uniq = [str(v) for v in pd.unique(pd.Series(head_values, dtype=object))]
    new = [v for v in uniq if v not in set(map(str, cat.categories))]
    cat = cat.add_categories(new) if new else cat
    codes = np.asarray(cat.codes).astype(np.int64)
    codes[at] = cat.categories.get_indexer(pd.Index(np.asarray(head_values, dtype=object)))[which]
    return pd.Categorical.from_codes(codes, categories=cat.categories)


def _pick(v: Any, at: np.ndarray) -> Any:
    return None if v is None else np.asarray(v, dtype=object).reshape(-1)[at]


def _descriptions(table: pd.DataFrame, res: pd.DataFrame) -> np.ndarray:
    if "description" not in table:
        return np.full(len(res), "", dtype=object)
    d = table.drop_duplicates("hcpcs").set_index("hcpcs")["description"].astype(str)
    return res["hcpcs"].map(d).fillna("").to_numpy(dtype=object)




def _key_of_cell(cell: str) -> str:
    other = {r.code: k for k, r in C.REASONS.items()}
    return next((other[c] for c in str(cell).split("|") if c in other), "pfs")


def schedule_column(reasons: Any) -> pd.Categorical:
    """``fee_schedule`` per row from its reason cell: the key of the first ``NOT_PFS_*`` code
    (``clfs``, ``asp``, ``dmepos``, ``ambulance`` ...), else ``pfs``; one look per distinct cell
    (a categorical's categories: no pass over text per row, for a whole fee schedule's 4 M rows)."""
    if isinstance(getattr(reasons, "dtype", None), pd.CategoricalDtype):
        cat = reasons.array if isinstance(reasons, pd.Series) else reasons
        codes = np.asarray(cat.codes)
        cells = [str(c) for c in cat.categories]
    else:
        codes, uniq = pd.factorize(pd.Series(np.asarray(reasons, dtype=object)).fillna("").astype(str))
        cells = [str(c) for c in uniq]
    keys = [_key_of_cell(c) for c in cells] + ["pfs"]  # code -1 (NaN): the last, pfs
    names = list(dict.fromkeys(["pfs", *keys]))
    where = np.array([names.index(k) for k in keys], dtype=np.int8)
    return pd.Categorical.from_codes(where[np.where(codes >= 0, codes, len(keys) - 1)], categories=names)


def schedule_of_reasons(reasons: Any) -> np.ndarray:
    """:func:`schedule_column` as an object array."""
    return np.asarray(schedule_column(reasons).astype(object), dtype=object)


def fill_rows(out: pd.DataFrame, *, year: int, quarter: int, states: Any = None, rural: Any = None,
              zips: Any = None, mirror: str | os.PathLike[str] | None = None,
              amount_columns: tuple[str, ...] = ("amount",), blank_columns: tuple[str, ...] = (),
              release_column: str | None = "release", rate_column: str | None = None,
              base_release: str = "", copy: bool = True) -> pd.DataFrame:
    """*out* (rows with ``hcpcs``, ``modifier`` and ``reason``, as ``schedule`` and ``price_volumes``
    give them) with a ``fee_schedule`` column, and the rows of lab, drug and DME codes the PFS
    does not price (reason ``NOT_PFS_CLFS`` ...) priced per unit from their schedule: amount in
    *amount_columns*, *blank_columns* emptied (PFS-only figures), reason the schedule's, release
    (in *release_column*) the schedule's. Rows whose schedule's file is not at hand are left as
    they were. *states*, *rural*, *zips*: per row (DMEPOS), or None. *rate_column*: also a column
    of the unrounded rate per unit (NaN on other rows), for amounts of several units rounded once.
    Without a *release_column* in *out*, one is made: *base_release* on every other row. *copy*
    False: *out* (a frame the caller made for this) gets the columns itself."""
    fee_col = schedule_column(out["reason"])
    rate = np.full(len(out), np.nan)
    wired = np.array([c in KEYS for c in fee_col.categories], dtype=bool)
    sel = np.flatnonzero(wired[np.asarray(fee_col.codes)]) if wired.any() else np.zeros(0, dtype=np.int64)
    if sel.size:
        fee = np.asarray(fee_col.categories, dtype=object)
        fcodes = np.asarray(fee_col.codes)
        n = len(out)
        # one priced row per distinct (schedule, code, modifier, state, rural, zip), found on
        # integer codes (categorical columns' own codes): no pass over text per row
        given = [v for v in (states, rural, zips) if v is not None]
        dme = fcodes[sel] == list(fee).index("dmepos") if "dmepos" in fee else np.zeros(sel.size, dtype=bool)
        key = np.zeros(sel.size, dtype=np.int64)
        for j, v in enumerate([fcodes, out["hcpcs"], out["modifier"], *given]):
            c = _codes_at(v, sel, n)
            if j >= 3:  # place and area matter to DME rows only
                c = np.where(dme, c, -1)
            key = pd.factorize(key * (int(c.max(initial=0)) + 2) + c + 1)[0].astype(np.int64)
        inv, _ = pd.factorize(key)
        head = sel[pd.Series(np.arange(len(inv))).groupby(inv).min().to_numpy()]  # first row of each

        def at_head(v: Any) -> np.ndarray | None:
            return None if v is None else _values_at(v, head, n)

        res = price_codes(fee[fcodes[head]], at_head(out["hcpcs"]), at_head(out["modifier"]), year, quarter,
                          state=at_head(states), rural=at_head(rural), zip=at_head(zips), mirror=mirror)
        done = res["priced"].to_numpy(dtype=bool)[inv]
        at = sel[done]
        if at.size:
            out = out.copy() if copy else out
            amt = res["amount"].to_numpy(dtype=float)[inv][done]
            rate[at] = np.where(np.isnan(amt), np.nan, res["rate"].to_numpy(dtype=float)[inv][done])
            for c in amount_columns:
                col = out[c].to_numpy(dtype=float, copy=True)
                col[at] = amt
                out[c] = col
            for c in (c for c in blank_columns if c in out):
                col = out[c].to_numpy(copy=True)
                col[at] = np.nan if col.dtype.kind == "f" else (False if col.dtype.kind == "b" else "")
                out[c] = col
            which = inv[done]
            out["reason"] = _set_text(out["reason"], at, res["reason"].to_numpy(dtype=object), which)
            if release_column is not None:
                out[release_column] = _set_text(out[release_column] if release_column in out else None, at,
                                                res["release"].to_numpy(dtype=object), which, base_release, n)
            out.attrs["rvucalc.fee_sources"] = res.attrs.get("sources", [])
    if release_column is not None and release_column not in out:
        out[release_column] = pd.Categorical.from_codes(np.zeros(len(out), dtype=np.int8), categories=[base_release])
    if rate_column is not None:
        out[rate_column] = rate
    out["fee_schedule"] = fee_col
    return out


__all__ = ["KEYS", "KEY_OF_REASON", "clear_cache", "fill_rows", "key_of_reason", "price_codes", "rates",
           "release_quarter", "schedule_column", "schedule_of_reasons"]
