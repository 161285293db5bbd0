import pytest

from harness.cli import main


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
    assert len(err.splitlines()) == 1 and named in err
    assert "valid" in err or "choose from" in err


def test_unknown_policy_exits_2(tiny_checkpoint, capsys):
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown policy 'nope'; valid:" in err and len(err.strip().splitlines()) == 1
