"""The one output configuration of every command: `logging` for messages, tqdm for bars.

Messages go through the `beexbench` logger (modules use `logging.getLogger(__name__)`)
to stderr. `-q` keeps warnings and errors, `-v` adds debug lines. Progress bars go to
stderr too, and only when stderr is a terminal and `-q` is not given, so logs, pipes
and test runs stay free of them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

PACKAGES = ("beexbench",)
QUIET, NORMAL, VERBOSE = -1, 0, 1

T = TypeVar("T")

_state = {"verbosity": NORMAL, "bars": True}


class _BarAwareHandler(logging.StreamHandler):
    """Writes through tqdm while a bar is on screen, so a message never breaks a bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if bars_enabled():
                from tqdm import tqdm

                tqdm.write(message, file=sys.stderr)
            else:
                sys.stderr.write(message + "\n")
                sys.stderr.flush()
        except Exception:  # a logging failure must not end the run
            self.handleError(record)


class _Formatter(logging.Formatter):
    """Progress lines as they are; warnings marked as such; -v adds level and logger."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.verbose and record.levelno >= logging.WARNING:
            return f"beexbench: {record.levelname.lower()}: {text}"
        return text


def configure(verbosity: int = NORMAL, bars: bool = True) -> None:
    """Set the level and the stderr handler of every beexbench logger (idempotent);
    `bars=False` keeps bars off even on a terminal (worker processes side by side)."""
    _state["verbosity"] = verbosity
    _state["bars"] = bars
    level = {QUIET: logging.WARNING, NORMAL: logging.INFO}.get(verbosity, logging.DEBUG)
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        # Our handler is the only one: a library that configures the root logger (ONNX
        # Runtime's quantizer calls logging.basicConfig on import) must not print every
        # progress line a second time.
        logger.propagate = False
        for handler in [h for h in logger.handlers if isinstance(h, _BarAwareHandler)]:
            logger.removeHandler(handler)
        handler = _BarAwareHandler()
        handler.setFormatter(_Formatter(verbose=verbosity >= VERBOSE))
        logger.addHandler(handler)


def verbosity() -> int:
    """The verbosity `configure` was last called with (what worker processes repeat)."""
    return _state["verbosity"]


def quiet() -> bool:
    return _state["verbosity"] <= QUIET


def bars_enabled() -> bool:
    return bool(_state["bars"]) and not quiet() and sys.stderr.isatty()


def bar(iterable: Iterable[T] | None = None, total: float | None = None, desc: str = "",
        unit: str = "it") -> Iterator[T]:
    """A tqdm bar on stderr (a silent pass-through when bars are off); `leave=False`
    so that the log lines, not finished bars, remain on screen."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, disable=not bars_enabled())
