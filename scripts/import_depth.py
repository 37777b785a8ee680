"""The longest import chain between the modules of bot/ and signals/.

    .venv/bin/python scripts/import_depth.py [ROOT]

An import through a package's `__init__` counts as an import of the module that defines the
name, so re-exports add no level; imports inside functions and under TYPE_CHECKING count.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections import defaultdict
from pathlib import Path


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in ("bot", "signals"):
        for path in (root / package).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _owner(modules: dict[str, Path], package: str, name: str) -> str:
    """The module that defines `package.name` (a submodule, or where the object lives)."""
    if f"{package}.{name}" in modules:
        return f"{package}.{name}"
    try:
        where = getattr(getattr(importlib.import_module(package), name), "__module__", None)
    except (ImportError, AttributeError):
        return package
    return where if where in modules else package


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = module.split(".") if is_package else module.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                if base in modules:
                    targets = [_owner(modules, base, alias.name) for alias in node.names]
                else:
                    targets = [base]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                own_part = is_package and target.startswith(module + ".")
                if target and target != module and not own_part:
                    edges[module].add(target)
    return edges


def longest_chain(root: Path) -> list[str]:
    modules = _modules(root)
    edges = _edges(modules)
    best: dict[str, list[str]] = {}

    def walk(module: str, seen: frozenset[str]) -> list[str]:
        if module in best:
            return best[module]
        if module in seen:
            return [module]
        chain = [module]
        for target in sorted(edges[module]):
            below = walk(target, seen | {module})
            if len(below) + 1 > len(chain):
                chain = [module, *below]
        best[module] = chain
        return chain

    return max((walk(m, frozenset()) for m in sorted(modules)), key=len)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    sys.path.insert(0, str(root.resolve()))
    chain = longest_chain(root)
    print(f"{len(chain)} modules in the longest import chain:")
    print(" -> ".join(chain))


if __name__ == "__main__":
    main()
