"""The edit stage of the claims pipeline: duplicate lines, NCCI PTP edits and MUEs.

Run by :func:`rvucalc.claims.pipeline.price_chunk` for every system and engine, on the
normalised lines, before any payment rule::

    read -> normalise -> EDITS -> release -> lookup -> line rules -> claim rules -> money -> write

The rules are :mod:`rvucalc.calc.edits` (each with its CMS source). A denied line keeps its place,
is priced at no amount and says why: ``EDIT_DUPLICATE``, ``EDIT_NCCI_PTP`` or ``EDIT_MUE`` in
``reason``, and in the column :data:`COLUMN` the column one code or the MUE value and units.
The systems treat those codes as refusing a line (so a denied line is neither ranked by the
multiple-procedure rules nor packaged into), and the edits are applied in CMS's order of
comparison: duplicates, then PTP edits among the lines left, then MUEs among the lines left.

Which files: the PTP edits and MUEs of the date of service's quarter (catalogue systems
``ncci_ptp`` and ``ncci_mue``): practitioner edits for physician (``pfs``) and ASC claims, hospital
outpatient PTP edits and outpatient hospital MUEs for OPPS (``hopd``) claims. Another quarter's
file is never used in their place. Where a quarter's file is not at hand (the mirror, the cache,
or a download when online) its edits are not applied to that quarter's lines, and the run says
so once (the summary line of ``rvucalc reprice`` and the workbook notes), naming the release to
fetch. Duplicate lines need no file: with edits on they are always checked.

``edits=False`` (API) / ``--no-edits`` (CLI) turns the stage off: the output is then exactly
what it was before edits existed (no :data:`COLUMN`).

What a chunk's edits did is kept in the priced frame's ``attrs["rvucalc.edits"]`` (plain data:
``status`` rows ``(state, text, lines)`` with state ``ran``, ``missing`` or ``off``), which
:class:`~rvucalc.claims.tally.LineTally` adds up over chunks, and in ``attrs["rvucalc.notes"]``
(sentences for the workbook). The dollars the edits removed are worked out where a run's summary
is made (:func:`removed_rows`, called by a tally given a re-pricer, as ``rvucalc reprice`` gives
it), so a call that reads no summary does not pay for pricing claims twice.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import catalogue
from ..calc import edits as E
from ..calc import groups as G
from ..catalogue import Release
from ..errors import MissingFileError, RvucalcError
from .contract import LINE
from .lines import categorical

#: The column the stage adds (the last of rvucalc's columns) when edits are on.
COLUMN = "edit_note"
#: The edits' reason codes, each refusing the line it is on (:data:`rvucalc.calc.edits.DENYING`).
DENYING = E.DENYING
#: system -> (PTP edit setting, MUE setting). ASCs bill on the practitioner claim and are edited
#: with the practitioner tables; OPPS claims with the hospital outpatient ones.
SETTINGS: dict[str, tuple[str, str]] = {"pfs": ("practitioner", "practitioner"),
                                        "asc": ("practitioner", "practitioner"),
                                        "hopd": ("hospital", "outpatient_hospital"),
                                        "dme": ("", "dme")}
#: The money column whose change the summary reports, by preference.
MONEY = ("allowed", "facility_payment")
#: The input columns any system prices from (the others are carried through untouched).
PRICED_FROM = frozenset({"claim_id", "hcpcs", "modifiers", "units", "pos", "zip", "locality", "date_of_service",
                         "charge", "participating", "wage_index", "ccn", "cbsa", "county_fips", LINE})

_KIND = {"ptp": "NCCI PTP edits", "mue": "MUEs"}


def enabled(opts: Any) -> bool:
    """Edits are on unless the options say ``edits=False``."""
    return bool(opts.get("edits", True)) if hasattr(opts, "get") else True


def option(edits: bool) -> dict[str, Any]:
    """Keyword arguments for :func:`rvucalc.claims.pipeline.options`: none when edits are on (the
    default, so default options stay what they were), ``edits=False`` otherwise."""
    return {} if edits else {"edits": False}


def off(opts: Any) -> Any:
    """*opts* with edits off."""
    extra = {**dict(opts.extra), "edits": False}
    return dataclasses.replace(opts, extra=tuple(sorted(extra.items())))


# ---------------------------------------------------------------------------------------------
# tables: one per release, built once per process


@dataclass(frozen=True)
class MueTable:
    """A quarter's MUEs for one setting: per code (``codes``), the MUE value and MAI."""

    codes: pd.Index
    mue: np.ndarray  # float64
    mai: np.ndarray  # int8


