"""Claim-line repricing under the Medicare physician fee schedule.

``rvucalc.reprice(lines)`` prices a whole DataFrame of claim lines at once:
it picks the PFS release for each line's date of service, the locality from
the ZIP code (CMS ZIP5 file) or a locality id, the facility or non-facility
rate from the place of service, the fee schedule amount of the code's own
PPRRVU row (26/TC/53 rows for those modifiers), and then applies the payment
policy rules of :mod:`rvucalc.calc.policy`, each as its own column. No line
is ever dropped: a line that cannot be priced keeps its place with reason
codes (see :func:`rvucalc.explain`).

Work is vectorised: the inputs are normalised on their distinct values, each
release's amounts are one RVU-row × locality matrix (looked up with fancy
indexing), and claim-level rules are sorts and group sums over integer keys.
The only Python loops are over releases (a handful) and over the distinct
values of text columns.

Money: ``base_amount`` is CMS's fee schedule amount for the code, setting and
locality (rounded to cents as CMS publishes it, see :mod:`rvucalc.calc.pfs`).
All factors are multiplied unrounded; ``fee_schedule_amount``,
``limiting_charge``, ``allowed``, ``sequestration`` and ``medicare_payment``
are each rounded to cents, half up, once at the end.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalogue
from .calc import pfs as pfs_calc
from .calc import policy as P
from .calc.money import round_cents
from .catalogue import Release
from .errors import DownloadError, MissingFileError
from .reasons import REGISTRY

#: Columns the repricer adds (in this order). Input columns with these names are replaced.
OUTPUT_COLUMNS = (
    "release", "release_note", "locality_id", "setting", "pricing_modifier", "status", "base_amount",
    "units_factor", "bilateral_factor", "mult_proc_factor", "mult_proc_rank", "cosurgery_factor",
    "assistant_factor", "team_factor", "bundled_factor", "nonpar_factor", "fee_schedule_amount",
    "limiting_charge", "charge_limited", "allowed", "sequestration", "medicare_payment", "payable", "reason",
)
PRICING_MODIFIERS = np.array(["", "26", "TC", "53"], dtype=object)
STATUS_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


def _cat(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """Text column as a categorical from integer codes; code -1 gives "" (never NaN)."""
    cats = [str(c) for c in categories]
    uniq = list(dict.fromkeys([*cats, ""]))
    where = {c: i for i, c in enumerate(uniq)}
    remap = np.array([where[c] for c in cats] + [where[""]], dtype=np.int64)  # distinct categories
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(remap[np.where(codes >= 0, codes, len(cats))],
                                     categories=pd.Index(uniq, dtype=object))


# ---------------------------------------------------------------------------
# reasons as bits (fast to combine over millions of lines)


class ReasonBits:
    """Reason codes per line as bits of a uint64; turned into "A|B" strings at the end."""

    def __init__(self, n: int) -> None:
        self.bits = np.zeros(n, dtype=np.uint64)
        self.codes: list[str] = []

    def bit(self, code: str) -> np.uint64:
        if code not in self.codes:
            if len(self.codes) >= 64:
                raise RuntimeError("more than 64 distinct reason codes in one repricing")
            self.codes.append(code)
        return np.uint64(1) << np.uint64(self.codes.index(code))

    def add(self, code: str, mask: np.ndarray, idx: np.ndarray | None = None) -> None:
        if not mask.any():
            return
        b = self.bit(code)
        if idx is None:
            self.bits[mask] |= b
        else:
            self.bits[idx[mask]] |= b

    def add_codes(self, codes: np.ndarray, idx: np.ndarray) -> None:
        """Add a code per element of *idx* ("" for none), e.g. PFS status/NA reasons."""
        k, uniq = pd.factorize(codes)
        for j, c in enumerate(uniq):  # distinct codes, not lines
            if c:
                self.add(str(c), k == j, idx)

    def any_of(self, codes: Iterable[str]) -> np.ndarray:
        m = np.uint64(0)
        for c in codes:
            if c in self.codes:
                m |= self.bit(c)
        return (self.bits & m) != 0

    def categorical(self) -> pd.Categorical:
        """The "A|B" reason strings as a categorical (codes hashed once, text built per distinct set)."""
        inv, uniq = pd.factorize(self.bits)
        text = ["|".join(c for j, c in enumerate(self.codes) if int(u) >> j & 1) for u in uniq]
        return _cat(inv, text)


def refusing_codes() -> frozenset[str]:
    """Codes that leave a line without an amount: the policy refusals plus PFS status and NA reasons."""
    return P.REFUSING | pfs_calc.NO_AMOUNT_CODES


# ---------------------------------------------------------------------------
# normalising inputs on distinct values


def _by_uniques(values: pd.Series, fn, dtype=object, missing=None) -> np.ndarray:  # type: ignore[no-untyped-def]
    codes, uniq = _coded(values, fn, dtype, missing)
    return uniq[codes]


def _coded(values: pd.Series, fn, dtype=object, missing=None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """``(codes, normalised distinct values)``; code -1 (the last element) is a missing value."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    out = np.empty(len(uniq) + 1, dtype=dtype)
    if fn is _norm_zip:
        out[:-1] = _norm_zips(uniq)
    else:
        for i, v in enumerate(uniq):  # distinct values, not lines
            out[i] = fn(v)
    out[-1] = missing
    return codes, out


