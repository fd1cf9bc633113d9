"""PFS claim lines: the physician fee schedule's stages of the claims pipeline.

Stages, each a function over whole arrays (one element per line of the chunk):

1. :func:`choose_releases` - the PFS release per date of service;
2. :func:`lookup` - the fee schedule amount of the code's own PPRRVU row (26/TC/53 rows for
   those modifiers) for the setting (from the place of service) and locality (from the ZIP or
   locality), plus the indicators the rules need;
3. :func:`line_rules` - modifiers on each line: bilateral (50, RT/LT pairs), co-surgery (62),
   team (66), assistant (80/81/82/AS);
4. :func:`claim_rules` - rules that need the whole claim (chunk contract): status T bundling,
   multiple surgery/endoscopy, diagnostic imaging, therapy, cardiovascular and ophthalmology
   reductions;
5. :func:`money` - non-participating 95%, limiting charge, lower of charge, sequestration,
   Medicare's 80%, each rounded to cents half up once.

The rules themselves live in :mod:`rvucalc.calc.policy` (one function each, with its CMS
source); this module only wires arrays between them.

Money: ``base_amount`` is CMS's fee schedule amount for the code, setting and locality (rounded
to cents as CMS publishes it, see :mod:`rvucalc.calc.pfs`). All factors are multiplied
unrounded; ``fee_schedule_amount``, ``limiting_charge``, ``allowed``, ``sequestration`` and
``medicare_payment`` are each rounded to cents, half up, once at the end. A claim's total is the
sum of its lines' rounded amounts (:func:`rvucalc.claims.summary.summarise_claims`), so lines
always add up to the claim.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import catalogue
from .. import codes as C
from ..calc import groups as G
from ..calc import pfs as pfs_calc
from ..calc import policy as P
from ..calc.edits import DENYING as EDIT_DENYING
from ..calc.money import round_cents
from ..catalogue import Release
from ..errors import RvucalcError
from ..whatif import WHAT_IF, parse_cf
from . import fees
from . import normalise as N
from .lines import ReasonBits, categorical
from .normalise import Lines, pricing_modifier

#: Columns the PFS system adds (in this order).
OUTPUT_COLUMNS = (
    "fee_schedule", "release", "release_note", "locality_id", "setting", "pricing_modifier", "status", "base_amount",
    "units_factor", "bilateral_factor", "mult_proc_factor", "mult_proc_rank", "cosurgery_factor",
    "assistant_factor", "team_factor", "bundled_factor", "nonpar_factor", "fee_schedule_amount",
    "limiting_charge", "charge_limited", "allowed", "sequestration", "medicare_payment", "payable", "reason",
)
#: What each of :data:`OUTPUT_COLUMNS` holds (for workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`); the others are text or flags.
OUTPUT_KINDS = {
    "base_amount": "money", "units_factor": "units", "bilateral_factor": "factor",
    "mult_proc_factor": "factor", "mult_proc_rank": "number", "cosurgery_factor": "factor",
    "assistant_factor": "factor", "team_factor": "factor", "bundled_factor": "factor",
    "nonpar_factor": "factor", "fee_schedule_amount": "money", "limiting_charge": "money",
    "allowed": "money", "sequestration": "money", "medicare_payment": "money",
}
PRICING_MODIFIERS = np.array(["", "26", "TC", "53"], dtype=object)
STATUS_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
IND = ("mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg", "imaging_family", "pctc")


def refusing_codes() -> frozenset[str]:
    """Codes that leave a line without an amount: input and policy refusals, PFS status and NA,
    and a code of another fee schedule (``NOT_PFS_*``, see :func:`lookup`)."""
    pfs = {r.code for r in pfs_calc.STATUS_REASONS.values()} | {pfs_calc.STATUS_OTHER.code}
    pfs |= {r.code for r in pfs_calc.NA_REASONS.values()}
    pfs |= {r.code for r in getattr(pfs_calc, "EXTRA_REFUSING", ())}
    return P.REFUSING | N.REFUSING | pfs | {N.BAD_PARTICIPATING.code} | _OTHER_CODES | EDIT_DENYING


#: The reasons for a code of another fee schedule (:data:`rvucalc.codes.REASONS`), in a fixed order.
_OTHER = tuple(r.code for r in C.REASONS.values())
_OTHER_CODES = frozenset(_OTHER)
#: Per status letter (index into STATUS_LETTERS, then -1 for no row): a status that ``quote``
#: notes with the fee schedule that pays the code (not payable on the PFS, not anesthesia J).
_NOTED_STATUS = np.array([s not in pfs_calc.PAYABLE_STATUS and s != "J" for s in STATUS_LETTERS] + [False])


# ---------------------------------------------------------------------------
# prepared tables: one per release, built once per process


@dataclass
class Tables:
    """A release's arrays for fancy-indexed lookups."""

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
    # the same, shaped for one fancy index per line (built from the above by _flat)
    rows_x: np.ndarray = None  # type: ignore[assignment]  # rows plus a last row of -1 (code -1)
    reason_id: np.ndarray = None  # type: ignore[assignment]  # (2 * rows,) index into reason_labels
    reason_labels: list = None  # type: ignore[assignment]
    ind_rows: np.ndarray = None  # type: ignore[assignment]  # (rows + 1, IND + status), last row -1
    endo_x: np.ndarray = None  # type: ignore[assignment]  # endo_base plus a last -1 (row -1)
    zip_dict: dict = None  # type: ignore[assignment]  # zip_loc as a dict
    noted: np.ndarray = None  # type: ignore[assignment]  # per code (+ a last False): a row of _NOTED_STATUS

    def __post_init__(self) -> None:
        if self.noted is None:
            r = self.rows
            noted = ((r >= 0) & _NOTED_STATUS[self.status[np.maximum(r, 0)]]).any(axis=1) \
                if len(self.status) else np.zeros(len(r), dtype=bool)
            self.noted = np.append(noted, False)
        if self.rows_x is None:
            self.rows_x = _small(np.vstack([self.rows, np.full((1, 4), -1, dtype=np.int64)]), np.int32)
            rid, labels = pd.factorize(self.reason.ravel())  # a missing reason reads as none
            self.reason_labels = [*labels, ""]
            self.reason_id = np.where(rid >= 0, rid, len(labels)).astype(np.int64)
            cols = [*(self.ind[k] for k in IND), self.status]  # the order of lookup's block
            self.ind_rows = _small(np.vstack([np.stack(cols, axis=1), np.full((1, len(cols)), -1)]), np.int8)
            self.endo_x = _small(np.append(self.endo_base, -1), np.int32)
            self.zip_dict = dict(zip(self.zip_loc.index, self.zip_loc.to_numpy().tolist()))


