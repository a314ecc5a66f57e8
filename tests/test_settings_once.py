"""Each setting is declared once (issue 34): a field of SearchOptions holds its name, type and
help; a method takes an option by having a settings field of the same name; the command line,
the methods' options and the help follow; both methods' outer loops run through one driver."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import typer

from hume.cli import app
from hume.search.estimators.hume_method import hume_outer
from hume.search.estimators.hume_method.hume_config import HumeConfig
from hume.search.estimators.turtle_method import turtle_outer
from hume.search.estimators.turtle_method.turtle_config import TurtleConfig
from hume.search.optimiser.outer_loop import GroupSearch
from hume.search.settings import SETTING_HELP, SETTINGS, SearchOptions, flag

DATA = Path(__file__).parent / "data"


def _search_options() -> dict[str, typer.core.TyperOption]:
    search = typer.main.get_command(app).commands["search"]  # type: ignore[attr-defined]
    return {p.opts[0]: p for p in search.params if isinstance(p, typer.core.TyperOption)}


def test_every_setting_has_its_help_in_its_declaration():
    assert list(SETTINGS) == [f.name for f in fields(SearchOptions)]
    for name, declared in SETTINGS.items():
        assert declared.metadata["help"], name
        assert SETTING_HELP[name] and "\x1f" not in SETTING_HELP[name]  # read as Python names


def test_a_method_takes_the_options_named_like_its_fields():
    for cls in (HumeConfig, TurtleConfig):
        own = {f.name for f in fields(cls)}
        assert set(cls.OPTIONS) == own & set(SETTINGS), cls
        assert list(cls.OPTIONS) == [name for name in SETTINGS if name in own]  # their order
    assert "subset_size" in TurtleConfig.OPTIONS  # TURTLE's rows per step, as the flag says
    assert "batch_size" not in {f.name for f in fields(TurtleConfig)}
    assert set(HumeConfig.OPTIONS) | set(TurtleConfig.OPTIONS) == set(SETTINGS)


def test_every_flag_is_named_like_its_setting():
    options = _search_options()
    for name in SETTINGS:
        assert flag(name) == "--" + name.replace("_", "-")
        assert flag(name, False) in {
            o for p in options.values() for o in [*p.opts, *p.secondary_opts]
        }
    assert flag("warm_start", False) == "--cold-start" and flag("anneal", False) == "--no-anneal"


def test_the_help_says_what_the_setting_and_the_flag_do():
    """The field ``anneal`` turns annealing on; the one flag, ``--no-anneal``, turns it off."""
    assert not SETTING_HELP["anneal"].lower().startswith("disable")
    help_text = _search_options()["--no-anneal"].help or ""
    assert help_text.startswith("Disable learning-rate and temperature annealing")
    size_term = _search_options()["--size-term"].help or ""
    assert "--entropy-weight" in size_term and "--class-sizes uneven" in size_term
    assert "entropy_weight" in SETTING_HELP["size_term"]
    assert "TURTLE 1000 (paper 6000)" in (_search_options()["--iters"].help or "")


def test_a_turtle_run_of_an_earlier_version_reads_its_batch_size_as_subset_size():
    from hume.runs import RunConfig

    d = json.loads((DATA / "workspace-0.1.0" / "runs" / "turtle" / "config.json").read_text())
    assert "batch_size" in d["hyperparameters"]
    d["hyperparameters"]["batch_size"] = 64
    config = RunConfig.from_dict(d)
    assert "batch_size" not in config.hyperparameters
    assert TurtleConfig.from_dict(config.hyperparameters).subset_size == 64


def test_both_methods_run_through_the_one_outer_loop_driver():
    assert isinstance(hume_outer.search_group, GroupSearch)
    assert isinstance(turtle_outer.search_group, GroupSearch)