def _norm_zips(uniq: object) -> np.ndarray:
    """:func:`_norm_zip` over many distinct values at once (string methods)."""
    s = pd.Series(np.asarray(uniq, dtype=object)).astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    full = s.str.fullmatch(r"\d{5}(?:[- ]?\d{4})?").fillna(False).to_numpy(bool)
    short = s.str.fullmatch(r"\d{1,4}").fillna(False).to_numpy(bool)
    out = np.full(len(s), "", dtype=object)
    out[full] = s[full].str.slice(0, 5).to_numpy(dtype=object)
    out[short] = s[short].str.zfill(5).to_numpy(dtype=object)
    return out


def _norm_hcpcs(v: object) -> str:
    s = str(v).strip().upper()
    return s if len(s) == 5 and s.isalnum() else ""


def _norm_zip(v: object) -> str:
    s = str(v).strip()
    if s.endswith(".0"):
        s = s[:-2]
    d = "".join(ch for ch in s if ch.isdigit())
    if not d or len(d) != len(s.replace("-", "").replace(" ", "")):
        return ""
    if len(d) in (5, 9):
        return d[:5]
    if len(d) < 5 and s.isdigit():  # a ZIP stored as a number lost its leading zeros
        return d.zfill(5)
    return ""


def _norm_locality(v: object) -> str:
    import re

    s = str(v).strip()
    if s.lower() in ("national", "us"):
        return "national"
    m = re.fullmatch(r"(\d{4,5})\D*(\d{1,2})", s)
    return f"{m.group(1).zfill(5)}-{m.group(2).zfill(2)}" if m else ""


def _truthy_participating(v: object) -> bool:
    s = str(v).strip().lower()
    return s not in ("0", "false", "n", "no", "nonpar", "non-par", "f", "0.0")


