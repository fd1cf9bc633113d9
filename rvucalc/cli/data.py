"""``rvucalc releases`` and ``rvucalc fetch``: the release catalogue and downloads."""

from __future__ import annotations

import argparse
import sys

from .. import catalogue
from ..render import Table, emit
from .common import no_match


def cmd_releases(a: argparse.Namespace) -> int:
    """The catalogue, and for each release whether its files are at hand (the mirror named by
    ``--mirror`` or ``$RVUCALC_MIRROR``, or the download cache) or must be fetched
    (``rvucalc fetch ID``), by :func:`rvucalc.fetch.at_hand` (nothing is downloaded)."""
    from ..fetch import at_hand

    rels = catalogue.releases(a.system)
    if not rels:
        return no_match(f"no release of system {a.system!r} in the catalogue")
    t = Table(["id", "system", "year", "effective", "at hand", "label"])
    for r in rels:
        t.rows.append([r.id, r.system, str(r.year), r.effective or "", _at_hand(at_hand(r, mirror=a.mirror)),
                       r.label])
    emit(t)
    return 0


def _at_hand(where: dict[str, str]) -> str:
    """``mirror``, ``cache``, ``mirror+cache``, ``fetch`` or ``partly (fetch: pprrvu)``."""
    found = [w for w in where.values() if w]
    if not found:
        return "fetch"
    places = "+".join(dict.fromkeys(sorted(found, key=("mirror", "cache").index)))
    if len(found) == len(where):
        return places
    missing = [t for t, w in where.items() if not w]
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return f"partly: {places} (fetch: {shown})"


def cmd_fetch(a: argparse.Namespace) -> int:
    """Find or download every table of a release; say for each whether its sha256 is verified.

    Downloads are off with ``--offline`` or ``$RVUCALC_OFFLINE``: then only
    what is at hand is listed, and the exit status is 1 if anything is missing.
    """
    from ..errors import ChecksumError, DownloadError, MissingFileError
    from ..fetch import locate, offline

    rel = catalogue.get(a.release)
    download = not (a.offline or offline())
    missing = 0
    t = Table(["table", "file", "origin", "sha256"])
    for table in rel.files:
        try:
            loc = locate(rel, table, mirror=a.mirror, download=download)
        except (MissingFileError, DownloadError) as exc:
            missing += 1
            what = "REFUSED" if isinstance(exc, ChecksumError) else "not available"
            print(f"rvucalc: {table}: {what}: {exc}", file=sys.stderr)
            continue
        if loc.verified:
            trust = "verified"
        elif loc.tofu:
            trust = (f"UNVERIFIED {loc.sha256[:12]} (no CMS checksum; recorded at first download"
                     f"{' on ' + loc.tofu_date if loc.tofu_date else ''}: trust on first use)")
        else:
            trust = f"UNVERIFIED {loc.sha256[:12]} (no CMS checksum in the catalogue)"
        t.rows.append([table, str(loc.path), loc.origin, trust])
    if t.rows:
        emit(t)
    return 1 if missing else 0


