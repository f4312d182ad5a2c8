"""GEMM GFLOP/s: fastmlp's blocked GEMM (every ISA path) against numpy (OpenBLAS) and torch (MKL),
on MLP shapes M×K→N (batch rows × input features → output features), in one run.

    python bench/bench_gemm.py [--threads 1 2] [--quick]

fastmlp is timed through its private `_core.gemm` hook, which also allocates the output each call
(numpy's `a @ b` does the same; the tests' NaN fill of it is off here): the ratios against numpy
and torch compare calls from Python with calls from Python. Ratios > 1 mean fastmlp is faster.
"in core" times the best path's product back to back inside the core (`_core.gemm_seconds`, into
one output), which is how a training step or a batch prediction calls it: the kernel's own rate,
without the ~2-3 µs a call from Python costs (a third or more of a 32×128→128 product). % peak is
against the FMA peak measured by bench/fma_peak.c for the same thread count, for both.
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from _common import best_seconds, fma_peak
from fastmlp import _core

SHAPES = [(32, 128, 128), (64, 256, 256), (200, 784, 100), (256, 784, 256), (256, 1024, 1024),
          (2048, 2048, 2048)]


def rows(threads, quick=False):
    try:
        import torch
    except ImportError:
        torch = None
    out = []
    for dtype in (np.float32, np.float64):
        peak = fma_peak(threads)[0 if dtype == np.float32 else 1]
        for M, K, N in SHAPES:
            if quick and M * N * K > 1e9:
                continue
            rng = np.random.default_rng(0)
            a = rng.random((M, K)).astype(dtype)
            b = rng.random((K, N)).astype(dtype)
            flops = 2.0 * M * N * K
            inner = max(1, int(3e8 / flops))
            # each library starts after a pause in which the previous one's worker threads stop
            # spinning (OpenBLAS's, PyTorch's OpenMP team): on 2 cores they took half the machine
            with threadpool_limits(threads):
                t_numpy = best_seconds(lambda: a @ b, inner=inner)
            t_torch = None
            if torch is not None:
                time.sleep(0.3)
                torch.set_num_threads(threads)
                ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                t_torch = best_seconds(lambda: ta @ tb, inner=inner)
            fm = {}
            for isa in _core.available_isas():
                time.sleep(0.3)
                fm[isa] = best_seconds(
                    lambda: _core.gemm(a, b, False, False, None, 0, None, None, isa, threads, False,
                                       poison_c=False),
                    inner=inner)
            best_isa = _core.available_isas()[-1]
            time.sleep(0.3)
            in_core = min(_core.gemm_seconds(a, b, best_isa, threads, inner)[0] for _ in range(5))
            out.append({
                "dtype": np.dtype(dtype).name, "shape": f"{M}×{K}→{N}", "threads": threads,
                "fastmlp": flops / fm[best_isa] / 1e9,
                "in_core": flops / in_core / 1e9,
                **{f"fastmlp_{isa}": flops / t / 1e9 for isa, t in fm.items()},
                "numpy": flops / t_numpy / 1e9,
                "torch": flops / t_torch / 1e9 if t_torch else float("nan"),
                "peak": peak,
            })
    return out


def table(results):
    isas = _core.available_isas()
    head = ("| dtype | shape | threads | " + " | ".join(f"fastmlp {i}" for i in isas) +
            " | numpy | torch | fm/numpy | fm/torch | fm % peak | in core | in core % peak |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lines.append(
            f"| {r['dtype']} | {r['shape']} | {r['threads']} | "
            + " | ".join(f"{r['fastmlp_' + i]:.0f}" for i in isas)
            + f" | {r['numpy']:.0f} | {r['torch']:.0f} | {r['fastmlp'] / r['numpy']:.2f} | "
            f"{r['fastmlp'] / r['torch']:.2f} | {100 * r['fastmlp'] / r['peak']:.0f}% | "
            f"{r['in_core']:.0f} | {100 * r['in_core'] / r['peak']:.0f}% |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = [r for t in args.threads for r in rows(t, args.quick)]
    print("GEMM GFLOP/s (higher is better)")
    print(table(results))


if __name__ == "__main__":
    main()
