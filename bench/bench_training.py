"""Seconds per training epoch: fastmlp against scikit-learn and PyTorch eager, in one run.

    python bench/bench_training.py [--epochs 2] [--quick]

Cases (synthetic data, Adam lr=1e-3, alpha=0 / no weight decay, shuffled batches):
  (a) 60000×784 float32, 10 classes, hidden (256, 128), relu, batch 256
  (b) 20000×20 float64, 2 classes, hidden (100,), relu, batch 200
  (c) as (a) in float64, fastmlp against scikit-learn
  (d) as (a), fastmlp on 1 thread against 2 threads
Each library gets one warm-up epoch, then the best of --epochs timed epochs. GFLOP per epoch counts
forward 2·n·Σ fan_in·fan_out, and backward 2·n·Σ fan_in·fan_out for the weight gradients plus
2·n·Σ fan_in·fan_out over layers after the first for the input gradients.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier

from _common import fma_peak
from fastmlp import MLPClassifier, _core

CASES = {
    "a": dict(n=60000, d=784, k=10, hidden=(256, 128), batch=256, dtype=np.float32),
    "b": dict(n=20000, d=20, k=2, hidden=(100,), batch=200, dtype=np.float64),
    "c": dict(n=60000, d=784, k=10, hidden=(256, 128), batch=256, dtype=np.float64),
}


def data(n, d, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d))
    y = rng.integers(0, k, n)
    X = (centers[y] + 3.0 * rng.standard_normal((n, d))).astype(dtype)
    return X, y


def gflop_per_epoch(n, d, k, hidden):
    units = [d, *hidden, 1 if k == 2 else k]
    macs = [a * b for a, b in zip(units[:-1], units[1:])]
    return 2.0 * n * (2 * sum(macs) + sum(macs[1:])) / 1e9


def sklearn_like_epoch_seconds(cls, X, y, hidden, batch, epochs, **extra):
    params = dict(hidden_layer_sizes=hidden, batch_size=batch, alpha=0.0, random_state=0,
                  tol=0.0, n_iter_no_change=10**9, **extra)
    model = cls(max_iter=1, **params).fit(X, y)  # warm-up (also allocations, imports)
    best = np.inf
    for _ in range(epochs):
        model = cls(max_iter=1, **params)
        start = time.perf_counter()
        model.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return best


def torch_epoch_seconds(X, y, hidden, batch, epochs, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    k = int(y.max()) + 1
    layers, fan_in = [], X.shape[1]
    for h in hidden:
        layers += [torch.nn.Linear(fan_in, h), torch.nn.ReLU()]
        fan_in = h
    layers.append(torch.nn.Linear(fan_in, 1 if k == 2 else k))
    net = torch.nn.Sequential(*layers).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss() if k == 2 else torch.nn.CrossEntropyLoss()
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float64 if k == 2 else np.int64))
    if k == 2:
        yt = yt.to(dtype).reshape(-1, 1)

    def epoch():
        perm = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    epoch()
    best = np.inf
    for _ in range(epochs):
        start = time.perf_counter()
        epoch()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 timed epoch, no case (c)")
    args = parser.parse_args()
    epochs = 1 if args.quick else args.epochs
    warnings.simplefilter("ignore", ConvergenceWarning)
    threads = _core.max_threads()
    peak32, peak64 = fma_peak(threads)
    print(f"Seconds per epoch (lower is better), {threads} threads; "
          f"ratios = peer time / fastmlp time")
    print("| case | fastmlp | scikit-learn | PyTorch eager | vs sklearn | vs PyTorch | "
          "fastmlp % peak |")
    print("|---|---|---|---|---|---|---|")
    for name in ("a", "b") if args.quick else ("a", "b", "c"):
        c = CASES[name]
        X, y = data(c["n"], c["d"], c["k"], c["dtype"])
        fm = sklearn_like_epoch_seconds(MLPClassifier, X, y, c["hidden"], c["batch"], epochs)
        sk = sklearn_like_epoch_seconds(SkClassifier, X, y, c["hidden"], c["batch"], epochs)
        th = np.nan
        if name != "c":
            try:
                th = torch_epoch_seconds(X, y, c["hidden"], c["batch"], epochs, threads)
            except ImportError:
                pass
        peak = peak32 if c["dtype"] == np.float32 else peak64
        rate = gflop_per_epoch(c["n"], c["d"], c["k"], c["hidden"]) / fm
        print(f"| ({name}) {c['n']}×{c['d']} {np.dtype(c['dtype']).name} {c['hidden']} "
              f"| {fm:.3f} | {sk:.3f} | {th:.3f} | {sk / fm:.2f}× | {th / fm:.2f}× "
              f"| {100 * rate / peak:.0f}% |")
    c = CASES["a"]
    X, y = data(c["n"], c["d"], c["k"], c["dtype"])
    one = sklearn_like_epoch_seconds(MLPClassifier, X, y, c["hidden"], c["batch"], epochs,
                                     n_jobs=1)
    two = sklearn_like_epoch_seconds(MLPClassifier, X, y, c["hidden"], c["batch"], epochs,
                                     n_jobs=2)
    print(f"\n(d) fastmlp on (a): 1 thread {one:.3f} s, 2 threads {two:.3f} s, "
          f"speed-up {one / two:.2f}×")


if __name__ == "__main__":
    main()
