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
never used.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .catalogue import FileSpec, Release
from .errors import DownloadError, MissingFileError

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

    @property
    def name(self) -> str:
        return self.path.name


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
    """
    st = Path(path).stat()
    return _sha256(str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
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


def _expected(spec: FileSpec, path: Path) -> str | None:
    """CMS's sha256 for *path*: the catalogue's checksum is of ``spec.name``
    only; an alias (the same table as .txt or .xlsx) is other bytes."""
    return spec.sha256 if path.name.lower() == spec.name.lower() else None


def _choose(cands: list[Path], release: Release, spec: FileSpec) -> tuple[Path, str, bool] | None:
    """Pick the candidate for *release*: one in a folder named like the release
    first. A file whose sha256 is CMS's is verified; one matching a catalogued
    third-party copy (``mirror_sha256``) is used unverified; when CMS's sha256
    is known, any other file is ruled out."""
    def in_release_folder(p: Path) -> bool:
        rid = release.id.lower()
        short = rid.split("-", 1)[-1]
        return any(part.lower() in (rid, short) for part in p.parts)

    ordered = sorted(cands, key=lambda p: (not in_release_folder(p), str(p)))
    for p in ordered:
        digest = sha256_file(p)
        want = _expected(spec, p)
        if want is not None and digest == want:
            return p, digest, True
        if want is None or digest in spec.mirror_sha256:
            return p, digest, False
    return None


def locate(
    release: Release,
    table: str,
    *,
    mirror: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> Located:
    """Find (or fetch) the file holding *table* of *release*.

    Raises :class:`MissingFileError` when it is nowhere to be had, naming the
    file, the places searched and the CMS address to download it from.
    """
    spec = release.file(table)
    searched: list[str] = []
    for root in mirror_dirs(mirror):
        searched.append(str(root))
        if not root.is_dir():
            continue
        hit = _choose(_candidates(root, spec.names), release, spec)
        if hit:
            return Located(hit[0], release, table, hit[1], "mirror", hit[2])
    cdir = cache_dir() / release.id
    searched.append(str(cdir))
    for n in spec.names:
        p = cdir / n
        if p.is_file():
            digest = sha256_file(p)
            want = _expected(spec, p)
            if want is None or digest == want:
                return Located(p, release, table, digest, "cache", want is not None)
    if download and release.url:
        p, digest = _download_member(release, spec, cdir, progress=progress)
        return Located(p, release, table, digest, "download", _expected(spec, p) is not None)
    how = f"download {release.url}" if release.url else f"see {release.page or 'the CMS website'}"
    tail = ", or allow downloads" if release.url and not download else ""  # only when that would help
    raise MissingFileError(
        f"{spec.name} ({release.label}, table {table!r}) was not found in {', '.join(searched) or 'any mirror'}"
        f"; {how} and unzip it into a folder named by RVUCALC_MIRROR{tail}")


#: URL -> why its download failed, so a process does not try a download that cannot succeed
#: (no network, HTTP error; see :func:`_lasting`) again on every call, e.g. every HOPD row of a
#: session without network. A new process tries again.
_FAILED_DOWNLOADS: dict[str, str] = {}  # key: "URL -> cache folder"


def _lasting(exc: BaseException) -> bool:
    """A failure that will not mend within a session: the server could not be reached (no
    network, DNS, refused, connect timeout) or answered an HTTP error. A transfer cut short or a
    checksum mismatch may be tried again."""
    import requests

    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.HTTPError)) and not \
        isinstance(exc, requests.exceptions.ChunkedEncodingError)


def _download_member(release: Release, spec: FileSpec, dest: Path, *, progress: bool) -> tuple[Path, str]:
    """Download the release zip into *dest*, extract *spec*'s member and verify it.

    pooch writes the zip to a temporary file in *dest* and renames it only once
    complete and, when the catalogue knows the zip's sha256, verified. If the
    member cannot be extracted or does not match its sha256, both the member
    and the zip are removed, so nothing unverified stays in the cache to be
    picked up by a later run.
    """
    import pooch

    key = f"{release.url} -> {dest}"
    failed = _FAILED_DOWNLOADS.get(key)
    if failed is not None:  # one attempt per URL and process: no retry on every call
        raise DownloadError(f"{failed} (already failed in this process; not retried)")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the download cache folder {dest} ({exc.strerror or exc}); "
                            "set RVUCALC_CACHE to a writable folder") from exc
    try:
        zpath = Path(pooch.retrieve(url=str(release.url), known_hash=release.sha256, path=dest,
                                    fname=PurePosixPath(str(release.url)).name or f"{release.id}.zip",
                                    progressbar=progress))
    except Exception as exc:  # network errors, HTTP errors, checksum mismatch, unwritable cache
        msg = f"could not download {release.url} for {release.label}: {exc}"
        if _lasting(exc):
            _FAILED_DOWNLOADS[key] = msg
        raise DownloadError(msg) from exc
    try:
        p = extract_member(zpath, spec.names, dest)
        digest = sha256_file(p)
        want = _expected(spec, p)
        if want is not None and digest != want:
            p.unlink(missing_ok=True)
            raise DownloadError(
                f"{spec.name} from {release.url}: sha256 {digest} does not match the catalogue's "
                f"{spec.sha256}; the file was removed")
    except BaseException:
        zpath.unlink(missing_ok=True)
        raise
    return p, digest


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
    with zf:
        for info in zf.infolist():
            pp = PurePosixPath(info.filename.replace("\\", "/"))
            if pp.is_absolute() or ".." in pp.parts or info.filename.startswith("/"):
                raise DownloadError(f"{zpath.name}: refusing unsafe member path {info.filename!r}")
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
