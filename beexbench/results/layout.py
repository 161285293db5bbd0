"""File and folder names of run directories and sweep directories: one place for each.

A run directory (`beexbench bench`, beexbench.results.store writes it):

    RUN_DIR/results.csv                 the tidy rows (beexbench.results.schema)
    RUN_DIR/config.json                 the run's whole config
    RUN_DIR/environment.json            the machine it ran on
    RUN_DIR/progress.json               the units (model@seed-S) that finished
    RUN_DIR/run.lock                    held by the one process writing the run
    RUN_DIR/predictions/<model>.csv     one row per eval sample (and <model>__<policy>.csv)
    RUN_DIR/samples/<model>.csv         raw latency samples
    RUN_DIR/artifacts/<model>.safetensors   the packed artifact measured
    RUN_DIR/artifacts/<model>.manifest.json the bytes and hash of each artifact file
                                        (beexbench.results.artifact_manifest)
    RUN_DIR/flops/<model>-unsupported.txt   ops fvcore could not count, if any

Per-model files of a run of several seeds sit under seed-<S>/ in those folders, and a
model's second and later runtimes get <runtime>/ folders (beexbench.results.rundir).

A sweep directory (`beexbench sweep`, beexbench.sweep.store writes it):

    SWEEP_DIR/sweep.json                format, sweep id, config and plan (written once)
    SWEEP_DIR/status.json               where each checkpoint was trained; each cell's state
    SWEEP_DIR/sweep.lock                held by the one driver writing the sweep
    SWEEP_DIR/.incoming/                finished cells being unpacked by the driver
    SWEEP_DIR/<target>/seed-<S>/        an ordinary run directory
    SWEEP_DIR/<target>/seed-<S>/cells/<model>.json   which host measured that cell
"""

from __future__ import annotations

# A run directory. Its config.json names the format it was written in (RUN_FORMAT_KEY);
# readers take RUN_FORMATS and refuse anything else with one line. Runs written before
# the key existed read as format 1: their files are the same.
RUN_FORMAT_KEY = "run_format"
RUN_FORMAT = 2  # 2: timing verdicts, exit shares, calibrated constants, fixed depths
RUN_FORMATS = (1, 2)
RESULTS = "results.csv"
CONFIG = "config.json"
ENVIRONMENT = "environment.json"
PROGRESS = "progress.json"
RUN_LOCK = "run.lock"
PREDICTIONS = "predictions"
SAMPLES = "samples"
ARTIFACTS = "artifacts"
FLOPS = "flops"

# A sweep directory
SWEEP_FORMAT = "beexbench-sweep/1"
SWEEP_FILE = "sweep.json"
STATUS_FILE = "status.json"
SWEEP_LOCK = "sweep.lock"
INCOMING = ".incoming"
CELLS = "cells"
