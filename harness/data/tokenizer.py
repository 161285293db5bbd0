"""WordPiece tokenizer trained on the train split, saved with the checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from harness.errors import UsageError

PAD, UNK, SEP = "[PAD]", "[UNK]", "[SEP]"


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token=UNK))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=[PAD, UNK, SEP],
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # The trainer breaks frequency ties in hash order, which changes from process to
    # process: renumber the vocabulary (specials first, then sorted) so the same set of
    # tokens always gets the same ids. WordPiece's longest match does not depend on ids.
    learned = tok.get_vocab()
    specials = [PAD, UNK, SEP]
    ordered = specials + sorted(t for t in learned if t not in specials)
    tok.model = models.WordPiece({t: i for i, t in enumerate(ordered)}, unk_token=UNK)
    return tok


def load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the tokenizers library raises a bare Exception on bad JSON
        raise UsageError(f"{path}: not a tokenizer file ({str(exc).splitlines()[0]})") from None


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
