"""A directory's lock file: an advisory lock (flock) that the kernel drops when its
holder dies, so a lock is never taken for stale while its holder lives, whatever the
file holds (the pid in it only names the holder in messages)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from beexbench.core.atomic import cannot_write
from beexbench.core.errors import UsageError


def holder_name(pid: int | None) -> str:
    """A lock's holder in a message: its pid where the lock file names it."""
    return f"process {pid}" if pid else "another process"


class LockBusy(UsageError):
    """The lock is held by a live process (`holder`: its pid, where the file names it)."""

    def __init__(self, message: str, holder: int | None) -> None:
        super().__init__(message)
        self.holder = holder


class DirLock:
    """Held exclusively from `take` until `release`; `what` names the directory in errors."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    @classmethod
    def take(cls, path: Path, what: str) -> DirLock:
        for _ in range(100):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except IsADirectoryError:
                raise UsageError(f"{what}: {path} is a directory, not its lock file") from None
            except OSError as exc:
                raise UsageError(f"{what}: cannot open its lock {path} ({exc.strerror})") \
                    from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                raise LockBusy(f"{what} is in use by {holder_name(holder)}", holder) from None
            except OSError as exc:
                os.close(fd)
                raise UsageError(f"{what}: cannot lock {path} ({exc.strerror})") from None
            # The holder before us may have removed the file after we opened it: a lock on
            # an unlinked file keeps no one out, so take it again on the file now there.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            except OSError as exc:
                path.unlink(missing_ok=True)  # ours, held: leave no lock file behind
                os.close(fd)
                raise cannot_write("the lock", path, exc) from None
            return cls(path, fd)
        raise UsageError(f"{what}: cannot take its lock {path}")

    @classmethod
    def wait_for(cls, path: Path, what: str, timeout: float,
                 on_wait: Callable[[int | None], None] | None = None) -> DirLock:
        """`take`, waiting up to `timeout` seconds while a live process holds it (then
        LockBusy); `on_wait(holder)` hears once that it waits. A holder that dies lets it
        go at once (the kernel drops its lock)."""
        told = False
        deadline = time.monotonic() + timeout
        while True:
            try:
                return cls.take(path, what)
            except LockBusy as busy:
                if time.monotonic() >= deadline:
                    raise LockBusy(f"{what}: gave up after {timeout:g} s waiting for "
                                   f"{holder_name(busy.holder)}, which holds {path}",
                                   busy.holder) from None
                if not told and on_wait is not None:
                    on_wait(busy.holder)
                told = True
                time.sleep(0.2)

    def release(self) -> None:
        if self._fd is None:
            return
        # Removed while still held, so no one can lock the old file after we let go.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and len(text) < 12 else None
