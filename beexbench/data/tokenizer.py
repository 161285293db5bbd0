"""WordPiece tokenizer trained on the train split, saved with the checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from beexbench.core.errors import UsageError
from beexbench.core.typed_json import read_regular_file

PAD, UNK, SEP = "[PAD]", "[UNK]", "[SEP]"


# No "##" marker on pieces inside a word. The trainer creates the "##" tokens in
# hash-map order, and their ids break ties between equally frequent merges, so with
# the marker the learned vocabulary changes from process to process (tokenizers issue
# 1794). Without it every piece comes from the sorted alphabet or a merge, and
# training is deterministic; a piece then means the same inside and at the start of
# a word.
PIECE_PREFIX = ""


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token=UNK, continuing_subword_prefix=PIECE_PREFIX))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=[PAD, UNK, SEP],
                                        continuing_subword_prefix=PIECE_PREFIX,
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # Ids in a canonical order (specials first, then sorted), so that the ids follow
    # from the set of tokens alone. WordPiece's longest match does not depend on ids.
    learned = tok.get_vocab()
    specials = [PAD, UNK, SEP]
    ordered = specials + sorted(t for t in learned if t not in specials)
    tok.model = models.WordPiece({t: i for i, t in enumerate(ordered)}, unk_token=UNK,
                                 continuing_subword_prefix=PIECE_PREFIX)
    return tok


def read_tokenizer_bytes(path: Path) -> bytes:
    """tokenizer.json's bytes: a regular file of a bounded size (never a FIFO that hangs)."""
    return read_regular_file(path, what="tokenizer.json", max_bytes=64 << 20)


def load_tokenizer(path: Path, data: bytes | None = None) -> Tokenizer:
    """The tokenizer of tokenizer.json at `path` (from `data`, its bytes, when read already)."""
    data = read_tokenizer_bytes(path) if data is None else data
    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # the tokenizers library raises a bare Exception on bad JSON
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"{path}: not a tokenizer file ({first})") from None


def check_tokenizer(tok: Tokenizer, vocab_size: int, *, where: str) -> None:
    """The tokenizer has the special tokens `encode` needs (PAD as id 0) and no id beyond
    the model's embedding table."""
    for token in (PAD, UNK):
        if tok.token_to_id(token) is None:
            raise UsageError(f"{where}: has no {token} token")
    if tok.token_to_id(PAD) != 0:
        raise UsageError(f"{where}: {PAD} must be id 0, is {tok.token_to_id(PAD)}")
    ids = tok.get_vocab(with_added_tokens=True).values()
    top = max(ids, default=-1)
    if top >= vocab_size or min(ids, default=0) < 0:
        raise UsageError(f"{where}: token id {top} is beyond the model's embedding table "
                         f"({vocab_size} rows)")


def encode(tok: Tokenizer, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids [N, max_len] padded with PAD (id 0), and lengths [N] (at least 1)."""
    pad_id = tok.token_to_id(PAD)
    ids = torch.full((len(texts), max_len), pad_id, dtype=torch.long)
    lengths = torch.zeros(len(texts), dtype=torch.long)
    for i, enc in enumerate(tok.encode_batch(list(texts))):
        row = enc.ids[:max_len] or [tok.token_to_id(UNK)]
        ids[i, : len(row)] = torch.tensor(row)
        lengths[i] = len(row)
    return ids, lengths
