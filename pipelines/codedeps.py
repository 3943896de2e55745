"""A stage's code dependencies, read from its imports.

:func:`module_files` parses ``pipelines`` modules with :mod:`ast` (nothing is imported or run)
and follows every import of a ``pipelines`` module — at module level or inside a function,
absolute or relative — to the files it reaches, package ``__init__.py`` files included. The
DAG declares these files as a stage's dependencies, so editing any module a stage imports
marks that stage out of date under Snakemake and DVC.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from .config import REPO_ROOT

PACKAGE = "pipelines"


def module_path(module: str) -> Path | None:
    """The file of a ``pipelines`` module (``pipelines/a/b.py`` or ``pipelines/a/b/__init__.py``)."""
    base = REPO_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


@cache
def direct_imports(module: str) -> frozenset[str]:
    """The ``pipelines`` modules that ``module`` imports anywhere in its source."""
    path = module_path(module)
    if path is None:
        raise ValueError(f"{module}: no such module under {REPO_ROOT / PACKAGE}")
    package = _package_of(module, path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            found.add(target)
            for alias in node.names:  # `from .pkg import module` imports a module, not a name
                if module_path(f"{target}.{alias.name}") is not None:
                    found.add(f"{target}.{alias.name}")
    return frozenset(m for m in found if module_path(m) is not None)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def module_closure(module: str) -> set[str]:
    """``module`` and every ``pipelines`` module it reaches through imports, parent packages included."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        m = todo.pop()
        for name in _with_parents(m):
            if name not in seen:
                seen.add(name)
                todo.extend(direct_imports(name))
    return seen


def module_files(module: str) -> list[str]:
    """Repository-relative files of :func:`module_closure`, sorted."""
    return sorted(str(module_path(m).relative_to(REPO_ROOT)) for m in module_closure(module))
