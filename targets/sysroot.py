"""Every sysfs, procfs and device-tree read goes through BEEXBENCH_SYSROOT (default "/").

Tests point the variable at a fake tree; commands (vcgencmd) are found on PATH, so
tests put a fake one first on PATH. Reasons name the logical path (/sys/...), not
the prefixed one, so a report reads the same on the machine and in a test.
"""

from __future__ import annotations

import glob as _glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from targets.probe import Probe

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


def read_text(path: str) -> Probe:
    """Text of a sysfs/procfs file with surrounding whitespace and NULs stripped."""
    try:
        raw = sys_path(path).read_bytes()
    except FileNotFoundError:
        return Probe.missing(f"{path} does not exist")
    except PermissionError:
        return Probe.missing(f"{path} is not readable (permission denied)")
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
        return Probe(float(probe.value) * scale)
    except ValueError:
        return Probe.missing(f"{path} holds {probe.value[:40]!r}, not a number")


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
            [exe, *argv[1:]], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Probe.missing(f"{' '.join(argv)} timed out after {timeout:g} s")
    except OSError as exc:
        return Probe.missing(f"{' '.join(argv)} could not run ({exc.strerror or exc})")
    if done.returncode != 0:
        detail = (done.stdout or done.stderr).strip().splitlines()
        tail = f": {detail[0][:80]}" if detail else ""
        return Probe.missing(f"{' '.join(argv)} exited with status {done.returncode}{tail}")
    return Probe(done.stdout)
