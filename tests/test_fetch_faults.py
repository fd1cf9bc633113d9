"""Download and cache faults, against a local HTTP server on 127.0.0.1.

The server (``http.server`` in a thread, port 0, shut down at the end of each
test) serves zips the tests build from a real mirror file (GPCI2026.csv of
RVU26A, whose sha256 is CMS's). A synthetic :class:`rvucalc.catalogue.Release`
points at it; the catalogue is not touched. Every fault must end in a
:class:`DownloadError` / :class:`MissingFileError` or a correct result, and the
cache folder must never keep a partial or unverified file.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import multiprocessing
import os
import struct
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rvucalc import fetch
from rvucalc.catalogue import FileSpec, Release
from rvucalc.errors import ChecksumError, DownloadError, MissingFileError, RvucalcError
from rvucalc.iotools.gpci import read_gpci

MEMBER = "GPCI2026.csv"
#: sha256 of RVU26A's GPCI2026.csv as CMS ships it (mirror pfs/SOURCES.md).
MEMBER_SHA = "5e2cc8072633ccb0e24b4620e87540852235a71aad6bdd12601308b41e636bf1"


# --------------------------------------------------------------------------- server


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    mode: str = "ok"  # ok | short (Content-Length larger than body) | nolength-short | slow
    hits: int = 0


@dataclass
class Server:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        route = self.routes.get(self.path.lstrip("/"))
        if route is None:
            self.send_error(404, "no such file")
            return
        route.hits += 1
        if route.status != 200:
            self.send_error(route.status, "server says no")
            return
        body = route.body
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if route.mode == "nolength-short":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if route.mode == "short":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if route.mode == "slow":
            step = max(1, len(body) // 20)
            for i in range(0, len(body), step):  # bounded: 20-ish chunks
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Server]:
    routes: dict[str, Route] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield Server(httpd.server_address[1], routes)
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def member_bytes(mirror) -> bytes:
    data = mirror("pfs/rvu26a/GPCI2026.csv").read_bytes()
    assert hashlib.sha256(data).hexdigest() == MEMBER_SHA
    return data


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2025, 12, 29, 0, 0, 0)), data,
                        compress_type=compression)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _release(url: str, *, zip_sha: str | None = None, member_sha: str | None = MEMBER_SHA,
             rid: str = "test-rvu26a") -> Release:
    return Release(id=rid, system="pfs", year=2026, label="test release (local server)",
                   folder=Path("."), url=url, sha256=zip_sha,
                   files={"gpci": FileSpec("gpci", MEMBER, sha256=member_sha)})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    c = tmp_path / "cache"
    monkeypatch.setenv("RVUCALC_CACHE", str(c))
    monkeypatch.delenv("RVUCALC_OFFLINE", raising=False)  # these tests download from 127.0.0.1
    fetch.reset_network_failures()
    return c


@pytest.fixture
def no_mirror(tmp_path: Path) -> str:
    d = tmp_path / "empty-mirror"
    d.mkdir()
    return str(d)


def _files(folder: Path) -> list[str]:
    """Every file below *folder* (relative names), hidden temporary files included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _locate(rel: Release, no_mirror: str) -> fetch.Located:
    return fetch.locate(rel, "gpci", mirror=no_mirror, download=True, progress=False)


def _fails(rel: Release, no_mirror: str, cache: Path, *, match: str | None = None,
           exc: type[Exception] = DownloadError) -> RvucalcError:
    with pytest.raises(exc) as ei:
        _locate(rel, no_mirror)
    if match:
        assert match.lower() in str(ei.value).lower(), str(ei.value)
    assert _files(cache) == [], f"left in the cache: {_files(cache)}"
    return ei.value


# --------------------------------------------------------------------------- good path


def test_download_extract_verify_then_cache(server: Server, cache: Path, no_mirror: str,
                                            member_bytes: bytes) -> None:
    z = _zip({"rvu26a/" + MEMBER: member_bytes, "README.txt": b"readme"})
    server.routes["rvu26a.zip"] = Route(z)
    rel = _release(server.url("rvu26a.zip"), zip_sha=_sha(z))
    loc = _locate(rel, no_mirror)
    assert (loc.origin, loc.verified, loc.sha256) == ("download", True, MEMBER_SHA)
    assert loc.path.read_bytes() == member_bytes
    assert _files(cache) == [f"{rel.id}/{MEMBER}", f"{rel.id}/rvu26a.zip"]
    assert len(read_gpci(loc.path)) == 109  # 109 localities (mirror SOURCES.md)
    again = _locate(rel, no_mirror)
    assert again.origin == "cache" and server.routes["rvu26a.zip"].hits == 1


