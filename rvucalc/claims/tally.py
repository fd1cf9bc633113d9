"""The summary line of ``rvucalc reprice``: lines priced, payable, and why the others are not.

``"17 lines priced: 11 payable, 6 not payable (REPRICE_BAD_UNITS 2, ..., and 1 more line for
other reasons)"``, the same from every engine. :class:`LineTally` counts priced lines a chunk at a
time (:meth:`LineTally.count`, a small table per chunk, vectorised; it runs where the chunk is
priced: a streaming thread or a Dask worker) and adds the tables up (:meth:`LineTally.add`), so a
file of any length is summarised without being read again.

How the lines are counted:

- **payable**: the ``payable`` column.
- **not payable, by reason**: each line that is not payable is counted once, under its refusing
  reason: the first code of its ``reason`` that refuses a line. For physician claims the refusing
  codes are :func:`rvucalc.claims.pfs.refusing_codes` (every other code is informational, e.g.
  ``REPRICE_RELEASE_FALLBACK``, ``MOD_NOT_PRICED``); for OPPS and ASC claims every code but the
  informational ones of :data:`FACILITY_INFORMATIONAL` (``FACILITY_LINE_NOT_PRICED`` counts only
  when it is the line's one reason: it says "see the other reasons"; a line refused for want of a
  wage index is counted under the code that says why it has none, :data:`WAGE_INDEX_CAUSES`, which
  are otherwise notes). So the counts add up to the
  lines not payable; a line not payable with no refusing code is counted as ``no reason stated``.
- **notes**: lines (payable or not) priced with another release than the newest of their quarter
  (:data:`NOTE_CODES`), shown apart: a note, not a refusal; and every ``release_note`` text of
  the lines (payable or not; each quarter priced with another release, or with none), in the
  order of their first lines, each with its lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..iotools.wage_index import _HARD as _WI_HARD
from ..iotools.wage_index import SOFT as _WI_SOFT
from ..sites import ZIP_CODES as _ZIP_CODES
from .asc import INFORMATIONAL_REASONS as _ASC_INFO
from .contract import LINE
from .edits import DENYING as EDIT_DENYING
from .edits import removed_rows
from .edits import summary_rows as edit_rows
from .opps import INFORMATIONAL_REASONS as _OPPS_INFO

#: Codes summarised as notes: the line was priced, with another release than the newest one.
NOTE_CODES = ("REPRICE_RELEASE_FALLBACK", "FACILITY_RELEASE_OTHER_QUARTER")
#: Facility (OPPS/ASC) codes that never by themselves leave a line unpaid.
#: Besides notes on the input, these are the codes that say how a paid line was paid (a discount,
#: a modifier's share, packaging at 0.00, a copayment cap, an approximation: each system's
#: ``INFORMATIONAL_REASONS``), the wage index notes on a value that was used (``WI_APPROX_OPPS``,
#: ``WI_UNCAPPED``, ``WI_COUNTY_VALUE_POSSIBLE``), how the facility was placed by the ZIP or why
#: the ZIP did not place it (:data:`rvucalc.sites.ZIP_CODES`: the line is paid the national rate),
#: and ``CLAIM_ID_MISSING`` (the line priced alone). ``tests/test_informational_reasons.py`` prices every status indicator and payment
#: indicator with every modifier and wage index source and checks that each code found on a
#: payable line is here, so a new note cannot be taken for the reason a line was not paid.
FACILITY_INFORMATIONAL = frozenset({
    *NOTE_CODES, "FACILITY_NATIONAL_RATE", "MOD_NOT_PRICED", "REPRICE_BAD_CHARGE", "LOCALITY_ZIP_CONFLICT",
    "CLAIM_ID_MISSING", *_OPPS_INFO, *_ASC_INFO, *_WI_SOFT, *_ZIP_CODES})
#: Codes that say why a line has no wage index (the CBSA or county has no single value, no table
#: for the year, a CCN not in Table 2, a wage index that is not a number): the reason a line was
#: not paid when it was refused for want of a wage index (``OPPS_NO_WAGE_INDEX`` /
#: ``ASC_NO_WAGE_INDEX``), named in its place as the more specific; otherwise a note (a drug line
#: that is not wage adjusted, or a packaged line, is paid without one).
WAGE_INDEX_CAUSES = frozenset({*_WI_HARD, "FACILITY_WAGE_INDEX_NOT_FOUND", "FACILITY_NO_WAGE_TABLE",
                               "FACILITY_BAD_WAGE_INDEX", "OPPS_CCN_NOT_IN_TABLE2", "OPPS_CCN_NO_TABLE2"})
_NO_WAGE_INDEX = frozenset({"OPPS_NO_WAGE_INDEX", "ASC_NO_WAGE_INDEX"})
#: Said of lines not payable whose reasons hold no refusing code.
NO_REASON = "no reason stated"
_DERIVED = "FACILITY_LINE_NOT_PRICED"
_COLUMNS = ("kind", "key", "n", "line")


def refusing_for(setting: str) -> frozenset[str] | None:
    """The codes that refuse a line in *setting* (``pfs``), or ``None`` for OPPS/ASC (see above)."""
    if setting == "pfs":
        from .pfs import refusing_codes

        return refusing_codes()
    return None


def _primary(reason: str, refusing: frozenset[str] | None) -> str:
    codes = [c for c in str(reason).split("|") if c]
    if refusing is not None:
        return next((c for c in codes if c in refusing), NO_REASON)
    own = [c for c in codes if c not in FACILITY_INFORMATIONAL and c not in WAGE_INDEX_CAUSES
           and c != _DERIVED]
    if own and own[0] in _NO_WAGE_INDEX:  # refused for want of a wage index: say why there is none
        return next((c for c in codes if c in WAGE_INDEX_CAUSES), own[0])
    return own[0] if own else _DERIVED if _DERIVED in codes else NO_REASON


def _codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``(codes, distinct texts)`` of a text column (a missing value read as ``""``), vectorised."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        uniq = [str(x) for x in s.cat.categories]
    else:
        c, u = pd.factorize(s, use_na_sentinel=True)
        codes, uniq = np.asarray(c, dtype=np.int64), [str(x) for x in u]
    if len(codes) and codes.min() < 0:
        codes = np.where(codes < 0, len(uniq), codes)
        uniq.append("")
    return codes, uniq


def _table(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame({"kind": pd.Series([r[0] for r in rows], dtype="str"),
                         "key": pd.Series([r[1] for r in rows], dtype="str"),
                         "n": pd.Series([r[2] for r in rows], dtype="int64"),
                         "line": pd.Series([r[3] for r in rows], dtype="int64")})


@dataclass
class LineTally:
    """Counts of priced lines, added up chunk by chunk; :meth:`text` is the summary line.

    *refusing*: the codes that refuse a line (:func:`refusing_for`). The object is small and
    picklable: Dask workers run :meth:`count`, the caller :meth:`add`.
    """

    refusing: frozenset[str] | None = None
    #: Prices claim lines without edits (picklable, e.g. ``functools.partial(price_chunk,
    #: opts=edits.off(options))``): given, the summary says the dollars the claim edits removed
    #: (:func:`rvucalc.claims.edits.removed_rows`, worked out per chunk where it is counted).
    reprice: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    _parts: list[pd.DataFrame] = field(default_factory=list, repr=False)

    def count(self, priced: pd.DataFrame) -> pd.DataFrame:
        """The counts of one chunk of priced lines: a small table (kind, key, n, first line)."""
        n = len(priced)
        line = priced[LINE].to_numpy(dtype=np.int64) if LINE in priced.columns else np.arange(n, dtype=np.int64)
        paid = priced["payable"].to_numpy(dtype=bool) if "payable" in priced.columns else np.ones(n, dtype=bool)
        rows: list[tuple[str, str, int, int]] = [("lines", "", n, -1), ("payable", "", int(paid.sum()), -1)]
        if "reason" in priced.columns and n:
            codes, uniq = _codes(priced["reason"])
            per = np.bincount(codes, minlength=len(uniq))
            unpaid = np.bincount(codes[~paid], minlength=len(uniq))
            why: dict[str, int] = {}
            notes: dict[str, int] = {}
            denied: dict[str, int] = {}
            for j, text in enumerate(uniq):  # distinct reason strings
                if unpaid[j]:
                    key = _primary(text, self.refusing)
                    why[key] = why.get(key, 0) + int(unpaid[j])
                for c in text.split("|"):
                    if c in NOTE_CODES and per[j]:
                        notes[c] = notes.get(c, 0) + int(per[j])
                    if c in EDIT_DENYING and per[j]:
                        denied[c] = denied.get(c, 0) + int(per[j])
            rows += [("why", k, v, -1) for k, v in why.items()]
            rows += [("note", k, v, -1) for k, v in notes.items()]
            rows += [("edit_denied", k, v, -1) for k, v in denied.items()]
        rows += edit_rows(priced.attrs)
        if self.reprice is not None:
            rows += removed_rows(priced, self.reprice)
        if "release_note" in priced.columns and len(priced):
            # every line's note, paid or not: each quarter priced with another release is said
            codes, uniq = _codes(priced["release_note"])
            g = pd.Series(line).groupby(codes)
            first, size = g.min(), g.size()
            rows += [("release_note", uniq[int(k)], int(size[k]), int(v)) for k, v in first.items()
                     if uniq[int(k)]]
        return _table(rows)

    def add(self, counts: pd.DataFrame) -> None:
        """Add the counts of a chunk (from :meth:`count`)."""
        self._parts.append(counts)

    def __call__(self, priced: pd.DataFrame) -> LineTally:
        """Count and add *priced* (for the in-memory path); returns the tally."""
        self.add(self.count(priced))
        return self

    def text(self, top: int = 4, out: str | None = None) -> str:
        """``"1,000 lines priced: 990 payable, 10 not payable (REPRICE_BAD_UNITS 6, ...) -> out"``.

        At most *top* reasons are named, the most frequent first (ties by code); the lines of
        the others are said in one figure, so the counts always add up to the lines not payable.
        Notes follow on their own lines.
        """
        t = pd.concat(self._parts, ignore_index=True) if self._parts else _table([])
        g = t.groupby(["kind", "key"], sort=True).agg(n=("n", "sum"), line=("line", "min"))

        def total(kind: str) -> int:
            return int(g.loc[kind, "n"].sum()) if kind in g.index.get_level_values(0) else 0

        def of(kind: str) -> pd.DataFrame:
            return g.loc[kind] if kind in g.index.get_level_values(0) else g.iloc[:0].droplevel(0)

        n, paid = total("lines"), total("payable")
        text = f"{n:,} lines priced: {paid:,} payable"
        if paid < n:
            why = of("why")["n"]
            why = why[why > 0]
            order = sorted(why.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = [f"{k} {v:,}" for k, v in order[:top]]
            rest = sum(v for _, v in order[top:])
            if rest:
                shown.append(f"and {rest:,} more line{'s' if rest != 1 else ''} for other reasons")
            text += f", {n - paid:,} not payable ({', '.join(shown)})"
        if out:
            text += f" -> {out}"
        notes = of("note")["n"]
        for code, k in sorted(notes.items()):
            if k:
                from ..reasons import explain

                r = explain(str(code))
                text += (f"\n  note: {code} on {k:,} line{'s' if k != 1 else ''}"
                         + (f" ({r.message})" if r else ""))
        rn = of("release_note").sort_values("line", kind="stable")
        for note, k in rn["n"].items():  # every one, in the order of their first lines
            text += f"\n  {note} ({int(k):,} line{'s' if k != 1 else ''})"
        return text + edit_text(of)


def edit_text(of: Callable[[str], pd.DataFrame]) -> str:
    """The summary's lines on claim edits (:mod:`rvucalc.claims.edits`): which ran, the lines they
    denied and the dollars that removed, and which could not run (naming the release to fetch).
    *of(kind)* gives the added-up counts of one kind, indexed by key."""
    if len(of("edit_off")):
        return "\n  edits: off (edits=False, --no-edits)"
    ran, missing = of("edit_ran")["n"], of("edit_missing")["n"]
    if not len(ran) and not len(missing):
        return ""
    order = sorted(ran.index, key=lambda t: (t != "duplicate lines", t))
    text = "\n  edits: " + ("; ".join(order) if order else "none")
    denied = of("edit_denied")["n"]
    denied = denied[denied > 0]
    removed = of("edit_removed")["n"]
    if denied.sum():
        k = int(denied.sum())
        what = ", ".join(f"{c} {v:,}" for c, v in sorted(denied.items(), key=lambda kv: (-kv[1], kv[0])))
        text += f"\n  edits denied {k:,} line{'s' if k != 1 else ''} ({what})"
        if len(removed):
            money = {"allowed": "allowed amount", "facility_payment": "facility payment"}.get(
                str(removed.index[0]), str(removed.index[0]))
            text += f", removing ${int(removed.sum()) / 100:,.2f} of {money}"
    for t, k in missing.items():
        text += f"\n  edits not applied: {t} ({int(k):,} line{'s' if k != 1 else ''})"
    return text


__all__ = ["FACILITY_INFORMATIONAL", "NOTE_CODES", "NO_REASON", "WAGE_INDEX_CAUSES", "LineTally",
           "refusing_for"]
