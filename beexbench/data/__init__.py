"""Datasets: bundled real text, GLUE from a local directory, synthetic data for tests."""
