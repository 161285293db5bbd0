"""JSON files a user may have edited or damaged: a bounded, strict reader and typed field
access whose errors name the file, the field and what was wrong."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from beexbench.core.errors import UsageError

MAX_DEPTH = 64
"""Deeper nesting than any file of ours has; beyond it a file is refused, not recursed."""


def one_line(text: str) -> str:
    """`text` with control characters (a newline in a key or a path) escaped, so that an
    error built from user data stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Default of every Fields accessor: the field is required."""


def read_regular_file(path: Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, at most max_bytes; a FIFO, device or folder is refused
    without blocking."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: not found") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot be opened ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UsageError(f"{what} {path}: is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise UsageError(f"{what} {path}: is not a regular file")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise UsageError(f"{what} {path}: larger than {max_bytes} bytes")
    return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(data: bytes, *, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON bytes: strict UTF-8, no NaN/Infinity, no duplicate keys, bounded depth.
    Errors read "<where>: <why>"."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise UsageError(f"{where}: contains a NUL byte, not JSON text")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise UsageError(f"{where}: nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from None
    if _depth_exceeds(value, max_depth):
        raise UsageError(f"{where}: nested deeper than {max_depth} levels")
    return value


def load_json(path: Path, *, what: str, max_bytes: int = 16 << 20) -> Any:
    """Parse a JSON file: regular file only (never blocks), at most max_bytes, strict UTF-8,
    no NaN/Infinity, bounded nesting. Raises UsageError("<what> <path>: <why>")."""
    data = read_regular_file(Path(path), what=what, max_bytes=max_bytes)
    return parse_json(data, where=f"{what} {path}")


def _shown(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (list, dict)):
        return _kind(value)
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" between {lo} and {hi}"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


class Fields:
    """Typed access to one JSON object; `where` names it in errors ("checkpoint.json <path>")
    and `path` is its place inside the file ("policies.dee") for nested objects."""

    def __init__(self, obj: object, *, where: str, path: str = "") -> None:
        self.where = where
        self.path = path
        if not isinstance(obj, dict):
            place = f"field '{path}'" if path else "the top level"
            raise UsageError(one_line(f"{where}: {place} must be an object, got {_kind(obj)}"))
        self._obj: dict[str, Any] = obj

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, why: str) -> UsageError:
        """The error for field `key`: "<where>: field '<key>' <why>"."""
        return UsageError(one_line(f"{self.where}: field '{self._name(key)}' {why}"))

    def _get(self, key: str, default: object) -> tuple[bool, Any]:
        """(found, value); not found means the default applies."""
        if key not in self._obj:
            if default is MISSING:
                raise self.fail(key, "is missing")
            return False, default
        value = self._obj[key]
        if value is None and default is None:
            return False, None
        return True, value

    def _wrong(self, key: str, want: str, value: object) -> UsageError:
        return self.fail(key, f"must be {want}, got {_shown(value)}")

    def int(self, key: str, *, min: int | None = None, max: int | None = None,
            default: Any = MISSING) -> int:
        """An integer (a boolean or 3.0 is not one) within [min, max]."""
        found, value = self._get(key, default)
        if not found:
            return value
        want = "an integer" + _bounds(min, max)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, want, value)
        if (min is not None and value < min) or (max is not None and value > max):
            raise self._wrong(key, want, value)
        return value

    def float(self, key: str, *, min: float | None = None, max: float | None = None,
              default: Any = MISSING) -> float:
        """A finite number (an integer is accepted) within [min, max]."""
        found, value = self._get(key, default)
        if not found:
            return value
        want = "a finite number" + _bounds(min, max)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong(key, want, value)
        try:
            number = float(value)
        except OverflowError:
            raise self._wrong(key, want, value) from None
        if not math.isfinite(number):
            raise self._wrong(key, want, value)
        if (min is not None and number < min) or (max is not None and number > max):
            raise self._wrong(key, want, value)
        return number

    def str(self, key: str, *, choices: Any = None, default: Any = MISSING) -> str:
        """A string, one of `choices` when given."""
        found, value = self._get(key, default)
        if not found:
            return value
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        if choices is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise self._wrong(key, f"one of {allowed}", value)
        return value

    def bool(self, key: str, *, default: Any = MISSING) -> bool:
        """true or false (not 0/1, not "true")."""
        found, value = self._get(key, default)
        if not found:
            return value
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false", value)
        return value

    def list(self, key: str, *, default: Any = MISSING) -> list:
        """A JSON list (elements unchecked)."""
        found, value = self._get(key, default)
        if not found:
            return value
        if not isinstance(value, list):
            raise self._wrong(key, "a list", value)
        return value

    def obj(self, key: str, *, default: Any = MISSING) -> Fields:
        """A nested object, with errors naming its place ("outer.inner")."""
        found, value = self._get(key, default)
        if not found:
            return value
        if not isinstance(value, dict):
            raise self._wrong(key, "an object", value)
        return Fields(value, where=self.where, path=self._name(key))

    def objs(self, key: str, *, default: Any = MISSING) -> list[Fields]:
        """A list of objects, each named by its index ("policies[2]")."""
        found, value = self._get(key, default)
        if not found:
            return value
        if not isinstance(value, list):
            raise self._wrong(key, "a list of objects", value)
        return [Fields(item, where=self.where, path=f"{self._name(key)}[{i}]")
                for i, item in enumerate(value)]

    def raw(self, key: str, *, default: Any = MISSING) -> object:
        """The value as parsed, unchecked."""
        return self._get(key, default)[1]

    def keys(self) -> list[str]:
        return list(self._obj)

    def as_dict(self) -> dict[str, Any]:
        """A shallow copy of the object, for callers that keep it once checked."""
        return dict(self._obj)

    def __contains__(self, key: object) -> bool:
        return key in self._obj
