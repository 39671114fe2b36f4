"""The command line as a whole: help, version, and honesty about what is not there."""

from __future__ import annotations

from collections.abc import Callable

from conftest import Run

from evtgen import __version__


def test_version(evtgen: Callable[..., Run]) -> None:
    done = evtgen("--version")
    assert (done.code, done.stdout.strip()) == (0, f"evtgen {__version__}")


def test_help_lists_the_commands(evtgen: Callable[..., Run]) -> None:
    done = evtgen("--help")
    assert done.code == 0
    for command in ("new", "update", "check", "schema", "pipeline", "template"):
        assert command in done.stdout


def test_an_unknown_command_is_a_usage_error(evtgen: Callable[..., Run]) -> None:
    done = evtgen("generate")
    assert done.code == 2 and "No such command" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
