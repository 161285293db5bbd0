"""The across-seeds table groups seeds by the kind of device, whichever host ran them."""

import pandas as pd

from beexbench.report.seeds import COLUMNS, across_seeds


def _row(seed: str, host: str, device: str, acc: float) -> dict:
    return {"model": "beexformer", "target": "arm", "policy": "beex-entropy-drop",
            "runtime": "fake-quant", "dataset": "rt-polarity", "preset": "small",
            "seed": seed, "host": host, "device": device,
            **{c: acc for c in COLUMNS}}


def test_seeds_on_two_boards_of_one_kind_aggregate():
    summary = pd.DataFrame([_row("0", "pi-a", "Raspberry Pi 5", 70.0),
                            _row("1", "pi-b", "Raspberry Pi 5", 72.0)])
    _, rows = across_seeds(summary)
    assert len(rows) == 1 and rows[0][4] == "0, 1"
    assert rows[0][5] == "71"  # the mean of acc_final over both seeds


def test_seeds_on_different_devices_stay_apart():
    summary = pd.DataFrame([_row("0", "pi-a", "Raspberry Pi 5", 70.0),
                            _row("1", "jet", "Jetson Orin Nano", 72.0)])
    assert across_seeds(summary)[1] == []
