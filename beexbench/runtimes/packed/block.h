// The native engine of block.cpp: embeddings, linears (packed or dense), LayerNorms,
// encoder blocks and exit heads as C++ objects that hold their tensors.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>
#include <tuple>

// A linear layer: packed binary weights with `act_bits` activations (1: W1A1; 4, 8:
// integer levels through W1A32; 32: W1A32), as beexbench.runtimes.packed.layers.PackedLinear, or
// dense fp32 weights, as nn.Linear.
class Linear {
 public:
  static Linear packed(torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                       std::optional<torch::Tensor> bias, int64_t act_bits);
  static Linear dense(torch::Tensor weight, std::optional<torch::Tensor> bias);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  Linear() = default;
  torch::Tensor weight_;  // packed int64 [m, ceil(n/64)], or dense fp32 [m, n]
  int64_t n_ = 0;
  std::optional<torch::Tensor> alpha_;  // packed only
  std::optional<torch::Tensor> bias_;
  int64_t act_bits_ = 32;
};

class LayerNorm {
 public:
  LayerNorm(torch::Tensor weight, torch::Tensor bias, double eps);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_, bias_;
  double eps_;
};

// An embedding table: packed sign rows with per-row scales (beexbench.runtimes.packed.layers.
// PackedEmbedding), or dense fp32 rows (nn.Embedding).
class EmbeddingTable {
 public:
  static EmbeddingTable packed(torch::Tensor w_packed, int64_t n, torch::Tensor alpha);
  static EmbeddingTable dense(torch::Tensor weight);
  torch::Tensor rows(const torch::Tensor& ids) const;  // ids [...] -> [..., n]

 private:
  EmbeddingTable() = default;
  torch::Tensor weight_;  // packed int64 [V, ceil(n/64)], or dense fp32 [V, n]
  int64_t n_ = 0;
  std::optional<torch::Tensor> alpha_;  // packed only
};

// beexbench.models.transformer.EncoderClassifier.embed in eval mode: embedded tokens, the exit
// heads' pooling weights, and the attention mask (none when nothing is padding).
class Embed {
 public:
  Embed(EmbeddingTable tokens, EmbeddingTable positions, LayerNorm norm, int64_t pad_id);
  std::tuple<torch::Tensor, torch::Tensor, std::optional<torch::Tensor>> forward(
      const torch::Tensor& ids) const;

 private:
  EmbeddingTable tokens_, positions_;
  LayerNorm norm_;
  int64_t pad_id_;
};

// beexbench.models.transformer.Block in eval mode, its attention products at `attn_bits` (32:
// fp32 SDPA; 2..8: fake-quantized operands, as beexbench.models.attention.AttentionProducts).
class Block {
 public:
  Block(Linear qkv, Linear attn_out, int64_t heads, int64_t attn_bits, LayerNorm norm1,
        std::string sublayer, Linear sub_in, Linear sub_out, LayerNorm norm2);
  torch::Tensor forward(const torch::Tensor& x, const std::optional<torch::Tensor>& attn_mask) const;

 private:
  torch::Tensor attention(torch::Tensor q, torch::Tensor k, torch::Tensor v,
                          const std::optional<torch::Tensor>& attn_mask) const;
  Linear qkv_, attn_out_;
  int64_t heads_;
  int64_t attn_bits_;
  LayerNorm norm1_;
  bool slfn_;
  Linear sub_in_, sub_out_;
  LayerNorm norm2_;
};

// beexbench.models.transformer.ExitHead: mean-pool, LayerNorm, fp32 linear to classes.
class ExitHead {
 public:
  ExitHead(LayerNorm norm, Linear classify);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pool) const;
  // Logits, normalized entropy (beexbench.models.exits.normalized_entropy) and argmax class.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> predict(const torch::Tensor& x,
                                                                  const torch::Tensor& pool) const;

 private:
  LayerNorm norm_;
  Linear classify_;
};
