"""The fused activations' cost: does an activation fused into the GEMM epilogues cost more than
relu's epilogue plus its own arithmetic?

    python bench/bench_activations.py [--isa avx2] [--repeats 9]

Per activation and shape N×C→OC, one thread:

* fused      forward + backward of a linear layer with the activation fused into the epilogues:
             linear_forward (bias + g on each tile while it is in L1; gelu/silu/mish also store
             the pre-activation) and linear_backward (dW, db, and dX whose epilogue multiplies by
             g', read from the stored output or pre-activation);
* extra      fused(act) - fused(relu);
* own        the activation's own arithmetic: the unfused activation_forward + activation_backward
             passes over the same elements (N·OC forward, N·C backward), minus the same passes of
             identity (which only copy, as every hook call does);
* ratio      extra / own. The claim is extra <= own (ratio <= 1, up to timing noise): fusing
             costs nothing beyond the arithmetic, and saves the passes over memory.

Times are this thread's CPU time (not wall time: the machine may be shared), best of --repeats rounds (each of enough calls to last ~10 ms); the rounds visit
the activations in turn, so that load from other processes falls on all of them alike.
"""

import argparse
import time

import numpy as np

from _common import machine
from fastmlp import _core

CODES = {
    "identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6,
    "gelu": 7, "silu": 8, "softplus": 9, "softsign": 10, "mish": 11, "hard_tanh": 12,
}
NEEDS_PRE = {"gelu", "silu", "mish"}
SHAPES = [(256, 256, 256, np.float32), (32, 64, 64, np.float32), (256, 256, 256, np.float64)]


def best_seconds(fn, repeats=1, inner=1):
    """Best CPU time of this thread per call of fn (inner calls a round): every call here runs
    on the calling thread, and its CPU time leaves out the time the scheduler gives other
    processes, which on a shared machine would swamp differences of a few percent."""
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(inner):
            fn()
        best = min(best, (time.thread_time() - start) / inner)
    return best


def layer_fns(N, C, OC, dtype, name):
    """(fused, unfused) callables for one activation on one shape."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C)).astype(dtype)
    W = (rng.standard_normal((C, OC)) / np.sqrt(C)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    dout = rng.standard_normal((N, OC)).astype(dtype)
    code = CODES[name]
    pre_in = rng.standard_normal((N, C)).astype(dtype)  # the layer input's pre-activation
    h = _core.activation_forward(code, pre_in, 1)  # and its stored output
    needs = name in NEEDS_PRE

    def fused():
        _core.linear_forward(x, W, b, 1, code, return_pre=needs)
        _core.linear_backward(dout, h, W, 1, code, inp_pre=pre_in if needs else None)

    z = rng.standard_normal((N, OC)).astype(dtype)
    dx = rng.standard_normal((N, C)).astype(dtype)

    def unfused():
        _core.activation_forward(code, z, 1, return_pre=needs)
        _core.activation_backward(code, dx, h, 1, pre=pre_in if needs else None)

    return fused, unfused


def measure_shape(N, C, OC, dtype, repeats):
    """{name: (fused, unfused)} best times. Rounds interleave the activations, so that load
    from other processes on a shared machine falls on all of them alike."""
    fns = {name: layer_fns(N, C, OC, dtype, name) for name in CODES}
    inner = {}
    for name, pair in fns.items():
        inner[name] = []
        for fn in pair:
            fn()
            once = best_seconds(fn, repeats=3)
            inner[name].append(max(1, int(0.01 / max(once, 1e-7))))
    best = {name: [float("inf"), float("inf")] for name in CODES}
    for _ in range(repeats):
        for name, pair in fns.items():
            for i, fn in enumerate(pair):
                best[name][i] = min(best[name][i], best_seconds(fn, repeats=1, inner=inner[name][i]))
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--isa", default=None, help="ISA path (default: the active one)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.isa:
        _core.set_isa(args.isa)
    print(f"machine: {machine()}; path {_core.active_isa()}; 1 thread")
    header = (f"| shape (N×C→OC, dtype) | activation | fused fwd+bwd (µs) | extra vs relu (µs) | "
              f"own arithmetic (µs) | extra / own | extra ≤ own |")
    print(header)
    print("|" + "---|" * 7)
    for N, C, OC, dtype in SHAPES:
        label = f"{N}×{C}→{OC} {np.dtype(dtype).name}"
        results = measure_shape(N, C, OC, dtype, args.repeats)
        relu_fused = results["relu"][0]
        copy_only = results["identity"][1]
        for name, (fused, unfused) in results.items():
            extra = fused - relu_fused
            own = max(unfused - copy_only, 0.0)
            ratio = extra / own if own > 0 else float("nan")
            ok = "yes" if extra <= own else "no"
            if name in ("identity", "relu"):
                ratio_s, ok = "—", "—"
            else:
                ratio_s = f"{ratio:.2f}"
            print(f"| {label} | {name} | {fused * 1e6:.1f} | {extra * 1e6:+.1f} | {own * 1e6:.1f} | "
                  f"{ratio_s} | {ok} |")


if __name__ == "__main__":
    main()
