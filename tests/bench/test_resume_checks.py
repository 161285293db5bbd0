"""`bench --resume` checks the run directory before trusting it; `--repair` mends it.

Each damage below is one a user (or a full disk) can do to a finished run: resume must
stop with one line naming what is wrong and change nothing, and `--resume --repair`
must measure the damaged models again and keep every sound one as it was.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import BENCH_FAST, error_line

from beexbench.cli.main import main

MODELS = "fp-transformer,beexformer"
ARGV = ["-q", "bench", "--target", "cpu", "--models", MODELS, "--no-energy", *BENCH_FAST]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, checkpoint_cache) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main([*ARGV, "--out", str(out)]) == 0
    return out


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


def _keys(run: Path) -> list[tuple]:
    keys = [(r["model"], r["seed"], r["runtime"], r["policy"], r["metric"], r["stat"])
            for r in _rows(run)]
    assert len(keys) == len(set(keys)), "duplicated rows"
    return sorted(keys)


def _lines_of(run: Path, model: str) -> list[str]:
    return [line for line in (run / "results.csv").read_text().splitlines()
            if f",{model}," in line]


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*"))
            if p.is_file() and p.name != "run.lock"}


def _copy(finished: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    return run


def _cut_mid_line(run: Path) -> None:
    data = (run / "results.csv").read_bytes()
    (run / "results.csv").write_bytes(data[:-40])


def _every_row_twice(run: Path) -> None:
    header, *rows = (run / "results.csv").read_text().splitlines(keepends=True)
    (run / "results.csv").write_text(header + "".join(rows) + "".join(rows))


def _header_only(run: Path) -> None:
    header = (run / "results.csv").read_text().splitlines(keepends=True)[0]
    (run / "results.csv").write_text(header)


def _edit_row(edit):
    def damage(run: Path) -> None:
        header, *rows = (run / "results.csv").read_text().splitlines(keepends=True)
        i = next(i for i, r in enumerate(rows) if ",fp-transformer," in r)
        rows[i] = edit(next(csv.reader([rows[i]])))
        (run / "results.csv").write_text(header + "".join(rows))
    return damage


def _joined(fields: list[str]) -> str:
    return ",".join(fields) + "\n"


def _garbage(name: str):
    def damage(run: Path) -> None:
        (run / name).write_bytes(b"\xff\xfe\x00 not this file \x9c")
    return damage


def _a_directory(name: str):
    def damage(run: Path) -> None:
        (run / name).unlink()
        (run / name).mkdir()
        (run / name / "inner").write_text("x")
    return damage


def _cut(name: str, chars: int):
    def damage(run: Path) -> None:
        (run / name).write_bytes((run / name).read_bytes()[:-chars])
    return damage


def _cut_fields(name: str):
    """The first row keeps its first three fields: pandas reads the rest as empty."""
    def damage(run: Path) -> None:
        header, first, *rows = (run / name).read_text().splitlines(keepends=True)
        (run / name).write_text(header + ",".join(first.split(",")[:3]) + "\n" + "".join(rows))
    return damage


# (damage, what the one line must say, the models --repair measures again or None when
# --repair cannot mend it in place and must also stop with one line)
CASES = {
    "results cut mid-line": (_cut_mid_line, "is cut short", {"beexformer"}),
    "every row twice": (_every_row_twice, "repeats the row of line", {"fp-transformer",
                                                                      "beexformer"}),
    "results deleted": (lambda run: (run / "results.csv").unlink(), "results.csv",
                        {"fp-transformer", "beexformer"}),
    "header only": (_header_only, "holds no rows of it", {"fp-transformer", "beexformer"}),
    "a row lost fields": (_edit_row(lambda f: _joined(f[:9])), "has 9 fields",
                          {"fp-transformer"}),
    "a value emptied": (_edit_row(lambda f: _joined(f[:15] + [""] + f[16:])),
                        "empty value and no note", {"fp-transformer"}),
    "config not UTF-8": (_garbage("config.json"), "config.json", set()),
    "config a directory": (_a_directory("config.json"), "is a directory", None),
    "progress garbage": (_garbage("progress.json"), "progress.json", set()),
    "progress a directory": (_a_directory("progress.json"), "is a directory", None),
    "samples not UTF-8": (_garbage("samples/beexformer.csv"), "samples/beexformer.csv",
                          {"beexformer"}),
    "samples a directory": (_a_directory("samples/beexformer.csv"), "not a regular file",
                            None),
    "predictions garbage": (_garbage("predictions/fp-transformer.csv"),
                            "predictions/fp-transformer.csv", {"fp-transformer"}),
    "predictions deleted": (lambda run: (run / "predictions/beexformer.csv").unlink(),
                            "missing", {"beexformer"}),
    "predictions cut mid-line": (_cut("predictions/fp-transformer.csv", 3), "is cut short",
                                 {"fp-transformer"}),
    "predictions cut at a field": (_cut_fields("predictions/beexformer.csv"), "line 2 has no",
                                   {"beexformer"}),
    "samples cut mid-number": (_cut("samples/beexformer.csv", 2), "is cut short",
                               {"beexformer"}),
}


@pytest.mark.parametrize("case", CASES)
def test_damaged_run_is_refused_then_repaired(finished, tmp_path, capsys, case):
    damage, says, remeasured = CASES[case]
    run = _copy(finished, tmp_path)
    damage(run)
    before = _snapshot(run)
    capsys.readouterr()
    assert main([*ARGV, "--out", str(run), "--resume"]) == 2
    line = error_line(capsys)
    assert says in line and str(run) in line, line
    assert _snapshot(run) == before, "a refused resume changed the run"

    code = main([*ARGV, "--out", str(run), "--resume", "--repair"])
    if remeasured is None:
        assert code == 2
        assert str(run) in error_line(capsys)
        return
    assert code == 0
    assert _keys(run) == _keys(finished)
    for model in MODELS.split(","):
        if model not in remeasured:  # kept exactly as measured the first time
            assert _lines_of(run, model) == _lines_of(finished, model), model
    assert not [p for p in run.rglob("*.tmp")]
    # The repaired run resumes cleanly: nothing left to do.
    assert main([*ARGV, "--out", str(run), "--resume"]) == 0


def test_lock_file_with_a_huge_pid_is_not_a_live_holder(finished, tmp_path, capsys):
    run = _copy(finished, tmp_path)
    (run / "run.lock").write_text("9" * 40)
    # A kill just before a rename leaves these; the resume removes them.
    (run / "predictions" / ".beexformer.csv.4194000-k1.tmp").write_text("half")
    (run / "artifacts" / ".beexformer.safetensors.tmp").write_text("half")
    assert main([*ARGV, "--out", str(run), "--resume"]) == 0
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert _lines_of(run, "beexformer") == _lines_of(finished, "beexformer")


def test_resume_into_a_folder_that_is_no_run_is_refused(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "results.csv").write_text("my,own\n1,2\n")
    assert main([*ARGV, "--out", str(folder), "--resume"]) == 2
    assert "not a beexbench run directory" in error_line(capsys)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "results.csv"]
    assert (folder / "results.csv").read_text() == "my,own\n1,2\n"


def test_repair_needs_resume(tmp_path, capsys):
    assert main([*ARGV, "--out", str(tmp_path / "r"), "--repair"]) == 2
    assert "--resume" in error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_resume_of_a_run_killed_before_its_config_starts_it(finished, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.lock").write_text("")  # its creator died before writing its pid
    (run / ".results.csv.999999-abc.tmp").write_text("half")
    assert main([*ARGV, "--out", str(run), "--resume"]) == 0
    assert _keys(run) == _keys(finished)
    assert not [p for p in run.rglob("*.tmp")]


def test_a_truncated_artifact_is_refused_and_repaired(finished, tmp_path, capsys):
    """Its manifest, written when the model finished, tells the resume that the packed
    artifact of beexformer was cut short; --repair measures that model again."""
    run = _copy(finished, tmp_path)
    assert (run / "artifacts" / "beexformer.manifest.json").is_file()
    artifact = run / "artifacts" / "beexformer.safetensors"
    artifact.write_bytes(artifact.read_bytes()[:100])
    before = _snapshot(run)
    assert main([*ARGV, "--out", str(run), "--resume"]) == 2
    err = error_line(capsys)
    assert "beexformer.safetensors" in err and "--repair" in err
    assert _snapshot(run) == before
    assert main([*ARGV, "--out", str(run), "--resume", "--repair"]) == 0
    assert artifact.read_bytes() == (finished / "artifacts" / "beexformer.safetensors"
                                     ).read_bytes()
    assert _keys(run) == _keys(finished)


def test_an_artifacts_folder_that_is_a_link_is_refused_even_with_repair(finished, tmp_path,
                                                                        capsys):
    run = _copy(finished, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(run / "artifacts", elsewhere)
    (run / "artifacts").symlink_to(elsewhere)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir() if p.is_file()}
    for extra in ([], ["--repair"]):
        assert main([*ARGV, "--out", str(run), "--resume", *extra]) == 2
        assert "artifacts" in error_line(capsys)
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir() if p.is_file()} == before


def test_the_same_checkpoint_writes_byte_identical_artifacts(finished, tmp_path):
    """Two runs of the same checkpoints: every artifact file is the same bytes (sorted
    metadata), so a manifest's hash names the artifact, not the moment it was written."""
    again = tmp_path / "again"
    assert main([*ARGV, "--out", str(again)]) == 0
    files = sorted(p.relative_to(finished) for p in (finished / "artifacts").rglob("*")
                   if p.is_file())
    assert files and files == sorted(p.relative_to(again) for p in (again / "artifacts"
                                                                       ).rglob("*") if p.is_file())
    for rel in files:
        assert (finished / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_a_binary_model_timed_only_on_the_packed_engine_resumes(tmp_path, capsys,
                                                                 checkpoint_cache):
    """Its fake-quant rows have no timing and so no samples file: resume must not take
    that for damage (nor a sweep measure the cell again on every resume)."""
    argv = ["-q", "bench", "--target", "cpu", "--models", "beexformer", "--runtimes",
            "fake-quant,packed", "--no-energy", *BENCH_FAST, "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    before = _snapshot(tmp_path / "run")
    assert main([*argv, "--resume"]) == 0
    assert _snapshot(tmp_path / "run") == before
