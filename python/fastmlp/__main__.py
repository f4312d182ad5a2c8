"""`python -m fastmlp`: train on scikit-learn's bundled digits and compare with scikit-learn."""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler

from . import MLPClassifier, __version__, _core


def _best_fit_seconds(make_model, X, y, repeats):
    best, model = np.inf, None
    for _ in range(repeats):
        model = make_model()
        start = time.perf_counter()
        model.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return model, best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastmlp", description=__doc__)
    parser.add_argument("--max-iter", type=int, default=200, help="training epochs (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="fits timed, best kept (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(hidden_layer_sizes=(100,), max_iter=args.max_iter, random_state=args.seed)

    print(f"fastmlp {__version__}: digits, {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
          f"{X.shape[1]} features, 10 classes, hidden (100,), adam, {args.max_iter} epochs max")
    print(f"OpenMP threads available: {_core.max_threads()}")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, cls in (("fastmlp", MLPClassifier), ("scikit-learn", SklearnMLPClassifier)):
            model, seconds = _best_fit_seconds(
                lambda: cls(**params), X_train, y_train, args.repeats
            )
            rows.append((name, model.score(X_test, y_test), seconds, model.n_iter_))
    print(f"{'':14s}{'test accuracy':>14s}{'fit time (s)':>14s}{'epochs':>8s}")
    for name, acc, seconds, n_iter in rows:
        print(f"{name:14s}{acc:14.4f}{seconds:14.3f}{n_iter:8d}")
    print(f"fastmlp fit is {rows[1][2] / rows[0][2]:.2f}x the speed of scikit-learn's")


if __name__ == "__main__":
    main()
