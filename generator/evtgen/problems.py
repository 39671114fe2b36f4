"""The one sink for what is wrong with an input: the model file, an AsyncAPI document
and the files its `$ref`s reach.

Readers report into a `Problems` and go on, so a user sees every problem at once;
each says `FILE:LINE: what is wrong`. Errors stop the input from becoming a model
(`ModelError`); warnings name what is read but not kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {one_line(self.message)}"


def one_line(text: str) -> str:
    """`text` with what a terminal or `splitlines` would break on, or not show (a name
    holding a control character, U+2028, ...), written as its escape: one problem,
    one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


class ModelError(Exception):
    """The model has problems; each one says where and what."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


class Problems:
    """Errors and warnings, in the order they were found, in any file."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def fail(self, file: str, line: int, message: str) -> None:
        self.errors.append(Problem(file, line, message))

    def warn(self, file: str, line: int, message: str) -> None:
        self.warnings.append(Problem(file, line, message))

    def extend(self, other: Problems) -> None:
        """Add what another collector found, after what this one has."""
        self.errors += other.errors
        self.warnings += other.warnings

    def in_file(self, file: str) -> FileProblems:
        return FileProblems(self, file)

    def error(self) -> ModelError:
        """The errors by file and line (in the order found where they tie)."""
        return ModelError(sorted(self.errors, key=lambda p: (p.file, p.line)))

    @contextmanager
    def discarded(self) -> Iterator[None]:
        """Drop the errors found inside: for a look whose problems are named elsewhere."""
        said = len(self.errors)
        try:
            yield
        finally:
            del self.errors[said:]


class FileProblems:
    """A `Problems` seen from one file: problems at a line of it."""

    def __init__(self, problems: Problems, file: str) -> None:
        self.problems = problems
        self.file = file

    def fail(self, line: int, message: str) -> None:
        self.problems.fail(self.file, line, message)

    def warn(self, line: int, message: str) -> None:
        self.problems.warn(self.file, line, message)
