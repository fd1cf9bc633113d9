"""The package's structure (issue 19): no import cycle anywhere in rvucalc, and the modules that
do the work never import the facade. The layers themselves are import-linter's contract in
pyproject.toml, run by .ci/run (``lint-imports``)."""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on.add(v)
            nxt = edges.get(v, [])
            if i < len(nxt):
                work.append((v, i + 1))
                w = nxt[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def test_no_import_cycle_in_rvucalc():
    assert _cycles(grimp.build_graph("rvucalc")) == []


def test_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "loopy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("loopy")) == [["loopy.a", "loopy.b"]]


def test_work_modules_never_import_the_facade():
    graph = grimp.build_graph("rvucalc")
    for mod in ("rvucalc.sites", "rvucalc.anesthesia", "rvucalc.volumes", "rvucalc.diff"):
        assert "rvucalc.facade" not in graph.find_modules_directly_imported_by(mod), mod


def test_no_cli_module_at_the_top_level():
    assert not list((ROOT / "rvucalc").glob("cli_*.py"))
    assert (ROOT / "rvucalc" / "cli" / "__init__.py").is_file()


def test_one_home_per_facility_system():
    for gone in ("calc/opps_claims.py", "calc/asc_claims.py", "claims/facility_pipeline.py"):
        assert not (ROOT / "rvucalc" / gone).exists(), gone
    for home in ("claims/opps.py", "claims/asc.py", "claims/sites.py"):
        assert (ROOT / "rvucalc" / home).is_file(), home


def test_every_relative_import_names_a_module_that_exists():
    """Imports inside functions run only when called: a moved module must not leave one behind
    that names its old neighbours (``from .datasets`` in ``rvucalc/cli/`` after a move)."""
    import ast
    import importlib.util

    bad = []
    for path in sorted((ROOT / "rvucalc").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                for name in names:
                    found = importlib.util.find_spec(name) is not None
                    if not found and not node.module:  # `from . import x`: x may be a name
                        continue
                    if not found:
                        bad.append(f"{rel}:{node.lineno} {name}")
    assert bad == []


def test_every_public_fee_schedule_method_has_a_signature_and_a_docstring():
    """help(fs.compare_sites) shows the keywords, not (hcpcs, **kwargs) (issue 19)."""
    import inspect

    import rvucalc

    for name, fn in inspect.getmembers(rvucalc.FeeSchedule, inspect.isfunction):
        if name.startswith("_"):
            continue
        params = inspect.signature(fn).parameters.values()
        assert not any(p.kind is p.VAR_KEYWORD for p in params), name
        assert (fn.__doc__ or "").strip(), name


def test_compare_sites_takes_county_as_quote_does(fs26):
    a = fs26.compare_sites("20983", county="06037")
    b = fs26.compare_sites("20983", county_fips="06037")
    assert a == b
    assert a.locality == "01182-18"  # Los Angeles county -> its PFS locality, as fs.quote(county=)
    assert fs26.quote("20983", county="06037").locality.locality_id == a.locality
