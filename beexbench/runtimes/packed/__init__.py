"""Packed 1-bit inference: the bit layout of binary weights and the kernels that use it."""
