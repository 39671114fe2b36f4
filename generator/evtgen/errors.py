"""Errors the CLI turns into one line on stderr and an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input or usage: one clear line, exit 2, nothing written."""

    exit_code = 2


class NotAvailable(UsageError):
    """A capability this version of evtgen does not have yet (exit 2, says so)."""
