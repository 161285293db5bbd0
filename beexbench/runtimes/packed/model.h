// The native engine's whole-model early-exit inference (model.cpp).
#pragma once

#include "block.h"

#include <string>
#include <tuple>
#include <vector>

// One of the built-in exit policies of beexbench/models/exits.py, decided per sample from its
// history of normalized entropies and argmax classes (oldest exit first).
class ExitRule {
 public:
  ExitRule(const std::string& name, double param);
  // Stop after `seen` exits? Sets `use` to the 0-based exit that predicts.
  bool decide(const float* entropy, const int64_t* preds, int64_t seen, int64_t& use) const;

 private:
  enum class Kind { kFinal, kEntropyDrop, kEntropyThreshold, kPatience, kFixedDepth } kind_;
  float threshold_ = 0.f;  // delta or tau, compared in float32 as torch compares them
  int64_t patience_ = 0;
};

// beexbench.models.transformer.EncoderClassifier.infer in one call: a sample leaves the batch at
// its exit and later blocks skip it. Returns (logits [B, C], exit_layer [B],
// used_exit [B]), 1-based blocks.
class EarlyExitModel {
 public:
  EarlyExitModel(Embed embed, std::vector<Block> blocks, std::vector<int64_t> exit_blocks,
                 std::vector<ExitHead> heads);
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> infer(const torch::Tensor& ids,
                                                                const ExitRule& rule) const;

 private:
  Embed embed_;
  std::vector<Block> blocks_;
  std::vector<int64_t> exit_blocks_;
  std::vector<int64_t> head_of_block_;  // per block, its exit head's index, or -1
  std::vector<ExitHead> heads_;
};
