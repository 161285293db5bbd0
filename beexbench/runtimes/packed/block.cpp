// The native engine's parts: one call runs the embedding step, an encoder block or an exit head.
//
// At the small preset's width (d = 128) a packed kernel call takes a few microseconds,
// and the Python and nn.Module overhead around each operation took most of a block's
// time. Here every step is the same ATen operation (or packed kernel) that the Python
// modules of beexbench/models/transformer.py, beexbench/models/attention.py and beexbench/runtimes/packed/layers.py
// call, in the same order, so a block gives bit-identical results; only the
// interpreter is gone. Dense fp32 linears run here too, so fp32 and binary models are
// compared on the same engine.

#include "block.h"

#include "kernels.h"

#include <cmath>
#include <utility>

namespace {

// beexbench.models.binarize._levels_and_scale: the dynamic per-tensor scale max|x| / levels.
torch::Tensor dynamic_scale(const torch::Tensor& x, int64_t levels) {
  const auto [low, high] = at::aminmax(x);
  return at::maximum(-low, high).clamp_min(1e-8) / levels;
}

// beexbench.models.binarize.quantize_activation at 2..8 bits (FakeQuant's forward): x on b-bit
// levels times the scale, in FakeQuant's three steps.
torch::Tensor fake_quant(const torch::Tensor& x, int64_t bits) {
  const int64_t levels = (int64_t(1) << (bits - 1)) - 1;
  const torch::Tensor scale = dynamic_scale(x, levels);
  return at::round(x / scale).clamp_(-levels, levels).mul_(scale);
}

}  // namespace

Linear Linear::packed(torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                      std::optional<torch::Tensor> bias, int64_t act_bits) {
  TORCH_CHECK(act_bits == 1 || act_bits == 4 || act_bits == 8 || act_bits == 32,
              "act_bits must be 1, 4, 8 or 32");
  Linear linear;
  linear.weight_ = std::move(w_packed);
  linear.n_ = n;
  linear.alpha_ = std::move(alpha);
  linear.bias_ = std::move(bias);
  linear.act_bits_ = act_bits;
  return linear;
}

Linear Linear::dense(torch::Tensor weight, std::optional<torch::Tensor> bias) {
  TORCH_CHECK(weight.dim() == 2, "a dense weight must be [m, n]");
  Linear linear;
  linear.n_ = weight.size(1);
  linear.weight_ = std::move(weight);
  linear.bias_ = std::move(bias);
  return linear;
}

torch::Tensor Linear::forward(const torch::Tensor& x) const {
  if (!alpha_) return at::linear(x, weight_, bias_);
  std::vector<int64_t> shape = x.sizes().vec();
  const torch::Tensor flat = x.reshape({-1, n_}).to(torch::kFloat).contiguous();
  torch::Tensor y;
  if (act_bits_ == 1) {
    y = w1a1(flat, weight_, n_, *alpha_, bias_);
  } else if (act_bits_ >= 32) {
    y = w1a32(flat, weight_, n_, *alpha_, bias_);
  } else {
    // beexbench.models.binarize.activation_levels: integer levels and a dynamic scale; the scale
    // multiplies before the bias adds, as in BinaryLinear.
    const int64_t levels = (int64_t(1) << (act_bits_ - 1)) - 1;
    const torch::Tensor scale = dynamic_scale(flat, levels);
    const torch::Tensor q = at::round(flat / scale).clamp(-levels, levels).contiguous();
    y = w1a32(q, weight_, n_, *alpha_, std::nullopt).mul_(scale);
    if (bias_) y += *bias_;
  }
  shape.back() = weight_.size(0);
  return y.view(shape);
}

LayerNorm::LayerNorm(torch::Tensor weight, torch::Tensor bias, double eps)
    : weight_(std::move(weight)), bias_(std::move(bias)), eps_(eps) {}

torch::Tensor LayerNorm::forward(const torch::Tensor& x) const {
  return at::layer_norm(x, {weight_.size(0)}, weight_, bias_, eps_);
}

EmbeddingTable EmbeddingTable::packed(torch::Tensor w_packed, int64_t n, torch::Tensor alpha) {
  EmbeddingTable table;
  table.weight_ = std::move(w_packed);
  table.n_ = n;
  table.alpha_ = std::move(alpha);
  return table;
}

EmbeddingTable EmbeddingTable::dense(torch::Tensor weight) {
  TORCH_CHECK(weight.dim() == 2, "a dense embedding table must be [V, n]");
  EmbeddingTable table;
  table.n_ = weight.size(1);
  table.weight_ = std::move(weight);
  return table;
}

torch::Tensor EmbeddingTable::rows(const torch::Tensor& ids) const {
  if (!alpha_) return at::embedding(weight_, ids);
  std::vector<int64_t> shape = ids.sizes().vec();
  shape.push_back(n_);
  return embedding(weight_, n_, *alpha_, ids.reshape({-1}).contiguous()).view(shape);
}

