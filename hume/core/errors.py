"""Errors a user can fix, and the interruption a user asked for.

The command layer prints a :class:`HumeError` as one line and exits with code 2, and an
:class:`Interrupted` as its message (how to continue) with code 130. Library users catch
:class:`HumeError` like any :class:`ValueError`.
"""


class HumeError(ValueError):
    """Bad input or state that the user can fix; the message says what to do."""


class WeightsUnavailable(HumeError):
    """A model's pretrained weights are neither cached here nor downloadable (offline)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGINT) stopped a long step after its progress was saved.

    The message says how to continue, e.g. ``continue with `hume search --resume --run R```.
    """
