"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class HumeError(Exception):
    """Bad input or state that the user can fix; the message says what to do."""


class NotBuiltError(HumeError):
    """A pipeline stage that this version does not provide yet."""
