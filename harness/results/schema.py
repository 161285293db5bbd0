"""Column names of the tidy results CSV and of the per-model predictions CSV."""

from __future__ import annotations

# One row per measured value (DESIGN.md section 6). `runtime` records which inference
# path produced the row: fake-quant, packed-native or packed-fallback.
RESULT_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp", "git_sha", "host", "target", "device", "model", "preset",
    "dataset", "split", "policy", "batch_size", "threads", "metric", "stat", "value",
    "unit", "source", "estimated", "runtime",
)


def prediction_columns(exit_blocks: list[int]) -> list[str]:
    """id, label, exit_layer, pred_policy, then pred_k, entropy_k for each exit block k.

    k is the 1-based block index, so a final-only model of 6 blocks has just pred_6.
    """
    cols = ["id", "label", "exit_layer", "pred_policy"]
    for k in exit_blocks:
        cols += [f"pred_{k}", f"entropy_{k}"]
    return cols
