"""The package's shape: the library raises and reports, only the command layer prints; light
imports stay light."""

import ast
import re
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


# -- the house's shape, measured from the code's own imports (docs/README.md §2) --------------

#: the stages from the ground up: a module may import its own stage and those below it
STAGES = [
    "core",
    "store",
    "embed",
    "runs",
    "search",
    "workspace",
    "evaluate",
    "export",
    "refit",
    "commands",
]
STAGE_OF_ROOT = {"runs.py": "runs", "workspace.py": "workspace", "cli.py": "commands"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """{module: the hume modules it imports, at the top or inside a function}."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        out[name] = found
    return out


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in STAGES:
        return parts[1]
    return STAGE_OF_ROOT.get(parts[1] + ".py")


def test_no_import_circle_anywhere():
    graph = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    # a package's face importing its own modules is no circle of code
    circles = [c for c in circles if not any(m == n.rsplit(".", 1)[0] for m in c for n in c)]
    assert circles == []


def test_no_import_from_a_lower_stage_up_to_a_higher_one():
    upward = []
    for module, targets in _imports().items():
        here = _stage(module)
        for target in targets:
            there = _stage(target)
            if here and there and STAGES.index(there) > STAGES.index(here):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_the_search_reads_nothing_of_the_evaluation():
    imports = _imports()
    assert not [
        (m, t)
        for m, targets in imports.items()
        if m.startswith("hume.search")
        for t in targets
        if t.startswith("hume.evaluate")
    ]


def test_small_modules_short_docstrings_few_at_the_root():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len([n for n in root if n not in ("__init__.py", "__main__.py", "cli.py")]) <= 6, root
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert text.count("\n") <= 500, f"{path} has {text.count(chr(10))} lines"
        doc = ast.get_docstring(ast.parse(text), clean=False) or ""
        assert doc.count("\n") + 1 <= 20 or not doc, (
            f"{path}: a docstring of {doc.count(chr(10)) + 1} lines"
        )


def test_module_names_are_unique_in_the_package():
    names = [p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_every_option_of_every_command_has_its_help():
    """Options built from a declaration elsewhere (the setting options) must not cost the
    others their help and their second spellings (``--run-name``)."""
    import typer

    from hume.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if isinstance(param, typer.core.TyperOption):
                assert param.help, (name, param.name)
    search = group.commands["search"]  # type: ignore[attr-defined]
    assert "--run-name" in next(p for p in search.params if p.name == "run").opts


def test_the_map_in_docs_readme_matches_the_tree():
    """docs/README.md §2.1 has a row per package of hume/ naming each of its modules (a
    sub-package of a package may be named in its parent's row, as ``backbones/``), and names
    nothing that is not there."""
    text = (PACKAGE.parent / "docs" / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(hume/[a-z_/]*)` \| (.*) \|$", text, flags=re.M))
    missing = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        package = init.parent
        if package == PACKAGE:
            continue
        rel = f"hume/{package.relative_to(PACKAGE).as_posix()}/"
        row = rows.get(rel)
        parent = rows.get(f"hume/{package.parent.relative_to(PACKAGE).as_posix()}/", "")
        for module in sorted(package.glob("*.py")):
            if module.name == "__init__.py":
                continue
            if f"`{module.name}`" not in (row or "") and f"`{module.name}`" not in parent:
                missing.append(f"{rel}{module.name}")
    assert not missing, f"modules the map in docs/README.md does not name: {missing}"
    for rel, row in rows.items():
        for name in re.findall(r"`([a-z_]+\.py)`", row):
            assert list((PACKAGE.parent / rel).rglob(name)), f"{rel} has no {name}"
