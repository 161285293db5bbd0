import bz2

import pytest
from conftest import one_line

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.data.glue import TASKS, load_glue, read_glue_tsv
from beexbench.data.registry import load_dataset
from beexbench.data.rt_polarity import parse_rt_csv


def test_rt_polarity_has_the_expected_class_counts():
    data = load_dataset("rt-polarity")
    assert len(data) == 12752
    assert data.class_counts() == {"rotten": 5384, "fresh": 7368}
    assert len(set(data.texts)) == len(data)


def test_bbc_news_has_the_expected_class_counts():
    data = load_dataset("bbc-news")
    assert len(data) == 2225
    assert sorted(data.class_counts().values()) == [386, 401, 417, 510, 511]


def test_rt_parser_drops_plot_rows_and_duplicates():
    raw = bz2.compress(b"category,text\nfresh,good\nplot,story\nrotten,bad\nfresh,good\n")
    data = parse_rt_csv(raw, "x.csv.bz2")
    assert data.texts == ("good", "bad") and data.labels == (1, 0)


def test_rt_parser_rejects_corrupt_data():
    with pytest.raises(UsageError, match="not a bz2"):
        parse_rt_csv(b"not bz2", "x.csv.bz2")
    with pytest.raises(UsageError, match="line 2: unknown category"):
        parse_rt_csv(bz2.compress(b"category,text\nmeh,ok\n"), "x.csv.bz2")


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_glue_pairs_are_joined_with_a_separator(tmp_path):
    rte = tmp_path / "RTE"
    _write(rte, "train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA cat.\tAn animal.\t"
                             "entailment\n1\tA dog.\tA car.\tnot_entailment\n")
    _write(rte, "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tX.\tY.\tentailment\n")
    data = load_glue("rte", tmp_path)
    assert data.texts[0] == "A cat. [SEP] An animal."
    assert data.labels == (1, 0, 1)


def test_glue_headerless_cola(tmp_path):
    _write(tmp_path, "train.tsv", "gj04\t1\t\tThe sailors rode the breeze.\n")
    _write(tmp_path, "dev.tsv", "gj04\t0\t*\tThe more we study verbs.\n")
    data = load_glue("cola", tmp_path)
    assert data.texts == ("The sailors rode the breeze.", "The more we study verbs.")


def test_glue_missing_column_names_file_and_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabels\nhello\t1\n")
    with pytest.raises(UsageError, match=r"train.tsv: line 1: missing column 'label'"):
        read_glue_tsv(path, TASKS["sst2"])


def test_glue_bad_label_names_file_and_line_through_the_cli(tmp_path, capsys, checkpoint_cache):
    sst = tmp_path / "SST-2"
    _write(sst, "train.tsv", "sentence\tlabel\ngood film\t1\nbad film\tpositive\n")
    _write(sst, "dev.tsv", "sentence\tlabel\nok\t0\n")
    code = main(["train", "--model", "beexformer", "--dataset", "glue-sst2", "--preset", "tiny",
                 "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err)
    assert "SST-2/train.tsv: line 3: bad label 'positive'" in err


def test_glue_needs_a_data_dir():
    with pytest.raises(UsageError, match="needs --data-dir"):
        load_dataset("glue-sst2")


def test_tokenizer_training_is_deterministic_with_canonical_ids():
    # Many frequency ties at the vocabulary limit: with "##" pieces this corpus gave a
    # different vocabulary in about half of the trainings.
    from beexbench.data.tokenizer import PAD, SEP, UNK, train_tokenizer

    texts = [f"word{i % 37} other{i % 11} and more text {i % 5}" for i in range(400)]
    vocabs = [train_tokenizer(texts, 120).get_vocab() for _ in range(8)]
    assert all(v == vocabs[0] for v in vocabs)
    vocab = vocabs[0]
    assert [vocab[t] for t in (PAD, UNK, SEP)] == [0, 1, 2]
    learned = sorted(t for t in vocab if t not in (PAD, UNK, SEP))
    assert [vocab[t] for t in learned] == list(range(3, len(vocab)))
