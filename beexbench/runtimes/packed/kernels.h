// The packed kernels of kernels.cpp, for the native block engine (block.cpp).
#pragma once

#include <torch/types.h>

#include <optional>

torch::Tensor w1a1(torch::Tensor x, torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                   std::optional<torch::Tensor> bias);
torch::Tensor w1a32(torch::Tensor x, torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                    std::optional<torch::Tensor> bias);
torch::Tensor embedding(torch::Tensor w_packed, int64_t n, torch::Tensor alpha, torch::Tensor ids);