Embed::Embed(EmbeddingTable tokens, EmbeddingTable positions, LayerNorm norm, int64_t pad_id)
    : tokens_(std::move(tokens)), positions_(std::move(positions)), norm_(std::move(norm)),
      pad_id_(pad_id) {}

std::tuple<torch::Tensor, torch::Tensor, std::optional<torch::Tensor>> Embed::forward(
    const torch::Tensor& ids) const {
  TORCH_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kLong, "ids must be int64 [B, T]");
  const torch::Tensor keep = ids != pad_id_;
  const torch::Tensor positions = at::arange(ids.size(1), ids.options());
  const torch::Tensor x = norm_.forward(tokens_.rows(ids) + positions_.rows(positions));
  // beexbench.models.transformer.pool_weights: the mean over non-pad tokens.
  const torch::Tensor w = keep.unsqueeze(-1).to(x.scalar_type());
  const torch::Tensor pool = w / w.sum(1, true).clamp_min(1.0);
  std::optional<torch::Tensor> attn_mask;
  if (!keep.all().item<bool>()) attn_mask = keep.unsqueeze(1).unsqueeze(2);
  return {x, pool, attn_mask};
}

Block::Block(Linear qkv, Linear attn_out, int64_t heads, int64_t attn_bits, LayerNorm norm1,
             std::string sublayer, Linear sub_in, Linear sub_out, LayerNorm norm2)
    : qkv_(std::move(qkv)), attn_out_(std::move(attn_out)), heads_(heads),
      attn_bits_(attn_bits), norm1_(std::move(norm1)), slfn_(sublayer == "slfn"),
      sub_in_(std::move(sub_in)), sub_out_(std::move(sub_out)), norm2_(std::move(norm2)) {
  TORCH_CHECK(sublayer == "slfn" || sublayer == "ffn", "sublayer must be 'slfn' or 'ffn'");
  TORCH_CHECK(heads > 0, "heads must be positive");
  TORCH_CHECK(attn_bits == 32 || (attn_bits >= 2 && attn_bits <= 8),
              "attn_bits must be 2..8 or 32");
}

torch::Tensor Block::attention(torch::Tensor q, torch::Tensor k, torch::Tensor v,
                               const std::optional<torch::Tensor>& attn_mask) const {
  if (attn_bits_ >= 32) return at::scaled_dot_product_attention(q, k, v, attn_mask);
  // beexbench.models.attention.AttentionProducts below 32 bits: Q, K, V and the probabilities
  // fake-quantized, the products spelt out, in the same order.
  q = fake_quant(q, attn_bits_);
  k = fake_quant(k, attn_bits_);
  v = fake_quant(v, attn_bits_);
  torch::Tensor scores = at::matmul(q, k.transpose(-2, -1)) *
                         std::pow(static_cast<double>(q.size(-1)), -0.5);
  if (attn_mask) scores = scores.masked_fill(attn_mask->logical_not(), -INFINITY);
  return at::matmul(fake_quant(scores.softmax(-1), attn_bits_), v);
}

torch::Tensor Block::forward(const torch::Tensor& x,
                                   const std::optional<torch::Tensor>& attn_mask) const {
  TORCH_CHECK(x.dim() == 3 && x.size(2) % heads_ == 0, "x must be [B, T, d] with d % heads == 0");
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
  // Attention: x = LN1(x + Out(SDPA(q, k, v))).
  const torch::Tensor qkv = qkv_.forward(x).view({b, t, 3, heads_, d / heads_}).permute({2, 0, 3, 1, 4});
  const torch::Tensor y = attention(qkv[0], qkv[1], qkv[2], attn_mask);
  const torch::Tensor h = norm1_.forward(x + attn_out_.forward(y.transpose(1, 2).reshape({b, t, d})));
  // Sub-layer: SLFN (gate and candidate packed side by side) or FFN; then LN2(h + .).
  torch::Tensor s;
  if (slfn_) {
    const torch::Tensor gate_candidate = sub_in_.forward(h);
    const int64_t hidden = gate_candidate.size(-1) / 2;
    const auto parts = gate_candidate.split(hidden, -1);
    s = sub_out_.forward(at::sigmoid(parts[0]) * at::tanh(parts[1]));
  } else {
    s = sub_out_.forward(at::gelu(sub_in_.forward(h)));
  }
  return norm2_.forward(h + s);
}

ExitHead::ExitHead(LayerNorm norm, Linear classify)
    : norm_(std::move(norm)), classify_(std::move(classify)) {}

torch::Tensor ExitHead::forward(const torch::Tensor& x, const torch::Tensor& pool) const {
  return classify_.forward(norm_.forward((x * pool).sum(1)));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> ExitHead::predict(
    const torch::Tensor& x, const torch::Tensor& pool) const {
  torch::Tensor logits = forward(x, pool);
  const torch::Tensor logp = at::log_softmax(logits.to(torch::kFloat), -1);
  const torch::Tensor entropy = -(logp.exp() * logp).sum(-1);
  const double log_classes = std::log(static_cast<double>(logits.size(-1)));
  return {logits, entropy / log_classes, logits.argmax(-1)};
}
