"""Load run and sweep directories and hand them to an export format."""

from __future__ import annotations

from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.export.formats import Exporter, all_files, get_format
from beexbench.results.rundir import Run, load_runs, refuse_out_inside_runs


def check_out(out_dir: Path, runs: list[Run], exporter: Exporter, replace: bool) -> None:
    """As `report --out`: not inside a run directory, holding no file an export did not
    write, and empty unless `replace` (then this format's files are replaced, others kept)."""
    refuse_out_inside_runs(out_dir, runs, "export outside it")
    if not out_dir.is_dir():
        return
    ours = all_files()
    entries = sorted(out_dir.iterdir())
    for entry in entries:
        if not (entry.name in ours and entry.is_file()):
            raise UsageError(f"--out {out_dir}: holds {entry.name}, which no export "
                             "writes; choose an empty folder or an earlier export's")
    if entries and not replace:
        raise UsageError(f"--out {out_dir} exists; pass --force to replace its "
                         f"{', '.join(exporter.files)} or choose another --out")


def load_nonempty_runs(run_dirs: list[str | Path]) -> list[Run]:
    """Every run directory given (a sweep directory: its cells'), each with rows."""
    runs = load_runs(run_dirs)
    for run in runs:
        if run.results.empty:
            raise UsageError(f"{run.path}/results.csv: no result rows")
    return runs


def export_runs(run_dirs: list[str | Path], fmt: str, out: str | Path | None,
                replace: bool = False) -> str:
    """Export `run_dirs` in format `fmt` (into `out` where the format writes files);
    returns the format's one line on what it wrote. Bad input raises UsageError."""
    exporter = get_format(fmt)
    if exporter.needs_out and out is None:
        raise UsageError(f"--format {fmt} writes files: give --out DIR")
    if not exporter.needs_out and out is not None:
        raise UsageError(f"--format {fmt} writes no files: leave out --out")
    exporter.check()  # a missing extra fails before any run is read
    runs = load_nonempty_runs(run_dirs)
    out_dir = None if out is None else Path(out)
    if out_dir is not None:
        check_out(out_dir, runs, exporter, replace)
    return exporter.write(runs, out_dir)
