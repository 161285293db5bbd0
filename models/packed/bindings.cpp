// The Python module of the packed kernels and the native block engine.

#include "block.h"
#include "kernels.h"

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

  py::class_<PackedLinear>(module, "PackedLinear")
      .def(py::init<torch::Tensor, int64_t, torch::Tensor, std::optional<torch::Tensor>, int64_t>(),
           py::arg("w_packed"), py::arg("n"), py::arg("alpha"), py::arg("bias"), py::arg("act_bits"))
      .def("forward", &PackedLinear::forward);
  py::class_<LayerNorm>(module, "LayerNorm")
      .def(py::init<torch::Tensor, torch::Tensor, double>(), py::arg("weight"), py::arg("bias"),
           py::arg("eps"));
  py::class_<PackedBlock>(module, "PackedBlock")
      .def(py::init<PackedLinear, PackedLinear, int64_t, LayerNorm, std::string, PackedLinear,
                    PackedLinear, LayerNorm>(),
           py::arg("qkv"), py::arg("attn_out"), py::arg("heads"), py::arg("norm1"),
           py::arg("sublayer"), py::arg("sub_in"), py::arg("sub_out"), py::arg("norm2"))
      .def("forward", &PackedBlock::forward, py::arg("x"), py::arg("attn_mask") = py::none());
  py::class_<ExitHead>(module, "ExitHead")
      .def(py::init<LayerNorm, torch::Tensor, torch::Tensor>(), py::arg("norm"), py::arg("weight"),
           py::arg("bias"))
      .def("forward", &ExitHead::forward, py::arg("x"), py::arg("pool"));
}