def test_no_url_and_no_file_is_missing_file_error(cache: Path, no_mirror: str) -> None:
    rel = _release(None)  # type: ignore[arg-type]
    err = _fails(rel, no_mirror, cache, exc=MissingFileError)
    assert MEMBER in str(err)


# --------------------------------------------------------------------------- transfer faults


@pytest.mark.parametrize("zip_sha", [True, False], ids=["zip-sha-known", "zip-sha-unknown"])
def test_interrupted_transfer_content_length(server: Server, cache: Path, no_mirror: str,
                                             member_bytes: bytes, zip_sha: bool) -> None:
    z = _zip({MEMBER: member_bytes})
    server.routes["cut.zip"] = Route(z, mode="short")
    _fails(_release(server.url("cut.zip"), zip_sha=_sha(z) if zip_sha else None), no_mirror, cache,
           match="could not download")


@pytest.mark.parametrize("zip_sha", [True, False], ids=["zip-sha-known", "zip-sha-unknown"])
def test_interrupted_transfer_without_length(server: Server, cache: Path, no_mirror: str,
                                             member_bytes: bytes, zip_sha: bool) -> None:
    """The server closes early and never said how long the body was: only the
    checksum (or the zip structure) can tell; the partial zip must not stay."""
    z = _zip({MEMBER: member_bytes}, compression=zipfile.ZIP_STORED)
    server.routes["cut.zip"] = Route(z, mode="nolength-short")
    rel = _release(server.url("cut.zip"), zip_sha=_sha(z) if zip_sha else None)
    _fails(rel, no_mirror, cache)
    # a later run downloads again rather than reusing a broken zip
    server.routes["cut.zip"].mode = "ok"
    assert _locate(rel, no_mirror).path.read_bytes() == member_bytes


def test_wrong_zip_checksum(server: Server, cache: Path, no_mirror: str, member_bytes: bytes) -> None:
    z = _zip({MEMBER: member_bytes})
    server.routes["x.zip"] = Route(z)
    _fails(_release(server.url("x.zip"), zip_sha="0" * 64), no_mirror, cache, match="could not download")


def test_wrong_member_checksum(server: Server, cache: Path, no_mirror: str, member_bytes: bytes) -> None:
    tampered = member_bytes.replace(b"0.566", b"0.666", 1)
    server.routes["x.zip"] = Route(_zip({MEMBER: tampered}))
    _fails(_release(server.url("x.zip")), no_mirror, cache, match="does not match")


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors(server: Server, cache: Path, no_mirror: str, status: int) -> None:
    server.routes["x.zip"] = Route(status=status)
    err = _fails(_release(server.url("x.zip")), no_mirror, cache)
    assert str(status) in str(err) and server.url("x.zip") in str(err)


def test_not_a_zip(server: Server, cache: Path, no_mirror: str) -> None:
    """A portal page served with status 200 instead of the zip."""
    server.routes["x.zip"] = Route(b"<html><body>Please log in</body></html>")
    _fails(_release(server.url("x.zip")), no_mirror, cache, match="not a zip")


def test_zip_without_the_member(server: Server, cache: Path, no_mirror: str) -> None:
    server.routes["x.zip"] = Route(_zip({"GPCI2025.csv": b"a,b\r\n", "README.txt": b"x"}))
    _fails(_release(server.url("x.zip")), no_mirror, cache, match="no member named")


def test_connection_refused(cache: Path, no_mirror: str) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    _fails(_release(f"http://127.0.0.1:{port}/x.zip"), no_mirror, cache, match="could not download")


# --------------------------------------------------------------------------- hostile zips


@pytest.mark.parametrize("bad_name", [f"../{MEMBER}", f"../../{MEMBER}", f"/tmp/{MEMBER}",
                                      f"rvu/../../{MEMBER}", f"..\\{MEMBER}"])
def test_unsafe_member_paths(server: Server, cache: Path, no_mirror: str, tmp_path: Path,
                             member_bytes: bytes, bad_name: str) -> None:
    server.routes["x.zip"] = Route(_zip({bad_name: member_bytes}))
    _fails(_release(server.url("x.zip")), no_mirror, cache, match="unsafe member path")
    assert not (tmp_path / MEMBER).exists() and not (cache.parent / MEMBER).exists()


