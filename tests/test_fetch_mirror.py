"""Finding release files in a mirror folder: by name, anywhere below it, with checksums honoured."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rvucalc.catalogue import FileSpec, Release
from rvucalc.errors import ChecksumError, MissingFileError
from rvucalc.fetch import _index, locate

CMS_BYTES = b"HCPCS,MOD\r\nAAAA1,\r\n"  # synthetic stand-in for a CMS member
COPY_BYTES = b"HCPCS,MOD\nAAAA1,\n"  # the same table re-saved by someone else


def _release(tmp_path: Path, **spec_kw) -> Release:
    spec = FileSpec(table="pprrvu", name="PPRRVU2099_Jan.csv", aliases=("PPRRVU2099_Jan.txt",),
                    sha256=hashlib.sha256(CMS_BYTES).hexdigest(), **spec_kw)
    return Release(id="rvu99a", system="pfs", year=2099, label="synthetic RVU99A", folder=tmp_path,
                   files={"pprrvu": spec})


def _mirror(tmp_path: Path, rel_path: str, data: bytes) -> Path:
    root = tmp_path / "mirror"
    p = root / rel_path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    _index.cache_clear()
    return root


def test_found_by_name_in_any_subfolder_and_verified(tmp_path):
    root = _mirror(tmp_path, "deep/down/rvu99a/PPRRVU2099_Jan.csv", CMS_BYTES)
    loc = locate(_release(tmp_path), "pprrvu", mirror=root, download=False)
    assert loc.origin == "mirror" and loc.verified and loc.path.name == "PPRRVU2099_Jan.csv"


def test_same_name_other_bytes_is_refused(tmp_path):
    """Refused and reported as a checksum mismatch naming the file (issue 9: a tampered PPRRVU)."""
    root = _mirror(tmp_path, "x/PPRRVU2099_Jan.csv", COPY_BYTES)
    with pytest.raises(ChecksumError, match="checksum mismatch: .*PPRRVU2099_Jan.csv"):
        locate(_release(tmp_path), "pprrvu", mirror=root, download=False)


def test_known_third_party_copy_is_used_unverified(tmp_path):
    root = _mirror(tmp_path, "x/PPRRVU2099_Jan.csv", COPY_BYTES)
    rel = _release(tmp_path, mirror_sha256=(hashlib.sha256(COPY_BYTES).hexdigest(),))
    loc = locate(rel, "pprrvu", mirror=root, download=False)
    assert not loc.verified


def test_alias_of_a_pinned_table_cannot_be_verified_and_is_refused(tmp_path):
    """Issue 9: a tampered PPRRVU renamed to its .txt alias was used with only a hash printed.
    Where the catalogue pins the table to CMS's bytes, a file with other bytes under any of its
    names is refused, naming the file."""
    root = _mirror(tmp_path, "x/pprrvu2099_jan.TXT", b"fixed width bytes")
    with pytest.raises(ChecksumError, match="pprrvu2099_jan.TXT.*cannot be verified"):
        locate(_release(tmp_path), "pprrvu", mirror=root, download=False)


def test_alias_with_cms_bytes_is_verified(tmp_path):
    root = _mirror(tmp_path, "x/PPRRVU2099_Jan.txt", CMS_BYTES)
    loc = locate(_release(tmp_path), "pprrvu", mirror=root, download=False)
    assert loc.verified


def test_alias_of_an_unpinned_table_is_used_unverified(tmp_path):
    root = _mirror(tmp_path, "x/pprrvu2099_jan.TXT", b"fixed width bytes")
    rel = _release(tmp_path)
    spec = rel.files["pprrvu"]
    rel.files["pprrvu"] = FileSpec(table=spec.table, name=spec.name, aliases=spec.aliases)
    loc = locate(rel, "pprrvu", mirror=root, download=False)
    assert loc.path.name == "pprrvu2099_jan.TXT" and not loc.verified


def test_missing_says_where_it_looked_and_where_to_get_it(tmp_path):
    root = _mirror(tmp_path, "x/other.csv", b"")
    with pytest.raises(MissingFileError) as e:
        locate(_release(tmp_path), "pprrvu", mirror=root, download=False)
    assert str(root) in str(e.value) and "RVUCALC_MIRROR" in str(e.value)
