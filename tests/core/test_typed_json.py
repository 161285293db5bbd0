"""beexbench.core.typed_json: the strict JSON reader and typed fields name file, field and fault."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from beexbench.core.errors import UsageError
from beexbench.core.typed_json import MAX_DEPTH, Fields, load_json, one_line, parse_json


def _write(tmp_path: Path, data: bytes | str, name: str = "f.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_load_json_reads_a_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"a": 1, "b": [1.5, "x"]}')
    assert load_json(path, what="config.json") == {"a": 1, "b": [1.5, "x"]}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": -Infinity}', "Infinity"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": "\x00"}', "NUL"),
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[" * 100_000, "nested deeper"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nested deeper"),
    ],
)
def test_load_json_refuses_damaged_files_in_one_line(tmp_path: Path, data: bytes, why: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(UsageError) as err:
        load_json(path, what="config.json")
    text = str(err.value)
    assert text.startswith(f"config.json {path}: ")
    assert why in text
    assert "\n" not in text


def test_load_json_refuses_a_file_over_the_size_cap(tmp_path: Path) -> None:
    path = _write(tmp_path, "[" + "1," * 100 + "1]")
    with pytest.raises(UsageError, match="larger than 50 bytes"):
        load_json(path, what="baseline", max_bytes=50)


def test_load_json_refuses_dev_zero_without_reading_it_all() -> None:
    with pytest.raises(UsageError, match="not a regular file"):
        load_json(Path("/dev/zero"), what="baseline")


def test_load_json_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            load_json(fifo, what="progress.json")
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], UsageError) and "not a regular file" in str(outcome[0])


def test_load_json_names_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        load_json(tmp_path, what="config.json")
    with pytest.raises(UsageError, match="not found"):
        load_json(tmp_path / "nope.json", what="config.json")


def test_fields_error_text_names_file_field_and_value() -> None:
    fields = Fields({"d_model": "64"}, where="checkpoint.json /x/checkpoint.json")
    with pytest.raises(UsageError) as err:
        fields.int("d_model", min=1)
    assert str(err.value) == (
        "checkpoint.json /x/checkpoint.json: field 'd_model' must be an integer >= 1, got '64'"
    )


def test_fields_int_rejects_bool_float_and_out_of_range() -> None:
    fields = Fields({"t": True, "f": 3.0, "n": -1, "ok": 7}, where="w")
    for key in ("t", "f"):
        with pytest.raises(UsageError, match=f"field '{key}' must be an integer"):
            fields.int(key)
    with pytest.raises(UsageError, match="between 0 and 5, got -1"):
        fields.int("n", min=0, max=5)
    assert fields.int("ok", max=7) == 7
    assert fields.int("absent", default=3) == 3
    with pytest.raises(UsageError, match="field 'absent' is missing"):
        fields.int("absent")


def test_fields_float_is_finite_and_accepts_ints() -> None:
    fields = Fields({"i": 2, "x": 0.5, "b": False, "s": "1.0", "big": 10**400}, where="w")
    assert fields.float("i") == 2.0 and isinstance(fields.float("i"), float)
    assert fields.float("x", min=0, max=1) == 0.5
    for key in ("b", "s", "big"):
        with pytest.raises(UsageError, match="must be a finite number"):
            fields.float(key)
    nan_fields = Fields({"x": float("nan"), "y": float("inf")}, where="w")
    for key in ("x", "y"):
        with pytest.raises(UsageError, match="finite"):
            nan_fields.float(key)


def test_fields_str_bool_list_obj_raw() -> None:
    fields = Fields(
        {"s": "a", "b": True, "l": [1], "o": {"inner": "x"}, "n": None, "ol": [{"p": 1}, 2]},
        where="w",
    )
    assert fields.str("s", choices=("a", "b")) == "a"
    with pytest.raises(UsageError, match="one of 'x', 'y', got 'a'"):
        fields.str("s", choices=("x", "y"))
    assert fields.bool("b") is True
    with pytest.raises(UsageError, match="true or false, got 'a'"):
        fields.bool("s")
    assert fields.list("l") == [1]
    with pytest.raises(UsageError, match="must be a list, got an object"):
        fields.list("o")
    inner = fields.obj("o")
    with pytest.raises(UsageError, match="field 'o.inner' must be an integer"):
        inner.int("inner")
    with pytest.raises(UsageError, match=r"field 'ol\[1\]' must be an object"):
        fields.objs("ol")
    assert fields.raw("n") is None
    assert fields.str("n", default=None) is None
    with pytest.raises(UsageError, match="must be a string, got null"):
        fields.str("n")
    assert fields.keys() == ["s", "b", "l", "o", "n", "ol"]
    assert "s" in fields and "zz" not in fields


def test_fields_needs_an_object() -> None:
    with pytest.raises(UsageError, match="w: the top level must be an object, got a list"):
        Fields([1, 2], where="w")


def test_parse_json_names_where() -> None:
    with pytest.raises(UsageError, match="^here: not valid JSON"):
        parse_json(b"{x}", where="here")


def test_errors_built_from_user_keys_stay_one_line() -> None:
    fields = Fields({"a\nb": None, "c": {"d\re": 1}}, where="w")
    for call in (lambda: fields.str("a\nb"), lambda: fields.obj("c").str("d\re")):
        with pytest.raises(UsageError) as err:
            call()
        assert "\n" not in str(err.value) and "\r" not in str(err.value)
    assert one_line("x\ny") == "x\\ny" and one_line("plain") == "plain"
