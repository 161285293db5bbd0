// The native engine's whole-model early-exit inference.
//
// The loop of beexbench.models.transformer.EncoderClassifier.infer, with the built-in exit
// policies of beexbench/models/exits.py decided per sample in plain float32 arithmetic (each
// step one correctly rounded operation, as torch's elementwise ops round it), so the
// decisions, exits and logits are those of the Python loop. The history of every exit
// seen is kept per original sample, not compacted as samples leave.

#include "model.h"

#include <torch/utils.h>

#include <cstring>
#include <numeric>
#include <utility>

ExitRule::ExitRule(const std::string& name, double param) {
  if (name == "final") {
    kind_ = Kind::kFinal;
  } else if (name == "beex-entropy-drop") {
    kind_ = Kind::kEntropyDrop;
  } else if (name == "deebert-entropy") {
    kind_ = Kind::kEntropyThreshold;
  } else if (name == "pabee-patience") {
    kind_ = Kind::kPatience;
  } else if (name == "fixed-depth") {
    kind_ = Kind::kFixedDepth;
  } else {
    TORCH_CHECK(false, "no native exit rule for policy '", name, "'");
  }
  threshold_ = static_cast<float>(param);
  patience_ = static_cast<int64_t>(param);  // Python's int(): toward zero
}

bool ExitRule::decide(const float* entropy, const int64_t* preds, int64_t seen,
                      int64_t& use) const {
  use = seen - 1;
  switch (kind_) {
    case Kind::kFinal:
      return false;
    case Kind::kEntropyDrop: {
      // Stop once the entropy fell by less than the fraction delta (or rose); predict
      // with the exit of lower entropy.
      if (seen < 2) return false;
      const float prev = entropy[seen - 2], cur = entropy[seen - 1];
      const float floor = 1e-12f;
      const float drop = (prev - cur) / (prev < floor ? floor : prev);
      if (cur > prev) use = seen - 2;
      return drop < threshold_;
    }
    case Kind::kEntropyThreshold:
      return entropy[seen - 1] < threshold_;
    case Kind::kPatience: {
      if (seen < patience_ + 1) return false;
      for (int64_t j = seen - patience_ - 1; j < seen; ++j)
        if (preds[j] != preds[seen - 1]) return false;
      return true;
    }
    case Kind::kFixedDepth:  // the static baseline: stop at the k-th exit
      return seen >= patience_;
  }
  return false;
}

EarlyExitModel::EarlyExitModel(Embed embed, std::vector<Block> blocks,
                               std::vector<int64_t> exit_blocks, std::vector<ExitHead> heads)
    : embed_(std::move(embed)), blocks_(std::move(blocks)), exit_blocks_(std::move(exit_blocks)),
      head_of_block_(blocks_.size(), -1), heads_(std::move(heads)) {
  TORCH_CHECK(!blocks_.empty() && exit_blocks_.size() == heads_.size() && !heads_.empty(),
              "one exit head per exit block, and at least one block");
  TORCH_CHECK(exit_blocks_.back() == static_cast<int64_t>(blocks_.size()),
              "the last block must have an exit");
  for (size_t k = 0; k < exit_blocks_.size(); ++k) {
    const int64_t block = exit_blocks_[k];
    TORCH_CHECK(block >= 1 && block <= static_cast<int64_t>(blocks_.size()), "exit block out of range");
    head_of_block_[block - 1] = static_cast<int64_t>(k);
  }
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> EarlyExitModel::infer(
    const torch::Tensor& ids, const ExitRule& rule) const {
  torch::NoGradGuard no_grad;
  auto [x, pool, attn_mask] = embed_.forward(ids);
  const int64_t batch = ids.size(0), n_exits = static_cast<int64_t>(heads_.size());
  torch::Tensor logits_out, exit_layer = torch::empty({batch}, ids.options());
  torch::Tensor used_exit = torch::empty({batch}, ids.options());
  int64_t* exit_layer_d = exit_layer.data_ptr<int64_t>();
  int64_t* used_exit_d = used_exit.data_ptr<int64_t>();
  // Per original sample: entropies and classes of the exits seen, [sample][exit].
  std::vector<float> hist_entropy(batch * n_exits);
  std::vector<int64_t> hist_preds(batch * n_exits);
  std::vector<torch::Tensor> hist_logits;  // per exit seen: [rows active then, C]
  std::vector<std::vector<int64_t>> hist_rows;  // per exit seen: sample -> row, or -1
  std::vector<int64_t> active(batch);
  std::iota(active.begin(), active.end(), 0);
  int64_t seen = 0;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i].forward(x, attn_mask);
    const int64_t head = head_of_block_[i];
    if (head < 0) continue;
    auto [logits, entropy, preds] = heads_[head].predict(x, pool);
    const torch::Tensor entropy_c = entropy.contiguous(), preds_c = preds.contiguous();
    const float* entropy_d = entropy_c.data_ptr<float>();
    const int64_t* preds_d = preds_c.data_ptr<int64_t>();
    const int64_t rows = static_cast<int64_t>(active.size());
    std::vector<int64_t> row_of(batch, -1);
    for (int64_t r = 0; r < rows; ++r) {
      hist_entropy[active[r] * n_exits + seen] = entropy_d[r];
      hist_preds[active[r] * n_exits + seen] = preds_d[r];
      row_of[active[r]] = r;
    }
    TORCH_CHECK(logits.scalar_type() == torch::kFloat, "exit heads must give float32 logits");
    hist_logits.push_back(logits.contiguous());
    hist_rows.push_back(std::move(row_of));
    ++seen;
    if (!logits_out.defined()) logits_out = torch::empty({batch, logits.size(1)}, logits.options());
    const bool last = i + 1 == blocks_.size();
    std::vector<int64_t> go;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t sample = active[r];
      int64_t use = 0;
      const bool stop = rule.decide(&hist_entropy[sample * n_exits], &hist_preds[sample * n_exits],
                                    seen, use) || last;
      if (!stop) {
        go.push_back(r);
        continue;
      }
      const torch::Tensor& from = hist_logits[use];
      const int64_t classes = from.size(1);
      std::memcpy(logits_out.data_ptr<float>() + sample * classes,
                  from.data_ptr<float>() + hist_rows[use][sample] * classes, classes * sizeof(float));
      exit_layer_d[sample] = static_cast<int64_t>(i) + 1;
      used_exit_d[sample] = exit_blocks_[use];
    }
    if (go.empty()) break;
    if (static_cast<int64_t>(go.size()) == rows) continue;
    const torch::Tensor keep = torch::tensor(go, ids.options());
    x = x.index_select(0, keep);
    pool = pool.index_select(0, keep);
    if (attn_mask) attn_mask = attn_mask->index_select(0, keep);
    std::vector<int64_t> still(go.size());
    for (size_t j = 0; j < go.size(); ++j) still[j] = active[go[j]];
    active = std::move(still);
  }
  return {logits_out, exit_layer, used_exit};
}
