"""Finding and downloading CMS release files.

Order of search for a table of a release (see :func:`locate`):

1. a local mirror folder: the *mirror* argument, else ``$RVUCALC_MIRROR``
   (several folders separated by ``os.pathsep``); a member is found by its
   file name (or a catalogued alias) anywhere below the folder;
2. the user's cache (``$RVUCALC_CACHE`` or the platform cache folder from
   platformdirs), where earlier downloads were extracted;
3. a download of the release zip from CMS with pooch (progress bar, checksum
   when the catalogue knows it), then a safe extraction of the one member:
   no absolute or ``..`` paths, a size limit against zip bombs, and an atomic
   rename so a partial file is never left where a later run would use it.

A checksum in the catalogue is always checked; a file that does not match is
never used, and is reported (:class:`~rvucalc.errors.ChecksumError`) rather
than replaced by another year's or release's file. A file under a CMS name that
belongs to another release (its sha256 is that release's, or it sits in a
folder named for that release while this release's sha256 is unknown) is
skipped. Only regular files are read: a FIFO, a device or an unreadable file
under a CMS name is skipped with its reason, never waited on.

Downloads honour ``$RVUCALC_OFFLINE`` everywhere, use connect and read
timeouts (``$RVUCALC_TIMEOUT`` seconds, default 30), and after a network
failure (refused, timed out, dead proxy) no further download from that host is
tried for ``$RVUCALC_RETRY_AFTER`` seconds (default 300), so one request never
waits on the network more than once. Where the catalogue has no sha256 for a
member, the sha256 of the first download is recorded in the cache folder
(``tofu-sha256.json``: trust on first use); the file is reported unverified
wherever its source is shown, and a later copy that differs from the record is
refused.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import stat
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from . import catalogue
from .catalogue import FileSpec, Release
from .errors import ChecksumError, DownloadError, FileAccessError, MissingFileError
from .iotools._common import open_regular

#: Largest member we agree to extract (CMS's biggest members are ~30 MB).
MAX_MEMBER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Located:
    """Where a release table was found, and what it is."""

    path: Path
    release: Release
    table: str
    sha256: str
    origin: str  # "mirror" | "cache" | "download"
    verified: bool  # the catalogue knew a sha256 and it matched
    tofu: bool = False  # no catalogued sha256: the one recorded at the first download matched
    tofu_date: str = ""  # when that sha256 was recorded

    @property
    def name(self) -> str:
        return self.path.name


def offline() -> bool:
    """Downloads are off when ``$RVUCALC_OFFLINE`` is set (tests and CI set it)."""
    return os.environ.get("RVUCALC_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def timeouts() -> tuple[float, float]:
    """(connect, read) timeouts of a download in seconds: ``$RVUCALC_TIMEOUT`` (default 30) for reads,
    at most 10 s to connect."""
    try:
        t = float(os.environ.get("RVUCALC_TIMEOUT", "") or 30)
    except ValueError:
        t = 30.0
    t = max(t, 0.1)
    return min(t, 10.0), t


def mirror_dirs(mirror: str | os.PathLike[str] | None = None) -> list[Path]:
    """Mirror folders to search: the argument, else ``$RVUCALC_MIRROR``."""
    raw = os.fspath(mirror) if mirror is not None else os.environ.get("RVUCALC_MIRROR", "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def cache_dir() -> Path:
    """The download cache: ``$RVUCALC_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("RVUCALC_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rvucalc"))


