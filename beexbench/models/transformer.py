"""The shared post-LN transformer encoder with exit heads, and the full-precision models.

Every model in beexbench is this backbone with different parts swapped in: the linear
layers (fp32 or binary, with a given activation precision), the embeddings (fp32 or
binary), the precision of the attention products, the sub-layer after attention (FFN
or SLFN) and where the exits are.

    x = LN(tok_emb(ids) + pos_emb(pos))
    for each block:  x = LN1(x + Attn(x));  x = LN2(x + Sublayer(x))
    exit head i:     p_i = softmax(Linear(LN(mean over non-pad tokens of x)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from beexbench.models.attention import AttentionProducts
from beexbench.models.binarize import BinaryEmbedding, BinaryLinear
from beexbench.models.dropout import dropout
from beexbench.models.exits import ExitPolicy, normalized_entropy

PAD_ID = 0


@dataclass(frozen=True)
class ModelConfig:
    """The backbone shape plus the choices that make one model family differ from another."""

    vocab_size: int
    n_classes: int
    d_model: int
    heads: int
    blocks: int
    max_len: int
    dropout: float = 0.1
    ffn_mult: int = 4
    slfn_mult: int = 1
    weight_bits: int = 32  # 32: fp32 linears; 1: binary linears
    act_bits: int = 32  # precision of activations entering binary linears: 32, 8, 4 or 1
    attn_bits: int = 32  # precision of Q, K, V and the attention probabilities
    binary_embeddings: bool = False  # word and position tables at 1 bit (BEExformer)
    binary_word_embedding: bool = False  # the word table alone at 1 bit (BinaryBERT's E=1)
    sublayer: str = "ffn"  # "ffn" or "slfn"
    exits: str = "all"  # "all": an exit after every block; "final": the last block only

    def to_dict(self) -> dict:
        return asdict(self)

    def backbone(self) -> ModelConfig:
        """The shape alone, with every family choice at its fp32 default."""
        return ModelConfig(self.vocab_size, self.n_classes, self.d_model, self.heads,
                           self.blocks, self.max_len, self.dropout, self.ffn_mult,
                           self.slfn_mult)


LinearFactory = Callable[[int, int], nn.Module]


def linear_factory(cfg: ModelConfig) -> LinearFactory:
    if cfg.weight_bits == 32:
        return nn.Linear
    if cfg.weight_bits == 1:
        return lambda i, o: BinaryLinear(i, o, act_bits=cfg.act_bits)
    raise ValueError(f"unsupported weight_bits {cfg.weight_bits}")


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig, linear: LinearFactory) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.qkv = linear(cfg.d_model, 3 * cfg.d_model)
        self.products = AttentionProducts(cfg.attn_bits, cfg.dropout)
        self.out = linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = self.products(q, k, v, attn_mask)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    def __init__(self, cfg: ModelConfig, linear: LinearFactory) -> None:
        super().__init__()
        hidden = cfg.ffn_mult * cfg.d_model
        self.up, self.down = linear(cfg.d_model, hidden), linear(hidden, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class SelectiveLearnForget(nn.Module):
    """SLFN(h) = Lo( sigmoid(Lg(h)) * tanh(Lc(h)) ): a gate chooses what to keep."""

    def __init__(self, cfg: ModelConfig, linear: LinearFactory) -> None:
        super().__init__()
        hidden = cfg.slfn_mult * cfg.d_model
        self.gate = linear(cfg.d_model, hidden)
        self.candidate = linear(cfg.d_model, hidden)
        self.out = linear(hidden, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.sigmoid(self.gate(x)) * torch.tanh(self.candidate(x)))


SUBLAYERS = {"ffn": FeedForward, "slfn": SelectiveLearnForget}


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, linear: LinearFactory) -> None:
        super().__init__()
        self.attn = SelfAttention(cfg, linear)
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.sublayer = SUBLAYERS[cfg.sublayer](cfg, linear)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.norm1(x + dropout(self.attn(x, attn_mask), self.dropout, self.training))
        return self.norm2(x + dropout(self.sublayer(x), self.dropout, self.training))


def pool_weights(keep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T, 1] weights of the mean over non-pad tokens (computed once per batch)."""
    w = keep.unsqueeze(-1).to(dtype)
    return w / w.sum(1, keepdim=True).clamp_min(1.0)


