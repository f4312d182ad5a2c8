"""Shared helpers for the benchmarks: best-of timing, the FMA peak, the machine's description."""

import functools
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import fastmlp

HERE = Path(__file__).resolve().parent


def best_seconds(fn, repeats=5, inner=1):
    """Best wall time of `inner` calls of fn over `repeats` rounds, per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


@functools.lru_cache(maxsize=None)
def fma_peak(threads, isa=None):
    """Measured FMA peak (GFLOP/s) as (float32, float64) for `threads` threads.

    Compiles bench/fma_peak.c with explicit ISA flags (the active fastmlp path by default)."""
    isa = isa or fastmlp.config()["isa"]
    flags = ["-mavx512f", "-mfma", "-DUSE_AVX512"] if isa == "avx512" else ["-mavx2", "-mfma"]
    out = Path(tempfile.mkdtemp()) / "fma_peak"
    subprocess.run(["cc", "-O3", "-fopenmp", *flags, str(HERE / "fma_peak.c"), "-o", str(out)],
                   check=True)
    # worker threads of a library that just ran (OpenBLAS, PyTorch's OpenMP) spin for a while
    # after their last call; measured among them, the 2-thread peak came out at half
    time.sleep(1.0)
    text = subprocess.run([str(out), str(threads), "40000000"], check=True, capture_output=True,
                          text=True).stdout
    f32, f64 = (float(x) for x in text.split())
    return f32, f64


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    c = fastmlp.config()
    return (f"{cpu}, {os.cpu_count()} cores, fastmlp {fastmlp.__version__} ISA path {c['isa']}, "
            f"{time.strftime('%Y-%m-%d')}")
