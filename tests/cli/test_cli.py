import pytest
from conftest import README, REPO, one_line

from beexbench.cli.main import main


def test_list_models_prints_the_eight(capsys):
    assert main(["list", "models"]) == 0
    names = capsys.readouterr().out.split()
    assert {"fp-transformer", "fp-transformer-ee", "binarybert", "binarybert-a4", "beexformer",
            "beexformer-a1", "beexformer-ffn", "beexformer-noexit"} <= set(names)


@pytest.mark.parametrize("kind,expected", [
    ("policies", {"beex-entropy-drop", "deebert-entropy", "pabee-patience", "final"}),
    ("presets", {"tiny", "small", "paper", "bert-base"}),
    ("datasets", {"rt-polarity", "bbc-news", "glue-sst2", "glue-cola", "glue-mrpc", "glue-rte",
                  "glue-qnli", "synthetic-2"}),
])
def test_list_other_registries(kind, expected, capsys):
    assert main(["list", kind]) == 0
    assert expected <= set(capsys.readouterr().out.split())


@pytest.mark.parametrize("argv,named", [
    (["train", "--model", "nope", "--dataset", "synthetic-2", "--preset", "tiny"], "model 'nope'"),
    (["train", "--model", "beexformer", "--dataset", "nope", "--preset", "tiny"],
     "dataset 'nope'"),
    (["train", "--model", "beexformer", "--dataset", "synthetic-2", "--preset", "huge"],
     "preset 'huge'"),
    (["list", "nope"], "nope"),
])
def test_unknown_names_exit_2_with_one_line_listing_valid_choices(argv, named, capsys,
                                                                   checkpoint_cache):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and named in err
    assert "valid" in err or "choose from" in err


def test_unknown_policy_exits_2(tiny_checkpoint, capsys):
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown policy 'nope'; valid:" in err and one_line(err)


# -- the command line as users of pytest, nox and asv expect it ---------------------------


@pytest.mark.parametrize("argv", [["list", "models", "-q"], ["-q", "list", "models"],
                                  ["list", "-q", "models"], ["list", "presets", "-v"]])
