// The native block engine of block.cpp: packed linears, LayerNorms, encoder blocks and
// exit heads as C++ objects that hold their tensors.
#pragma once

#include <torch/extension.h>

#include <optional>
#include <string>

// A packed binary linear with `act_bits` activations (1: W1A1; 4, 8: integer levels
// through W1A32; 32: W1A32), as models.packed.runtime.PackedLinear.
class PackedLinear {
 public:
  PackedLinear(torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
               std::optional<torch::Tensor> bias, int64_t act_bits);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor w_packed_;
  int64_t n_;
  torch::Tensor alpha_;
  std::optional<torch::Tensor> bias_;
  int64_t act_bits_;
};

class LayerNorm {
 public:
  LayerNorm(torch::Tensor weight, torch::Tensor bias, double eps);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_, bias_;
  double eps_;
};

// models.transformer.Block in eval mode, with packed linears.
class PackedBlock {
 public:
  PackedBlock(PackedLinear qkv, PackedLinear attn_out, int64_t heads, LayerNorm norm1,
              std::string sublayer, PackedLinear sub_in, PackedLinear sub_out, LayerNorm norm2);
  torch::Tensor forward(const torch::Tensor& x, const std::optional<torch::Tensor>& attn_mask) const;

 private:
  PackedLinear qkv_, attn_out_;
  int64_t heads_;
  LayerNorm norm1_;
  bool slfn_;
  PackedLinear sub_in_, sub_out_;
  LayerNorm norm2_;
};

// models.transformer.ExitHead: mean-pool, LayerNorm, fp32 linear to classes.
class ExitHead {
 public:
  ExitHead(LayerNorm norm, torch::Tensor weight, torch::Tensor bias);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pool) const;

 private:
  LayerNorm norm_;
  torch::Tensor weight_, bias_;
};
