"""A child process that ends when its parent ends, however the parent ends (SIGKILL too).

On Linux the kernel signals the child when its parent exits (PR_SET_PDEATHSIG); elsewhere
a thread of the child watches for the parent to go. `on_parent_death` runs in the child
when that happens (default: exit at once).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _exit_now() -> None:
    os._exit(1)


def _watch_parent(parent: int, on_parent_death: Callable[[], None]) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    on_parent_death()


def die_with_parent(parent: int, on_parent_death: Callable[[], None] = _exit_now) -> None:
    """Call in the child first thing: run `on_parent_death` when the process `parent` ends."""
    armed = False
    if sys.platform.startswith("linux"):
        # The kernel's signal: SIGKILL when nothing but exiting is asked, else SIGTERM, whose
        # handler runs `on_parent_death`.
        signum = signal.SIGKILL if on_parent_death is _exit_now else signal.SIGTERM
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, lambda *_: on_parent_death())
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent, on_parent_death),
                         daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        on_parent_death()


def kill_own_group() -> None:
    """End this process and every process of its group (the compilers it started)."""
    os.killpg(os.getpgrp(), signal.SIGKILL)
