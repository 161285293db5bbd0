"""ONNX Runtime as a deployment path for the full-precision models (fp32 and dynamic int8).

`stages` cuts a model into one graph per exit, `export` writes them (and their int8
versions) as .onnx files, and `runtime` runs them with the exit policy decided between
graphs in Python, as the eager model decides it. onnx and onnxruntime are an optional
extra (`beexbench[ort]`); only `export` and `runtime` import them.
"""
