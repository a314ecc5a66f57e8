"""The package's shape: the library raises and reports, only the command layer prints; light
imports stay light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hume"
COMMAND_LAYER = {PACKAGE / "cli.py", *(PACKAGE / "commands").glob("*.py")}


def _library_modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in COMMAND_LAYER)


@pytest.mark.parametrize("path", _library_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_modules_neither_print_nor_import_the_cli_toolkits(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in ("typer", "rich", "click"), (path, node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("print", "exit", "quit"), (path, node.lineno)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) != ("sys", "exit"), (path, node.lineno)
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            assert getattr(func, "id", None) != "SystemExit", (path, node.lineno)


@pytest.mark.parametrize(
    "code",
    [
        "import hume.store, hume.core.names, hume.runs, hume.core.errors, hume.core.reporting",
        "import hume.search; hume.search.Method",
        "from hume.cli import app",
    ],
)
def test_light_imports_do_not_pay_for_torch(code):
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