_TABLES: dict[tuple[str, str | None], Any] = {}
_FAILED: dict[tuple[str, str | None], tuple[str, bool]] = {}
_SOURCES: dict[tuple[str, str | None], list[Any]] = {}
#: Held while a table is loaded, so threads pricing parts at once load each release once.
_LOAD = threading.RLock()


def clear_cache() -> None:
    """Forget every loaded edit table and failure of this process."""
    with _LOAD:
        _TABLES.clear()
        _FAILED.clear()
        _SOURCES.clear()


def release_for(kind: str, setting: str, year: int, quarter: int) -> Release | None:
    """The catalogued release of *kind* (``"ptp"`` or ``"mue"``) for *setting* and the quarter
    (the newest, if CMS re-issued it), or ``None``."""
    rels = [r for r in catalogue.releases(f"ncci_{kind}")
            if r.extra.get("setting") == setting and r.year == year and r.quarter == quarter]
    return max(rels, key=lambda r: r.order) if rels else None


def _quarter_days(year: int, quarter: int) -> tuple[int, int]:
    first = pd.Timestamp(year=year, month=3 * quarter - 2, day=1)
    last = first + pd.offsets.QuarterEnd(0)
    epoch = pd.Timestamp("1970-01-01")
    return (first - epoch).days, (last - epoch).days


def _days(values: pd.Series) -> np.ndarray:
    """Dates as days since 1970-01-01 (-1 for NaT)."""
    d = values.to_numpy(dtype="datetime64[D]")
    out = d.astype(np.int64)
    out[np.isnat(d)] = -1
    return out


def table(kind: str, release: Release, mirror: str | None) -> Any:
    """The prepared table of an NCCI release (:class:`~rvucalc.calc.edits.PtpTable` or
    :class:`MueTable`), loaded once per process; raises :class:`~rvucalc.errors.RvucalcError`
    (remembered, so a failed download is not retried for every chunk)."""
    key = (release.id, mirror)
    got = _TABLES.get(key)
    if got is not None:
        return got
    with _LOAD:
        if key in _FAILED:
            why, missing = _FAILED[key]
            raise (MissingFileError if missing else RvucalcError)(why)
        got = _TABLES.get(key)
        if got is None:
            try:
                got, sources = _load(kind, release, mirror)
            except MissingFileError as exc:
                _FAILED[key] = (str(exc), True)
                raise
            except RvucalcError as exc:
                _FAILED[key] = (str(exc), False)
                raise
            _TABLES[key] = got
            _SOURCES[key] = sources
        return got


def _load(kind: str, release: Release, mirror: str | None) -> tuple[Any, list[Any]]:
    from ..fetch import locate, offline
    from ..iotools.ncci import read_mue, read_ptp
    from ..loading import read_cached, source_of

    locs = [locate(release, t, mirror=mirror, download=not offline(), progress=False) for t in release.files]
    sources = [source_of(loc) for loc in locs]
    if kind == "mue":
        df = read_cached(locs[0], read_mue)
        return MueTable(pd.Index(df["hcpcs"].astype(str).to_numpy(dtype=object)),
                        df["mue"].to_numpy(dtype=float), df["mai"].to_numpy(dtype=np.int8)), sources
    parts = [read_cached(loc, read_ptp) for loc in locs]
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    window = _quarter_days(release.year, int(release.quarter or 1))
    t = E.ptp_table(df["column_one"].to_numpy(dtype=object), df["column_two"].to_numpy(dtype=object),
                    _days(df["effective"]), _days(df["deletion"]),
                    df["modifier_indicator"].to_numpy(dtype=np.int64), window=window)
    return t, sources


# ---------------------------------------------------------------------------------------------
# the stage