def _lie_about_size(z: bytes, name: str, declared: int) -> bytes:
    """Rewrite the uncompressed size of *name* in the local and central headers."""
    out = bytearray(z)
    nb = name.encode()
    # local file header: signature PK\3\4, uncompressed size at offset 22
    i = out.find(b"PK\x03\x04")
    while i != -1:
        nlen = struct.unpack_from("<H", out, i + 26)[0]
        if bytes(out[i + 30:i + 30 + nlen]) == nb:
            struct.pack_into("<I", out, i + 22, declared)
        i = out.find(b"PK\x03\x04", i + 4)
    # central directory header: signature PK\1\2, uncompressed size at offset 24
    i = out.find(b"PK\x01\x02")
    while i != -1:
        nlen = struct.unpack_from("<H", out, i + 28)[0]
        if bytes(out[i + 46:i + 46 + nlen]) == nb:
            struct.pack_into("<I", out, i + 24, declared)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


@pytest.mark.parametrize("declared", [1000, 1], ids=["declares-1000-bytes", "declares-1-byte"])
def test_zip_bomb_member_larger_than_declared(server: Server, cache: Path, no_mirror: str,
                                              declared: int) -> None:
    """20 MB of zeros deflate to ~20 kB; the header says the member is tiny."""
    bomb = _lie_about_size(_zip({MEMBER: bytes(20 * 1024 * 1024)}), MEMBER, declared)
    assert len(bomb) < 100_000
    server.routes["bomb.zip"] = Route(bomb)
    _fails(_release(server.url("bomb.zip"), member_sha=None), no_mirror, cache, match="declared size")


def test_member_declared_too_large(server: Server, cache: Path, no_mirror: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "MAX_MEMBER_BYTES", 1024 * 1024)
    z = _zip({MEMBER: bytes(2 * 1024 * 1024)})
    server.routes["big.zip"] = Route(z)
    _fails(_release(server.url("big.zip"), member_sha=None), no_mirror, cache, match="too large")


def test_corrupt_member_data_bad_crc(server: Server, cache: Path, no_mirror: str,
                                     member_bytes: bytes) -> None:
    z = bytearray(_zip({MEMBER: member_bytes}, compression=zipfile.ZIP_STORED))
    at = z.find(b"ALABAMA")
    z[at:at + 7] = b"ALABAMB"  # stored data changed, CRC in the headers not
    server.routes["crc.zip"] = Route(bytes(z))
    _fails(_release(server.url("crc.zip"), member_sha=None), no_mirror, cache, match="cannot extract")


# --------------------------------------------------------------------------- cache faults


