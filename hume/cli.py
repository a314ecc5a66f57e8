"""The `hume` command: one sub-command per module of :mod:`hume.commands`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from hume.commands.common import guarded
from hume.commands.demo import demo
from hume.commands.embed import embed
from hume.commands.evaluate import evaluate
from hume.commands.export import export, predict
from hume.commands.info import info
from hume.commands.label import label
from hume.commands.search import search
from hume.commands.store_import import import_
from hume.commands.verify import verify


class _OneLineErrors(TyperGroup):
    """A command line click refuses (an unknown option, a value outside its choices) is one
    ``error:`` line and exit 2, like every other bad input, instead of a usage box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run() -> Any:
            return super(_OneLineErrors, self).main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        if not standalone_mode:
            return run()
        try:
            rv = run()
        except typer.TyperException as exc:  # click's usage errors (typer vendors click)
            ctx = getattr(exc, "ctx", None)
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            message = " ".join(exc.format_message().replace("Value error, ", "").split())
            typer.echo(f"error: {message}{where}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Infer the human labeling of a dataset without labels (HUME).\n\n"
    "One command: `hume label FOLDER` embeds, chooses K, searches and writes the classes. "
    "Step by step: `hume embed` features into stores, `hume search` a labeling over views, "
    "`hume export` its classes, `hume evaluate` it against ground truth. `hume demo` runs the "
    "pipeline offline.",
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts are plain text: rich markup would eat `[…]` and turn `A:B:` into an emoji
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def _main(ctx: typer.Context) -> None:
    """Infer the human labeling of a dataset without labels (HUME)."""
    if ctx.invoked_subcommand is None:  # plain `hume`: the overview
        typer.echo(ctx.get_help())


for _name, _command in (
    ("label", label),
    ("embed", embed),
    ("import", import_),
    ("search", search),
    ("evaluate", evaluate),
    ("export", export),
    ("predict", predict),
    ("info", info),
    ("verify", verify),
    ("demo", demo),
):
    app.command(_name)(guarded(_command))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
