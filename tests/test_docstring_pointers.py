"""Pointers in the package's docstrings and comments, and in the documents, lead somewhere: every
``hume.x.y`` dotted name, ``hume/x/y.py`` path and Sphinx role target (``:mod:``, ``:func:``,
``:class:``, ``:meth:``, ``:data:``, ``:attr:``) in hume/**/*.py names a module or file that
exists and an attribute that module defines; every ``hume/...`` path in docs/*.md and README.md
exists. A module is read as source (its top-level names, a class's names), and imported only where
the source does not settle it, so that no heavy or optional import is needed to check it."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hume"
SOURCES = sorted(PACKAGE.rglob("*.py"))
DOCUMENTS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

#: ``hume/…`` as a path: not part of a longer path (``~/.cache/hume/x``) or word
PATH = re.compile(r"(?<![\w/.~-])hume/[\w./-]*[\w/]")
#: ``hume.x.y`` as a dotted name: not part of a longer name or path
DOTTED = re.compile(r"(?<![\w./-])hume(?:\.[A-Za-z_]\w*)+")
ROLE = re.compile(r":(mod|func|class|meth|data|attr):`~?([^`<>]+?)`")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _texts(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, text, enclosing class or None) of every comment and every string statement
    (docstrings, attribute docstrings) of a source file."""
    source = path.read_text()
    out: list[tuple[int, str, str | None]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out.append((tok.start[0], tok.string, None))

    def walk(node: ast.AST, cls: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.ClassDef) else cls
            if (
                isinstance(child, ast.Expr)
                and isinstance(child.value, ast.Constant)
                and isinstance(child.value.value, str)
            ):
                out.append((child.lineno, child.value.value, cls))
            walk(child, inner)

    walk(ast.parse(source), None)
    return out


def _module_file(name: str) -> Path | None:
    """The source of module ``name`` of this package (a file or a package's __init__)."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _defined(path: Path) -> dict[str, ast.AST | None]:
    """The names a module's source binds at the top level (a class: its node, for its members)."""
    names: dict[str, ast.AST | None] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names[leaf.id] = None
        elif isinstance(node, (ast.If, ast.Try)):  # names bound under a guard
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                    names.setdefault(sub.name, sub if isinstance(sub, ast.ClassDef) else None)
                elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.setdefault(sub.id, None)
    return names


def _class_members(node: ast.ClassDef) -> set[str]:
    members = set()
    for sub in node.body:
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.add(sub.name)
        elif isinstance(sub, ast.Assign):
            members |= {t.id for t in sub.targets if isinstance(t, ast.Name)}
        elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
            members.add(sub.target.id)
    return members


def _imported(dotted: str) -> bool:
    """Whether ``dotted`` resolves by importing its longest importable prefix and looking up
    the rest (the fallback for names the source alone does not settle)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def _resolves(dotted: str) -> bool:
    """Whether ``hume.…`` (or another importable dotted name) names a module or an attribute."""
    parts = dotted.split(".")
    if parts[0] == "hume":
        for cut in range(len(parts), 0, -1):
            path = _module_file(".".join(parts[:cut]))
            if path is None:
                continue
            rest = parts[cut:]
            if not rest:
                return True
            names = _defined(path)
            if rest[0] in names:
                node = names[rest[0]]
                if len(rest) == 1:
                    return True
                if isinstance(node, ast.ClassDef) and len(rest) == 2:
                    if rest[1] in _class_members(node):
                        return True
            break
    return _imported(dotted)


def _role_target(target: str, module: str, cls: str | None) -> list[str]:
    """The absolute names a role's target may stand for, from the module ``module`` (and the
    class ``cls``) it is written in: as given, relative to the package (``.x``), in the
    module's namespace, in the class's, in an enclosing package's (what it exports)."""
    target = target.strip().rstrip("()")
    if target.startswith("."):
        package = (
            module if _module_file(module).name == "__init__.py" else module.rpartition(".")[0]
        )
        up = len(target) - len(target.lstrip("."))
        base = package.rsplit(".", up - 1)[0] if up > 1 else package
        return [f"{base}.{target.lstrip('.')}"]
    out = [target, f"{module}.{target}", f"builtins.{target}"]
    if cls is not None:
        out.append(f"{module}.{cls}.{target}")
    parts = module.split(".")
    out += [".".join([*parts[:cut], target]) for cut in range(len(parts) - 1, 0, -1)]
    return out


def _pointers(path: Path) -> list[str]:
    """Every pointer of one source file that leads nowhere, as ``file:line: pointer``."""
    module = _module_name(path)
    bad = []
    for line, text, cls in _texts(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        for m in PATH.finditer(text):
            if not (ROOT / m.group(0).rstrip(".")).exists():
                bad.append(f"{where}: path {m.group(0)}")
        for m in DOTTED.finditer(text):
            if not _resolves(m.group(0)):
                bad.append(f"{where}: name {m.group(0)}")
        for m in ROLE.finditer(text):
            candidates = _role_target(m.group(2), module, cls)
            if not any(_resolves(c) for c in candidates):
                bad.append(f"{where}: :{m.group(1)}:`{m.group(2)}`")
    return bad


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_pointer_in_the_source_resolves(path):
    bad = _pointers(path)
    assert not bad, "pointers that lead nowhere:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_package_path_in_the_documents_exists(path):
    bad = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for m in PATH.finditer(line):
            if not (ROOT / m.group(0).rstrip(".")).exists():
                bad.append(f"{path.relative_to(ROOT)}:{number}: {m.group(0)}")
    assert not bad, "paths that do not exist:\n" + "\n".join(bad)


def test_the_checker_finds_what_is_not_there():
    """The checks themselves: a real pointer of each kind resolves, an invented one does not."""
    assert _resolves("hume.search.k_choice.choosing.could_win")
    assert _resolves("hume.search.estimators.estimator_base.SeedSearch.fitted_state")
    assert _resolves("hume.search.selection")
    assert not _resolves("hume.search.k_choice.choosing.could_lose")
    assert not _resolves("hume.search.pipeline")
    assert not _resolves("hume.search.estimators.estimator_base.SeedSearch.no_such_method")
    module = "hume.search.k_choice.choosing"
    assert any(_resolves(c) for c in _role_target("could_win", module, None))
    assert any(_resolves(c) for c in _role_target(".climbing", module, None))
    assert not any(_resolves(c) for c in _role_target("nowhere", module, None))
    text = "see hume/search/k_choice/choosing.py and ~/.cache/hume/x, not hume/search/pipeline.py"
    found = [m.group(0) for m in PATH.finditer(text)]
    assert found == ["hume/search/k_choice/choosing.py", "hume/search/pipeline.py"]
