"""The house plan: each package imports only the packages above it, and the price engine needs no
Django."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

# Top to bottom: a package may import itself and those before it, never one after it.
LAYERS = [
    "core",
    "notify",
    "health",
    "prices",
    "alerts",
    "metrics",
    "dashboard",
    "oracle",
    "simulators",
]


def imported_packages(path: Path) -> set[str]:
    """The top-level names of the project's packages that a module imports (at any depth)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LAYERS)
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_those_above_it(package: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - allowed)
        for path in (ROOT / package).rglob("*.py")
        if imported_packages(path) - allowed
    }
    assert wrong == {}, f"{package} may import only {sorted(allowed)}"


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nimport alerts.store\nfrom prices.utxoracle import engine\n"
        "from . import sibling\ndef f():\n    from dashboard import views\n"
    )
    assert imported_packages(module) == {"alerts", "prices", "dashboard"}


def test_the_price_engine_imports_no_django() -> None:
    code = (
        "import sys\n"
        "import prices.utxoracle.algorithm, prices.utxoracle.engine\n"
        "import prices.utxoracle.parser, prices.utxoracle.sources\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'django'))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
