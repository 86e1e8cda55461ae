"""The one base of every error a user can act on, and the one way faces show it.

``CasparianError`` carries a ``message`` that says what went wrong, naming the file, row, key or
value, and an optional ``hint`` that says what to do about it. Each engine error class that
reaches a user derives from it (and keeps its builtin base, so ``except ValueError`` still
works). The CLI (``error: …`` on stderr, exit 1), the TUI (the red error line) and the MCP server
(the tool error) all show ``describe(exc)``: the message, then the hint in parentheses.
"""

from __future__ import annotations


class CasparianError(Exception):
    """An error a user can act on: ``message`` (what went wrong) and ``hint`` (what to do)."""

    hint: str | None = None

    def __init__(self, message: str = "", *args: object, hint: str | None = None) -> None:
        super().__init__(message, *args)
        self.message = message
        if hint is not None:
            self.hint = hint


class InputError(CasparianError, ValueError):
    """The input a user named (a dev run's file, folder or glob) is no readable file."""


def describe(exc: BaseException | None) -> str:
    """The text every face shows for ``exc``: ``message (hint)`` for a ``CasparianError``, the
    exception's own text otherwise (its class name when it has none)."""
    if exc is None:
        return "failed without saying why"
    if isinstance(exc, CasparianError):
        text = str(getattr(exc, "message", "") or exc) or type(exc).__name__
        return f"{text} ({exc.hint})" if exc.hint else text
    return str(exc) or type(exc).__name__