def _dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day number since 1970, year, quarter) per line; -1 where not a date."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    d = pd.to_datetime(pd.Series(uniq, dtype=object), errors="coerce", format="mixed") if len(uniq) else \
        pd.Series([], dtype="datetime64[ns]")
    ok = d.notna().to_numpy()
    day = np.full(len(uniq) + 1, -1, dtype=np.int64)
    year = np.full(len(uniq) + 1, -1, dtype=np.int64)
    q = np.full(len(uniq) + 1, -1, dtype=np.int64)
    if ok.any():
        dd = d[ok]
        day[:-1][ok] = (dd.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
        year[:-1][ok] = dd.dt.year.to_numpy()
        q[:-1][ok] = (dd.dt.month.to_numpy() - 1) // 3 + 1
    return day[codes], year[codes], q[codes]


# ---------------------------------------------------------------------------
# release choice


def _quarter(r: Release) -> int:
    return r.order[1]


def _available(releases: object, mirror: str | os.PathLike[str] | None) -> dict[str, object]:
    """Release id -> FeeSchedule (given) or Release (loadable)."""
    from .facade import FeeSchedule, offline
    from .fetch import locate

    if releases is not None:
        items = releases.values() if isinstance(releases, Mapping) else releases
        out: dict[str, object] = {}
        for fs in items:  # type: ignore[union-attr]
            if not isinstance(fs, FeeSchedule):
                raise TypeError("releases must hold FeeSchedule objects (from rvucalc.load)")
            out[fs.release.id] = fs
        return out
    out = {}
    for r in catalogue.releases("pfs"):
        if "pprrvu" not in r.files:
            continue
        try:
            locate(r, "pprrvu", mirror=mirror, download=False)
            out[r.id] = r
        except (MissingFileError, DownloadError):
            if r.url and not offline():
                out[r.id] = r
    return out


def choose_for_quarter(year: int, quarter: int, available: Mapping[str, object]) -> tuple[str | None, str]:
    """The release id for a date in *year*/*quarter* and a note ("" when it is the newest for that quarter).

    RVU file documentation, Update Schedule: RVUyyA (January), B (April), C
    (July), D (October), with corrections (AR). The newest release of the
    date's quarter is wanted; if it is not at hand, the newest at hand of an
    earlier quarter of the same year is used, else the earliest of a later
    quarter, and the note says so. Another year is never used (its
    conversion factor and RVUs differ).
    """
    cat = [r for r in catalogue.releases("pfs") if r.year == year and _quarter(r) == quarter]
    want = max(cat, key=lambda r: r.order).id if cat else f"rvu{year % 100:02d}{'abcd'[quarter - 1]}"
    rels = []
    for obj in available.values():
        rel = obj.release if hasattr(obj, "release") else obj  # type: ignore[attr-defined]
        if rel.year == year:
            rels.append(rel)
    if not rels:
        return None, f"no CY{year} PFS release at hand (wanted {want})"
    same = [r for r in rels if _quarter(r) == quarter]
    earlier = [r for r in rels if _quarter(r) < quarter]
    later = [r for r in rels if _quarter(r) > quarter]
    if same:
        pick = max(same, key=lambda r: r.order)
    elif earlier:
        pick = max(earlier, key=lambda r: r.order)
    else:
        pick = min(later, key=lambda r: r.order)
    if pick.id == want:
        return pick.id, ""
    cat_note = "" if cat else " (not in the catalogue)"
    return pick.id, f"{want}{cat_note} for {year} Q{quarter} is not at hand; priced with {pick.id} ({pick.label})"


# ---------------------------------------------------------------------------
# per-release lookup tables (cached per FeeSchedule)


@dataclass
class _Tables:
    hcpcs: pd.Index  # distinct codes of the release
    rows: np.ndarray  # (codes, 4) -> RVU row index or -1 ("", 26, TC, 53)
    amount: np.ndarray  # (2, rows, localities): non-facility, facility
    reason: np.ndarray  # (2, rows) reason codes
    capped: np.ndarray  # (2, rows, localities)
    loc_ids: np.ndarray
    loc_index: dict[str, int]
    zip_loc: pd.Series  # zip -> locality index
    pe: np.ndarray  # (2, rows) PE RVUs
    pe_gpci: np.ndarray
    cf: float
    ind: dict[str, np.ndarray]  # int indicators per RVU row
    endo_base: np.ndarray  # per RVU row: index into hcpcs or -1
    status: np.ndarray


_CACHE: weakref.WeakKeyDictionary[object, _Tables] = weakref.WeakKeyDictionary()


def _int_ind(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").fillna(-1).astype(np.int64).to_numpy()


def _tables(fs) -> _Tables:  # type: ignore[no-untyped-def]
    t = _CACHE.get(fs)
    if t is not None:
        return t
    rv = fs.rvus.reset_index(drop=True)
    g = fs.gpci.reset_index(drop=True)
    nat = pd.DataFrame({c: [1.0] for c in ("work_gpci", "work_gpci_no_floor", "pe_gpci", "mp_gpci")})
    nat["locality_id"] = "national"
    gx = pd.concat([g, nat], ignore_index=True)
    pm = pfs_calc.price_matrix(rv, gx, fs.conversion_factor, work_floor=fs.work_floor)
    amount = np.stack([pm.amount["nonfacility"], pm.amount["facility"]])
    reason = np.stack([pm.reason["nonfacility"], pm.reason["facility"]])
    capped = np.stack([pm.capped["nonfacility"], pm.capped["facility"]])
    codes, uniq = pd.factorize(rv["hcpcs"])
    mod = pd.Index(PRICING_MODIFIERS).get_indexer(rv["modifier"].to_numpy(dtype=object))
    rows = np.full((len(uniq), 4), -1, dtype=np.int64)
    ok = mod >= 0
    rows[codes[ok], mod[ok]] = np.flatnonzero(ok)
    loc_ids = gx["locality_id"].to_numpy(dtype=object)
    loc_index = {str(x): i for i, x in enumerate(loc_ids)}
    # another MAC's number for a locality of the same state (California's 01112/01182)
    by_state: dict[str, list[tuple[str, str]]] = {}
    for lid, st, num in zip(g["locality_id"], g["state"], g["locality"]):  # ~110 localities
        by_state.setdefault(str(st), []).append((str(num), str(lid)))
    for mac, st in set(zip(g["mac"], g["state"])):
        nums = [x for x, _ in by_state[str(st)]]
        for num, lid in by_state[str(st)]:
            if nums.count(num) == 1:
                loc_index.setdefault(f"{mac}-{num}", loc_index[lid])
    try:
        z = fs.zip5
        zl = pd.Series(z["locality_id"].map(lambda x: loc_index.get(str(x), -1)).to_numpy(),
                       index=z["zip"].to_numpy(dtype=object))
        zl = zl[~zl.index.duplicated()]
    except MissingFileError:
        zl = pd.Series([], dtype=np.int64)
    pe_gpci = gx["pe_gpci"].to_numpy(dtype=float)
    ind = {c: _int_ind(rv[c]) for c in ("mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg",
                                        "imaging_family", "pctc")}
    eb = pd.Index(uniq).get_indexer(rv["endo_base"].to_numpy(dtype=object))
    t = _Tables(pd.Index(uniq), rows, amount, reason, capped, loc_ids, loc_index, zl,
                np.stack([rv["pe_nonfacility"].to_numpy(float), rv["pe_facility"].to_numpy(float)]),
                pe_gpci, float(pm.conversion_factor), ind, eb,
                pd.Index(STATUS_LETTERS).get_indexer(rv["status"].to_numpy(dtype=object)).astype(np.int64))
    _CACHE[fs] = t
    return t


# ---------------------------------------------------------------------------


def _require(lines: pd.DataFrame) -> None:
    need = ["claim_id", "hcpcs", "pos", "date_of_service"]
    missing = [c for c in need if c not in lines.columns]
    if "zip" not in lines.columns and "locality" not in lines.columns:
        missing.append("zip or locality")
    if missing:
        raise ValueError(f"claim lines need the column(s) {', '.join(missing)}; have {', '.join(map(str, lines.columns))}")


def reprice(
    lines: pd.DataFrame,
    *,
    releases: Mapping[str, object] | Iterable[object] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    sequestration: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Reprice claim lines under the Medicare physician fee schedule.

    Parameters
    ----------
    lines:
        One row per claim line. Columns: ``claim_id``, ``hcpcs``,
        ``modifiers`` (optional; ``"26"``, ``"50"``, ``"51 LT"``, ``"50,lt"``),
        ``units`` (optional, default 1), ``pos`` (CMS place of service),
        ``zip`` and/or ``locality`` (a MAC-locality id such as ``01182-18``, or
        ``national``; a non-empty locality wins over the ZIP),
        ``date_of_service``, ``charge`` (optional: the allowed amount is the
        lower of the charge and the fee schedule amount) and ``participating``
        (optional, default true: false gives the non-participating 95%).
    releases:
        FeeSchedule objects to use (a list, or a dict keyed by anything); by
        default every catalogued PFS release whose PPRRVU file is at hand is
        loaded when a line needs it.
    mirror:
        Folder of CMS files, passed to :func:`rvucalc.load`.
    sequestration:
        Also compute the 2% sequestration reduction of Medicare's payment
        (``sequestration`` and ``medicare_payment`` columns; Medicare's
        payment is taken as 80% of the allowed amount, i.e. the standard 20%
        coinsurance and no deductible).
    progress:
        Show a progress bar over the stages (for large files).

    Returns
    -------
    A copy of *lines*, same rows in the same order, plus
    :data:`OUTPUT_COLUMNS`: ``release`` and ``release_note``, ``locality_id``,
    ``setting``, ``pricing_modifier``, ``status``, ``base_amount``, one factor
    per adjustment (``units_factor``, ``bilateral_factor``,
    ``mult_proc_factor`` with ``mult_proc_rank``, ``cosurgery_factor``,
    ``assistant_factor``, ``team_factor``, ``bundled_factor``,
    ``nonpar_factor``), ``fee_schedule_amount``, ``limiting_charge``,
    ``charge_limited``, ``allowed``, ``sequestration``, ``medicare_payment``,
    ``payable`` and ``reason`` (pipe-separated codes; see
    :func:`rvucalc.explain`). ``allowed`` is NaN exactly when a refusing
    reason is present (``payable`` False); other codes explain adjustments.
    """
    from tqdm.auto import tqdm

    _require(lines)
    n = len(lines)
    bar = tqdm(total=6, desc="reprice", disable=not progress, unit="step")
    rb = ReasonBits(n)
    # -- inputs, normalised on distinct values
    day, year, quarter = _dates(lines["date_of_service"])
    rb.add(P.BAD_DATE.code, year < 0)
    units_raw = pd.to_numeric(lines["units"], errors="coerce").to_numpy(dtype=float) if "units" in lines \
        else np.ones(n)
    bad_units = ~(units_raw > 0)
    rb.add(P.BAD_UNITS.code, bad_units)
    units = np.where(bad_units, 1.0, units_raw)
    mods = P.parse_modifiers(lines["modifiers"] if "modifiers" in lines else None, n)
    m = {k: mods[f"m{k}"].to_numpy() for k in P.KNOWN}
    pmod = P.pricing_modifier(mods)
    rb.add(P.PCTC_BOTH.code, m["26"] & m["TC"])
    pos_codes, pos_u = pd.factorize(lines["pos"], use_na_sentinel=True)
    pos_norm = np.append(P.normalise_pos(pd.Series(pos_u, dtype=object)), "")
    set_u = P.setting_from_pos(pos_norm, np.full(len(pos_norm), 2024))
    setting = set_u[pos_codes]
    pos10 = np.flatnonzero(pos_norm == "10")
    if pos10.size:  # POS 10 is paid at the facility rate before CY2024
        setting[np.isin(pos_codes, pos10) & (year < 2024) & (year >= 0)] = 1
    rb.add(P.BAD_POS.code, setting == 2)
    hc_codes, hc_uniq = _coded(lines["hcpcs"], _norm_hcpcs, missing="")
    loc_codes, loc_u = _coded(lines["locality"], _norm_locality, missing="") if "locality" in lines \
        else (np.full(n, -1, dtype=np.int64), np.array([""], dtype=object))
    zip_codes, zip_u = _coded(lines["zip"], _norm_zip, missing="") if "zip" in lines \
        else (np.full(n, -1, dtype=np.int64), np.array([""], dtype=object))
    has_loc = (loc_u != "")[loc_codes]
    part = _by_uniques(lines["participating"], _truthy_participating, dtype=bool, missing=True) \
        if "participating" in lines else np.ones(n, dtype=bool)
    charge = pd.to_numeric(lines["charge"], errors="coerce").to_numpy(dtype=float) if "charge" in lines \
        else np.full(n, np.nan)
    claim = pd.factorize(lines["claim_id"], use_na_sentinel=False)[0].astype(np.int64)
    dcode = pd.factorize(day)[0].astype(np.int64)
    group = claim * (int(dcode.max()) + 1 if n else 1) + dcode
    bar.update()

    # -- releases: one per (year, quarter)
    avail = _available(releases, mirror)
    yq = np.where(year >= 0, year * 10 + quarter, -1)
    yq_codes, yq_uniq = pd.factorize(yq)
    rel_ids: list[str] = []
    rel_of_yq = np.full(len(yq_uniq), -1, dtype=np.int64)
    note_of_yq = np.full(len(yq_uniq), "", dtype=object)
    for i, v in enumerate(yq_uniq):  # distinct year-quarters
        if v < 0:
            continue
        rid, note = choose_for_quarter(int(v) // 10, int(v) % 10, avail)
        note_of_yq[i] = note
        if rid is not None:
            if rid not in rel_ids:
                rel_ids.append(rid)
            rel_of_yq[i] = rel_ids.index(rid)
    rel_line = rel_of_yq[yq_codes] if n else np.zeros(0, dtype=np.int64)
    notes = note_of_yq[yq_codes] if n else np.zeros(0, dtype=object)
    rb.add(P.NO_RELEASE.code, (rel_line < 0) & (year >= 0))
    rb.add(P.RELEASE_FALLBACK.code, (rel_line >= 0) & (notes != ""))
    bar.update()

    # -- per-release lookups
    base = np.full(n, np.nan)
    row = np.full(n, -1, dtype=np.int64)
    loc = np.full(n, -1, dtype=np.int64)
    code_id = np.full(n, -1, dtype=np.int64)
    endo_id = np.full(n, -1, dtype=np.int64)
    base_fee = np.full(n, np.nan)
    tc_part = np.full(n, np.nan)
    pc_part = np.full(n, np.nan)
    pe_amt = np.full(n, np.nan)
    ind = {k: np.full(n, -1, dtype=np.int64) for k in ("mult_proc", "bilat_surg", "asst_surg", "co_surg",
                                                         "team_surg", "imaging_family", "pctc")}
    status = np.full(n, -1, dtype=np.int64)  # index into STATUS_LETTERS
    loc_out = np.full(n, -1, dtype=np.int64)
    loc_cats: dict[str, int] = {}
    for r, rid in enumerate(rel_ids):  # a handful of releases
        obj = avail[rid]
        fs = obj if hasattr(obj, "rvus") else _load(obj, mirror, progress)  # type: ignore[arg-type]
        avail[rid] = fs
        t = _tables(fs)
        idx = np.flatnonzero(rel_line == r)
        # code and row
        cidx = t.hcpcs.get_indexer(hc_uniq)[hc_codes[idx]]
        known = cidx >= 0
        rb.add(P.UNKNOWN_CODE.code, ~known, idx)
        rws = np.where(known, t.rows[np.maximum(cidx, 0), pmod[idx]], -1)
        rb.add(P.PCTC_NOT_ALLOWED.code, known & (rws < 0) & np.isin(pmod[idx], (1, 2)), idx)
        rb.add(P.MOD53_BY_REPORT.code, known & (rws < 0) & (pmod[idx] == 3), idx)
        # locality: a non-empty locality, else the ZIP
        li_u = np.array([t.loc_index.get(x, -1) for x in loc_u], dtype=np.int64)  # distinct values
        zi_u = t.zip_loc.reindex(zip_u).fillna(-1).astype(np.int64).to_numpy() if len(t.zip_loc) \
            else np.full(len(zip_u), -1, dtype=np.int64)
        lc = np.where(has_loc[idx], li_u[loc_codes[idx]], zi_u[zip_codes[idx]])
        rb.add(P.NO_LOCALITY.code, lc < 0, idx)
        st = setting[idx]
        ok = (rws >= 0) & (lc >= 0) & (st < 2)
        r_ok, l_ok, s_ok = rws[ok], lc[ok], st[ok].astype(np.int64)
        oi = idx[ok]
        base[oi] = t.amount[s_ok, r_ok, l_ok]
        rb.add_codes(t.reason[s_ok, r_ok], oi)
        rb.add(pfs_calc.OPPS_CAP.code, t.capped[s_ok, r_ok, l_ok], oi)
        row[idx] = rws
        loc[idx] = lc
        gl = np.array([loc_cats.setdefault(str(x), len(loc_cats)) for x in t.loc_ids], dtype=np.int64)
        loc_out[oi] = gl[l_ok]
        kr = np.maximum(rws, 0)
        for k in ind:
            ind[k][idx] = np.where(rws >= 0, t.ind[k][kr], -1)
        status[idx] = np.where(rws >= 0, t.status[kr], -1)
        off = r * 1_000_000
        code_id[idx] = np.where(known, cidx + off, -1)
        eb = np.where(rws >= 0, t.endo_base[kr], -1)
        endo_id[idx] = np.where(eb >= 0, eb + off, -1)
        # the base endoscopy's amount (global row), the PC/TC parts, the PE amount
        eb_ok = eb[ok]
        brow = np.where(eb_ok >= 0, t.rows[np.maximum(eb_ok, 0), 0], -1)
        base_fee[oi] = np.where(brow >= 0, t.amount[s_ok, np.maximum(brow, 0), l_ok], np.nan)
        c_ok = cidx[ok]
        pm_ok = pmod[idx][ok]
        tc_row = t.rows[c_ok, 2]
        pc_row = t.rows[c_ok, 1]
        tc_g = np.where(tc_row >= 0, t.amount[s_ok, np.maximum(tc_row, 0), l_ok], np.nan)
        pc_g = np.where(pc_row >= 0, t.amount[s_ok, np.maximum(pc_row, 0), l_ok], np.nan)
        b_ok = base[oi]
        pctc = ind["pctc"][oi]
        split = (pm_ok == 0) & (tc_row >= 0) & (pc_row >= 0)
        pc_only = np.isin(pctc, (2, 6, 8))
        tc_part[oi] = np.where(pm_ok == 2, b_ok, np.where(pm_ok == 1, 0.0, np.where(
            split, tc_g, np.where(pc_only, 0.0, b_ok))))
        pc_part[oi] = np.where(pm_ok == 1, b_ok, np.where(pm_ok == 2, 0.0, np.where(
            split, pc_g, np.where(pc_only, b_ok, 0.0))))
        pe_amt[oi] = t.pe[s_ok, r_ok] * t.pe_gpci[l_ok] * t.cf
    bar.update()

    # -- modifiers and roles
    eligible_pre = ~rb.any_of(refusing_codes())
    pair = P.rt_lt_pairs(group, code_id, ind["bilat_surg"], m["RT"], m["LT"],
                         eligible_pre & ~m["50"] & (units == 1))
    bil, units_mult, bflags = P.bilateral(ind["bilat_surg"], m["50"], units, pair)
    for c, mk in bflags.items():
        rb.add(c, mk)
    co_f, cflags = P.cosurgery(ind["co_surg"], m["62"])
    tm_f, tflags = P.team(ind["team_surg"], m["66"])
    as_f, aflags = P.assistant(ind["asst_surg"], m["80"] | m["81"] | m["82"], m["AS"])
    for fl in (cflags, tflags, aflags):
        for c, mk in fl.items():
            rb.add(c, mk)
    refusing = refusing_codes()
    payable = ~rb.any_of(refusing) & ~np.isnan(base)
    bar.update()

    # -- claim-level rules
    is_t = status == STATUS_LETTERS.index("T")
    bundled = P.status_t_bundled(group, payable & is_t, payable & ~is_t)
    rb.add(P.STATUS_T.code, bundled)
    bundle_f = np.where(bundled, 0.0, 1.0)
    elig = payable & ~bundled
    role = (m["80"] | m["81"] | m["82"] | m["AS"]).astype(np.int64)
    # one procedure on several lines: an RT/LT pair, or the -26 and -TC lines of one code
    # (PC/TC indicator 1: "the global equals the professional plus the technical component")
    ent = np.arange(n, dtype=np.int64)
    joint = pair | (elig & np.isin(pmod, (1, 2)))
    if joint.any():
        pi = np.flatnonzero(joint)
        kind = pair[pi].astype(np.int64)
        first = pd.Series(pi).groupby([group[pi], code_id[pi], kind]).transform("min").to_numpy()
        ent[pi] = first
    fee1 = base * bil  # one unit, after the bilateral adjustment
    s_f, s_rank, sflags = P.surgery_mppr(group * 2 + role, ind["mult_proc"], fee1, units_mult, code_id,
                                         endo_id, base_fee, ent, elig)
    d_f, d_rank, dflags = P.diagnostic_mppr(group * 2 + role, ind["mult_proc"], ind["imaging_family"], fee1,
                                            tc_part * bil, pc_part * bil, units_mult, elig)
    t_f, tflags2 = P.therapy_mppr(group, ind["mult_proc"], fee1, pe_amt * bil, units_mult, elig)
    for fl in (sflags, dflags, tflags2):
        for c, mk in fl.items():
            rb.add(c, mk)
    mp_f = s_f * d_f * t_f
    mp_rank = np.where(s_rank >= 0, s_rank, d_rank) + 1
    bar.update()

    # -- money
    nonpar_f = np.where(part, 1.0, P.NONPAR_FACTOR)
    rb.add(P.NONPAR.code, ~part & payable)
    par_amt = base * units_mult * bil * mp_f * co_f * as_f * tm_f * bundle_f
    raw = par_amt * nonpar_f
    payable = ~rb.any_of(refusing) & ~np.isnan(raw)
    raw = np.where(payable, raw, np.nan)
    fee_amt = round_cents(raw)
    limiting = round_cents(np.where(payable, par_amt * P.LIMITING_FACTOR, np.nan))
    allowed_raw, lower = P.lower_of_charge(raw, charge)
    rb.add(P.CHARGE_LOWER.code, lower)
    allowed = round_cents(allowed_raw)
    program = allowed * (1.0 - P.COINSURANCE)
    seq = round_cents(program * P.SEQUESTRATION_RATE) if sequestration else np.where(payable, 0.0, np.nan)
    medicare = round_cents(program - np.nan_to_num(seq)) if sequestration else round_cents(program)
    medicare = np.where(payable, medicare, np.nan)

    out = lines.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    cols = {
        "release": _cat(rel_line, rel_ids), "release_note": _cat(yq_codes if n else rel_line, list(note_of_yq)),
        "locality_id": _cat(loc_out, list(loc_cats)), "setting": _cat(setting, ["nonfacility", "facility", ""]),
        "pricing_modifier": _cat(pmod, list(PRICING_MODIFIERS)), "status": _cat(status, STATUS_LETTERS),
        "base_amount": base,
        "units_factor": np.where(bad_units, np.nan, units_mult), "bilateral_factor": bil,
        "mult_proc_factor": mp_f, "mult_proc_rank": mp_rank, "cosurgery_factor": co_f,
        "assistant_factor": as_f, "team_factor": tm_f, "bundled_factor": bundle_f, "nonpar_factor": nonpar_f,
        "fee_schedule_amount": fee_amt, "limiting_charge": limiting, "charge_limited": lower,
        "allowed": allowed, "sequestration": seq, "medicare_payment": medicare, "payable": payable,
        "reason": rb.categorical(),
    }
    for k, v in cols.items():
        out[k] = v
    bar.update()
    bar.close()
    return out


def _load(rel: Release, mirror: str | os.PathLike[str] | None, progress: bool):  # type: ignore[no-untyped-def]
    from .facade import load

    return load(release=rel.id, mirror=mirror, progress=progress)


def explain_reasons(reason: str) -> list[str]:
    """Plain words for a pipe-separated reason cell: ``["CODE: message (rule)", ...]``."""
    return [str(REGISTRY[c]) for c in reason.split("|") if c]


__all__ = ["OUTPUT_COLUMNS", "choose_for_quarter", "explain_reasons", "refusing_codes", "reprice"]
