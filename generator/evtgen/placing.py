"""Writing files so that a kill leaves each either old or new: a new directory tree is
built beside its destination and moved into place; a file in a repo is written to a
temporary file in its own directory and renamed over the old one (`write_atomic`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
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


_STAGING = ".{name}.evtgen-"  # then the pid of the run that made it, and a random part


def _remove_stale_staging(dest: Path) -> None:
    """Remove the staging folders a killed run left beside `dest` (their pid is gone)."""
    prefix = _STAGING.format(name=dest.name)
    with contextlib.suppress(OSError):
        for entry in dest.parent.iterdir():
            pid = entry.name[len(prefix) :].partition("-")[0]
            if entry.name.startswith(prefix) and pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def outside(root: Path, relpath: str) -> str | None:
    """The folder of `relpath` that is a symlink, or that `..` leaves `root` by: a write
    there would land outside `root`. None when the path stays inside it. The file
    itself may be a symlink (it is replaced, not followed)."""
    here = root
    for part in Path(relpath).parts[:-1]:
        if part == "..":
            return relpath
        here = here / part
        if here.is_symlink():
            return here.relative_to(root).as_posix()
    return None


def write_atomic(target: Path, content: bytes, mode: int | None = None) -> None:
    """Replace `target` with `content` by a rename, so a kill leaves it old or new,
    never cut short. The file keeps its mode (also read-only), unless `mode` is given;
    a new file gets the umask's. A symlink at `target` is replaced, not followed."""
    try:
        old: int | None = stat.S_IMODE(target.lstat().st_mode)
        if target.is_symlink():
            old = None
    except FileNotFoundError:
        old = None
    if mode is None:
        mode = old if old is not None else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".evtgen", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yield a fresh directory to fill; on success it becomes `dest` (an existing empty
    `dest` is kept and filled); on any error nothing is left behind."""
    _remove_stale_staging(dest)
    try:
        prefix = f"{_STAGING.format(name=dest.name)}{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=dest.parent))
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
