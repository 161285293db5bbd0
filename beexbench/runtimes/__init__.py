"""Deployment paths a trained model is measured on: the packed 1-bit engine and ONNX Runtime."""