def _small(a: np.ndarray, dtype: Any) -> np.ndarray:
    """*a* as *dtype* when every value fits (indicators: int8; row numbers: int32), else as is."""
    info = np.iinfo(dtype)
    return a.astype(dtype) if not a.size or (a.min() >= info.min and a.max() <= info.max) else a


_BY_SCHEDULE: weakref.WeakKeyDictionary[object, Tables] = weakref.WeakKeyDictionary()
#: (release id, mirror) -> the one-sentence reason it could not be loaded (remembered per process,
#: so a failed download is not retried for every chunk).
_FAILED: dict[tuple[str, str | None], str] = {}
#: (release id, mirror) -> the loaded release; (release id, mirror, what-if CF) with a what-if
_SCHEDULES: dict[tuple[Any, ...], Any] = {}
#: Held while a release is loaded or its tables built, so threads pricing parts at once (the
#: streaming engine, Dask's threaded workers) load each release once.
_LOAD = threading.RLock()


def clear_cache() -> None:
    fees.clear_cache()
    _FAILED.clear()
    _SCHEDULES.clear()
    _available.cache_clear()


def _int_ind(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").fillna(-1).astype(np.int64).to_numpy()


def tables(fs: Any) -> Tables:
    """The lookup arrays of a loaded :class:`~rvucalc.facade.FeeSchedule` (cached per schedule)."""
    t = _BY_SCHEDULE.get(fs)
    if t is not None:
        return t
    with _LOAD:
        t = _BY_SCHEDULE.get(fs)
        return t if t is not None else _build_tables(fs)


def _build_tables(fs: Any) -> Tables:
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
    except RvucalcError:
        zl = pd.Series([], dtype=np.int64)
    ind = {c: _int_ind(rv[c]) for c in IND}
    eb = pd.Index(uniq).get_indexer(rv["endo_base"].to_numpy(dtype=object))
    t = Tables(pd.Index(uniq), rows, amount, reason, capped, loc_ids, loc_index, zl,
               np.stack([rv["pe_nonfacility"].to_numpy(float), rv["pe_facility"].to_numpy(float)]),
               gx["pe_gpci"].to_numpy(dtype=float), float(pm.conversion_factor), ind, eb,
               pd.Index(STATUS_LETTERS).get_indexer(rv["status"].to_numpy(dtype=object)).astype(np.int64))
    _BY_SCHEDULE[fs] = t
    return t


def schedule(release_id: str, mirror: str | None, what_if: Any = None) -> Any:
    """The loaded release (once per process); raises RvucalcError with a one-sentence reason.

    *what_if*: a what-if CF (:class:`rvucalc.whatif.WhatIfCF`; a percent is of this release's
    own CF), loaded as a schedule of its own beside the release as published.
    """
    key = (release_id, mirror) if what_if is None else (release_id, mirror, what_if)
    fs = _SCHEDULES.get(key)
    if fs is not None:
        return fs
    with _LOAD:
        return _load_schedule(key)


def _load_schedule(key: tuple[Any, ...]) -> Any:
    release_id, mirror = key[:2]
    what_if = key[2] if len(key) > 2 else None
    if key[:2] in _FAILED:
        raise RvucalcError(_FAILED[key[:2]])
    fs = _SCHEDULES.get(key)
    if fs is None:
        from ..facade import load

        try:
            fs = load(release=release_id, mirror=mirror, progress=False, conversion_factor=what_if)
        except RvucalcError as exc:
            _FAILED[key[:2]] = f"{release_id} could not be loaded: {exc}"
            raise RvucalcError(_FAILED[key[:2]]) from exc
        _SCHEDULES[key] = fs
    return fs


def prepare(release_id: str, mirror: str | None, extra: Mapping[str, Any]) -> Tables:
    """Prepared tables of a release (the pipeline caches them per process)."""
    return tables(schedule(release_id, mirror, parse_cf(extra.get("conversion_factor"))))


# ---------------------------------------------------------------------------
# stage 1: release per date of service


def _quarter(r: Release) -> int:
    return r.order[1]


@__import__("functools").lru_cache(maxsize=32)
def _available(mirror: str | None) -> tuple[str, ...]:
    """Ids of catalogued PFS releases whose PPRRVU file is at hand, or downloadable when online.

    A release whose file is at hand but fails its checksum counts as at hand: its lines then say
    so (``REPRICE_NO_RELEASE`` with the mismatch in ``release_note``) instead of being priced
    quietly with another quarter's release.
    """
    from ..errors import ChecksumError, DownloadError, MissingFileError
    from ..facade import offline
    from ..fetch import locate

    out = []
    for r in catalogue.releases("pfs"):
        if "pprrvu" not in r.files:
            continue
        try:
            locate(r, "pprrvu", mirror=mirror, download=False)
            out.append(r.id)
        except ChecksumError:
            out.append(r.id)
        except (MissingFileError, DownloadError):
            if r.url and not offline():
                out.append(r.id)
    return tuple(out)


def choose_for_quarter(year: int, quarter: int, available: Mapping[str, object] | tuple[str, ...]
                       ) -> tuple[str | None, str]:
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
    for obj in (available.values() if isinstance(available, Mapping) else available):
        rel = obj.release if hasattr(obj, "release") else obj  # type: ignore[attr-defined]
        rel = catalogue.get(rel) if isinstance(rel, str) else rel
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


@dataclass
class Plan:
    """Which release prices each line."""

    rel_line: np.ndarray  # index into ids per line, -1 none
    ids: list[str]
    tables: list[Tables | None]
    yq_codes: np.ndarray  # per line, index into notes
    notes: list[str]


def choose_releases(lines: Lines, opts: Any, schedules: Mapping[str, Any] | None) -> Plan:
    """Stage: the release per line (newest of the date's quarter at hand; see choose_for_quarter).

    Named releases (``opts.releases`` or *schedules*) are the only candidates, and a named
    release that cannot be loaded (file missing, download failed) costs its lines
    ``REPRICE_NO_RELEASE`` with the reason in ``release_note``; the other lines are priced.
    Without named releases, a release that cannot be loaded is passed over for the next one of the
    same year at hand (never another year), with ``REPRICE_RELEASE_FALLBACK`` and the reason in
    ``release_note``.
    """
    n = lines.n
    if schedules:
        avail: tuple[str, ...] = tuple(schedules)
    elif opts.releases is not None:
        avail = tuple(opts.releases)
    else:
        avail = _available(opts.mirror)
    yq_codes, yq_uniq = lines.year_quarters()
    ids: list[str] = []
    tabs: list[Tables | None] = []
    rel_of_yq = np.full(len(yq_uniq), -1, dtype=np.int64)
    notes = [""] * len(yq_uniq)
    failed = np.zeros(len(yq_uniq), dtype=bool)
    named = bool(schedules) or opts.releases is not None
    what_if = parse_cf(opts.get("conversion_factor"))  # a what-if CF: each release at it
    loaded: dict[str, Tables | None] = {}
    for i, v in enumerate(yq_uniq):  # distinct year-quarters
        if v < 0:
            continue
        cands = avail
        why: list[str] = []
        while True:
            rid, note = choose_for_quarter(int(v) // 10, int(v) % 10, cands)
            if rid is None:
                notes[i] = "; ".join([*why, note]) if why else note
                failed[i] = bool(why)
                break
            if rid not in loaded:
                try:
                    loaded[rid] = tables(schedules[rid]) if schedules else tables(
                        schedule(rid, opts.mirror, what_if))
                except RvucalcError as exc:
                    loaded[rid] = None
                    _FAILED.setdefault((rid, opts.mirror), str(exc))
            if loaded[rid] is not None:
                if rid not in ids:
                    ids.append(rid)
                    tabs.append(loaded[rid])
                rel_of_yq[i] = ids.index(rid)
                notes[i] = "; ".join([*why, note]) if why else note
                break
            why.append(_FAILED.get((rid, opts.mirror), f"{rid} could not be loaded"))
            if named:  # a release the user named is used or refused, never swapped
                notes[i] = "; ".join(why)
                failed[i] = True
                break
            cands = tuple(c for c in cands if c != rid)  # automatic choice: the next one at hand
    small = np.int8 if max(len(yq_uniq), len(ids)) < 127 else np.int32  # a handful of quarters
    yq_codes = yq_codes.astype(small)
    rel_line = rel_of_yq.astype(small)[yq_codes] if n else np.zeros(0, dtype=small)
    has_note = np.array([bool(x) for x in notes], dtype=bool)
    rb = lines.reasons
    if n:
        rb.add(P.NO_RELEASE.code, (rel_line < 0) & (lines.year >= 0))
        rb.add(P.RELEASE_FALLBACK.code, (rel_line >= 0) & has_note[yq_codes])
    for i, r in enumerate(rel_of_yq):  # a what-if CF is said on every line it priced (not a fallback)
        if r >= 0:
            fs = schedules[ids[r]] if schedules else schedule(ids[r], opts.mirror, what_if)
            kind = str(fs.conversion_factor_kind)
            if kind.startswith(WHAT_IF):
                said = f"priced at a what-if CF ${fs.conversion_factor:.4f} ({kind}; {ids[r]})"
                notes[i] = f"{notes[i]}; {said}" if notes[i] else said
    return Plan(rel_line, ids, tabs, yq_codes, notes)


# ---------------------------------------------------------------------------
# stage 2: lookup


@dataclass
class Base:
    """Per-line amounts and indicators looked up from the release's tables."""

    setting: np.ndarray  # 0 non-facility, 1 facility, 2 unknown
    pmod: np.ndarray
    base: np.ndarray
    code_id: np.ndarray
    endo_id: np.ndarray
    base_fee: np.ndarray
    tc_part: np.ndarray
    pc_part: np.ndarray
    pe_amt: np.ndarray
    ind: dict[str, np.ndarray]
    status: np.ndarray
    loc_out: np.ndarray
    loc_cats: list[str]


def _setting(lines: Lines) -> np.ndarray:
    """Facility (1) or non-facility (0) per line from the place of service (2: unknown)."""
    pos_codes, pos_u = lines.pos_codes, lines.pos_uniq  # the distinct POS values, coded per line
    set_u = P.setting_from_pos(np.asarray(pos_u, dtype=object), np.full(len(pos_u), 2024))
    setting = set_u[pos_codes].astype(np.int8)
    ten = (np.asarray(pos_u, dtype=object) == "10")[pos_codes]  # POS 10 is paid at the facility rate before CY2024
    if ten.any():
        year = lines.year
        setting[ten & (year < 2024) & (year >= 0)] = 1
    return setting


def lookup(lines: Lines, plan: Plan) -> Base:
    """Stage: base amount, PPRRVU row, locality and indicators per line (fancy indexing per release).

    Each table is read with one flat index per line (setting x row x locality), the same cells
    as ``amount[setting, row, locality]``; indicators are kept in the table's small integer type.
    """
    n = lines.n
    rb = lines.reasons
    tabs = [t for t in plan.tables if t is not None]
    # every reason this stage gives, registered in the order it gives them: a line's reason text
    # then never depends on the other lines of its chunk (which release is looked up first)
    for code in (*_LOOKUP_REASONS, *(c for t in tabs for c in t.reason_labels if c), pfs_calc.OPPS_CAP.code):
        rb.order(code)
    setting = _setting(lines)
    rb.add(P.BAD_POS.code, setting == 2)
    pmod = pricing_modifier(lines.mods)
    rb.add(P.PCTC_BOTH.code, lines.mods["26"] & lines.mods["TC"])
    f: dict[str, np.ndarray] = {}  # per-line outputs, made on first use (_lookup_release)
    # the indicators and the status, one column each of one block (one gather per line)
    ind_block = np.full((n, len(IND) + 1), -1, dtype=np.result_type(np.int8, *(t.ind_rows.dtype for t in tabs)))
    loc_cats: dict[str, int] = {}
    for r, t in enumerate(plan.tables):  # a handful of releases
        if t is not None:
            _lookup_release(lines, r, t, np.flatnonzero(plan.rel_line == r), setting, pmod, f, ind_block,
                            loc_cats)
    for k, (fill, dtype) in _LOOKUP_FILL.items():  # lines of no release: none set
        if k not in f:
            f[k] = np.full(n, fill, dtype=dtype)
    ind = {k: ind_block[:, j] for j, k in enumerate(IND)}
    status = ind_block[:, len(IND)]  # index into STATUS_LETTERS
    return Base(setting, pmod, f["base"], f["code_id"], f["endo_id"], f["base_fee"], f["tc_part"],
                f["pc_part"], f["pe_amt"], ind, status, f["loc_out"], list(loc_cats))


#: The reasons :func:`lookup` gives before the PPRRVU status/NA reasons of a release's table
#: (then comes the OPPS cap), in the order it gives them.
_LOOKUP_REASONS = (P.BAD_POS.code, P.PCTC_BOTH.code, P.UNKNOWN_CODE.code, P.PCTC_NOT_ALLOWED.code,
                   P.MOD53_BY_REPORT.code, N.LOCALITY_ZIP_CONFLICT.code, P.NO_LOCALITY.code)


def _other_schedule(uniq: np.ndarray, cu: np.ndarray, t: Tables) -> np.ndarray | None:
    """Per distinct code of the chunk: the fee schedule that pays it when not the PFS, as an
    index into :data:`_OTHER` (-1: none or not asked); ``None`` when no code has one.

    Asked only for codes not in the release (*cu* -1) and codes with a row whose status is not
    payable (:data:`_NOTED_STATUS`): one call of :func:`rvucalc.codes.fee_schedule_of` per
    distinct code, never per line.
    """
    ask = np.flatnonzero((cu < 0) | t.noted[cu])  # cu -1 reads the last entry, False
    if not ask.size:
        return None
    out = np.full(len(uniq), -1, dtype=np.int8)
    for j in ask:  # distinct codes, not lines
        fs = C.fee_schedule_of(uniq[j])
        if fs is not None:
            out[j] = _OTHER.index(fs.reason.code)
    return out if (out >= 0).any() else None


def _add_other_schedule(rb: ReasonBits, ol: np.ndarray, known: np.ndarray, rws: np.ndarray, t: Tables,
                        idx: np.ndarray, whole: bool) -> None:
    """Reasons for lines whose code another fee schedule pays, as ``quote`` gives them.

    A code not in the release's PPRRVU file gets that schedule's reason (``NOT_PFS_CLFS`` for
    0001U, ``NOT_PFS_ASP`` for a J code not in the file ...) instead of ``REPRICE_UNKNOWN_CODE``;
    a code in the file whose row's status is not payable (not A, R, T; not anesthesia J) keeps
    its status reason and gets the other schedule's reason too (80047, status X:
    ``PFS_STATUS_X|NOT_PFS_CLFS``), as ``quote`` notes it. Where a code belongs:
    :func:`rvucalc.codes.fee_schedule_of` (HCPCS code-set structure).
    Work: the lines of such codes only (*ol* >= 0).
    """
    sel = np.flatnonzero(ol >= 0)
    if not sel.size:
        return
    status = t.ind_rows[rws[sel], len(IND)]  # row -1: the last row, -1
    hit = ~known[sel] | _NOTED_STATUS[status]
    k = ol[sel]
    at = sel if whole else idx[sel]
    for j in np.unique(k[hit]):  # the few schedules present
        rb.add(_OTHER[int(j)], hit & (k == j), at)


#: What :func:`lookup` gives a line of no release (and its type).
_LOOKUP_FILL: dict[str, tuple[Any, Any]] = {
    **{k: (np.nan, np.float64) for k in ("base", "base_fee", "tc_part", "pc_part", "pe_amt")},
    "code_id": (-1, np.int32), "endo_id": (-1, np.int32), "loc_out": (-1, np.int32)}


def _lookup_release(lines: Lines, r: int, t: Tables, idx: np.ndarray, setting: np.ndarray,
                    pmod: np.ndarray, f: dict[str, np.ndarray], ind_block: np.ndarray,
                    loc_cats: dict[str, int]) -> None:
    """:func:`lookup` for the lines *idx* of release number *r*: fills the output arrays in place.

    Lines without an amount (no row, locality or setting: ``ok`` False) keep NaN amounts and
    locality -1; every line of *idx* gets its row's indicators.
    """
    rb = lines.reasons
    whole = idx.size == lines.n  # one release for every line: no gathers and scatters by idx
    ridx = None if whole else idx  # for rb.add: None is every line

    def sub(a: np.ndarray) -> np.ndarray:
        return a if whole else a[idx]

    def put(name: str, values: np.ndarray) -> None:
        if whole:
            f[name] = values.astype(_LOOKUP_FILL[name][1], copy=False)
        else:
            if name not in f:
                fill, dtype = _LOOKUP_FILL[name]
                f[name] = np.full(lines.n, fill, dtype=dtype)
            f[name][idx] = values

    ix = np.int32 if t.amount.size < 2**31 else np.int64  # flat cell numbers
    cu = t.hcpcs.get_indexer(lines.hcpcs_uniq).astype(ix)  # per distinct code
    other = _other_schedule(lines.hcpcs_uniq, cu, t)
    hc = sub(lines.hcpcs_codes)
    cidx = cu[hc]
    del cu
    known = cidx >= 0
    ol = None if other is None else other[hc]  # per line: index into _OTHER, -1 none
    unknown = ~known & (lines.hcpcs_uniq != "")[hc]  # no code at all: REPRICE_BAD_CODE (normalise)
    del hc
    rb.add(P.UNKNOWN_CODE.code, unknown if ol is None else unknown & (ol < 0), ridx)
    del unknown
    pm = sub(pmod)
    c4 = cidx * 4  # code -1: the last row of rows_x, all -1
    rws = t.rows_x.ravel()[c4 + pm]
    if ol is not None:
        _add_other_schedule(rb, ol, known, rws, t, idx, whole)
        del ol
    no_row = known & (rws < 0)
    rb.add(P.PCTC_NOT_ALLOWED.code, no_row & ((pm == 1) | (pm == 2)), ridx)
    rb.add(P.MOD53_BY_REPORT.code, no_row & (pm == 3), ridx)
    del no_row
    # locality: the ZIP code's, else the locality column's (module doc of normalise)
    li_u = np.array([t.loc_index.get(x, -1) for x in lines.loc_uniq], dtype=ix)  # distinct
    zi_u = np.array([t.zip_dict.get(z, -1) for z in lines.zip_uniq], dtype=ix)  # distinct ZIPs
    zip_codes = sub(lines.zip_codes)
    zl = zi_u[zip_codes]
    ll = li_u[sub(lines.loc_codes)]
    hz = (lines.zip_uniq != "")[zip_codes]
    lc = np.where(hz, zl, ll)
    rb.add(N.LOCALITY_ZIP_CONFLICT.code, hz & (ll >= 0) & (zl >= 0) & (ll != zl), ridx)
    del zl, ll, hz, zip_codes
    rb.add(P.NO_LOCALITY.code, lc < 0, ridx)
    ok = (rws >= 0) & (lc >= 0) & (sub(setting) < 2)
    not_ok = ~ok
    n_rows, n_locs = t.amount.shape[1:]
    s0 = sub(setting).astype(ix) * n_rows  # setting x row 0
    s0[not_ok] = 0  # lines without an amount read cell 0 and are masked after
    sr = s0 + np.maximum(rws, 0)  # setting x row
    lc0 = np.maximum(lc, 0)
    amount = t.amount.reshape(-1)
    base = amount[sr * n_locs + lc0]  # setting x row x locality
    base[not_ok] = np.nan
    put("base", base)
    rid = t.reason_id[sr]
    rid[not_ok] = len(t.reason_labels) - 1  # ""
    rb.add_coded(rid, t.reason_labels, ridx)
    del rid
    rb.add(pfs_calc.OPPS_CAP.code, t.capped.reshape(-1)[sr * n_locs + lc0] & ok, ridx)
    gl = np.array([loc_cats.setdefault(str(x), len(loc_cats)) for x in t.loc_ids], dtype=np.int32)
    put("loc_out", np.where(ok, gl[lc0], -1))
    del lc
    rows8 = t.ind_rows.view(np.uint64).ravel() if t.ind_rows.dtype == ind_block.dtype \
        and t.ind_rows.shape[1] * t.ind_rows.itemsize == 8 else None
    if rows8 is not None and whole:  # eight one-byte indicators: one 8-byte gather per line
        ind_block.view(np.uint64).ravel()[:] = rows8[rws]  # row -1: the last row, all -1
    elif whole:
        ind_block[:] = t.ind_rows[rws]
    else:
        ind_block[idx] = t.ind_rows[rws]
    off = r * 1_000_000
    put("code_id", np.where(known, cidx + off, -1))
    del known, cidx
    eb = t.endo_x[rws]
    put("endo_id", np.where(eb >= 0, eb + off, -1))
    # the base endoscopy's amount (global row), the PC/TC parts, the PE amount
    brow = t.rows_x[eb, 0]  # no base code: the last row, -1
    del eb
    has_b = np.flatnonzero(ok & (brow >= 0))
    bf = np.full(len(ok), np.nan)
    bf[has_b] = amount[(s0[has_b] + brow[has_b]) * n_locs + lc0[has_b]]
    put("base_fee", bf)
    del bf, brow, has_b
    tc_row = t.rows_x.ravel()[c4 + 2]
    pc_row = t.rows_x.ravel()[c4 + 1]
    del c4
    m1, m2 = pm == 1, pm == 2
    split = np.flatnonzero(ok & (pm == 0) & (tc_row >= 0) & (pc_row >= 0))
    pctc = t.ind_rows[rws, IND.index("pctc")]
    pc_only = ~(m1 | m2) & ((pctc == 2) | (pctc == 6) | (pctc == 8))
    pc_only[split] = False
    m1 |= pc_only
    m1 &= ok
    del m2, pc_only, pctc, rws
    # -TC line: all technical; -26 line: all professional; a global line of a code with both
    # component rows: the components' amounts; PC-only codes (indicators 2, 6, 8): all professional
    part = base.copy()
    part[m1] = 0.0
    part[split] = amount[(s0[split] + tc_row[split]) * n_locs + lc0[split]]
    put("tc_part", part)
    part = np.where(m1, base, 0.0)
    part[split] = amount[(s0[split] + pc_row[split]) * n_locs + lc0[split]]
    part[not_ok] = np.nan
    put("pc_part", part)
    del part, m1, tc_row, pc_row
    pe = t.pe.reshape(-1)[sr] * t.pe_gpci[lc0] * t.cf
    pe[not_ok] = np.nan
    put("pe_amt", pe)


# ---------------------------------------------------------------------------
# stage 3: line rules


@dataclass
class LineFactors:
    """The line rules' results. The co-surgery, team and assistant factors depend on the
    modifiers alone, so they are made from *mods* when the money stage asks for them (a chunk
    does not hold them through the claim rules)."""

    pair: np.ndarray
    bilateral: np.ndarray
    units: np.ndarray  # units after the bilateral rule
    mods: Mapping[str, np.ndarray]

    def cosurgery(self) -> np.ndarray:
        return P.cosurgery_factor(self.mods["62"])

    def team(self) -> np.ndarray:
        return P.team_factor(self.mods["66"])

    def assistant(self) -> np.ndarray:
        m = self.mods
        return P.assistant_factor(m["80"] | m["81"] | m["82"], m["AS"])


def line_rules(lines: Lines, b: Base) -> LineFactors:
    """Stage: modifiers on each line (policy.bilateral, cosurgery, team, assistant).

    RT/LT pairs need the claim (chunk contract) but only to pair two lines of one code, so they
    are found here with the bilateral rule they feed.
    """
    rb = lines.reasons
    m = lines.mods
    eligible = ~rb.any_of(refusing_codes())
    pair = P.rt_lt_pairs(lines.group_ids(), b.code_id, b.ind["bilat_surg"], m["RT"], m["LT"],
                         eligible & ~m["50"] & (lines.units == 1))
    bil, units_mult, bflags = P.bilateral(b.ind["bilat_surg"], m["50"], lines.units, pair)
    cflags = P.cosurgery_flags(b.ind["co_surg"], m["62"])  # the factors: LineFactors
    tflags = P.team_flags(b.ind["team_surg"], m["66"])
    aflags = P.assistant_flags(b.ind["asst_surg"], m["80"] | m["81"] | m["82"], m["AS"])
    for fl in (bflags, cflags, tflags, aflags):
        for c, mk in fl.items():
            rb.add(c, mk)
    return LineFactors(pair, bil, units_mult, m)


# ---------------------------------------------------------------------------
# stage 4: claim rules


#: The PPRRVU indicators :func:`claim_rules` reads.
CLAIM_INDICATORS = ("mult_proc", "imaging_family")


@dataclass
class ClaimFactors:
    bundled: np.ndarray  # factor 0/1
    mult_proc: np.ndarray
    rank: np.ndarray


def claim_rules(lines: Lines, b: Base, lf: LineFactors) -> ClaimFactors:
    """Stage: rules over all lines of a claim and date (the chunk contract guarantees them).

    Status T bundling (RVU documentation, Attachment A, status T), then the multiple-procedure
    rules by indicator (policy.surgery_mppr, diagnostic_mppr, therapy_mppr).

    Reads the indicators in :data:`CLAIM_INDICATORS`. The arrays of *b* that only these rules
    read are used up: ``tc_part``, ``pc_part`` and ``pe_amt`` are multiplied by the bilateral
    factor in place ("apply the bilateral adjustment before applying any multiple procedure
    rules").
    """
    n = lines.n
    rb = lines.reasons
    m = lines.mods
    group = lines.group_ids()  # the claim-and-date groups as small integers
    payable = ~rb.any_of(refusing_codes()) & ~np.isnan(b.base)
    is_t = b.status == STATUS_LETTERS.index("T")
    bundled = P.status_t_bundled(group, payable & is_t, payable & ~is_t)
    rb.add(P.STATUS_T.code, bundled)
    elig = payable & ~bundled
    # the surgeon's and the assistant's lines are ranked apart
    group_role = group * 2 + (m["80"] | m["81"] | m["82"] | m["AS"])
    # one procedure on several lines: an RT/LT pair, or the -26 and -TC lines of one code
    # (PC/TC indicator 1: "the global equals the professional plus the technical component")
    ent = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    joint = lf.pair | (elig & ((b.pmod == 1) | (b.pmod == 2)))
    if joint.any():
        pi = np.flatnonzero(joint)
        ids, k = G.dense_ids(group[pi], b.code_id[pi], lf.pair[pi])
        first = np.empty(k, dtype=ent.dtype)  # the lowest line of each (numbered in line order)
        head = G.first_of_id(ids)
        first[ids[head]] = pi[head]
        ent[pi] = first[ids]
    fee1 = b.base * lf.bilateral  # one unit, after the bilateral adjustment
    for part in (b.tc_part, b.pc_part, b.pe_amt):  # the same, in place (only these rules read them)
        np.multiply(part, lf.bilateral, out=part)
    s_f, s_rank, sflags = P.surgery_mppr(group_role, b.ind["mult_proc"], fee1, lf.units, b.code_id,
                                         b.endo_id, b.base_fee, ent, elig)
    del ent
    d_f, d_rank, dflags = P.diagnostic_mppr(group_role, b.ind["mult_proc"], b.ind["imaging_family"],
                                            fee1, b.tc_part, b.pc_part, lf.units, elig)
    del group_role
    t_f, tflags = P.therapy_mppr(group, b.ind["mult_proc"], fee1, b.pe_amt, lf.units, elig)
    for fl in (sflags, dflags, tflags):
        for c, mk in fl.items():
            rb.add(c, mk)
    s_f *= d_f  # the three factors multiplied (surgery x diagnostic x therapy), in place
    s_f *= t_f
    np.copyto(s_rank, d_rank, where=s_rank < 0)
    s_rank += 1
    return ClaimFactors(np.where(bundled, 0.0, 1.0), s_f, s_rank)


# ---------------------------------------------------------------------------
# stage 5: money


def money(lines: Lines, b: Base, lf: LineFactors, cf: ClaimFactors, sequestration: bool) -> dict[str, Any]:
    """Stage: the dollar amounts, each rounded to cents half up once (see the module docstring).

    Non-participating: 95% (SSA s.1848(a)(3)); limiting charge 115% of that (policy); allowed:
    the lower of the charge and the fee schedule amount (42 CFR 414.20); Medicare pays 80% of
    the allowed amount (standard coinsurance, no deductible), less 2% sequestration when asked.
    """
    rb = lines.reasons
    part = lines.participating
    rb.order(N.BAD_PARTICIPATING.code)  # in a fixed place among the codes, whatever the chunk holds
    rb.add(N.BAD_PARTICIPATING.code, lines.bad_participating)
    refusing = refusing_codes()
    payable0 = ~rb.any_of(refusing) & ~np.isnan(b.base)
    nonpar_f = np.where(part, 1.0, P.NONPAR_FACTOR)
    rb.add(P.NONPAR.code, ~part & payable0)
    del payable0
    co_f, as_f, tm_f = lf.cosurgery(), lf.assistant(), lf.team()
    # the products and roundings below work in place (each amount is one array, no temporaries)
    par_amt = b.base * lf.units
    for f in (lf.bilateral, cf.mult_proc, co_f, as_f, tm_f, cf.bundled):
        par_amt *= f
    raw = par_amt * nonpar_f
    payable = ~rb.any_of(refusing) & ~np.isnan(raw)
    unpaid = ~payable
    raw[unpaid] = np.nan
    fee_amt = round_cents(raw, out=np.empty_like(raw))
    par_amt *= P.LIMITING_FACTOR
    par_amt[unpaid] = np.nan
    limiting = round_cents(par_amt, out=par_amt)
    allowed, lower = P.lower_of_charge(raw, lines.charge)
    del raw
    rb.add(P.CHARGE_LOWER.code, lower)
    round_cents(allowed, out=allowed)
    program = allowed * (1.0 - P.COINSURANCE)
    if sequestration:
        seq = round_cents(program * P.SEQUESTRATION_RATE, out=np.empty_like(program))
        program -= np.nan_to_num(seq)
    else:
        seq = np.where(payable, 0.0, np.nan)
    medicare = round_cents(program, out=program)
    medicare[unpaid] = np.nan
    units_f = np.where(lines.bad_units, np.nan, lf.units) if lines.bad_units.any() else lf.units
    return {"units_factor": units_f, "nonpar_factor": nonpar_f,
            "fee_schedule_amount": fee_amt, "limiting_charge": limiting, "charge_limited": lower,
            "allowed": allowed, "sequestration": seq, "medicare_payment": medicare, "payable": payable,
            "cosurgery_factor": co_f, "assistant_factor": as_f, "team_factor": tm_f}


# ---------------------------------------------------------------------------


#: :func:`price` reads the chunk's ``state`` and ``rural`` columns (DMEPOS lines, :mod:`.fees`).
WANTS_CHUNK = True


def price(lines: Lines, opts: Any, schedules: Mapping[str, Any] | None,
          chunk: pd.DataFrame | None = None) -> dict[str, Any]:
    """All PFS stages over one normalised chunk; returns :data:`OUTPUT_COLUMNS` arrays.

    Lines of a code another fee schedule pays (lab, drug, DME) are priced on that schedule by
    :mod:`rvucalc.claims.fees` (captured after the lookup, written after the money stage)."""
    plan = choose_releases(lines, opts, schedules)
    b = lookup(lines, plan)
    captured = fees.capture(lines, chunk, plan.rel_line)
    # what only the release choice and the lookup read is let go (a million lines: 30 MB)
    lines = lines.after_lookup()
    lf = line_rules(lines, b)
    # the claim rules read two indicators: the block of all of them goes (a million lines: 6 MB)
    b = dataclasses.replace(b, ind={k: b.ind[k].copy() for k in CLAIM_INDICATORS}, status=b.status.copy())
    cf = claim_rules(lines, b, lf)
    # what only the claim rules read is let go before the money stage (a million lines: 48 MB)
    none = np.zeros(0)
    b = dataclasses.replace(b, code_id=none, endo_id=none, base_fee=none, tc_part=none, pc_part=none,
                            pe_amt=none, ind={})
    cols = money(lines, b, lf, cf, opts.sequestration)
    n = lines.n
    cols.update({
        "release": categorical(plan.rel_line, plan.ids),
        "release_note": categorical(plan.yq_codes if n else plan.rel_line, plan.notes),
        "locality_id": categorical(b.loc_out, b.loc_cats),
        "setting": categorical(b.setting, ["nonfacility", "facility", ""]),
        "pricing_modifier": categorical(b.pmod, list(PRICING_MODIFIERS)),
        "status": categorical(b.status, STATUS_LETTERS), "base_amount": b.base,
        "bilateral_factor": lf.bilateral, "mult_proc_factor": cf.mult_proc, "mult_proc_rank": cf.rank,
        "bundled_factor": cf.bundled, "reason": lines.reasons.categorical(),
    })

    def pfs_schedule(rid: str) -> Any:
        return schedules[rid] if schedules and rid in schedules else schedule(rid, opts.mirror)

    fees.apply(captured, cols, lines.reasons, opts, plan.ids, pfs_schedule)
    return cols


__all__ = ["OUTPUT_COLUMNS", "OUTPUT_KINDS", "ReasonBits", "choose_for_quarter", "choose_releases", "claim_rules",
           "line_rules", "lookup", "money", "price", "refusing_codes", "tables"]
