"""Reading located CMS files into tables: the layer below :mod:`rvucalc.facade`,
:mod:`rvucalc.sites` and :mod:`rvucalc.diff` (they import it; it imports none of them).

* :func:`offline` - whether downloads are forbidden (``$RVUCALC_OFFLINE``);
* :func:`read_cached` - parse a located file with its reader, through a parquet
  copy in the cache keyed by the file's sha256;
* :func:`source_of` - the :class:`~rvucalc.models.Source` that names a located file.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from .fetch import Located, cache_dir
from .models import Source
from .schemas import conform

#: Bump when a reader's output changes, so cached parquet files are not reused.
PARSER_VERSION = "2"


def offline() -> bool:
    """Downloads are off when ``$RVUCALC_OFFLINE`` is set (tests and CI set it)."""
    return os.environ.get("RVUCALC_OFFLINE", "") not in ("", "0", "false", "no")


def read_cached(loc: Located, reader: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """Read *loc* with *reader*, through a parquet copy in the cache keyed by sha256.

    The parquet copy is written atomically; if the cache is not writable the
    table is simply parsed each time.
    """
    pq = cache_dir() / "parsed" / f"{loc.sha256[:20]}-{loc.table}-v{PARSER_VERSION}.parquet"
    if pq.is_file():
        try:
            return pd.read_parquet(pq)
        except Exception:  # a damaged cache file is rebuilt
            pq.unlink(missing_ok=True)
    df = conform(reader(loc.path, name=loc.path.name), loc.table, loc.path.name)
    df.attrs.clear()
    try:
        pq.parent.mkdir(parents=True, exist_ok=True)
        tmp = pq.with_suffix(f".tmp{os.getpid()}")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, pq)
    except OSError:
        pass
    return df


def source_of(loc: Located, note: str = "") -> Source:
    """The :class:`Source` naming a located file (release, file, sha256, origin, verified)."""
    return Source(release=loc.release.id, release_label=loc.release.label, table=loc.table,
                  file=loc.path.name, sha256=loc.sha256, origin=loc.origin, verified=loc.verified,
                  note=note)


__all__ = ["PARSER_VERSION", "offline", "read_cached", "source_of"]
