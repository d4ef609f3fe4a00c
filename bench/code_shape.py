"""Prints the largest classes (by method count) and the longest functions of a package.

A measurement for the note of issue 14 ("no class over ~20 methods, no function over ~40
lines in dialer/"), not a lint: it always exits 0.

    .venv/bin/python bench/code_shape.py [PACKAGE_DIR] [--top N]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _shapes(path: Path, root: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(method count, name) per class and (line count, name) per function of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = path.relative_to(root.parent).with_suffix("").as_posix().replace("/", ".")
    classes: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                methods = [n for n in child.body if isinstance(n, _Function)]
                classes.append((len(methods), f"{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, _Function):
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                functions.append((lines, f"{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")

    visit(tree, f"{module}:")
    return classes, functions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", default="dialer", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    classes: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    package = args.package.resolve()
    for path in sorted(package.rglob("*.py")):
        found_classes, found_functions = _shapes(path, package)
        classes += found_classes
        functions += found_functions
    print(f"largest classes in {args.package}/ (methods):")
    for count, name in sorted(classes, reverse=True)[: args.top]:
        print(f"  {count:4d}  {name}")
    print(f"longest functions in {args.package}/ (lines, decorators excluded):")
    for count, name in sorted(functions, reverse=True)[: args.top]:
        print(f"  {count:4d}  {name}")
    over = sum(1 for count, _ in classes if count > 20), sum(1 for n, _ in functions if n > 40)
    print(f"classes over 20 methods: {over[0]}; functions over 40 lines: {over[1]}")


if __name__ == "__main__":
    main()
