"""retain_freed_memory: freed blocks stay mapped, so a repeated allocation faults in no fresh pages."""

import ctypes.util
import os
import subprocess
import sys

import pytest

from mrdib.training.allocator import OPT_OUT_VARIABLE

# Two patterns that glibc's defaults serve with fresh pages every round: one block above its
# largest dynamic mmap threshold (32 MB), and blocks whose release leaves more free space at
# the heap's top than its dynamic trim threshold. Prints the minor page faults per round.
PROBE = """
import ctypes, ctypes.util, resource
from mrdib.training.allocator import retain_freed_memory
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes, libc.memset.argtypes = [ctypes.c_void_p], [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

def faults_per_round(sizes, rounds):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        blocks = [libc.malloc(size) for size in sizes]
        for block, size in zip(blocks, sizes):
            libc.memset(block, 1, size)  # touch every page
        for block in blocks:
            libc.free(block)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds

print(retain_freed_memory())
for sizes in ([40 << 20], [8 << 20] * 8):
    faults_per_round(sizes, 3)  # warm up
    print(faults_per_round(sizes, 5))
"""


def probe(opt_out: bool) -> tuple[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if k != OPT_OUT_VARIABLE}
    if opt_out:
        env[OPT_OUT_VARIABLE] = "1"
    lines = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    return lines[0], [float(value) for value in lines[1:]]


def glibc() -> bool:
    if not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None:
        return False
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "gnu_get_libc_version")
    except OSError:
        return False


@pytest.mark.skipif(not glibc(), reason="the thresholds are glibc's")
def test_retained_memory_is_reused_without_page_faults():
    applied, faults_per_round = probe(opt_out=False)
    assert applied == "True"
    assert max(faults_per_round) < 100  # a round touches 10,240 and 16,384 pages


@pytest.mark.skipif(not glibc(), reason="the thresholds are glibc's")
def test_opting_out_keeps_the_c_librarys_behaviour():
    applied, faults_per_round = probe(opt_out=True)
    assert applied == "False"
    assert min(faults_per_round) > 5000  # fresh pages every round by default: the probe can tell


def test_building_a_trainer_applies_it(monkeypatch):
    from mrdib.core.config import resolve_config
    from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
    from mrdib.training.runner import build_trainer

    calls = []
    monkeypatch.setattr("mrdib.training.trainer.retain_freed_memory", lambda: calls.append(1) or True)
    data = generate_synthetic(SyntheticConfig(n_users=40, n_items=30, mean_interactions=5, seed=0))
    build_trainer(resolve_config("vbpr", cli_values={"train": {"epochs": 1}}), data)
    assert calls == [1]
