"""A directory as tar bytes and back: how checkpoints and run directories travel between
the nodes of a sweep, so that no node needs a shared disk."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from beexbench.core.atomic import umask
from beexbench.core.errors import UsageError


def pack_dir(path: Path) -> bytes:
    """A directory as an uncompressed tar (its entries relative to `path`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for item in sorted(path.rglob("*")):
            tar.add(item, arcname=str(item.relative_to(path)), recursive=False)
    return buf.getvalue()


def unpack_dir(payload: bytes, dest: Path) -> Path:
    """Unpack `pack_dir` bytes as `dest`, atomically: built in a sibling, then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    os.chmod(tmp, 0o777 & ~umask())  # not mkdtemp's 0700: readable as the umask allows
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as tar:
            _check_members(tar)
            tar.extractall(tmp)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _check_members(tar: tarfile.TarFile) -> None:
    """Only plain files and folders inside the destination: no links, devices or `..`."""
    for member in tar.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile()
                                                               or member.isdir()):
            raise UsageError(f"unexpected entry {member.name!r} in a shipped directory")
