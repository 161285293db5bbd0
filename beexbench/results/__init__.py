"""The run- and sweep-directory formats, with one owner: their file names (`layout`), the
tidy rows (`schema`), the run directory's writer (`store`), the readers of run and sweep
directories (`rundir`, `sweepdir`) and the headline table built from the rows (`summary`).
"""
