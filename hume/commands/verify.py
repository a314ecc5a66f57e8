"""`hume verify`: check a store chunk by chunk against its checksums, and repair it."""

from __future__ import annotations

from typing import Annotated

import typer

from hume.commands.common import BarReporter


def verify(
    path: Annotated[str, typer.Argument(help="A store (.zarr directory or .h5 file).")],
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Compute exactly the damaged chunks (and labels, paths) again: re-embed them "
            "with the options the store recorded, or copy them again from an imported "
            "store's source array.",
        ),
    ] = False,
) -> None:
    """Check every chunk of a store against its checksum, one chunk in memory at a time.

    An intact store prints one `ok` line; a damaged one is one `error:` line naming its damaged
    rows (exit 2), or with --repair is repaired and verified again.
    """
    from hume.core.errors import HumeError
    from hume.embed.store_repair import repair_store
    from hume.store import open_store
    from hume.store.checksums import damage_message
    from hume.store.verification import verify_store

    bars = BarReporter(transient=True)
    with open_store(path, allow_incomplete=True) as store:
        damage = verify_store(store, bars)
        if damage and not repair:
            raise HumeError(damage_message(store.path, damage))
    if damage:
        repair_store(path, bars)
    with open_store(path, allow_incomplete=True) as store:
        if damage:
            left = verify_store(store, bars)
            if left:
                raise HumeError(damage_message(store.path, left))
        checked = (
            f"{store.n_chunks} chunks checked against their crc32"
            if store.has_checksums
            else f"{store.n_chunks} chunks readable, of the right shape and without unwritten "
            "rows (no checksums: the store predates them; `hume embed … --overwrite` adds them)"
        )
        state = (
            ""
            if store.is_complete
            else f"; incomplete: {len(store.missing_chunks())} chunks unwritten (run the same "
            "`hume embed` again to finish it)"
        )
        done = f"repaired {len(damage)} damaged parts; " if damage else ""
        typer.echo(f"ok: {store.path}: {done}{checked}{state}")
