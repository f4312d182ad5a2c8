"""Test helpers that fit an estimator while recording what happens inside it."""

import warnings

from sklearn.exceptions import ConvergenceWarning

import fastmlp._multilayer_perceptron as mlp_module


def initial_params(monkeypatch, est, X, y):
    """Fit est, returning copies of its coefs_ and intercepts_ right after initialization."""
    seen = []
    original = mlp_module.BaseMultilayerPerceptron._initialize

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(([c.copy() for c in self.coefs_], [b.copy() for b in self.intercepts_]))

    monkeypatch.setattr(mlp_module.BaseMultilayerPerceptron, "_initialize", recording)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert len(seen) == 1
    return seen[0]


def split_recorder(monkeypatch):
    """A list that receives every train/validation split (train_test_split's output) that
    fits draw from now on."""
    splits = []
    original = mlp_module.train_test_split

    def recording(*arrays, **kwargs):
        out = original(*arrays, **kwargs)
        splits.append(out)
        return out

    monkeypatch.setattr(mlp_module, "train_test_split", recording)
    return splits
