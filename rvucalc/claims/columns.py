"""Which of the user's columns rvucalc prices from: header names matched to rvucalc's names.

Claim extracts name their columns in many ways (``Claim ID``, ``CLAIM_ID``, ``claimid``; CMS's
carrier claim files ``CLM_ID``, ``HCPCS_CD``, ``LINE_SRVC_CNT``). One rule, used by every engine
(in memory, streamed, Dask) and every command that reads claim lines (``reprice``,
``sites --claims``, ``contract``):

- **Automatic**: a header is the column of one of rvucalc's names (:data:`CANONICAL`) when the
  two are equal ignoring case, spaces and underscores (:func:`key`): ``Claim Id``, ``CLAIM_ID``
  and ``claimid`` are all ``claim_id``; ``Date of Service`` is ``date_of_service``.
- **Spelled out**: a few of rvucalc's short names are also found written in full
  (:data:`ALIASES`: ``Place of Service`` is ``pos``, ``HCPCS Code`` is ``hcpcs``, ``ZIP Code`` is
  ``zip``), only when no header matches the short name itself.
- **Named**: ``columns={"claim_id": "CLM_ID", "hcpcs": "HCPCS_CD"}`` (API) or ``--columns
  claim_id=CLM_ID,hcpcs=HCPCS_CD`` (command line) names the header of any of them; a named
  column wins over the automatic match (a header ``units`` beside ``units=LINE_SRVC_CNT`` is then
  one of the user's other columns, carried through untouched).
- **Errors, never guesses**: two headers that both match one name (``claim_id`` and
  ``Claim ID``) is an error naming the file and both headers (name the one to use with
  ``--columns``); so is a named header that is not in the file, a name rvucalc does not read,
  and one header named for two columns.

The user's columns are never renamed: the priced output carries them with their own header
names, exactly as given. Pricing reads them through :func:`pricing_view`, a frame that shows the
matched columns under rvucalc's names (no data copied), and the mapping used is recorded in the
result's ``attrs["rvucalc.columns"]`` (:data:`ATTR`): rvucalc's name -> the user's header, for
every column found.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .contract import LINE
from .io_base import ClaimsFileError

#: rvucalc's names of the columns it reads from claim lines (every payment system).
CANONICAL = ("claim_id", "hcpcs", "modifiers", "units", "pos", "zip", "locality", "date_of_service",
             "charge", "participating", "wage_index", "ccn", "cbsa", "county_fips")
#: Headers also read as one of :data:`CANONICAL` (compared as :func:`key` does) when no header
#: matches the name itself: the names spelled out.
ALIASES = {"pos": ("place of service",), "hcpcs": ("hcpcs code", "hcpcs cd"), "zip": ("zip code",),
           "modifiers": ("modifier",), "date_of_service": ("service date",)}
#: ``DataFrame.attrs`` key of the mapping used (rvucalc's name -> the user's header).
ATTR = "rvucalc.columns"
#: ``DataFrame.attrs`` key of the pricing's ``dayfirst`` (read again by the per-claim totals).
DAYFIRST = "rvucalc.dayfirst"

Given = tuple[tuple[str, str], ...]


class ColumnsError(ClaimsFileError, ValueError):
    """The claim lines' columns cannot be matched to the ones rvucalc reads (see the module)."""


def key(name: object) -> str:
    """*name* compared the way headers are matched: case, spaces and underscores ignored."""
    return "".join(str(name).split()).replace("_", "").casefold()


_BY_KEY = {key(c): c for c in CANONICAL}