def sha256_file(path: Path) -> str:
    """sha256 of a file, hashed once per process while the file is unchanged.

    "Unchanged" is its inode, size, mtime and ctime (ctime cannot be set back
    by copying tools, so a replaced file is always hashed again).
    Raises :class:`~rvucalc.errors.FileAccessError` (naming the file) for
    anything but a readable regular file: a FIFO or a device is never opened
    for reading, so it cannot hang the caller.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileAccessError(path, f"{exc.strerror or type(exc).__name__}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise FileAccessError(path, _kind(st.st_mode))
    return _sha256(str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "not a regular file"


@functools.lru_cache(maxsize=256)
def _sha256(path: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def _index(root: Path) -> dict[str, tuple[Path, ...]]:
    """File name (lower case) -> paths below *root*, built once per mirror."""
    idx: dict[str, list[Path]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            idx.setdefault(f.lower(), []).append(Path(dirpath) / f)
    return {k: tuple(sorted(v)) for k, v in idx.items()}


def _candidates(root: Path, names: tuple[str, ...]) -> list[Path]:
    idx = _index(root)
    out: list[Path] = []
    for n in names:
        out.extend(idx.get(n.lower(), ()))
    return out


@functools.cache
def _known_digests() -> dict[str, str]:
    """sha256 -> release id, for every checksum the catalogue holds (CMS's and known copies)."""
    out: dict[str, str] = {}
    for r in catalogue.releases():
        for spec in r.files.values():
            for d in (spec.sha256, *spec.mirror_sha256):
                if d:
                    out.setdefault(d, r.id)
    return out


def _folder_tokens(r: Release) -> set[str]:
    rid = r.id.lower()
    return {rid, rid.split("-", 1)[-1]}


@functools.cache
def _all_tokens() -> dict[str, tuple[str, ...]]:
    """Folder name -> ids of the catalogued releases a folder of that name is for."""
    out: dict[str, list[str]] = {}
    for r in catalogue.releases():
        for t in _folder_tokens(r):
            out.setdefault(t, []).append(r.id)
    return {k: tuple(v) for k, v in out.items()}


@dataclass
class _Rejected:
    path: Path
    kind: str  # "checksum" | "access" | "other-release"
    why: str

    def __str__(self) -> str:
        return f"{self.path} {self.why}"


def _choose(cands: list[Path], release: Release, spec: FileSpec,
            rejected: list[_Rejected] | None = None) -> tuple[Path, str, bool] | None:
    """Pick the candidate for *release*: one in a folder named like the release
    first, a verified one before an unverified one.

    * a file whose sha256 is CMS's (``spec.sha256``) is verified, under the
      member's name or an alias;
    * one matching a catalogued third-party copy (``mirror_sha256``) is used
      unverified;
    * when the catalogue records any checksum for the table (CMS's, or only those
      of known copies, as for the OPPS, ASC and wage index files of the mirror),
      any other file is ruled out: as another release's file when its sha256 is
      that release's, else as a checksum mismatch (an alias such as the ``.txt``
      of a ``.csv`` member cannot be verified against the member's checksum and
      is ruled out too). An edited copy of a recorded file is never used;
    * when none is recorded, a file in a folder named for another release (and
      not for this one) is that release's and is skipped; any other file is
      used unverified.

    A FIFO, a device or an unreadable file is skipped. Every skipped file is
    added to *rejected* with its reason.
    """
    rej = rejected if rejected is not None else []
    mine = _folder_tokens(release)
    tokens = _all_tokens()

    def folders(p: Path) -> tuple[bool, list[str]]:
        parts = [x.lower() for x in p.parent.parts]
        own = any(x in mine for x in parts)
        others = sorted({rid for x in parts if x not in mine for rid in tokens.get(x, ())
                         if rid != release.id})
        return own, others

    ordered = sorted(cands, key=lambda p: (not folders(p)[0], str(p)))
    unverified: tuple[Path, str, bool] | None = None
    for p in ordered:
        try:
            digest = sha256_file(p)
        except FileAccessError as exc:
            rej.append(_Rejected(p, "access", f"cannot be used: {exc.found}"))
            continue
        if spec.sha256 is not None and digest == spec.sha256:
            return p, digest, True
        if digest in spec.mirror_sha256:
            unverified = unverified or (p, digest, False)
            continue
        owner = _known_digests().get(digest)
        if owner is not None and owner != release.id:
            rej.append(_Rejected(p, "other-release", f"is {owner}'s file (by its sha256)"))
            continue
        if spec.sha256 is not None:
            alias = "" if p.name.lower() == spec.name.lower() else (
                f" (the catalogue pins this table to CMS's {spec.name}; an alias file cannot be verified)")
            rej.append(_Rejected(p, "checksum", f"has sha256 {digest}, not CMS's {spec.sha256}{alias}"))
            continue
        if spec.mirror_sha256:  # only known copies are recorded: nothing else is that table
            known = " or ".join(spec.mirror_sha256)
            rej.append(_Rejected(p, "checksum", f"has sha256 {digest}, not that of the copy the "
                                                f"catalogue records ({known})"))
            continue
        own, others = folders(p)
        if others and not own:
            rej.append(_Rejected(p, "other-release", f"is in {others[0]}'s folder"))
            continue
        unverified = unverified or (p, digest, False)
    return unverified


def _tofu_path(cdir: Path) -> Path:
    return cdir / "tofu-sha256.json"


def _tofu_read(cdir: Path) -> dict[str, dict[str, str]]:
    try:
        with open_regular(_tofu_path(cdir)) as fh:
            d = json.loads(fh.read().decode("utf-8"))
        return d if isinstance(d, dict) else {}
    except (OSError, FileAccessError, ValueError):
        return {}


def _tofu_write(cdir: Path, name: str, digest: str, url: str) -> str:
    """Record *digest* for member *name* (first download); returns the date recorded."""
    d = _tofu_read(cdir)
    today = date.today().isoformat()
    d[name] = {"sha256": digest, "recorded": today, "url": url}
    fd, tmp = tempfile.mkstemp(dir=cdir, prefix=".tofu-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(d, fh, indent=1, sort_keys=True)
        os.replace(tmp, _tofu_path(cdir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return today


def at_hand(release: Release, *, mirror: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{table: where}`` for each table of *release*: ``"mirror"`` or ``"cache"`` when a file for it
    is at hand, ``""`` when it would have to be fetched. Nothing is downloaded.

    A mirror file counts when it is in a folder named for the release (``pfs/rvu26c``,
    ``asc/2026-01``), or elsewhere with the sha256 the catalogue records for the table (CMS's or
    a known copy's; when none is recorded, any file outside another release's folder), as
    :func:`locate` chooses. The checksum of a file in the release's own folder is checked when it is
    used (:func:`locate`), not here: a damaged file is refused then, naming it."""
    out: dict[str, str] = {}
    mine = _folder_tokens(release)
    tokens = _all_tokens()
    roots = [r for r in mirror_dirs(mirror) if r.is_dir()]
    cdir = cache_dir() / release.id
    for table, spec in release.files.items():
        where = ""
        for root in roots:
            cands = [(p, [x.lower() for x in p.relative_to(root).parent.parts])
                     for p in _candidates(root, spec.names)]
            if any(x in mine for _, parts in cands for x in parts):
                where = "mirror"  # in the release's own folder: found without reading it
                break
            for p, parts in cands:
                if spec.sha256 or spec.mirror_sha256:  # elsewhere: the recorded checksum decides
                    try:
                        digest = sha256_file(p)
                    except FileAccessError:
                        continue
                    where = "mirror" if digest == spec.sha256 or digest in spec.mirror_sha256 else ""
                elif not any(x in tokens for x in parts):  # not another release's folder
                    where = "mirror"
                if where:
                    break
            if where:
                break
        if not where and any(os.path.isfile(cdir / n) for n in spec.names):
            where = "cache"
        out[table] = where
    return out


def locate(
    release: Release,
    table: str,
    *,
    mirror: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> Located:
    """Find (or fetch) the file holding *table* of *release*.

    Raises :class:`ChecksumError` when the mirror holds the file under its
    CMS name but with other bytes (the file is named; nothing else is used in
    its place), and :class:`MissingFileError` when it is nowhere to be had,
    naming the file, the places searched and the CMS address to download it
    from. Downloads are never tried when ``$RVUCALC_OFFLINE`` is set.
    """
    spec = release.file(table)
    searched: list[str] = []
    rejected: list[_Rejected] = []
    for root in mirror_dirs(mirror):
        searched.append(str(root))
        if not root.is_dir():
            continue
        hit = _choose(_candidates(root, spec.names), release, spec, rejected)
        if hit:
            return Located(hit[0], release, table, hit[1], "mirror", hit[2])
    bad = [r for r in rejected if r.kind == "checksum"]
    if bad:
        what = "as CMS published it" if spec.sha256 else "as the catalogue records it"
        fix = (f"CMS's file from {release.url or release.page or 'the CMS website'}" if spec.sha256
               else f"the recorded copy (the catalogue's note for {release.id} says where it came "
                    "from)")
        raise ChecksumError(
            f"checksum mismatch: {bad[0]}, so it is not {release.label}'s {table} table {what} and "
            f"is not used (nor is another release used in its place); replace it with {fix}")
    cdir = cache_dir() / release.id
    searched.append(str(cdir))
    tofu = _tofu_read(cdir)
    for n in spec.names:
        p = cdir / n
        if not os.path.lexists(p):
            continue
        try:
            digest = sha256_file(p)
        except FileAccessError as exc:
            rejected.append(_Rejected(p, "access", f"cannot be used: {exc.found}"))
            continue
        if spec.sha256 is not None:
            if digest == spec.sha256:
                return Located(p, release, table, digest, "cache", True)
            continue  # damaged or replaced since the download: downloaded again below
        rec = tofu.get(p.name)
        if rec is None:
            return Located(p, release, table, digest, "cache", False)
        if rec.get("sha256") == digest:
            return Located(p, release, table, digest, "cache", False, True, str(rec.get("recorded", "")))
        rejected.append(_Rejected(p, "checksum", f"has sha256 {digest}, not the one recorded at its "
                                                 f"first download ({rec.get('sha256')})"))
    url = spec.url or release.url  # a member in a zip of its own (NCCI edit parts) has its own
    if download and url and not offline():
        p, digest, tofu_date = _download_member(release, spec, cdir, progress=progress)
        verified = spec.sha256 is not None
        return Located(p, release, table, digest, "download", verified, not verified, tofu_date)
    if not url:
        how = f"get it from {release.page or 'the CMS website'}"
    else:
        how = f"download {url}"
    off = ""
    if url and (not download or offline()):
        off = " (downloads are off" + (": RVUCALC_OFFLINE is set)" if offline() else ")")
    skipped = "; skipped " + "; ".join(str(r) for r in rejected[:3]) if rejected else ""
    tail = ", or allow downloads" if off else ""  # only when that would help
    raise MissingFileError(
        f"{spec.name} ({release.label}, table {table!r}) is not in "
        f"{', '.join(searched) or 'any mirror'}{off}{skipped}; {how} and unzip it into a folder "
        f"named by RVUCALC_MIRROR{tail}")


# --------------------------------------------------------------------------- network

_NET_LOCK = threading.Lock()
#: host -> (monotonic time of the failure, message): no further download from it for a while.
_NET_DOWN: dict[str, tuple[float, str]] = {}
#: "URL -> cache folder" -> why its download failed with an HTTP error (lasting: the server said
#: no), so a process does not ask again on every call, e.g. every HOPD row. A new process asks again.
_FAILED_DOWNLOADS: dict[str, str] = {}


def reset_network_failures() -> None:
    """Forget earlier download failures (they otherwise block downloads from that host or URL)."""
    with _NET_LOCK:
        _NET_DOWN.clear()
        _FAILED_DOWNLOADS.clear()


def _retry_after() -> float:
    try:
        return float(os.environ.get("RVUCALC_RETRY_AFTER", "") or 300)
    except ValueError:
        return 300.0


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _network_failure(exc: BaseException) -> bool:
    """A failure to reach the server (refused, unreachable, timed out, proxy), not an answer from it."""
    import requests

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (requests.ConnectionError, requests.Timeout, TimeoutError, ConnectionError)):
            return True
        e = e.__cause__ or e.__context__
    return False


def _download_member(release: Release, spec: FileSpec, dest: Path, *,
                     progress: bool) -> tuple[Path, str, str]:
    """Download the release zip into *dest*, extract *spec*'s member and verify it.

    Returns (path, sha256, date the sha256 was recorded on first use, or "").
    pooch writes the zip to a temporary file in *dest* and renames it only once
    complete and, when the catalogue knows the zip's sha256, verified. If the
    member cannot be extracted or does not match its sha256 (the catalogue's,
    else the one recorded at the first download), both the member and the zip
    are removed, so nothing unverified stays in the cache to be picked up by a
    later run. Connect and read timeouts bound the attempt (:func:`timeouts`);
    after a network failure no download from that host is tried again for
    ``$RVUCALC_RETRY_AFTER`` seconds.
    """
    import pooch
    import requests

    url = str(spec.url or release.url)
    zip_sha256 = None if spec.url else release.sha256  # a release's zip checksum is not a part's
    host = _host(url)
    key = f"{url} -> {dest}"
    with _NET_LOCK:
        down = _NET_DOWN.get(host)
        failed = _FAILED_DOWNLOADS.get(key)
    if failed is not None:
        raise DownloadError(f"{failed} (already failed in this process; not retried)")
    if down is not None and time.monotonic() - down[0] < _retry_after():
        raise DownloadError(f"could not download {url} for {release.label}: {host} could not be "
                            f"reached a moment ago ({down[1]}; not retried)")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the download cache folder {dest} ({exc.strerror or exc}); "
                            "set RVUCALC_CACHE to a writable folder") from exc
    try:
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeouts())
        zpath = Path(pooch.retrieve(url=url, known_hash=zip_sha256, path=dest,
                                    fname=PurePosixPath(url).name or f"{release.id}.zip",
                                    progressbar=progress, downloader=downloader))
    except Exception as exc:  # network errors, HTTP errors, checksum mismatch, unwritable cache
        why = _plain(exc)
        msg = f"could not download {url} for {release.label}: {why}"
        with _NET_LOCK:
            if _network_failure(exc):
                _NET_DOWN[host] = (time.monotonic(), why)
            elif isinstance(exc, requests.HTTPError):
                _FAILED_DOWNLOADS[key] = msg
        raise DownloadError(msg) from exc
    tofu_date = ""
    try:
        p = extract_member(zpath, spec.names, dest)
        digest = sha256_file(p)
        if spec.sha256 is not None and digest != spec.sha256:
            p.unlink(missing_ok=True)
            raise ChecksumError(
                f"{spec.name} from {url}: sha256 {digest} does not match the catalogue's "
                f"{spec.sha256}; the file was removed")
        if spec.sha256 is None:
            rec = _tofu_read(dest).get(p.name)
            if rec is not None and rec.get("sha256") != digest:
                p.unlink(missing_ok=True)
                raise ChecksumError(
                    f"{p.name} from {url}: sha256 {digest} differs from the one recorded at its first "
                    f"download on {rec.get('recorded', '?')} ({rec.get('sha256')}); the file was removed. "
                    f"If CMS has re-published the release, delete {_tofu_path(dest)} to trust the new copy")
            if rec is None:
                tofu_date = _tofu_write(dest, p.name, digest, url)
            else:
                tofu_date = str(rec.get("recorded", ""))
    except BaseException:
        zpath.unlink(missing_ok=True)
        raise
    return p, digest, tofu_date


def _plain(exc: BaseException) -> str:
    """One short phrase for a download failure (requests' messages nest the whole chain)."""
    import requests

    if isinstance(exc, requests.Timeout):
        return "the connection timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy could not be reached"
    if isinstance(exc, requests.ConnectionError):
        return "the server could not be reached (no network, or refused)"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"the server answered HTTP {exc.response.status_code}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def extract_member(zpath: Path, names: tuple[str, ...], dest: Path) -> Path:
    """Extract the first member whose file name is one of *names* (case-insensitive).

    Members with absolute paths or ``..`` are refused; a member larger than
    :data:`MAX_MEMBER_BYTES`, or that inflates past its declared size, is
    refused; the file appears at ``dest/<name>`` only once fully written.
    Every failure (a damaged or truncated zip, a bad CRC, an encrypted or
    unsupported member, an unwritable folder) is a :class:`DownloadError`.
    """
    try:
        return _extract(zpath, names, dest)
    except DownloadError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
        raise DownloadError(f"{zpath.name}: cannot extract {' or '.join(names)}: "
                            f"{type(exc).__name__}: {exc}") from exc


def _extract(zpath: Path, names: tuple[str, ...], dest: Path) -> Path:
    wanted = {n.lower() for n in names}
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"{zpath.name}: not a zip file (an incomplete or wrong download?)") from exc
    rank = {n.lower(): i for i, n in reversed(list(enumerate(names)))}
    with zf:
        infos = zf.infolist()
        for info in infos:
            pp = PurePosixPath(info.filename.replace("\\", "/"))
            if pp.is_absolute() or ".." in pp.parts or info.filename.startswith("/"):
                raise DownloadError(f"{zpath.name}: refusing unsafe member path {info.filename!r}")
        # the member under its own name first (its checksum is the catalogue's), then the aliases
        infos = sorted(infos, key=lambda i: rank.get(PurePosixPath(i.filename.replace("\\", "/")).name.lower(),
                                                     len(rank)))
        for info in infos:
            pp = PurePosixPath(info.filename.replace("\\", "/"))
            if pp.name.lower() in wanted:
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DownloadError(f"{zpath.name}: member {info.filename} is too large")
                target = dest / pp.name
                # zipfile stops reading at the declared size (and then fails the
                # CRC check); read with the limit raised instead, so a member that
                # inflates past what its header declares is recognised as a bomb.
                probe = copy.copy(info)
                probe.file_size = MAX_MEMBER_BYTES + 1
                fd, tmp = tempfile.mkstemp(dir=dest, prefix=".part-")
                try:
                    written = 0
                    with zf.open(probe) as src, os.fdopen(fd, "wb") as out:
                        for chunk in iter(lambda: src.read(1 << 20), b""):
                            written += len(chunk)
                            if written > max(info.file_size, 1) or written > MAX_MEMBER_BYTES:
                                raise DownloadError(
                                    f"{zpath.name}: member {info.filename} inflates past its declared size")
                            out.write(chunk)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                return target
    raise DownloadError(f"{zpath.name}: no member named {' or '.join(names)}")
