"""Errors a user can fix, and the interruption a user asked for.

The command layer prints a :class:`HumeError` as one line and exits with code 2, and an
:class:`Interrupted` as its message (how to continue) with code 130. Library users catch
:class:`HumeError` like any :class:`ValueError`.
"""

import re

_MARK = "\x1f"
_FIELD = re.compile(f"{_MARK}([a-z0-9_]+){_MARK}([^{_MARK}]*){_MARK}")


def setting(name: str, value: object = None) -> str:
    """A setting named inside an error message, as data: ``setting("subset_size", 512)``.

    A library user reads it as ``subset_size=512`` (or ``subset_size``); the command layer
    spells it as the flag, ``--subset-size 512``. ``value=True`` reads as the bare flag.
    """
    return f"{_MARK}{name}{_MARK}{'' if value is None else value}{_MARK}"


#: the library's keywords whose command-line flags are named otherwise
OTHER_FLAGS = {
    "fmt": "--format",
    "formats": "--format",
    "allow_single_view": "--single-view",
    "parent": "--from",
}


def flag_name(name: str) -> str:
    """The command-line flag of a setting's keyword: ``subset_size`` → ``--subset-size``, or
    the flag :data:`OTHER_FLAGS` names it by (``parent`` → ``--from``)."""
    return OTHER_FLAGS.get(name) or "--" + name.replace("_", "-")


def command(name: str, *settings: str) -> str:
    """A command to run, named inside an error message: ``command("search", setting("resume",
    True))`` reads ```hume search --resume``` in either form (it is a command line)."""
    return "`" + " ".join(["hume", name, *(flag_text(s) for s in settings)]) + "`"


def flag_text(text: str) -> str:
    """``text`` with every :func:`setting` in it spelled as a flag (:func:`flag_name`, then the
    value)."""

    def one(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        shown = flag_name(name)
        return shown if value in ("", "True") else f"{shown} {value}"

    return _FIELD.sub(one, text)


def python_text(text: str) -> str:
    """``text`` with every :func:`setting` in it spelled as a keyword (``name=value``)."""

    def one(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        return name if value == "" else f"{name}={value}"

    return _FIELD.sub(one, text)


class HumeError(ValueError):
    """Bad input or state that the user can fix; the message says what to do.

    The message may name settings with :func:`setting` (they are listed in ``settings``, in
    order) and carry a ``hint``; ``str(error)`` spells them as a Python user writes them, and
    :meth:`as_flags` as the command line does.
    """

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        self.template = message if not hint else f"{message}: {hint}"
        self.hint = None if hint is None else python_text(hint)
        self.settings = tuple(m.group(1) for m in _FIELD.finditer(self.template))
        super().__init__(python_text(self.template))

    def as_flags(self) -> str:
        """The message with each setting spelled as its command-line flag."""
        return flag_text(self.template)


class WeightsUnavailable(HumeError):
    """A model's pretrained weights are neither cached here nor downloadable (offline)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGINT) stopped a long step after its progress was saved.

    The message says how to continue, e.g. ``continue with `hume search --resume --run R```.
    """