def canonical_name(name: str) -> str:
    """rvucalc's name for *name* (``"Claim ID"`` -> ``"claim_id"``); :class:`ColumnsError` with the
    names rvucalc reads when it is none of them."""
    got = _BY_KEY.get(key(name))
    if got is None:
        near = difflib.get_close_matches(str(name).strip().lower(), CANONICAL, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ColumnsError(f"--columns: {str(name).strip()!r} is not a column rvucalc reads{hint}; "
                           f"name one of {', '.join(CANONICAL)}")
    return got


def parse(spec: str | Mapping[str, str] | Iterable[Any] | None) -> Given:
    """The columns a user named: ``"claim_id=CLM_ID,hcpcs=HCPCS_CD"`` (several such texts may be
    given in a list, as ``--columns`` repeated), a mapping ``{"claim_id": "CLM_ID"}``, or pairs.

    Returns sorted ``(rvucalc name, header)`` pairs (picklable, hashable: they travel in
    :class:`rvucalc.claims.pipeline.PricingOptions`). The rvucalc name may be written in any
    case, with spaces or underscores (``"Claim ID=CLM_ID"``).
    """
    if spec is None:
        return ()
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        pairs = [(str(k), str(v)) for k, v in spec.items()]
    else:
        for item in spec:
            if isinstance(item, str):
                for part in item.split(","):
                    if not part.strip():
                        continue
                    name, eq, header = part.partition("=")
                    if not eq or not name.strip() or not header.strip():
                        raise ColumnsError(f"--columns: {part.strip()!r} is not NAME=HEADER (e.g. "
                                           "claim_id=CLM_ID,hcpcs=HCPCS_CD,units=LINE_SRVC_CNT)")
                    pairs.append((name, header))
            else:
                name, header = item
                pairs.append((str(name), str(header)))
    out: dict[str, str] = {}
    for name, header in pairs:
        c = canonical_name(name)
        h = header.strip()
        if c in out and out[c] != h:
            raise ColumnsError(f"--columns names {c} twice ({out[c]!r} and {h!r}): give one header")
        out[c] = h
    return tuple(sorted(out.items()))


def _headers(header: Iterable[Any]) -> list[str]:
    return [h for h in header if isinstance(h, str) and h != LINE]


def _where(source: object) -> str:
    return str(source) if source is not None else "the claim lines"


def resolve(header: Iterable[Any], given: Given | Mapping[str, str] | str | None = (), *,
            source: object = None) -> dict[str, str]:
    """rvucalc's name -> the user's header, for each column of :data:`CANONICAL` found in
    *header* (in that order). *given*: the columns the user named (:func:`parse`). *source*
    (a file name) is named in errors. Raises :class:`ColumnsError` for a named header not in
    *header*, a header named twice, or two headers that both match one name.
    """
    if isinstance(header, pd.MultiIndex):  # names as given (their first level), no matching
        return {c: c for c in CANONICAL if c in header}
    cols = list(header)
    heads = _headers(cols)
    named = dict(parse(given))
    where = _where(source)
    out: dict[str, str] = {}
    missing: list[str] = []
    for c, h in named.items():
        if h in heads:
            out[c] = h
            continue
        same = [x for x in heads if key(x) == key(h)] or [x for x in heads if x.strip() == h]
        if len(same) == 1:
            out[c] = same[0]
        else:
            missing.append(f"{c}={h}")
    if missing:
        raise ColumnsError(f"{where}: --columns names {', '.join(missing)}, but the file has no such column; "
                           f"its columns are {', '.join(heads)}")
    used: dict[str, str] = {}
    for c, h in out.items():
        if h in used:
            raise ColumnsError(f"{where}: --columns names the column {h!r} for both {used[h]} and {c}")
        used[h] = c
    ambiguous: list[tuple[str, list[str]]] = []
    for c in CANONICAL:
        if c in out:
            continue
        hits = [h for h in heads if key(h) == key(c) and h not in used]
        if not hits:  # the name spelled out (Place of Service), only without the name itself
            alias = {key(a) for a in ALIASES.get(c, ())}
            hits = [h for h in heads if key(h) in alias and h not in used]
        if len(hits) > 1:
            ambiguous.append((c, hits))
        elif hits:
            out[c] = hits[0]
    if ambiguous:
        said = "; ".join(f"{c}: {', '.join(repr(h) for h in hits)}" for c, hits in ambiguous)
        eg = ",".join(f"{c}={hits[0]}" for c, hits in ambiguous)
        raise ColumnsError(f"{where}: more than one column matches {said} (headers are matched ignoring case, "
                           f"spaces and underscores); say which to read with --columns (API columns=), e.g. "
                           f"--columns {eg}")
    return {c: out[c] for c in CANONICAL if c in out}


def require(mapping: Mapping[str, str], header: Iterable[Any], required: Iterable[str],
            place: tuple[str, ...] = (), *, source: object = None) -> None:
    """:class:`ColumnsError` naming the columns of *required* (and one of *place*) that *mapping*
    does not find, with the file's headers and how to name them."""
    missing = [c for c in required if c not in mapping]
    if place and not any(c in mapping for c in place):
        missing.append(" or ".join(place))
    if missing:
        heads = _headers(header)
        at = f"{source}: " if source is not None else ""
        raise ColumnsError(f"{at}claim lines need the column(s) {', '.join(missing)}; have "
                           f"{', '.join(heads)} (a header matches ignoring case, spaces and underscores; "
                           f"name any other with --columns, e.g. --columns {missing[0].split(' or ')[0]}=HEADER; "
                           "API columns=)")


def identity(mapping: Mapping[str, str]) -> bool:
    """Every column found under rvucalc's own name (nothing to rename)."""
    return all(c == h for c, h in mapping.items())


def pricing_view(chunk: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """*chunk* as pricing reads it: each matched column under rvucalc's name, and no other column
    with one of rvucalc's names (a user's ``units`` beside ``units=LINE_SRVC_CNT`` is not read).
    *chunk* itself when there is nothing to rename; otherwise a new frame sharing the data
    (copy-on-write: nothing is copied, and *chunk* is never changed)."""
    if identity(mapping) and not any(c in chunk.columns and c not in mapping for c in CANONICAL):
        return chunk
    rename = {h: c for c, h in mapping.items() if h != c}
    shadow = [c for c in CANONICAL if c in chunk.columns and mapping.get(c) != c]
    view = chunk.drop(columns=shadow) if shadow else chunk
    view = view.rename(columns=rename)
    view.attrs = {}
    return view


def user_frame(view: pd.DataFrame, mapping: Mapping[str, str], original: pd.DataFrame | None = None
               ) -> pd.DataFrame:
    """The inverse of :func:`pricing_view` for the matched columns: rvucalc's names back to the
    user's headers. With *original* (the frame the view was made of, same rows), the user's
    columns the view left out (a ``units`` of theirs beside ``units=LINE_SRVC_CNT``) are put
    back in their places."""
    back = {c: h for c, h in mapping.items() if h != c and c in view.columns}
    out = view.rename(columns=back) if back else view
    if original is None:
        return out
    shadow = [c for c in CANONICAL if c in original.columns and mapping.get(c) != c and c not in out.columns]
    if not shadow:
        return out
    out = out.assign(**{c: original[c].to_numpy() for c in shadow})
    mine = [c for c in original.columns if c in out.columns]
    return out[mine + [c for c in out.columns if c not in set(mine)]]


def of(frame: pd.DataFrame, given: Given | Mapping[str, str] | None = None) -> dict[str, str]:
    """The mapping a priced frame was read with: its ``attrs["rvucalc.columns"]`` when pricing
    recorded it (and *given* is not), else the one :func:`resolve` finds in its header."""
    if given is None:
        got = frame.attrs.get(ATTR)
        if got:
            return {c: h for c, h in got.items() if h in frame.columns}
    return resolve(frame.columns, given or ())


def header(mapping: Mapping[str, str], name: str) -> str:
    """The user's header of rvucalc's column *name* (*name* itself when not found)."""
    return mapping.get(name, name)


def described(mapping: Mapping[str, str]) -> str:
    """``"claim_id=CLM_ID, hcpcs=HCPCS_CD"``: the columns read under another header than rvucalc's
    name ("" when every column has rvucalc's own name), for the run summary."""
    return ", ".join(f"{c}={h}" for c, h in mapping.items() if c != h)


__all__ = ["ALIASES", "ATTR", "CANONICAL", "ColumnsError", "DAYFIRST", "canonical_name", "described", "header", "identity",
           "key", "of", "parse", "pricing_view", "require", "resolve", "user_frame"]
