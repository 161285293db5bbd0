"""Column names of the tidy results CSV and of the per-model predictions CSV."""

from __future__ import annotations

# One row per measured value (DESIGN.md section 6). `runtime` records which inference
# path produced the row: fake-quant, packed-native (packed-native+python-exits for a
# policy the native engine has no rule for), packed-fallback, ort or ort-int8; `seed`
# the training seed of the checkpoint measured; `note` why `value` is empty (a figure that
# is no measurement, such as a net energy below the meter's resolution), else empty.
RESULT_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp", "git_sha", "host", "target", "device", "model", "preset",
    "dataset", "split", "policy", "batch_size", "threads", "metric", "stat", "value",
    "unit", "source", "estimated", "runtime", "seed", "note",
)


def seed_dir(seeds: tuple[int, ...] | list[int], seed: int) -> str:
    """Where a seed's per-model files go inside predictions/, samples/ and artifacts/:
    directly there in a one-seed run, under `seed-<S>/` when the run has several."""
    return "" if len(seeds) == 1 else f"seed-{seed}/"


def prediction_columns(exit_blocks: list[int]) -> list[str]:
    """id, label, exit_layer, pred_policy, then pred_k, entropy_k for each exit block k.

    k is the 1-based block index, so a final-only model of 6 blocks has just pred_6.
    """
    cols = ["id", "label", "exit_layer", "pred_policy"]
    for k in exit_blocks:
        cols += [f"pred_{k}", f"entropy_{k}"]
    return cols