class ExitHead(nn.Module):
    """Mean-pool over non-pad tokens -> LayerNorm -> linear to classes (always fp32)."""

    def __init__(self, d_model: int, n_classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.classify = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        return self.classify(self.norm((x * pool).sum(1)))

    def predict(self, x: torch.Tensor, pool: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What an early exit needs: logits, normalized entropy and argmax class."""
        logits = self(x, pool)
        return logits, normalized_entropy(logits), logits.argmax(-1)


@dataclass
class InferenceOutput:
    logits: torch.Tensor  # [B, C] of the exit that predicted
    exit_layer: torch.Tensor  # [B] 1-based block where computation stopped
    used_exit: torch.Tensor  # [B] 1-based block whose head predicted


class EncoderClassifier(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        linear = linear_factory(cfg)
        binary_words = cfg.binary_embeddings or cfg.binary_word_embedding
        self.tok_emb = (BinaryEmbedding if binary_words else nn.Embedding)(cfg.vocab_size,
                                                                           cfg.d_model)
        self.pos_emb = (BinaryEmbedding if cfg.binary_embeddings else nn.Embedding)(
            cfg.max_len, cfg.d_model)
        if isinstance(self.pos_emb, nn.Embedding):
            # Small positions (BERT's 0.02) let token identity dominate early in training.
            nn.init.normal_(self.pos_emb.weight, std=0.02)
        self.emb_norm = nn.LayerNorm(cfg.d_model)
        self.dropout = cfg.dropout
        self.blocks = nn.ModuleList(Block(cfg, linear) for _ in range(cfg.blocks))
        n = cfg.blocks
        self.exit_blocks: tuple[int, ...] = tuple(range(1, n + 1)) if cfg.exits == "all" else (n,)
        self.exit_heads = nn.ModuleDict(
            {str(k): ExitHead(cfg.d_model, cfg.n_classes) for k in self.exit_blocks}
        )

    def embed(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Embedded tokens, exit-head pooling weights, and the attention mask (None: no pad)."""
        keep = ids != PAD_ID
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.emb_norm(self.tok_emb(ids) + self.pos_emb(pos))
        x = dropout(x, self.dropout, self.training)
        # Without padding the mask is all-true: pass none so attention takes its fast path.
        attn_mask = None if bool(keep.all()) else keep[:, None, None, :]
        return x, pool_weights(keep, x.dtype), attn_mask

    def forward(self, ids: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """Logits of every exit up to `depth` blocks (all blocks by default): [n_exits, B, C]."""
        depth = self.cfg.blocks if depth is None else depth
        x, pool, attn_mask = self.embed(ids)
        outs = []
        for i, block in enumerate(self.blocks[:depth], start=1):
            x = block(x, attn_mask)
            if i in self.exit_blocks:
                outs.append(self.exit_heads[str(i)](x, pool))
        if not outs:
            raise ValueError(f"depth {depth} reaches no exit of this model")
        return torch.stack(outs)

    @torch.no_grad()
    def infer(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput:
        """Early-exit inference: a sample leaves the batch at its exit, later blocks skip it."""
        b, device = ids.shape[0], ids.device
        x, pool, attn_mask = self.embed(ids)
        active = torch.arange(b, device=device)
        logits_out = torch.empty(b, self.cfg.n_classes, device=device)
        exit_layer = torch.empty(b, dtype=torch.long, device=device)
        used_exit = torch.empty(b, dtype=torch.long, device=device)
        exit_ids = torch.tensor(self.exit_blocks, device=device)
        # Per exit seen so far, for the samples still running: [exits, rows, ...].
        n_exits = len(self.exit_blocks)
        hist_logits = torch.empty(n_exits, b, self.cfg.n_classes, device=device)
        hist_entropy = torch.empty(n_exits, b)
        hist_preds = torch.empty(n_exits, b, dtype=torch.long)
        seen = 0
        for i, block in enumerate(self.blocks, start=1):
            x = block(x, attn_mask)
            if i not in self.exit_blocks:
                continue
            logits, entropy, preds = self.exit_heads[str(i)].predict(x, pool)
            hist_logits[seen], hist_entropy[seen], hist_preds[seen] = logits, entropy, preds
            seen += 1
            stop, use = policy.decide(hist_entropy[:seen], hist_preds[:seen])
            if i == self.cfg.blocks:
                stop = torch.ones_like(stop)
            if not bool(stop.any()):
                continue
            stop, use = stop.to(device), use.to(device)
            everyone = bool(stop.all())  # always so at batch 1
            if everyone:
                rows, out = torch.arange(len(active), device=device), active
            else:
                rows = stop.nonzero().squeeze(1)
                out = active[rows]
            logits_out[out] = hist_logits[use[rows], rows]
            exit_layer[out] = i
            used_exit[out] = exit_ids[use[rows]]
            if everyone:
                break
            go = (~stop).nonzero().squeeze(1)
            active, x, pool = active[go], x[go], pool[go]
            attn_mask = None if attn_mask is None else attn_mask[go]
            go_cpu = go.cpu()
            hist_logits = hist_logits[:, go]
            hist_entropy, hist_preds = hist_entropy[:, go_cpu], hist_preds[:, go_cpu]
        return InferenceOutput(logits_out, exit_layer, used_exit)