def test_cache_parent_is_a_file(server: Server, tmp_path: Path, no_mirror: str, member_bytes: bytes,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder that cannot be created (its parent is a file): works as read-only for root too."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    monkeypatch.setenv("RVUCALC_CACHE", str(blocker / "cache"))
    monkeypatch.delenv("RVUCALC_OFFLINE", raising=False)
    server.routes["x.zip"] = Route(_zip({MEMBER: member_bytes}))
    with pytest.raises(DownloadError, match="RVUCALC_CACHE"):
        _locate(_release(server.url("x.zip")), no_mirror)
    assert blocker.read_bytes() == b"x"


def test_cache_read_only_during_extraction(server: Server, cache: Path, no_mirror: str,
                                           member_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final rename is refused (a read-only folder, simulated: chmod does not stop root)."""
    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied (simulated read-only cache)")

    server.routes["x.zip"] = Route(_zip({MEMBER: member_bytes}))
    monkeypatch.setattr(fetch.os, "replace", deny)
    _fails(_release(server.url("x.zip")), no_mirror, cache, match="permission denied")


def test_corrupted_cached_member_is_not_used(server: Server, cache: Path, no_mirror: str,
                                             member_bytes: bytes) -> None:
    z = _zip({MEMBER: member_bytes})
    server.routes["x.zip"] = Route(z)
    rel = _release(server.url("x.zip"), zip_sha=_sha(z))
    p = _locate(rel, no_mirror).path
    p.write_bytes(p.read_bytes()[:100])  # damaged on disk after the download
    loc = _locate(rel, no_mirror)
    assert loc.origin == "download" and loc.path.read_bytes() == member_bytes


# --------------------------------------------------------------------------- two processes


def _child(url: str, zip_sha: str | None, cache_dir: str, no_mirror: str, q: multiprocessing.Queue) -> None:
    os.environ["RVUCALC_CACHE"] = cache_dir
    try:
        loc = _locate(_release(url, zip_sha=zip_sha), no_mirror)
        q.put((loc.sha256, _sha(loc.path.read_bytes()), len(read_gpci(loc.path))))
    except BaseException as exc:  # report, never hang the parent
        q.put(("error", repr(exc), 0))


@pytest.mark.parametrize("zip_sha", [True, False], ids=["zip-sha-known", "zip-sha-unknown"])
def test_two_processes_load_the_same_release(server: Server, cache: Path, no_mirror: str,
                                             member_bytes: bytes, zip_sha: bool) -> None:
    z = _zip({MEMBER: member_bytes})
    server.routes["x.zip"] = Route(z, mode="slow")  # ~1 s per download: the two overlap
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue = ctx.Queue()
    url = server.url("x.zip")
    args = (url, _sha(z) if zip_sha else None, str(cache), no_mirror, q)
    procs = [ctx.Process(target=_child, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert results == [(MEMBER_SHA, MEMBER_SHA, 109)] * 2, results
    assert _files(cache) == [f"test-rvu26a/{MEMBER}", "test-rvu26a/x.zip"]


def test_extract_member_directly_wraps_every_zip_error(tmp_path: Path) -> None:
    """``extract_member`` on garbage and on a truncated zip: DownloadError, nothing written."""
    cases: dict[str, Callable[[], bytes]] = {
        "garbage": lambda: b"PK\x03\x04" + bytes(100),
        "truncated": lambda: _zip({MEMBER: os.urandom(50_000)})[:30_000],
        "empty": lambda: b"",
    }
    for name, make in cases.items():
        zp = tmp_path / f"{name}.zip"
        zp.write_bytes(make())
        out = tmp_path / f"out-{name}"
        out.mkdir()
        with pytest.raises(DownloadError):
            fetch.extract_member(zp, (MEMBER,), out)
        assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- issue 9: offline, timeouts, TOFU


def test_offline_env_is_honoured_by_fetch_and_locate(cache: Path, no_mirror: str, capsys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: `RVUCALC_OFFLINE=1 rvucalc fetch` still downloaded."""
    from rvucalc.cli import main

    calls: list[str] = []
    monkeypatch.setattr(fetch, "_download_member", lambda *a, **k: calls.append("download"))
    import pooch

    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: calls.append("pooch"))
    monkeypatch.setenv("RVUCALC_OFFLINE", "1")
    rc = main(["fetch", "rvu24a", "--mirror", no_mirror])
    err = capsys.readouterr().err
    assert rc == 1 and calls == []
    assert "downloads are off" in err and "RVUCALC_OFFLINE" in err
    with pytest.raises(MissingFileError, match="downloads are off"):
        fetch.locate(_release("http://127.0.0.1:9/x.zip"), "gpci", mirror=no_mirror, download=True)
    import rvucalc

    with pytest.raises(MissingFileError):
        rvucalc.load(2026, mirror=no_mirror, download=True)
    assert calls == []


def test_fetch_offline_flag(cache: Path, no_mirror: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from rvucalc.cli import main

    calls: list[str] = []
    monkeypatch.setattr(fetch, "_download_member", lambda *a, **k: calls.append("download"))
    assert main(["fetch", "rvu24a", "--mirror", no_mirror, "--offline"]) == 1 and calls == []


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A proxy on 127.0.0.1 that accepts connections and never answers; yields the accept count."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            held.append(c)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    proxy = f"http://127.0.0.1:{srv.getsockname()[1]}"
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(k, proxy)
    for k in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("RVUCALC_TIMEOUT", "1")
    try:
        yield accepted
    finally:
        stop.set()
        t.join(5)
        for c in held:
            c.close()
        srv.close()
        fetch.reset_network_failures()


def test_dead_proxy_fails_fast_once(cache: Path, no_mirror: str, dead_proxy: list[int]) -> None:
    """Issue 9: with a dead proxy a quote took 121 s to fail. Timeouts bound the attempt, and after
    one network failure the same host is not tried again for the next release."""
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="timed out|could not be reached"):
        _locate(_release("http://cms.invalid/a.zip"), no_mirror)
    first = time.monotonic() - t0
    assert first < 5, first
    t1 = time.monotonic()
    with pytest.raises(DownloadError, match="not retried"):
        _locate(_release("http://cms.invalid/b.zip", rid="test-other"), no_mirror)
    assert time.monotonic() - t1 < 0.5
    assert len(dead_proxy) == 1
    assert _files(cache) == []


def test_dead_proxy_quote_fails_in_seconds(cache: Path, no_mirror: str, dead_proxy: list[int],
                                           capsys) -> None:
    """The whole `rvucalc quote 20983` with nothing at hand and a dead proxy: one attempt, exit 2."""
    from rvucalc.cli import main

    t0 = time.monotonic()
    rc = main(["quote", "20983", "--mirror", no_mirror])
    took = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc == 2 and took < 10, (took, err)
    assert err.startswith("rvucalc: could not download https://www.cms.gov/") and err.count("\n") == 1
    assert len(dead_proxy) == 1


def test_timeouts_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RVUCALC_TIMEOUT", "5")
    assert fetch.timeouts() == (5.0, 5.0)
    monkeypatch.setenv("RVUCALC_TIMEOUT", "60")
    assert fetch.timeouts() == (10.0, 60.0)
    monkeypatch.delenv("RVUCALC_TIMEOUT")
    assert fetch.timeouts() == (10.0, 30.0)


def test_trust_on_first_use(server: Server, cache: Path, no_mirror: str, member_bytes: bytes) -> None:
    """Issue 9: catalogued releases without a checksum were used unverified without a word. The first
    download's sha256 is recorded; the source says unverified / trust on first use; a later copy with
    other bytes is refused."""
    import json

    from rvucalc.facade import _source

    z = _zip({MEMBER: member_bytes})
    server.routes["x.zip"] = Route(z)
    rel = _release(server.url("x.zip"), member_sha=None)
    loc = _locate(rel, no_mirror)
    assert (loc.origin, loc.verified, loc.tofu) == ("download", False, True)
    rec = json.loads((cache / rel.id / "tofu-sha256.json").read_text())
    assert rec[MEMBER]["sha256"] == MEMBER_SHA == loc.sha256
    src = _source(loc)
    assert not src.verified and "trust on first use" in src.note and "unverified" in src.note
    assert "UNVERIFIED" in str(src)
    again = _locate(rel, no_mirror)
    assert (again.origin, again.tofu, again.tofu_date) == ("cache", True, loc.tofu_date)
    # the cached copy damaged: not used, downloaded again, matches the record
    again.path.write_bytes(member_bytes[:50])
    third = _locate(rel, no_mirror)
    assert third.origin == "download" and third.path.read_bytes() == member_bytes
    # CMS's server now sends other bytes under the same URL: refused, nothing kept
    third.path.unlink()
    (cache / rel.id / "x.zip").unlink()
    server.routes["x.zip"] = Route(_zip({MEMBER: member_bytes.replace(b"ALABAMA", b"ALABAMB")}))
    with pytest.raises(ChecksumError, match="recorded at its first download"):
        _locate(rel, no_mirror)
    assert _files(cache) == [f"{rel.id}/tofu-sha256.json"]


def test_download_prefers_the_member_over_its_alias(server: Server, cache: Path, no_mirror: str,
                                                    member_bytes: bytes) -> None:
    """A CMS zip holds the table as .txt and .xlsx too; the member whose checksum is known is taken."""
    z = _zip({"GPCI2026.txt": b"fixed width", MEMBER: member_bytes})
    server.routes["x.zip"] = Route(z)
    spec = FileSpec("gpci", MEMBER, aliases=("GPCI2026.txt",), sha256=MEMBER_SHA)
    rel = Release(id="test-alias", system="pfs", year=2026, label="t", folder=Path("."),
                  url=server.url("x.zip"), files={"gpci": spec})
    loc = _locate(rel, no_mirror)
    assert loc.verified and loc.path.name == MEMBER


def test_catalogue_sources_without_checksum_are_reported_unverified(capsys, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`rvucalc fetch` marks every file it cannot verify."""
    from rvucalc.cli import main

    monkeypatch.setenv("RVUCALC_OFFLINE", "1")
    monkeypatch.setenv("RVUCALC_CACHE", str(tmp_path / "c"))
    main(["fetch", "rvu26c"])
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert "verified" in lines["pprrvu"] and "UNVERIFIED" not in lines["pprrvu"]
    main(["fetch", "zip5-2026-01"])  # the mirror's ZIP5_JAN2026.xlsx is a known re-saved copy
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert "UNVERIFIED" in lines["zip5"]
