"""Issue 14 item 4: SQLAlchemy stays inside ``dialer/storage``; every other module of the
dialer and the policy core reaches the database through storage's named methods and catches
storage's own errors (``DatabaseUnavailableError``), never the library's.

``crm_adapter/`` is out of scope: its SQL adapter talks to the CRM's database, not ours.
Likewise panoramisk stays inside ``dialer/ami``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORAGE = ROOT / "dialer" / "storage"


def library_imports(source: str, library: str = "sqlalchemy") -> list[int]:
    """Line numbers of every ``import sqlalchemy…`` / ``from sqlalchemy… import`` in source
    (or of another ``library``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == library for name in names):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_every_form_of_a_sqlalchemy_import() -> None:
    source = (
        "import os\nimport sqlalchemy as sa\nfrom sqlalchemy.orm import Session\n"
        "def f():\n    from sqlalchemy import select\nfrom dialer.storage import x\n"
    )
    assert library_imports(source) == [2, 3, 5]


def test_sqlalchemy_is_imported_only_inside_storage() -> None:
    modules = [*(ROOT / "dialer").rglob("*.py"), *(ROOT / "campaigns").rglob("*.py")]
    assert len(modules) > 30
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules
        if STORAGE not in path.parents
        for line in library_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_panoramisk_is_imported_only_inside_ami() -> None:
    """Issue 14: ``dialer/ami/`` is the only importer of the AMI library."""
    ami = ROOT / "dialer" / "ami"
    modules = [*(ROOT / "dialer").rglob("*.py"), *(ROOT / "campaigns").rglob("*.py")]
    inside = [path for path in modules if ami in path.parents]
    assert any(library_imports(p.read_text(encoding="utf-8"), "panoramisk") for p in inside)
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules
        if ami not in path.parents
        for line in library_imports(path.read_text(encoding="utf-8"), "panoramisk")
    ]
    assert offenders == []


_DECIDING = (ast.If, ast.IfExp, ast.For, ast.While, ast.Try, ast.With, ast.Match, ast.Await)


def deciding_lines(function: ast.FunctionDef) -> list[int]:
    """Lines of ``function`` (its lambdas included) that branch, loop, catch or wait."""
    return sorted(node.lineno for node in ast.walk(function) if isinstance(node, _DECIDING))


def test_the_scan_finds_a_decision_in_a_root() -> None:
    tree = ast.parse("def build(c):\n    a = A(c)\n    if c.x:\n        a = B()\n    return a\n")
    [build] = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert deciding_lines(build) == [3]


def test_the_composition_root_only_wires() -> None:
    """Issue 14 item 2: ``build_service`` builds the node by constructor calls only; every
    branch, loop, query or wait lives in the object that owns it."""
    tree = ast.parse((ROOT / "dialer" / "app" / "root.py").read_text(encoding="utf-8"))
    [build] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_service"]
    assert deciding_lines(build) == []
    assert not any(isinstance(node, ast.ListComp | ast.GeneratorExp) for node in ast.walk(build))
