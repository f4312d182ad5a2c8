"""The fused activations' cost: does an activation fused into the GEMM epilogues cost more than
relu's epilogue plus its own arithmetic?

    python bench/bench_activations.py [--isa avx2] [--rounds 40]

Per activation and shape N×C→OC, one thread:

* fused      forward + backward of a linear layer with the activation fused into the epilogues:
             linear_forward (bias + g on each tile in registers before its store; gelu/silu/mish
             also store the pre-activation) and linear_backward (dW, db, and dX whose epilogue
             multiplies by g', read from the stored output or pre-activation);
* extra      fused(act) − fused(relu): what the activation adds to the layer;
* own        the activation's own arithmetic: its unfused forward and backward passes
             (activation_forward on the layer's actual pre-activations x·W + b, activation_backward
             on the actual dout·Wᵀ) minus relu's same two passes. Both stream the same memory, and
             relu's arithmetic is one max, so the difference is the arithmetic alone (a stricter
             baseline than the passes' whole cost, which fusing also saves);
* extra/own  the claim is ≤ 1 (fusing costs nothing beyond the arithmetic): the ratio of the
             medians over rounds, with a 90 % bootstrap interval (rounds resampled in pairs), so a
             shared machine's noise shows as the width of that interval. Verdict: "yes" when the
             ratio is ≤ 1, "within noise" when it is above 1 but the interval reaches 1, "no"
             when the whole interval is above 1.

For leaky_relu, softsign and hard_tanh the arithmetic is a few operations per element, below
the noise of either time; their rows compare extra with the spread of fused(relu) instead.

Times are this thread's CPU time (not wall time: the machine may be shared). Each activation
is timed right beside relu, in a new random order each round (see measure_shape).
"""

import argparse
import statistics
import time

import numpy as np

from _common import machine
from fastmlp import _core

CODES = {
    "identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6,
    "gelu": 7, "silu": 8, "softplus": 9, "softsign": 10, "mish": 11, "hard_tanh": 12,
}
NEEDS_PRE = {"gelu", "silu", "mish"}
CHEAP = {"identity", "leaky_relu", "softsign", "hard_tanh"}
SHAPES = [(256, 256, 256, np.float32), (32, 64, 64, np.float32), (256, 256, 256, np.float64)]


def thread_seconds(fn, inner):
    """This thread's CPU time per call of fn over `inner` calls, after one untimed call (which
    brings fn's arrays back into cache after other measurements). CPU time leaves out the time
    the scheduler gives other processes, which on a shared machine would swamp small
    differences."""
    fn()
    start = time.thread_time()
    for _ in range(inner):
        fn()
    return (time.thread_time() - start) / inner


def layer_fns(N, C, OC, dtype, name):
    """(fused, unfused) callables for one activation on one shape, on the same values."""
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
        # return_pre for every activation: the test hook then NaN-fills a pre-activation array
        # for each (only gelu/silu/mish write it), as activation_forward's hook always does, so
        # the hooks' own costs cancel in every difference
        _core.linear_forward(x, W, b, 1, code, return_pre=True)
        _core.linear_backward(dout, h, W, 1, code, inp_pre=pre_in if needs else None)

    z = (x.astype(np.float64) @ W + b).astype(dtype)  # the values the fused forward activates
    dx = (dout.astype(np.float64) @ W.T).astype(dtype)  # and those its dX epilogue multiplies

    def unfused():
        _core.activation_forward(code, z, 1, return_pre=needs)
        _core.activation_backward(code, dx, h, 1, pre=pre_in if needs else None)

    return fused, unfused


def measure_shape(N, C, OC, dtype, rounds, seed=0):
    """{name: [(fused, unfused, fused relu, unfused relu) per round]}, each time per call from
    ~10 ms of calls. Each activation is timed
    right beside relu (the pair of layers, then the pair of passes), and each round visits the
    activations in a new random order, so drift in the machine's load and the state one
    measurement leaves for the next fall on both sides of every difference."""
    fns = {name: layer_fns(N, C, OC, dtype, name) for name in CODES}
    inner = {}
    for name, pair in fns.items():
        inner[name] = []
        for fn in pair:
            fn()
            once = min(thread_seconds(fn, 1) for _ in range(3))
            inner[name].append(max(1, int(0.01 / max(once, 1e-7))))
    rng = np.random.default_rng(seed)
    names = list(CODES)
    relu_fused, relu_unfused = fns["relu"]
    times = {name: [] for name in CODES}
    for r in range(rounds):
        for i in rng.permutation(len(names)):
            name = names[i]
            fused, unfused = fns[name]
            n_fused, n_unfused = max(inner[name][0], inner["relu"][0]), max(inner[name][1], inner["relu"][1])
            pairs = [(fused, relu_fused, n_fused), (unfused, relu_unfused, n_unfused)]
            got = []
            for this, base, n in pairs:
                # relu first in even rounds, second in odd ones: the second of two runs is a
                # little faster (measured: ~2 %), and alternating cancels that in the medians
                if r % 2 == 0:
                    t_base = thread_seconds(base, n)
                    t_this = thread_seconds(this, n)
                else:
                    t_this = thread_seconds(this, n)
                    t_base = thread_seconds(base, n)
                got += [t_this, t_base]
            times[name].append((got[0], got[2], got[1], got[3]))
    return times


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def ratio_interval(extra, own, draws=2000, seed=0):
    """median(extra) / median(own) and its 90 % bootstrap interval (rounds resampled in pairs)."""
    extra, own = np.asarray(extra), np.asarray(own)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, extra.size, size=(draws, extra.size))
    ratios = np.median(extra[picks], axis=1) / np.median(own[picks], axis=1)
    lo, hi = np.quantile(ratios, [0.05, 0.95])
    return np.median(extra) / np.median(own), lo, hi


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--isa", default=None, help="ISA path (default: the active one)")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    if args.isa:
        _core.set_isa(args.isa)
    print(f"machine: {machine()}; path {_core.active_isa()}; 1 thread; {args.rounds} rounds")
    print("| shape (N×C→OC, dtype) | activation | fused fwd+bwd (µs) | extra vs relu (µs) | "
          "own arithmetic (µs) | extra / own [90 % interval] | extra ≤ own |")
    print("|" + "---|" * 7)
    for N, C, OC, dtype in SHAPES:
        label = f"{N}×{C}→{OC} {np.dtype(dtype).name}"
        times = measure_shape(N, C, OC, dtype, args.rounds)
        relu_q = quartiles([f for f, _, _, _ in times["relu"]])
        noise = relu_q[2] - relu_q[0]
        for name, rows in times.items():
            extra = [f - bf for f, _, bf, _ in rows]
            own = [u - bu for _, u, _, bu in rows]
            fused_med = statistics.median(f for f, _, _, _ in rows)
            extra_med, own_med = statistics.median(extra), statistics.median(own)
            if name == "relu":
                ratio_s, ok = "—", "—"
            elif name in CHEAP:
                ratio_s = f"— (fused(relu)'s IQR: {noise * 1e6:.1f} µs)"
                ok = "yes" if extra_med <= noise else "no"
            else:
                ratio, lo, hi = ratio_interval(extra, own)
                ratio_s = f"{ratio:.2f} [{lo:.2f}, {hi:.2f}]"
                ok = "yes" if ratio <= 1 else ("within noise" if lo <= 1 else "no")
            print(f"| {label} | {name} | {fused_med * 1e6:.1f} | {extra_med * 1e6:+.1f} | "
                  f"{own_med * 1e6:+.1f} | {ratio_s} | {ok} |")


if __name__ == "__main__":
    main()
