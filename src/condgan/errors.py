"""Errors a user can cause and fix; the CLI prints these as one line and exits 2."""


class CondganError(Exception):
    """A user-facing error: bad input, unknown name, missing or corrupt file."""
