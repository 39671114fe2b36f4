"""Errors the CLI turns into one line on stderr and an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input or usage: one clear line, exit 2, nothing written."""

    exit_code = 2

    def lines(self) -> list[str]:
        return [f"evtgen: error: {line}" for line in str(self).splitlines() or ["bad input"]]


class InputProblems(UsageError):
    """Problems in an input file, each line already `FILE:LINE: what is wrong`."""

    def lines(self) -> list[str]:
        return str(self).splitlines()


class NotAvailable(UsageError):
    """A capability this version of evtgen does not have yet (exit 2, says so)."""


class Interrupted(UsageError):
    """The user stopped it (Ctrl-C); nothing was written."""

    exit_code = 130
