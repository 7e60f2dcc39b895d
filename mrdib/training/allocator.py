"""Keep freed memory in the process instead of handing it back to the OS after every step.

A training step allocates and frees the same few-megabyte tensors every time (MGCN's
[n_users + n_items, M, d] fuser buffers, InfoNCE's n x n logits, VBPR's batch rows). With
glibc's default settings a freed block above 32 MB, and any space above the heap's top
trimming threshold, goes back to the OS (strace shows the heap shrunk and regrown every
step), and the next step faults fresh zeroed pages in again: about 1.1 us per 4 KB page on
the reference VM, 300-8,000 faults per MGCN step on Baby and 500-900 per VBPR step. Raising
glibc's mmap and trim thresholds keeps those pages mapped: no faults after the first steps,
a few percent off a training step, 10-30% off a validation pass, and peak memory within
tens of megabytes (`benchmarks/bench_allocator.py` measures all three).

A process-wide setting, so it is applied once, when a Trainer is built, and only where glibc
provides `mallopt` (elsewhere it is a no-op). Set MRDIB_SYSTEM_ALLOCATOR=1 to leave the C
library's defaults alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 256 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD_BYTES = 512 << 20  # free space at the heap's top kept before any is returned
TOP_PAD_BYTES = 64 << 20  # grow the heap in large steps

OPT_OUT_VARIABLE = "MRDIB_SYSTEM_ALLOCATOR"

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Apply the thresholds above once per process; True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if os.environ.get(OPT_OUT_VARIABLE, "").strip() not in ("", "0"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (_M_TOP_PAD, TOP_PAD_BYTES)))


__all__ = ["OPT_OUT_VARIABLE", "retain_freed_memory"]