def test_global_options_before_or_after_the_command(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip()


def test_version_prints_the_installed_version(capsys):
    from beexbench.core.version import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"beexbench {version()}"
    assert version() != "unknown"


def test_bare_command_prints_the_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: beexbench") and "bench" in out and "--include" in out


def test_near_miss_model_name_suggests_the_right_one(capsys):
    assert main(["bench", "--models", "beexformer_a1", "--dataset", "synthetic-2",
                 "--preset", "tiny"]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and err.startswith(
        "beexbench: error: unknown model 'beexformer_a1'; valid: ")
    assert err.endswith("; did you mean 'beexformer-a1'?")


def test_near_miss_command_and_choice_suggest_too(capsys):
    for argv, expected in ((["benc"], "did you mean 'bench'?"),
                           (["list", "model"], "did you mean 'models'?")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert one_line(err) and err.endswith(expected)


def test_list_shows_a_description_for_every_name(capsys):
    for kind in ("models", "datasets", "policies", "targets", "presets"):
        assert main(["list", kind]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines and all(len(line.split(None, 1)) == 2 for line in lines), (kind, lines)


def _imported_modules(*argv: str) -> set[str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "beexbench", *argv],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}


HEAVY = ("torch", "fvcore", "tokenizers", "pandas", "matplotlib", "scipy", "numpy")


@pytest.mark.parametrize("argv", [("--help",), ("--version",), ("list", "models"),
                                  ("list", "datasets"), ("list", "policies"),
                                  ("list", "presets"), ("list", "targets")])
def test_help_version_and_list_import_nothing_heavy(argv):
    modules = _imported_modules(*argv)
    assert "beexbench.cli.main" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, heavy


def test_every_command_module_imports_only_light_modules_at_its_top():
    """Each command's --help builds every subparser: none may pull in torch (or the like)."""
    from beexbench.cli.main import command_modules

    for name in command_modules():
        modules = _imported_modules(name, "--help")
        heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
        assert not heavy, (name, heavy)


def test_every_option_has_help_and_shows_its_default(monkeypatch):
    import argparse

    from beexbench.cli.main import build_parser

    monkeypatch.setenv("COLUMNS", "1000")  # one line per option

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
        text = command.format_help()
        if name == "bench":
            assert "(default: fp-transformer,fp-transformer-ee,binarybert,beexformer," \
                   "beexformer-a1)" in text
            assert "(default: rt-polarity)" in text and "(default: small)" in text
            assert "tiny: warmup 3, min_queries 20, min_seconds 0.2" in text


def test_bench_help_lists_the_registered_runtimes(capsys):
    from beexbench.cli.main import main
    from beexbench.runtimes.registry import RUNTIMES

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"{', '.join(RUNTIMES.names(installed=False))}" in text
    assert RUNTIMES.names()[:4] == ["fake-quant", "packed", "ort", "ort-int8"]


def test_bench_defaults_come_from_the_config_dataclass():
    from beexbench.bench.config import BenchConfig
    from beexbench.cli.main import build_parser

    args = build_parser().parse_args(["bench"])
    cfg = BenchConfig()
    assert (args.target, args.models, args.dataset, args.preset, args.runtimes) == (
        cfg.target, ",".join(cfg.models), cfg.dataset, cfg.preset, ",".join(cfg.runtimes))


def test_readme_command_section_matches_the_parser():
    """Every option of every command is in the README's synopsis, and nothing else is."""
    import argparse
    import re

    from beexbench.cli.main import COMMON, build_parser

    readme = (README).read_text()
    section = readme.split("## Command line", 1)[1].split("```", 2)[1]
    documented: dict[str, set[str]] = {}  # command ("" for the global line) -> flags
    current = ""
    for line in section.splitlines():
        if line.startswith("beexbench "):
            word = line.split()[1]
            current = "" if word.startswith(("[", "-")) else word
        documented.setdefault(current, set()).update(re.findall(r"--[\w-]+|-\w\b", line))
    parser = build_parser()
    global_flags = {f for flags, _, _ in COMMON for f in flags} | {"--version"}
    assert global_flags <= documented.get("", set()), documented.get("")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(documented) - {""}
    for name, command in sub.choices.items():
        flags = {opt for action in command._actions if action.help != argparse.SUPPRESS
                 and not isinstance(action, argparse._HelpAction)
                 for opt in action.option_strings if opt.startswith("--")} - global_flags
        readme_flags = {f for f in documented[name] if f.startswith("--")}
        assert flags == readme_flags, (name, sorted(flags ^ readme_flags))


def test_progress_goes_to_stderr_and_quiet_anywhere_silences_it(tiny_checkpoint, capsys):
    argv = ["train", "--model", "beexformer", "--dataset", "synthetic-2", "--preset", "tiny"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "reusing checkpoint" in captured.err and captured.out.strip().endswith(
        tiny_checkpoint.path.name)
    assert main([*argv, "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_bars_only_on_a_terminal_and_never_under_quiet(monkeypatch):
    import io

    from beexbench.core import log

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    try:
        monkeypatch.setattr("sys.stderr", Terminal())
        log.configure(log.NORMAL)
        assert log.bars_enabled()
        log.configure(log.QUIET)
        assert not log.bars_enabled()
        monkeypatch.setattr("sys.stderr", io.StringIO())
        log.configure(log.NORMAL)
        assert not log.bars_enabled()
    finally:
        log.configure(log.NORMAL)


def test_eval_calibrates_an_uncalibrated_policy_on_validation(tiny_checkpoint, tmp_path,
                                                              capsys):
    from beexbench.bench.predictions import encode_split
    from beexbench.data.registry import load_dataset
    from beexbench.measure.evaluate import record_exits
    from beexbench.train.calibrate import choose, sweep

    assert tiny_checkpoint.policy_param("deebert-entropy") is None
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy",
                 "deebert-entropy", "--out", str(tmp_path / "e")]) == 0
    captured = capsys.readouterr()
    val = encode_split(tiny_checkpoint, load_dataset("synthetic-2"), "val")
    record = record_exits(tiny_checkpoint.model, val.ids, val.lengths)
    chosen = choose(sweep(record, val.labels, "deebert-entropy"))
    assert "calibrated on validation" in captured.err
    assert f"policy deebert-entropy(tau={chosen.param:g})" in captured.out


def test_report_refuses_an_existing_output_without_force(tmp_path, capsys, synthetic_run):
    run = synthetic_run.write_run(tmp_path / "runs", models=["fp-transformer"])
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("kept")
    assert main(["report", str(run), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and "--force" in err and str(out) in err
    assert (out / "report.md").read_text() == "kept"


def test_bench_force_refuses_a_directory_that_is_not_a_run(tmp_path, capsys,
                                                           checkpoint_cache):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    assert main(["bench", "--models", "fp-transformer", "--dataset", "synthetic-2",
                 "--preset", "tiny", "--out", str(out), "--force", "--no-energy"]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and "not a run directory" in err
    assert (out / "notes.txt").read_text() == "kept"


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    """`beexbench list models | head -1`: no traceback when the pipe closes early."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        done = subprocess.run([sys.executable, "-m", "beexbench", "list", "models"],
                              stdout=write, stderr=subprocess.PIPE, text=True,
                              cwd=REPO)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""


def test_an_out_name_the_file_system_refuses_is_one_line(tmp_path, capsys):
    out = tmp_path / ("r" * 300)  # longer than a file name may be (255 bytes)
    assert main(["bench", "--models", "fp-transformer", "--dataset", "synthetic-2",
                 "--preset", "tiny", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "File name too long" in err
    assert list(tmp_path.iterdir()) == []


def test_progress_lines_print_once_and_report_q_prints_nothing(tmp_path, checkpoint_cache):
    """After the native kernels load (their build logs through torch), every progress line
    of a packed bench is printed once; `report -q` prints nothing at all on success."""
    import os
    import subprocess
    import sys

    from conftest import BENCH_FAST

    env = {**os.environ, "BEEXBENCH_CHECKPOINTS": str(checkpoint_cache)}
    run = tmp_path / "run"
    bench = subprocess.run([sys.executable, "-m", "beexbench", "bench", "--models",
                            "beexformer", "--runtimes", "packed", "--no-energy", "--out",
                            str(run), *BENCH_FAST], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=600)
    assert bench.returncode == 0, bench.stderr
    # Printed twice, a line came once plain and once through a second handler, right
    # after (a verdict may repeat, after its loop ran again, but never back to back).
    lines = [line for line in bench.stderr.splitlines() if line.startswith("[")]
    assert lines and not [a for a, b in zip(lines, lines[1:], strict=False) if a == b]
    assert "INFO:" not in bench.stderr
    report = subprocess.run([sys.executable, "-m", "beexbench", "-q", "report", str(run),
                             "--out", str(tmp_path / "report")], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert report.returncode == 0 and report.stdout == "" and report.stderr == "", \
        report.stderr


def test_a_cache_home_that_is_a_file_is_one_line_before_any_training(tmp_path):
    import os
    import subprocess
    import sys

    home = tmp_path / "cache-home"
    home.write_text("not a folder\n")
    env = {k: v for k, v in os.environ.items() if k != "BEEXBENCH_CHECKPOINTS"}
    env["XDG_CACHE_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "beexbench", "bench", "--models",
                           "fp-transformer", "--dataset", "synthetic-2", "--preset", "tiny",
                           "--out", str(tmp_path / "run")], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert one_line(done.stderr) and "is not a folder" in done.stderr, done.stderr
    assert "epoch" not in done.stderr and not (tmp_path / "run").exists()
