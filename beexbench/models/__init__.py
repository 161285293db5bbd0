"""Reference BEExformer, baselines, binarization ops, exit policies, packed inference."""
