"""Import rules import-linter cannot state: no module of ours takes another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mov_"):
            found += [
                f"{path.relative_to(SRC)}:{node.lineno} imports {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_module_imports_the_private_names_of_another():
    offenders = [line for path in sorted(SRC.rglob("*.py")) for line in _private_imports(path)]
    assert offenders == []
