"""transform(X, layer=-1) and n_params_ on both estimators.

transform's hidden activations are checked against a NumPy forward pass through the fitted
coefs_ and intercepts_, on dense and sparse X, in the model's dtype; its input validation is
predict's (same errors), and a bad layer is a ValueError.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def np_hidden(model, X, layer):
    """The activations of hidden layer `layer` (Python indexing), in float64 from coefs_."""
    acts = model.activation
    n_hidden = len(model.coefs_) - 1
    names = [acts] * n_hidden if isinstance(acts, str) else list(acts)
    h = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    for i in range(layer % n_hidden + 1):
        z = h @ model.coefs_[i].astype(np.float64) + model.intercepts_[i]
        h = {
            "relu": lambda z: np.maximum(z, 0),
            "tanh": np.tanh,
            "logistic": scipy.special.expit,
            "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            "silu": lambda z: z * scipy.special.expit(z),
            "softsign": lambda z: z / (1 + np.abs(z)),
        }[names[i]](z)
    return h


def data(n=60, seed=0):
    return make_classification(n_samples=n, n_features=8, n_informative=5, random_state=seed)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_every_layer_dense_and_sparse(kernel_path, Est, dtype):
    X, y = data()
    X = X.astype(dtype)
    target = y if Est is MLPClassifier else y.astype(np.float64) * 2 - 1
    model = Est(hidden_layer_sizes=(9, 7, 5), activation=["elu", "silu", "softsign"], max_iter=10,
                random_state=0).fit(X, target)
    tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    for layer, width in zip((0, 1, 2, -1, -2, -3), (9, 7, 5, 5, 7, 9)):
        H = model.transform(X, layer=layer)
        assert H.shape == (60, width) and H.dtype == dtype
        np.testing.assert_allclose(H, np_hidden(model, X, layer), rtol=tol, atol=tol)
        Hs = model.transform(sp.csr_matrix(X), layer=layer)
        np.testing.assert_allclose(Hs, H, rtol=tol, atol=tol)
    np.testing.assert_array_equal(model.transform(X), model.transform(X, layer=2))
    np.testing.assert_array_equal(model.transform(sp.csc_matrix(X)), model.transform(sp.csr_matrix(X)))


def test_transform_default_relu_matches_numpy(kernel_path):
    X, y = data()
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=10, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.transform(X), np_hidden(clf, X, -1), rtol=1e-12, atol=1e-12)
    # a float64 model given float32 X converts it, as predict does
    np.testing.assert_allclose(clf.transform(X.astype(np.float32)),
                               np_hidden(clf, X.astype(np.float32), -1), rtol=1e-12, atol=1e-12)


def test_transform_refuses_bad_layers(kernel_path):
    X, y = data()
    clf = MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0).fit(X, y)
    for bad in (2, -3, 10):
        with pytest.raises(ValueError, match="out of range for a network with 2 hidden layers"):
            clf.transform(X, layer=bad)
    for bad in (1.0, "0", None, True):
        with pytest.raises(ValueError, match="layer must be an int"):
            clf.transform(X, layer=bad)
    no_hidden = MLPRegressor(hidden_layer_sizes=(), max_iter=5, random_state=0).fit(X, y * 1.0)
    with pytest.raises(ValueError, match="needs a hidden layer"):
        no_hidden.transform(X)
    assert np.isfinite(no_hidden.predict(X)).all()


def test_transform_validates_input_as_predict(kernel_path):
    X, y = data()
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    with pytest.raises(NotFittedError):
        clf.transform(X)
    clf.fit(X, y)
    for bad in (X[:, :5], np.where(np.eye(60, 8) > 0, np.nan, X), X[0]):
        with pytest.raises(ValueError) as from_predict:
            clf.predict(bad)
        with pytest.raises(ValueError) as from_transform:
            clf.transform(bad)
        assert str(from_transform.value) == str(from_predict.value)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_n_params(kernel_path, Est):
    X, y = data()
    target = y if Est is MLPClassifier else y * 1.0
    model = Est(hidden_layer_sizes=(7, 3), max_iter=5, random_state=0)
    assert not hasattr(model, "n_params_")
    model.fit(X, target)
    want = sum(c.size for c in model.coefs_) + sum(b.size for b in model.intercepts_)
    assert model.n_params_ == want == 8 * 7 + 7 + 7 * 3 + 3 + 3 * 1 + 1
    assert isinstance(model.n_params_, int)
    fresh = Est(hidden_layer_sizes=(4,), random_state=0)
    if Est is MLPClassifier:
        fresh.partial_fit(X, target, classes=np.unique(y))
    else:
        fresh.partial_fit(X, target)
    assert fresh.n_params_ == 8 * 4 + 4 + 4 * 1 + 1
    # multiclass: one output per class
    X3, y3 = make_classification(n_samples=60, n_features=8, n_informative=5, n_classes=3,
                                 random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X3, y3)
    assert clf.n_params_ == 8 * 5 + 5 + 5 * 3 + 3


def test_fit_transform_is_fit_then_transform(kernel_path):
    X, y = data()
    a = MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0)
    H = a.fit_transform(X, y, sample_weight=np.linspace(0.5, 1.5, 60))
    b = MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0)
    b.fit(X, y, sample_weight=np.linspace(0.5, 1.5, 60))
    np.testing.assert_array_equal(H, b.transform(X))
    assert H.shape == (60, 4)
