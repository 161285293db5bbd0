"""Atomic file and folder writes: build beside the target, fsync, rename into place.

Every temporary name carries the writer's pid (`.<name>.<pid>-<random>.tmp`, folders
`.<name>.<pid>-<random>.tmp` as well), so a later writer can tell the leftovers of a
killed process from the work of a live one and remove only the former. A write that
fails (disk full, read-only folder) removes its temporary, keeps the previous complete
file, and raises one UsageError line naming what was being written and where.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from beexbench.core.errors import UsageError

TMP_SUFFIX = ".tmp"
_LEGACY = re.compile(r"^\..+\.tmp-(\d{1,11})$")


def umask() -> int:
    """The process's umask (os.umask sets it to read it; it is put back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def cannot_write(what: str, path: Path, exc: OSError) -> UsageError:
    """The one-line error for a failed write of `what` to `path`."""
    why = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
    return UsageError(f"cannot write {what} {path}: {why}")


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}-"


def _owner(name: str) -> int | None:
    """The pid in a temporary name written by this module (or in the `.<name>.tmp-<pid>`
    folders of earlier versions), or None for any other name."""
    legacy = _LEGACY.match(name)
    if legacy:
        return int(legacy.group(1))
    if not (name.startswith(".") and name.endswith(TMP_SUFFIX)):
        return None
    stem = name[:-len(TMP_SUFFIX)]
    pid_part = stem.rpartition(".")[2].partition("-")[0]
    return int(pid_part) if pid_part.isdigit() and len(pid_part) < 12 else None


def pid_alive(pid: int) -> bool:
    """Whether a process of that id exists (any pid that cannot exist is not alive)."""
    if pid <= 0 or pid > 2**22:  # beyond Linux's pid_max limit: never a live process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_temps(folder: Path, *, recursive: bool = False, any_owner: bool = False) -> list[Path]:
    """Remove temporaries of dead writers under `folder` (all of them with `any_owner`,
    for a folder the caller holds exclusively); returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        pid = _owner(entry.name)
        hidden_tmp = entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX)
        if (any_owner and hidden_tmp) or (
                pid is not None and pid != os.getpid() and not pid_alive(pid)):
            _remove(entry)
            removed.append(entry)
        elif recursive and entry.is_dir() and not entry.is_symlink():
            removed += sweep_temps(entry, recursive=True, any_owner=any_owner)
    return removed


def atomic_write_bytes(path: Path, data: bytes, *, what: str = "file") -> None:
    """Write `data` to `path` atomically; on failure the old file stays and the error is one
    UsageError line naming `what` and `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(what, path, exc) from None
    sweep_temps_of(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path), suffix=TMP_SUFFIX)
        # mkstemp makes the file private; give it the mode a plain open() would.
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise cannot_write(what, path, exc) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str, *, what: str = "file") -> None:
    atomic_write_bytes(path, text.encode("utf-8"), what=what)


def sweep_temps_of(path: Path) -> None:
    """Remove the temporaries a dead writer left for this very target."""
    try:
        names = [p for p in path.parent.glob(f".{_glob_escape(path.name)}.*{TMP_SUFFIX}")]
    except OSError:
        return
    for leftover in names:
        pid = _owner(leftover.name)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            _remove(leftover)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def new_temp_dir(path: Path, *, what: str) -> Path:
    """A fresh, empty temporary folder beside `path`, to be built and then `replace_dir`-ed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temps_of(path)
        built = Path(tempfile.mkdtemp(dir=path.parent, prefix=_prefix(path), suffix=TMP_SUFFIX))
        # mkdtemp makes the folder private (0700); once renamed into place it is a run's
        # artifact or a checkpoint, which a colleague may read as the umask allows.
        os.chmod(built, 0o777 & ~umask())
        return built
    except OSError as exc:
        raise cannot_write(what, path, exc) from None


def replace_dir(built: Path, path: Path, *, what: str) -> None:
    """Put the folder `built` at `path`: the old one is renamed aside, the new one renamed
    in, then the old one removed. A reader never sees a half-written or half-deleted
    folder at `path`, and a failure leaves the old one in place."""
    aside = None
    try:
        if path.exists():
            aside = Path(tempfile.mktemp(dir=path.parent, prefix=_prefix(path),
                                         suffix=TMP_SUFFIX))
            os.rename(path, aside)
        try:
            os.rename(built, path)
        except OSError:
            if aside is not None:
                os.rename(aside, path)  # put the old one back
                aside = None
            raise
        fsync_dir(path.parent)
    except OSError as exc:
        shutil.rmtree(built, ignore_errors=True)
        raise cannot_write(what, path, exc) from None
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
