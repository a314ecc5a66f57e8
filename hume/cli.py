"""The `hume` command: one sub-command per module of :mod:`hume.commands`."""

from __future__ import annotations

import typer

from hume.commands.common import guarded
from hume.commands.demo import demo
from hume.commands.embed import embed
from hume.commands.evaluate import evaluate
from hume.commands.info import info
from hume.commands.search import search
from hume.commands.store_import import import_

app = typer.Typer(
    help="Infer the human labeling of a dataset without labels (HUME).\n\n"
         "Pipeline: `hume embed` features into stores, `hume search` a labeling over views, "
         "`hume evaluate` it against ground truth. `hume demo` runs all three offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Infer the human labeling of a dataset without labels (HUME)."""


for _name, _command in (("embed", embed), ("import", import_), ("search", search),
                        ("evaluate", evaluate), ("info", info), ("demo", demo)):
    app.command(_name)(guarded(_command))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
