"""Measurements: FLOPs/BOPs, model bytes, latency, memory, energy, accuracy."""
