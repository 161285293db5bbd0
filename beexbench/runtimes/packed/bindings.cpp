// The Python module of the packed kernels and the native block engine.

#include "block.h"
#include "kernels.h"
#include "model.h"

#include <torch/extension.h>

#include <pybind11/stl.h>

namespace py = pybind11;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  module.doc() = "Packed 1-bit kernels (XNOR-popcount, sign-select accumulate) and block engine.";
  module.def("w1a1", &w1a1, "y = alpha * (sign(x) @ sign(W).T) + bias, x binarized and packed here",
             py::arg("x"), py::arg("w_packed"), py::arg("n"), py::arg("alpha"),
             py::arg("bias") = py::none());
  module.def("w1a32", &w1a32, "y = x @ (alpha * sign(W)).T + bias",
             py::arg("x"), py::arg("w_packed"), py::arg("n"), py::arg("alpha"),
             py::arg("bias") = py::none());
  module.def("embedding", &embedding, "rows ids of alpha * sign(W), unpacked: [N, n]");

  py::class_<Linear>(module, "Linear")
      .def_static("packed", &Linear::packed, py::arg("w_packed"), py::arg("n"), py::arg("alpha"),
                  py::arg("bias"), py::arg("act_bits"))
      .def_static("dense", &Linear::dense, py::arg("weight"), py::arg("bias"))
      .def("forward", &Linear::forward);
  py::class_<LayerNorm>(module, "LayerNorm")
      .def(py::init<torch::Tensor, torch::Tensor, double>(), py::arg("weight"), py::arg("bias"),
           py::arg("eps"));
  py::class_<EmbeddingTable>(module, "EmbeddingTable")
      .def_static("packed", &EmbeddingTable::packed, py::arg("w_packed"), py::arg("n"),
                  py::arg("alpha"))
      .def_static("dense", &EmbeddingTable::dense, py::arg("weight"));
  py::class_<Embed>(module, "Embed")
      .def(py::init<EmbeddingTable, EmbeddingTable, LayerNorm, int64_t>(), py::arg("tokens"),
           py::arg("positions"), py::arg("norm"), py::arg("pad_id"))
      .def("forward", &Embed::forward, py::arg("ids"));
  py::class_<Block>(module, "Block")
      .def(py::init<Linear, Linear, int64_t, int64_t, LayerNorm, std::string, Linear,
                    Linear, LayerNorm>(),
           py::arg("qkv"), py::arg("attn_out"), py::arg("heads"), py::arg("attn_bits"),
           py::arg("norm1"),
           py::arg("sublayer"), py::arg("sub_in"), py::arg("sub_out"), py::arg("norm2"))
      .def("forward", &Block::forward, py::arg("x"), py::arg("attn_mask") = py::none());
  py::class_<ExitHead>(module, "ExitHead")
      .def(py::init<LayerNorm, Linear>(), py::arg("norm"), py::arg("classify"))
      .def("forward", &ExitHead::forward, py::arg("x"), py::arg("pool"))
      .def("predict", &ExitHead::predict, py::arg("x"), py::arg("pool"));
  py::class_<ExitRule>(module, "ExitRule")
      .def(py::init<const std::string&, double>(), py::arg("name"), py::arg("param"));
  py::class_<EarlyExitModel>(module, "EarlyExitModel")
      .def(py::init<Embed, std::vector<Block>, std::vector<int64_t>, std::vector<ExitHead>>(),
           py::arg("embed"), py::arg("blocks"), py::arg("exit_blocks"), py::arg("heads"))
      .def("infer", &EarlyExitModel::infer, py::arg("ids"), py::arg("rule"));
}
