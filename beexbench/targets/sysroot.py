"""Every sysfs, procfs and device-tree read goes through BEEXBENCH_SYSROOT (default "/").

Tests point the variable at a fake tree; commands (vcgencmd) are found on PATH, so
tests put a fake one first on PATH. Reasons name the logical path (/sys/...), not
the prefixed one, so a report reads the same on the machine and in a test.
"""

from __future__ import annotations

import errno
import glob as _glob
import math
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from beexbench.targets.probe import Probe

SYSROOT_ENV = "BEEXBENCH_SYSROOT"


def sysroot() -> Path:
    return Path(os.environ.get(SYSROOT_ENV) or "/")


def is_real_root() -> bool:
    """True when reads go to this machine's own /proc and /sys."""
    return sysroot().resolve() == Path("/").resolve()


def sys_path(path: str) -> Path:
    """The file behind an absolute machine path such as "/proc/cpuinfo"."""
    if not path.startswith("/"):
        raise ValueError(f"machine paths are absolute: {path!r}")
    return sysroot() / path.lstrip("/")


MAX_READ_BYTES = 4 << 20  # /proc/cpuinfo of a many-core machine is well under this


def _read_regular(file: Path) -> bytes:
    """Bytes of a regular file, at most MAX_READ_BYTES. Opened non-blocking and checked
    before reading: a FIFO or device in a tree must not hang `targets`."""
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file")
        chunks: list[bytes] = []
        left = MAX_READ_BYTES
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str) -> Probe:
    """Text of a sysfs/procfs file with surrounding whitespace and NULs stripped; bytes
    that are not UTF-8 become U+FFFD."""
    try:
        raw = _read_regular(sys_path(path))
    except FileNotFoundError:
        return Probe.missing(f"{path} does not exist")
    except PermissionError:
        return Probe.missing(f"{path} is not readable (permission denied)")
    except IsADirectoryError:
        return Probe.missing(f"{path} is not a regular file")
    except OSError as exc:
        return Probe.missing(f"{path} could not be read ({exc.strerror or exc})")
    # device-tree strings end in NUL; sysfs values end in a newline
    return Probe(raw.decode("utf-8", errors="replace").strip().strip("\x00").strip())


def read_number(path: str, scale: float = 1.0) -> Probe:
    """A file holding one number, multiplied by `scale`; garbage gives a reason."""
    probe = read_text(path)
    if not probe.ok:
        return probe
    try:
        value = float(probe.value) * scale
    except ValueError:
        return Probe.missing(f"{path} holds {probe.value[:40]!r}, not a number")
    if not math.isfinite(value):
        return Probe.missing(f"{path} holds {probe.value[:40]!r}, not a finite number")
    return Probe(value)


def _natural_key(text: str) -> list[object]:
    # hwmon10 after hwmon9, cpu10 after cpu9
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def glob(pattern: str) -> list[str]:
    """Machine paths matching an absolute glob pattern, in natural order."""
    root = str(sysroot()).rstrip("/")
    hits = _glob.glob(str(sys_path(pattern)))
    logical = ["/" + h[len(root):].lstrip("/") for h in hits]
    return sorted(logical, key=_natural_key)


def which(command: str) -> str | None:
    return shutil.which(command)


def run_command(argv: list[str], timeout: float = 5.0) -> Probe:
    """stdout of a command found on PATH, or the reason there is none."""
    exe = which(argv[0])
    if exe is None:
        return Probe.missing(f"{argv[0]} not found on PATH")
    try:
        done = subprocess.run(
            [exe, *argv[1:]], capture_output=True, timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Probe.missing(f"{' '.join(argv)} timed out after {timeout:g} s")
    except OSError as exc:
        return Probe.missing(f"{' '.join(argv)} could not run ({exc.strerror or exc})")
    # Tool output is decoded, never trusted to be UTF-8: a bad byte becomes U+FFFD.
    stdout = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace")
        detail = (stdout or stderr).strip().splitlines()
        tail = f": {detail[0][:80]}" if detail else ""
        return Probe.missing(f"{' '.join(argv)} exited with status {done.returncode}{tail}")
    return Probe(stdout)