class _Modifiers:
    """What the edits read of each line's modifiers, worked out per distinct modifier list (of the
    HCPCS cell and of the ``modifiers`` column) and spread to the lines asked about: a repeat
    modifier (76, 77, 91), an NCCI-associated modifier that applies to any code, one that applies
    to an E&M code only (24, 25, 27, 57), and an id of the line's set of modifiers (both places
    together; 0: none)."""

    def __init__(self, modifier_lists: Any) -> None:
        self.canon: dict[tuple[str, ...], int] = {(): 0}
        self.cols: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        general = E.NCCI_MODIFIERS - E.EM_MODIFIERS
        for codes, lists in modifier_lists:  # the HCPCS cell, the modifiers column
            t = np.zeros((len(lists), 3), dtype=bool)
            cid = np.zeros(len(lists), dtype=np.int64)
            for i, mods in enumerate(lists):  # distinct modifier lists, not lines
                if not mods:
                    continue
                m = set(mods)
                t[i] = (bool(m & E.REPEAT_MODIFIERS), bool(m & general), bool(m & E.EM_MODIFIERS))
                cid[i] = self.canon.setdefault(tuple(sorted(m)), len(self.canon))
            self.cols.append((codes, t, cid))

    def flag(self, j: int, idx: np.ndarray) -> np.ndarray:
        out = np.zeros(len(idx), dtype=bool)
        for codes, t, _ in self.cols:
            out |= t[codes[idx], j]
        return out

    def modset(self, idx: np.ndarray) -> np.ndarray:
        ids = [cid[codes[idx]] for codes, _, cid in self.cols]
        if not ids:
            return np.zeros(len(idx), dtype=np.int64)
        out = ids[0]
        for other in ids[1:]:
            both = np.flatnonzero((out != 0) & (other != 0))
            merged_from = out[both]
            out = np.where(out == 0, other, out)
            if both.size:  # modifiers in both places: the set of the two (distinct pairs, a few)
                rev = list(self.canon)
                k = len(rev) + 1
                up, inv = np.unique(merged_from * k + other[both], return_inverse=True)
                merged = np.array([self.canon.setdefault(tuple(sorted(set(rev[p // k]) | set(rev[p % k]))),
                                                         len(self.canon)) for p in up.tolist()], dtype=np.int64)
                out[both] = merged[inv]
        return out


def _place(codes: tuple[np.ndarray, ...], uniq: tuple[np.ndarray, ...], idx: np.ndarray) -> np.ndarray:
    """Per line of *idx*, an id of its place of service: the POS code, ZIP code and locality, as
    normalised (``2`` and ``02`` are one POS; ZIP+4 is its ZIP)."""
    out = np.zeros(len(idx), dtype=np.int64)
    for c, u in zip(codes, uniq):
        ids, d = pd.factorize(np.asarray(u, dtype=object))  # distinct values; the last: missing
        out = out * (len(d) + 1) + ids.astype(np.int64)[c[idx]]
    return out


class Stage:
    """The edits of one chunk: attached to its normalised lines (:meth:`attach`, which keeps the
    few arrays the edits read, never the parsed lines themselves), worked out when the pricing
    first reads the lines' reasons (so the claim ids hash on the helper thread while the release
    and lookup stages run), then read back (:meth:`note`, :func:`finish`)."""

    def __init__(self, opts: Any) -> None:
        self.opts = opts
        self.system = str(getattr(opts, "system", "pfs"))
        self.mirror = getattr(opts, "mirror", None)
        self._inputs: dict[str, Any] | None = None
        self.done = False
        self.n = 0
        self.masks: dict[str, np.ndarray] = {}
        self.note_codes = np.zeros(0, dtype=np.int32)
        self.note_labels: list[str] = []
        self.status: list[tuple[str, str, int]] = []
        self.sources: list[Any] = []
        self.denied = np.zeros(0, dtype=bool)

    def attach(self, lines: Any) -> Any:
        """Keep what the edits read of *lines* and register the edits' reasons (added when the
        reasons are first read); returns *lines*."""
        self.n = lines.n
        self._inputs = {"code": lines.hcpcs_codes, "uniq": lines.hcpcs_uniq, "date_codes": lines.date_codes,
                        "day_of": lines.date_table[0], "keys": lines.keys, "units": lines.units,
                        "bad_units": lines.bad_units, "mods": _Modifiers(lines.modifier_lists),
                        "place": ((lines.pos_codes, lines.zip_codes, lines.loc_codes),
                                  (lines.pos_uniq, lines.zip_uniq, lines.loc_uniq)),
                        "yq": lines.year_quarters()}
        for code in (E.EDIT_DUPLICATE.code, E.EDIT_NCCI_PTP.code, E.EDIT_MUE.code):
            lines.reasons.later(code, functools.partial(self._mask, code))
        return lines

    def _mask(self, code: str) -> np.ndarray:
        self.run()
        return self.masks.pop(code, np.zeros(self.n, dtype=bool))

    def note(self) -> pd.Categorical:
        """The :data:`COLUMN` values (``""`` where no edit denied the line)."""
        self.run()
        return categorical(self.note_codes, self.note_labels)

    # -- the edits -------------------------------------------------------------------------------

    def run(self) -> None:
        """Work out the edits (once); lets go of what :meth:`attach` kept."""
        if self.done:
            return
        self.done = True
        x, self._inputs = self._inputs, None
        n = self.n
        self.note_codes = np.full(n, -1, dtype=np.int32)
        self.denied = np.zeros(n, dtype=bool)
        if x is None or not n:
            return
        code = x["code"]
        uniq = np.asarray(x["uniq"], dtype=object)
        day = x["day_of"][x["date_codes"]]
        units = x["units"]
        eligible = ~((uniq == "")[code] | (day < 0) | x["bad_units"])
        keys = x["keys"]
        claim = (keys.result() if isinstance(keys, Future) else keys)[0]
        mods: _Modifiers = x["mods"]
        blocks = E.claim_blocks(claim, eligible)
        same = E.same_key(blocks, day, code)
        idx = same.lines
        dup = E.duplicate_lines(same, mods.modset(idx), _place(*x["place"], idx), mods.flag(0, idx), n)
        self.status.append(("ran", "duplicate lines", int(eligible.sum())))
        el = eligible & ~dup
        yq_codes, yq_uniq = x["yq"]
        del x
        ptp_setting, mue_setting = SETTINGS.get(self.system, ("", ""))

        def bypass(pos: np.ndarray) -> np.ndarray:  # asked only for lines an edit with indicator 1 hits
            c = code[pos]
            uc, inv = np.unique(c, return_inverse=True)
            return mods.flag(1, pos) | (mods.flag(2, pos) & E.is_em_code(uniq[uc])[inv])

        quarters = [(j, int(v)) for j, v in enumerate(np.asarray(yq_uniq).tolist()) if v >= 0]

        def of(j: int, mask: np.ndarray) -> np.ndarray:
            return mask & (yq_codes == j) if len(quarters) > 1 else mask

        ptp = np.zeros(n, dtype=bool)
        col1_line = np.full(n, -1, dtype=np.int64)
        for j, v in quarters:  # distinct quarters of the chunk
            mine = of(j, el)
            t = self._table("ptp", ptp_setting, v, int(np.count_nonzero(mine)))
            if t is None:
                continue
            cid = t.codes.get_indexer(uniq).astype(np.int32)[code]
            d, c1 = E.ptp_denials(blocks.subset(mine & (cid >= 0)), day, cid, bypass, t, n)
            ptp |= d
            col1_line[d] = c1[d]
        el &= ~ptp
        mue_d = np.zeros(n, dtype=bool)
        mue_notes: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for j, v in quarters:
            mine = of(j, el)
            t = self._table("mue", mue_setting, v, int(np.count_nonzero(mine)))
            if t is None:
                continue
            at = t.codes.get_indexer(uniq)
            mv = np.where(at >= 0, t.mue[at], np.nan)[code]
            ma = np.where(at >= 0, t.mai[at], 0).astype(np.int8)[code]
            d, got = E.mue_denials(units, mv, ma, mine, same)
            mue_d |= d
            w = np.flatnonzero(d)
            mue_notes.append((w, ma[w], mv[w], got[w]))
        self.masks = {E.EDIT_DUPLICATE.code: dup, E.EDIT_NCCI_PTP.code: ptp, E.EDIT_MUE.code: mue_d}
        self._notes(dup, ptp, col1_line, uniq, code, mue_notes)
        self.denied = dup | ptp | mue_d

    def _notes(self, dup: np.ndarray, ptp: np.ndarray, col1_line: np.ndarray, uniq: np.ndarray,
               code: np.ndarray, mue_notes: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        labels: list[str] = []
        codes = self.note_codes
        if dup.any():
            codes[dup] = len(labels)
            labels.append("duplicate of an earlier line of the claim (same code, modifiers, date and place "
                          "of service)")
        idx = np.flatnonzero(ptp)
        if idx.size:
            k, u = pd.factorize(code[col1_line[idx]])
            codes[idx] = len(labels) + k
            labels += [f"NCCI PTP edit: column two code of {c} on the same date of service" for c in uniq[u]]
        for w, mai_w, mue_w, got_w in mue_notes:  # a quarter's MUE denials
            if not w.size:
                continue
            combined = np.zeros(len(w), dtype=np.int64)
            for part in (mai_w, mue_w, got_w):
                ids, u = pd.factorize(part)
                combined = combined * (len(u) + 1) + ids
            k = pd.factorize(combined)[0]
            first = np.flatnonzero(G.first_of_id(k))  # each combination's first line
            codes[w] = len(labels) + k
            for mai, mue, got in zip(mai_w[first].tolist(), mue_w[first].tolist(), got_w[first].tolist()):
                per = "per line (MAI 1)" if mai == E.MAI_LINE else f"per date of service (MAI {mai})"
                on = "on the line" if mai == E.MAI_LINE else "on that date"
                labels.append(f"MUE {mue:g} unit{'s' if mue != 1 else ''} {per}; {got:g} billed {on}")
        self.note_labels = labels

    def _table(self, kind: str, setting: str, yq: int, lines: int) -> Any:
        """The table of *kind* for the quarter ``yq`` (year x 10 + quarter), recording in
        :attr:`status` whether it ran or why not; ``None`` when it cannot be had."""
        if not lines:
            return None
        year, q = divmod(yq, 10)
        what = f"{_KIND[kind]} ({setting or 'none for ' + self.system}) for {year} Q{q}"
        if not setting:
            self.status.append(("missing", f"{what}: CMS publishes none for {self.system} claims", lines))
            return None
        rel = release_for(kind, setting, year, q)
        if rel is None:
            page = _page(kind)
            self.status.append(("missing", f"{what}: no such release in rvucalc's catalogue; get CMS's file "
                                           f"from {page} into a folder named by RVUCALC_MIRROR", lines))
            return None
        try:
            t = table(kind, rel, self.mirror)
        except MissingFileError:
            self.status.append(("missing", f"{what}: {rel.id} is not at hand; {_how(rel)}", lines))
            return None
        except RvucalcError as exc:
            why = str(exc).split("; ")[0]
            self.status.append(("missing", f"{what}: {rel.id} could not be used ({why[:200]}); {_how(rel)}",
                                lines))
            return None
        self.status.append(("ran", f"{_KIND[kind]} {rel.id}", lines))
        self.sources.extend(_SOURCES.get((rel.id, self.mirror), []))
        return t


def _page(kind: str) -> str:
    rels = catalogue.releases(f"ncci_{kind}")
    return next((r.page for r in rels if r.page), "the CMS NCCI pages")


def _how(rel: Release) -> str:
    if rel.url or any(f.url for f in rel.files.values()):
        return f"fetch it with `rvucalc fetch {rel.id}` (or put its files in RVUCALC_MIRROR)"
    return f"get its files from {rel.page or 'the CMS NCCI pages'} into a folder named by RVUCALC_MIRROR"


# ---------------------------------------------------------------------------------------------
# the pipeline's two calls


def stage(opts: Any) -> Stage | None:
    """A stage for one chunk, or ``None`` when edits are off."""
    return Stage(opts) if enabled(opts) else None


def attach(st: Stage | None, lines: Any) -> Any:
    """*lines*, with the edits registered when *st* is a stage."""
    return lines if st is None else st.attach(lines)


def columns(st: Stage | None) -> tuple[str, ...]:
    """The columns the stage adds."""
    return () if st is None else (COLUMN,)


def _cents(values: Any) -> int:
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return int(np.rint(np.nan_to_num(x) * 100).sum())


def _refused_otherwise(out: pd.DataFrame, system: str) -> np.ndarray | None:
    """Per line of a priced physician chunk: its reasons hold a refusing code besides the edits'
    (the lookup runs for every line, so a denied line still says if its code is unknown, not
    payable...). ``None`` for the facility systems, whose lookup skips refused lines."""
    if system != "pfs" or "reason" not in out.columns:
        return None
    from .pfs import refusing_codes

    others = refusing_codes() - DENYING
    r = out["reason"]
    codes, uniq = (r.cat.codes.to_numpy(), list(r.cat.categories)) if isinstance(r.dtype, pd.CategoricalDtype) \
        else pd.factorize(r.astype(str))
    hit = np.array([bool(others.intersection(str(t).split("|"))) for t in uniq] + [False])  # distinct texts
    return hit[np.asarray(codes)]


def finish(st: Stage | None, out: pd.DataFrame) -> pd.DataFrame:
    """Record what the edits did in ``out.attrs`` (see the module docstring) and return *out*."""
    if st is None:
        out.attrs["rvucalc.edits"] = {"status": [["off", "claim edits off (edits=False, --no-edits)", len(out)]]}
        return out
    st.run()
    out.attrs["rvucalc.edits"] = {"status": [[s, t, int(k)] for s, t, k in st.status]}
    notes = list(out.attrs.get("rvucalc.notes") or [])
    notes += [f"Claim edits not applied: {t} ({k:,} line{'s' if k != 1 else ''})."
              for s, t, k in st.status if s == "missing"]
    ran = [t for s, t, _ in st.status if s == "ran"]
    if ran:
        notes.append("Claim edits applied before pricing: " + "; ".join(dict.fromkeys(ran)) + ".")
    out.attrs["rvucalc.notes"] = notes
    if st.sources:
        from ..export.provenance import provenance_of

        out.attrs["rvucalc.provenance"] = provenance_of(out.attrs.get("rvucalc.provenance"), *st.sources)
    return out


def summary_rows(attrs: Mapping[str, Any]) -> list[tuple[str, str, int, int]]:
    """Rows for :class:`~rvucalc.claims.tally.LineTally`'s count table from a priced chunk's
    ``attrs["rvucalc.edits"]``: ``("edit_<state>", text, lines, -1)``."""
    info = attrs.get("rvucalc.edits")
    if not info:
        return []
    return [(f"edit_{s}", str(t), int(k), -1) for s, t, k in info.get("status", [])]


def removed_rows(priced: pd.DataFrame, price_off: Callable[[pd.DataFrame], pd.DataFrame]
                 ) -> list[tuple[str, str, int, int]]:
    """The dollars the edits removed from a priced chunk, as a row for
    :class:`~rvucalc.claims.tally.LineTally`: ``("edit_removed", money column, cents, -1)``.

    The claims with a line the edits denied are priced again without edits (*price_off*, e.g.
    :func:`rvucalc.claims.pipeline.price_chunk` with :func:`off` options, from the priced
    columns the chunk was given); the money column's total without edits less the total with them
    is what the edits removed. A claim whose denied lines pricing refuses for another reason too
    is left out (without the edits they are not paid either, nor take part in the claim's rules).
    Done where the run's summary is made, so a caller that reads no summary does not pay for it.
    """
    info = priced.attrs.get("rvucalc.edits") or {}
    status = info.get("status") or []
    if not status or any(s == "off" for s, _, _ in status) or isinstance(priced.columns, pd.MultiIndex):
        return []
    money = next((c for c in MONEY if c in priced.columns), None)
    if money is None or COLUMN not in priced.columns or not len(priced):
        return []
    note = priced[COLUMN]
    if isinstance(note.dtype, pd.CategoricalDtype):  # as pricing makes it: a note per distinct text
        codes = note.cat.codes.to_numpy()
        said = np.array([str(c) != "" for c in note.cat.categories] + [False])
        denied = said[codes]
    else:
        denied = note.fillna("").astype(str).to_numpy() != ""
    other = _refused_otherwise(priced, "pfs" if money == "allowed" else "facility")
    live = denied if other is None else denied & ~other
    if not live.any():
        return [("edit_removed", money, 0, -1)]
    from .contract import claim_keys

    line = priced[LINE].to_numpy(dtype=np.int64) if LINE in priced.columns else np.arange(len(priced), dtype=np.int64)
    from . import columns as K

    mapping = K.of(priced)  # the user's headers of the columns priced from
    k, m = G.positions(claim_keys(priced[K.header(mapping, "claim_id")], line)[0])
    rows = np.flatnonzero(np.bincount(k, weights=live, minlength=m)[k] > 0)
    read = set(mapping.values()) | {LINE}
    cols = [c for c in priced.columns if c in read]  # the columns priced from, not rvucalc's
    again = price_off(priced[cols].iloc[rows])
    return [("edit_removed", money, _cents(again[money]) - _cents(priced[money].iloc[rows]), -1)]


__all__ = ["COLUMN", "DENYING", "MueTable", "SETTINGS", "Stage", "attach", "clear_cache", "columns",
           "enabled", "finish", "off", "option", "release_for", "removed_rows", "stage", "summary_rows", "table"]
