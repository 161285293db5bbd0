"""`beexbench sweep`: train each (model, seed) once, measure it on every target.

config (what to sweep) -> plan (training jobs, measuring cells) -> an executor (local or
Ray) runs the cells (cells.py) -> the sweep store merges each finished cell into
SWEEP_DIR/<target>/seed-<S>/, an ordinary run directory that `report` reads.
"""
