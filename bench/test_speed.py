"""pytest-benchmark timings (not run by the test suite): python -m pytest bench --benchmark-enable

Absolute times for tracking over commits on one machine; the comparison tables against peers
come from bench/run_all.py."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier


@pytest.fixture(scope="module")
def mnist_like():
    rng = np.random.default_rng(0)
    return rng.random((20000, 784), dtype=np.float32), rng.integers(0, 10, 20000)


def test_fit_one_epoch(benchmark, mnist_like):
    X, y = mnist_like
    model = MLPClassifier((256, 128), batch_size=256, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        benchmark(model.fit, X, y)


@pytest.mark.parametrize("rows", [1, 10000])
def test_predict_proba(benchmark, mnist_like, rows):
    X, y = mnist_like
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier((256, 128), max_iter=1, random_state=0).fit(X[:2000], y[:2000])
    batch = np.ascontiguousarray(X[:rows])
    benchmark(model.predict_proba, batch)
