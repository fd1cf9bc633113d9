"""Reading located CMS files into tables: the layer below :mod:`rvucalc.facade`,
:mod:`rvucalc.sites` and :mod:`rvucalc.diff` (they import it; it imports none of them).

* :func:`offline` - whether downloads are forbidden (``$RVUCALC_OFFLINE``);
* :func:`read_cached` - parse a located file with its reader, through a parquet
  copy in the cache keyed by the file's sha256 (and checked against its own);
* :func:`source_of` - the :class:`~rvucalc.models.Source` that names a located file.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .fetch import Located, cache_dir, offline
from .models import Source
from .schemas import conform

#: Bump when a reader's output changes, so cached parquet files are not reused.
PARSER_VERSION = "2"


def _parsed_path(loc: Located) -> Path:
    return cache_dir() / "parsed" / f"{loc.sha256}-{loc.table}-v{PARSER_VERSION}"


def read_cached(loc: Located, reader: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """Read *loc* with *reader*, through a parquet copy in the cache keyed by the source's sha256.

    The parquet copy is trusted only if it is exactly what was written: its
    file name ends with the sha256 of its own bytes (``<source sha256>-<table>
    -v<parser>-<parquet sha256>.parquet``, written to a temporary file and
    renamed, so name and bytes appear together). On reading, the bytes are
    hashed again; a copy whose hash differs (bit rot, an edit, a truncation),
    that cannot be read, or whose columns are not the table's schema is
    deleted and the table is parsed again from the source file, which
    :func:`rvucalc.fetch.locate` has just checked. If the cache is not
    writable the table is simply parsed each time.
    """
    stem = _parsed_path(loc)
    folder = stem.parent
    try:
        found = sorted(folder.glob(stem.name + "-*.parquet")) if folder.is_dir() else []
    except OSError:
        found = []
    for pq in found:
        df = _read_verified_parquet(pq, loc)
        if df is not None:
            return df
        try:
            pq.unlink(missing_ok=True)
        except OSError:
            pass
    df = conform(reader(loc.path, name=loc.path.name), loc.table, loc.path.name)
    df.attrs.clear()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{stem.name}.tmp{os.getpid()}"
        try:
            df.to_parquet(tmp, index=False)
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            os.replace(tmp, folder / f"{stem.name}-{digest}.parquet")
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError, ImportError):
        pass
    return df


def _read_verified_parquet(pq: Path, loc: Located) -> pd.DataFrame | None:
    """The table in *pq* if its bytes hash to the sha256 in its name and it has the table's schema."""
    import io

    want = pq.name[:-len(".parquet")].rsplit("-", 1)[-1]
    try:
        st = pq.lstat()
        if not pq.is_file() or pq.is_symlink() or st.st_size > (1 << 31):
            return None
        data = pq.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != want:
        return None
    try:
        df = pd.read_parquet(io.BytesIO(data))
        return conform(df, loc.table, loc.path.name)
    except Exception:  # unreadable or wrong-shaped: parse the source again
        return None


def source_of(loc: Located, note: str = "") -> Source:
    """The :class:`Source` naming a located file (release, file, sha256, origin, verified; the note
    says why an unverified file is unverified)."""
    notes = [note] if note else []
    if loc.tofu:
        notes.append(f"unverified: CMS publishes no checksum for it; sha256 recorded at its first download"
                     f"{' on ' + loc.tofu_date if loc.tofu_date else ''} and unchanged since "
                     "(trust on first use)")
    elif not loc.verified:
        notes.append("unverified: the catalogue has no CMS checksum for this file")
    return Source(release=loc.release.id, release_label=loc.release.label, table=loc.table,
                  file=loc.path.name, sha256=loc.sha256, origin=loc.origin, verified=loc.verified,
                  note="; ".join(notes))


__all__ = ["PARSER_VERSION", "offline", "read_cached", "source_of"]


