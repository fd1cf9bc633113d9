"""Restructuring leaves every output byte-identical (issue 19): a 100k-line synthetic book through
the memory, streaming and Dask engines for the PFS, HOPD and ASC settings, the per-claim site
comparison, and the CLI's quote, sites, schedule and anes, against the digests recorded in
``tests/output_identity.json`` by ``python tests/output_identity.py --write``.

A digest may change only with a commit that states the change of behaviour (and re-records).
"""

from __future__ import annotations

import json

import pytest
from output_identity import RECORD, digests


@pytest.fixture(scope="module")
def got(tmp_path_factory):
    return digests(tmp_path_factory.mktemp("identity"))


@pytest.mark.parametrize("name", sorted(json.loads(RECORD.read_text())))
def test_output_unchanged(got, name):
    want = json.loads(RECORD.read_text())[name]
    assert got[name] == want, f"{name}: output changed (re-record only for a stated change)"


def test_memory_and_stream_agree(got):
    for setting in ("pfs", "hopd", "asc"):
        assert got[f"reprice {setting} memory"] == got[f"reprice {setting} stream"]
        assert got[f"reprice {setting} memory claims"] == got[f"reprice {setting} stream claims"]
