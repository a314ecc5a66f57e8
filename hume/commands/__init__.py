"""The command layer: one module per `hume` command. Only this package (and hume/cli.py) prints,
draws progress bars, picks exit codes and handles Ctrl-C; the library under it raises and
reports through :mod:`hume.core.reporting`."""
