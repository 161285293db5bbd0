"""artifacts/<model>.manifest.json: the bytes and SHA-256 of each of a model's artifact
files (its packed .safetensors, its ONNX graphs), written when the model finished, and
checked before `bench --resume` trusts them: a truncated or replaced artifact marks the
model damaged instead of being reported on.

    {"format": 1, "files": {"<path under artifacts/>": {"bytes": N, "sha256": "..."}}}

A model's artifact files are the ones named `<model>.<suffix>` in its artifacts folder
(a file, or a folder of files). Runs written before manifests existed have none, and are
not checked.
"""

from __future__ import annotations

import glob
import hashlib
import json
from pathlib import Path

from beexbench.core.atomic import atomic_write_text
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, load_json

MANIFEST_SUFFIX = ".manifest.json"
FORMAT = 1


def manifest_path(folder: Path, model: str) -> Path:
    return folder / f"{model}{MANIFEST_SUFFIX}"


def _files(folder: Path, model: str) -> list[Path]:
    found = []
    for entry in sorted(folder.glob(f"{glob.escape(model)}.*")):
        # Only `<model>.<suffix>` with one suffix (`.safetensors`, an ONNX folder's
        # `.ort`): not this model's manifest, nor another model whose name goes on after
        # a dot (`<model>.v2.safetensors`).
        if "." in entry.name[len(model) + 1:]:
            continue
        found += sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() \
            else [entry]
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, model: str) -> None:
    """Record the model's artifact files as they are now (call when it has finished)."""
    if not folder.is_dir():
        return
    files = {str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
             for p in _files(folder, model)}
    atomic_write_text(manifest_path(folder, model),
                      json.dumps({"format": FORMAT, "files": files}, indent=1, sort_keys=True),
                      what="artifact manifest")


def manifest_fault(folder: Path, model: str) -> str | None:
    """Why the model's artifacts differ from its manifest, or None (also when it has none)."""
    path = manifest_path(folder, model)
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        fields = Fields(load_json(path, what="artifact manifest"), where=f"manifest {path}")
        if fields.int("format") != FORMAT:
            return f"{path}: unknown manifest format"
        files = fields.obj("files")
        for rel in files.keys():
            entry = files.obj(rel)
            size, digest = entry.int("bytes", min=0), entry.str("sha256")
            file = folder / rel
            if file.is_symlink() or not file.is_file() or not file.resolve().is_relative_to(
                    folder.resolve()):
                return f"{file}: missing, or not a file of the run directory"
            if file.stat().st_size != size:
                return f"{file}: {file.stat().st_size} bytes, not the {size} written"
            if _sha256(file) != digest:
                return f"{file}: its content changed after it was written"
    except UsageError as exc:
        return str(exc)
    return None
