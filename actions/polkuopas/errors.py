"""Errors a user can cause; the CLI prints them as one line and exits with 2."""


class PolkuopasError(Exception):
    """Base for errors with a message meant for the person at the keyboard."""


class NotFound(PolkuopasError):
    """An id that names nothing: unknown client, professional, path, role or step."""


class Conflict(PolkuopasError):
    """The change contradicts what is already stored."""


class Invalid(PolkuopasError):
    """A value of the wrong form, or a move the path does not allow."""