@functools.lru_cache(maxsize=16)
def wage_tables(year: int, setting: str, mirror: str | None, download: bool, progress: bool = False
                ) -> tuple[Any, list[Source], list[Source]] | None:
    """The facility wage index of *year*: ``(WageIndex, its files, the county crosswalk's files)``,
    or ``None`` when no table of the year is at hand. The one loader for the site comparison
    (:mod:`rvucalc.sites`) and facility claims (:mod:`rvucalc.claims.facility`).

    *setting* ``"asc"``: the CY ASC wage index table; ``"opps"``: the FY tables of the year
    first (pre-reclassification IPPS values, an approximation of the hospital's own wage index,
    42 CFR 419.43(c)), then the ASC table. The county crosswalk's files are apart: a caller lists
    them as a source only when a county was looked up. A file at hand whose sha256 differs from
    the catalogue's raises :class:`~rvucalc.errors.ChecksumError` naming it: a tampered or
    mismatched file is never skipped for another one. Another year's table is never used.
    """
    from . import catalogue
    from .errors import ChecksumError, DownloadError, MissingFileError
    from .fetch import locate
    from .iotools import wage_index as wi_io

    def at(rel: Any, table: str) -> Located:
        return locate(rel, table, mirror=mirror, download=download, progress=progress)

    rels = catalogue.releases("wage_index")
    counties = None
    county_src: list[Source] = []
    county_rel = next((r for r in reversed(rels) if "county" in r.files), None)
    if county_rel is not None:
        try:
            loc = at(county_rel, "county")
            counties = read_cached(loc, wi_io.read_wage_index_county)
            county_src = [source_of(loc)]
        except ChecksumError:
            raise
        except (MissingFileError, DownloadError):
            counties = None
    order = [r for r in rels if r.year == year]
    order.sort(key=lambda r: ("table_a" not in r.files) if setting == "opps"
               else ("wage_index" not in r.files))
    for r in order:
        try:
            if "wage_index" in r.files:
                loc = at(r, "wage_index")
                tab = read_cached(loc, wi_io.read_asc_wage_index)
                return wi_io.WageIndex(tab, counties), [source_of(loc)], county_src
            if "table_a" in r.files and "table_b" in r.files:
                la, lb = at(r, "table_a"), at(r, "table_b")
                tab = pd.concat([read_cached(la, wi_io.read_wage_index_table_a),
                                 read_cached(lb, wi_io.read_wage_index_table_b)], ignore_index=True)
                return wi_io.WageIndex(tab, counties), [source_of(la), source_of(lb)], county_src
        except ChecksumError:
            raise
        except (MissingFileError, DownloadError):
            continue
    return None


def device_portions(release: Any, mirror: str | None, download: bool, progress: bool = False
                    ) -> tuple[pd.Series, Source] | None:
    """The ASC device portions of *release* (a catalogued ASC release): national dollars per
    HCPCS code from its Addendum FF (``device_portion``), and the file's source; ``None`` when
    the release catalogues no FF or its FF is not at hand (then J8 amounts away from wage index
    1.0 are flagged approximate). A file at hand with another sha256 than the catalogue's raises
    :class:`~rvucalc.errors.ChecksumError` naming it: it is never read, and never skipped.

    The device portion of a device-intensive (J8) procedure is paid at its OPPS-based amount:
    the ASC conversion factor and the wage adjustment apply to the rest of the rate only
    (42 CFR 416.171-416.172; :mod:`rvucalc.iotools.asc_final_rule`).
    """
    from .errors import ChecksumError, DownloadError, MissingFileError
    from .fetch import locate
    from .iotools.asc_final_rule import read_addendum_ff

    if "addendum_ff" not in getattr(release, "files", {}):
        return None
    try:
        loc = locate(release, "addendum_ff", mirror=mirror, download=download, progress=progress)
    except ChecksumError:
        raise
    except (MissingFileError, DownloadError):
        return None
    ff = read_cached(loc, read_addendum_ff)
    s = pd.Series(ff["device_portion"].to_numpy(float), index=ff["hcpcs"].astype(str).to_numpy())
    return s[s.notna()], source_of(loc)
