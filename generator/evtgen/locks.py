"""One run at a time on a repo: a lock file naming its holder (pid, host, start time).

A file made with O_EXCL, not flock: its holder can be named to whoever waits, and it
outlives a kill, which is then seen (the pid is gone on this host) and taken over.
Cache entries (template mirrors, the template store) are locked with flock instead
(sources.py, store.py): there a second run waits its turn, as it should."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from evtgen.errors import UsageError
from evtgen.placing import pid_alive


class Locked(UsageError):
    """Another live run holds the lock."""


@contextlib.contextmanager
def holding(lock: Path, what: str) -> Iterator[None]:
    """Hold `lock` (for `what`, as a message names it) while the block runs."""
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _take(lock, me, what)
    try:
        yield
    finally:
        if _holder(lock) == me:
            lock.unlink(missing_ok=True)


def _take(lock: Path, me: dict[str, object], what: str) -> None:
    # the holder is written first and linked into place, so a lock is never seen empty
    spare = lock.with_name(f"{lock.name}.{os.getpid()}")
    try:
        spare.write_bytes(json.dumps(me).encode())
        for _ in range(3):
            try:
                os.link(spare, lock)
                return
            except FileExistsError:
                holder = _holder(lock)
                if holder is not None and not _stale(holder):
                    raise Locked(
                        f"{what} is being updated by pid {holder.get('pid')} on "
                        f"{holder.get('host')} since {holder.get('started')}; wait for it "
                        f"to finish (if that run is gone, remove {lock})"
                    ) from None
                # a killed run's lock: replaced by ours in one rename, then read back,
                # so of two runs taking it over only one goes on
                os.replace(spare, lock)
                if _holder(lock) == me:
                    return
                spare.write_bytes(json.dumps(me).encode())
        raise Locked(f"{what} is being locked by another run meanwhile; try again")
    except OSError as err:
        raise UsageError(f"cannot lock {what} ({lock}): {err.strerror or err}") from err
    finally:
        spare.unlink(missing_ok=True)


def _holder(lock: Path) -> dict[str, object] | None:
    try:
        found = json.loads(lock.read_bytes())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _stale(holder: dict[str, object]) -> bool:
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False  # another machine's run (a shared disk): only its owner knows
    return not pid_alive(pid)
