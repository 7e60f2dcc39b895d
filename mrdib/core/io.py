"""Atomic file writes: a temporary file in the target's folder, then os.replace.

A reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch


def _atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def temporary_prefix(name: str) -> str:
    """The prefix of `_atomic_write`'s temporaries for a file called `name` (`.<name>.<random>.tmp`)."""
    return f".{name}."


def remove_stale_temporaries(folder: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the temporaries that an interrupted atomic write of one of `names` left in `folder`.

    Only call this where no other process writes those files (a run folder when its run starts or
    resumes): a live writer's temporary looks the same. Returns what was removed.
    """
    folder = Path(folder)
    removed = []
    for name in names:
        for path in folder.glob(f"{temporary_prefix(name)}*.tmp"):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    _atomic_write(Path(path), lambda h: h.write(data))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def to_cpu(obj: Any) -> Any:
    """The same nested dicts/lists with every tensor on the CPU, so files load on any machine."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {key: to_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(value) for value in obj)
    return obj


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    """Tensors are saved on the CPU whatever device trained them."""
    obj = to_cpu(obj)
    _atomic_write(Path(path), lambda h: torch.save(obj, h))


def atomic_save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    _atomic_write(Path(path), lambda h: np.savez(h, **arrays))


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    _atomic_write(Path(path), lambda h: np.save(h, array, allow_pickle=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_line(obj: Any) -> str:
    return json.dumps(obj, default=_json_default)
