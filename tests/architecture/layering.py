"""The import rules of DESIGN.md section 2, as a checker over source files (AST, no import)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("gateway", "drivers", "analytics", "simulators")
STDLIB = frozenset(sys.stdlib_module_names)

# (package, modules it must never import)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "drivers": ("gateway", "analytics", "simulators"),
    "analytics": ("gateway", "drivers", "simulators"),
    "simulators": ("gateway", "analytics"),
    "gateway": ("simulators",),
}
# third-party module -> the only folders allowed to import it
HOMES: dict[str, tuple[str, ...]] = {
    "serial": ("drivers/transports/", "simulators/"),
    "bleak": ("drivers/transports/", "simulators/"),
    "paho": ("gateway/publish/",),
    "influxdb_client": ("gateway/timeseries/",),
}
# analytics may use only these besides the standard library and itself
ANALYTICS_ALLOWED = frozenset({"numpy", "scipy", "analytics"})
# the demo is the one gateway module that drives simulated devices
GATEWAY_MAY_USE_SIMULATORS = ("gateway/demo.py",)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.module}: {self.rule}"


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Top-level names of every absolute import in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def check_tree(root: Path) -> list[Violation]:
    """All violations of the layering rules under ``root``."""
    violations: list[Violation] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for line, module in imported_modules(tree):
                top = module.split(".")[0]
                forbidden = FORBIDDEN.get(package, ())
                if top in forbidden and not (
                    top == "simulators" and rel in GATEWAY_MAY_USE_SIMULATORS
                ):
                    violations.append(
                        Violation(rel, line, module, f"{package}/ must not import {top}/")
                    )
                homes = HOMES.get(top)
                if homes and not rel.startswith(homes):
                    violations.append(
                        Violation(rel, line, module, f"{top} only in {', '.join(homes)}")
                    )
                if package == "analytics" and top not in STDLIB and top not in ANALYTICS_ALLOWED:
                    violations.append(
                        Violation(rel, line, module, "analytics/ uses NumPy/SciPy only")
                    )
    return violations
