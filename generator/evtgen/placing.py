"""Writing a new directory tree all at once: build it beside its destination, then
move it into place, so a failure midway leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evtgen.errors import UsageError


def check_destination(dest: Path, option: str = "") -> None:
    """Refuse a destination that is a file, a non-empty directory, or has no parent;
    `option` names the flag that chooses another one, if there is one."""
    if dest.is_file():
        with_option = f" with {option}" if option else ""
        raise UsageError(f"destination {dest} is a file; choose a directory{with_option}")
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(
            f"destination {dest} is not empty; choose another {option or 'folder'} or empty it"
        )
    if not dest.parent.is_dir():
        raise UsageError(f"the parent of the destination, {dest.parent}, does not exist")


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yield a fresh directory to fill; on success it becomes `dest` (an existing empty
    `dest` is kept and filled); on any error nothing is left behind."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.evtgen-", dir=dest.parent))
    except OSError as err:
        raise UsageError(f"cannot write beside {dest}: {err.strerror or err}") from err
    target = staging / dest.name
    try:
        yield target
        try:
            if dest.is_dir():  # checked empty: fill it, keeping the directory itself
                for entry in target.iterdir():
                    os.replace(entry, dest / entry.name)
            else:
                os.replace(target, dest)
        except OSError as err:  # something appeared there meanwhile
            raise UsageError(
                f"could not move the new repository into {dest}: "
                f"{err.strerror or err}; nothing was written there"
            ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
