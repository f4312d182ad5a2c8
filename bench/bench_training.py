"""Training and inference time, fastmlp against scikit-learn, measured in one run.

    python bench/bench_training.py [--repeats 3]

Prints per-epoch fit time and predict_proba latency for each case and the ratio
(scikit-learn time / fastmlp time; above 1 means fastmlp is faster). Best of --repeats.
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

import fastmlp
from fastmlp import MLPClassifier

CASES = {
    # name: (n_samples, n_features, n_classes, hidden, batch_size, dtype, epochs)
    "mnist-like 60000x784 (256,128) fp32": (60000, 784, 10, (256, 128), 256, np.float32, 1),
    "20000x20 (100,) binary fp64": (20000, 20, 2, (100,), 200, np.float64, 3),
    "digits-like 1797x64 (100,) fp64": (1797, 64, 10, (100,), 200, np.float64, 20),
}


def make_data(n, d, k, dtype, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, d)
    y = rng.randint(0, k, n)
    X = (centers[y] + 2.0 * rng.randn(n, d)).astype(dtype)
    return X, y


def best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=None, help="substring of the case names to run")
    args = parser.parse_args()
    print(f"fastmlp {fastmlp.__version__}, {platform.processor() or platform.machine()}, "
          f"{fastmlp._core.max_threads()} OpenMP threads")
    print(f"{'case':40s}{'sklearn s/epoch':>16s}{'fastmlp s/epoch':>16s}{'ratio':>8s}"
          f"{'sk 1-row us':>12s}{'fm 1-row us':>12s}{'ratio':>8s}")
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, (n, d, k, hidden, batch, dtype, epochs) in CASES.items():
        if args.only and args.only not in name:
            continue
        X, y = make_data(n, d, k, dtype)
        row = []
        for cls in (SklearnMLPClassifier, MLPClassifier):
            params = dict(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs,
                          random_state=0, shuffle=True, tol=0.0, n_iter_no_change=10**9)
            model = cls(**params)
            fit = best_time(lambda: model.fit(X, y), args.repeats) / epochs
            one = X[:1].copy()
            latency = best_time(lambda: [model.predict_proba(one) for _ in range(100)], args.repeats) / 100
            row.append((fit, latency))
        (sk_fit, sk_lat), (fm_fit, fm_lat) = row
        print(f"{name:40s}{sk_fit:16.4f}{fm_fit:16.4f}{sk_fit / fm_fit:8.2f}"
              f"{sk_lat * 1e6:12.1f}{fm_lat * 1e6:12.1f}{sk_lat / fm_lat:8.2f}")


if __name__ == "__main__":
    main()
