"""Weight initialization schemes, validation_data and restore_best_weights."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_diabetes, load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from _recording import initial_params, split_recorder
from fastmlp import MLPClassifier, MLPRegressor

_X, _y = load_digits(return_X_y=True)
X_DIGITS = StandardScaler().fit_transform(_X)[:400]
Y_DIGITS = _y[:400]
_Xd, _yd = load_diabetes(return_X_y=True)
X_DIAB = StandardScaler().fit_transform(_Xd)
Y_DIAB = (_yd - _yd.mean()) / _yd.std()


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


# ------------------------------------------------------------------------------ init
_rng = np.random.RandomState(0)
X_WIDE = _rng.standard_normal((8, 400))
Y_WIDE = _rng.standard_normal(8)


@pytest.mark.parametrize("init,std_of_fan_in,uniform", [
    ("he_uniform", lambda n: np.sqrt(6.0 / n) / np.sqrt(3.0), True),
    ("he_normal", lambda n: np.sqrt(2.0 / n), False),
    ("lecun_normal", lambda n: np.sqrt(1.0 / n), False),
])
def test_init_statistics(init, std_of_fan_in, uniform, monkeypatch):
    """A 400 x 300 layer (120000 draws): mean and standard deviation within 5 standard errors
    of the scheme's; uniform draws within the bound; normal draws not truncated (about 4.55%
    beyond 2 standard deviations); biases zero."""
    est = MLPRegressor(hidden_layer_sizes=(300,), init=init, max_iter=1, random_state=0)
    coefs, intercepts = initial_params(monkeypatch, est, X_WIDE, Y_WIDE)
    W = coefs[0]
    assert W.shape == (400, 300)
    n, std = W.size, std_of_fan_in(400)
    assert abs(W.mean()) < 5 * std / np.sqrt(n)
    # standard error of the sample std: std / sqrt(2n) (normal); sqrt(0.8) of that (uniform)
    assert abs(W.std() - std) < 5 * std / np.sqrt(2 * n)
    if uniform:
        assert np.abs(W).max() <= np.sqrt(6.0 / 400)
        assert np.abs(W).max() > 0.999 * np.sqrt(6.0 / 400)
    else:
        beyond = np.mean(np.abs(W) > 2 * std)
        assert abs(beyond - 0.0455) < 5 * np.sqrt(0.0455 * 0.9545 / n)
    # the output layer has fan_in 300
    assert abs(coefs[1].std() - std_of_fan_in(300)) < 0.25 * std_of_fan_in(300)
    for b in intercepts:
        assert_array_equal(b, 0.0)


def test_orthogonal_init(monkeypatch):
    """40 -> 60 (wide: orthonormal rows), 60 -> 20 and 20 -> 1 (tall: orthonormal columns);
    Q is the QR factor of the Gaussian matrices drawn from random_state in layer order, with
    the signs that make R's diagonal positive (torch.nn.init.orthogonal_)."""
    rng = np.random.RandomState(1)
    X, y = rng.standard_normal((10, 40)), rng.standard_normal(10)
    est = MLPRegressor(hidden_layer_sizes=(60, 20), init="orthogonal", max_iter=1,
                       random_state=7)
    coefs, intercepts = initial_params(monkeypatch, est, X, y)
    W1, W2, W3 = coefs
    assert_allclose(W1 @ W1.T, np.eye(40), atol=1e-12)
    assert_allclose(W2.T @ W2, np.eye(20), atol=1e-12)
    assert_allclose(W3.T @ W3, np.eye(1), atol=1e-12)
    draws = np.random.RandomState(7)
    G1, G2 = draws.standard_normal((40, 60)), draws.standard_normal((60, 20))
    R1 = W1 @ G1.T  # G1.T = W1.T @ R1
    R2 = W2.T @ G2  # G2 = W2 @ R2
    for R, G in ((R1, G1.T), (R2, G2)):
        assert_allclose(np.tril(R, -1), 0.0, atol=1e-10)
        assert np.all(np.diag(R) > 0)
        assert_allclose(np.abs(np.diag(R)), np.abs(np.diag(np.linalg.qr(G)[1])), rtol=1e-10)
    for b in intercepts:
        assert_array_equal(b, 0.0)


@pytest.mark.parametrize("init", ["he_uniform", "he_normal", "lecun_normal", "orthogonal"])
def test_init_reproducible_and_cast_from_float64(init, monkeypatch):
    est = MLPClassifier(hidden_layer_sizes=(9, 5), init=init, max_iter=1, random_state=3)
    a, _ = initial_params(monkeypatch, est, X_DIGITS, Y_DIGITS)
    b, _ = initial_params(monkeypatch, est, X_DIGITS, Y_DIGITS)
    c, _ = initial_params(monkeypatch, est.set_params(random_state=4), X_DIGITS, Y_DIGITS)
    d, _ = initial_params(monkeypatch, est.set_params(random_state=3),
                           X_DIGITS.astype(np.float32), Y_DIGITS)
    for wa, wb, wc, wd in zip(a, b, c, d):
        assert_array_equal(wa, wb)
        assert not np.array_equal(wa, wc)
        assert wd.dtype == np.float32
        assert_array_equal(wd, wa.astype(np.float32))


@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_default_init_is_sklearn_glorot_draws(activation, monkeypatch):
    """glorot_uniform: for each layer, weights then biases uniform on [-b, b],
    b = sqrt(f / (fan_in + fan_out)), f = 2 for logistic and 6 otherwise."""
    est = MLPClassifier(hidden_layer_sizes=(9, 5), activation=activation, max_iter=1,
                        random_state=11)
    assert est.init == "glorot_uniform"
    coefs, intercepts = initial_params(monkeypatch, est, X_DIGITS, Y_DIGITS)
    draws = np.random.RandomState(11)
    f = 2.0 if activation == "logistic" else 6.0
    for W, b, (fan_in, fan_out) in zip(coefs, intercepts, [(64, 9), (9, 5), (5, 10)]):
        bound = np.sqrt(f / (fan_in + fan_out))
        assert_array_equal(W, draws.uniform(-bound, bound, (fan_in, fan_out)))
        assert_array_equal(b, draws.uniform(-bound, bound, fan_out))


def test_init_with_lbfgs_and_no_hidden_layer(monkeypatch):
    est = MLPRegressor(hidden_layer_sizes=(), init="he_normal", solver="lbfgs", max_iter=5,
                       random_state=0)
    coefs, intercepts = initial_params(monkeypatch, est, X_DIAB, Y_DIAB)
    assert_array_equal(coefs[0], np.random.RandomState(0).normal(0, np.sqrt(2 / 10), (10, 1)))
    assert_array_equal(intercepts[0], 0.0)
    assert np.isfinite(est.loss_)


# --------------------------------------------------------------------- validation_data
@pytest.mark.parametrize("Est,X,y", [
    (MLPClassifier, X_DIGITS, Y_DIGITS),
    (MLPRegressor, X_DIAB, Y_DIAB),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_validation_data_equals_early_stopping_on_the_same_split(Est, X, y, weighted,
                                                                  monkeypatch):
    """With shuffle=False, early stopping on validation_fraction's split and early stopping on
    that split given as (training data, validation_data) run the same epochs."""
    sw = np.random.RandomState(0).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    params = dict(hidden_layer_sizes=(10,), early_stopping=True, shuffle=False,
                  n_iter_no_change=3, max_iter=60, alpha=0.01, learning_rate_init=0.01,
                  random_state=2, validation_fraction=0.25)
    splits = split_recorder(monkeypatch)
    a = _fit(Est(**params), X, y, sample_weight=sw)
    out = splits[0]
    if weighted:
        X_tr, X_val, y_tr, y_val, sw_tr, sw_val = out
    else:
        (X_tr, X_val, y_tr, y_val), sw_tr, sw_val = out, None, None
    if Est is MLPClassifier:
        y_tr, y_val = a._label_binarizer.inverse_transform(y_tr), \
            a._label_binarizer.inverse_transform(y_val)
    else:
        y_tr, y_val = y_tr.ravel(), y_val.ravel()
    val = (X_val, y_val) if sw_val is None else (X_val, y_val, sw_val)
    b = _fit(Est(validation_data=val, **params), X_tr, y_tr, sample_weight=sw_tr)
    assert len(splits) == 1  # no split taken for b
    assert b.n_iter_ > 3
    assert b.n_iter_ == a.n_iter_
    assert_array_equal(b.loss_curve_, a.loss_curve_)
    assert_array_equal(b.validation_scores_, a.validation_scores_)
    assert_array_equal(b.validation_loss_curve_, a.validation_loss_curve_)
    assert b.best_validation_score_ == a.best_validation_score_
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(wa, wb)


def test_validation_data_without_early_stopping_is_recorded_per_epoch():
    """Training is that of a run without validation_data; after each partial_fit epoch the
    new score is the model's score on the validation set and the loss is its mean loss."""
    X_tr, y_tr, X_val, y_val = X_DIGITS[:300], Y_DIGITS[:300], X_DIGITS[300:], Y_DIGITS[300:]
    sw_val = np.random.RandomState(5).uniform(0.5, 2.0, X_val.shape[0])
    params = dict(hidden_layer_sizes=(10,), random_state=0, alpha=0.0)
    plain = MLPClassifier(**params)
    watched = MLPClassifier(validation_data=(X_val, y_val, sw_val), **params)
    classes = np.unique(Y_DIGITS)
    for epoch in range(4):
        plain.partial_fit(X_tr, y_tr, classes=classes)
        watched.partial_fit(X_tr, y_tr, classes=classes)
        assert len(watched.validation_scores_) == len(watched.validation_loss_curve_) == epoch + 1
        assert watched.validation_scores_[-1] == pytest.approx(
            accuracy_score(y_val, watched.predict(X_val), sample_weight=sw_val), abs=1e-15)
        P = np.clip(watched.predict_proba(X_val), 1e-300, 1)
        rows = -np.log(P[np.arange(len(y_val)), y_val])
        assert watched.validation_loss_curve_[-1] == pytest.approx(
            np.sum(sw_val * rows) / np.sum(sw_val), rel=1e-10)
    assert watched.best_validation_score_ == max(watched.validation_scores_)
    assert_array_equal(watched.loss_curve_, plain.loss_curve_)
    for wa, wb in zip(plain.coefs_, watched.coefs_):
        assert_array_equal(wa, wb)
    assert plain.validation_scores_ is None and plain.validation_loss_curve_ is None
    assert plain.best_validation_score_ is None


def test_validation_data_with_fit_and_multilabel():
    X, Y = make_multilabel_classification(n_samples=200, n_features=8, n_classes=3,
                                          random_state=0)
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=7, random_state=0,
                             validation_data=(X[150:], Y[150:])), X[:150], Y[:150])
    assert len(est.validation_scores_) == 7
    assert est.validation_scores_[-1] == accuracy_score(Y[150:], est.predict(X[150:]))


def test_lbfgs_ignores_validation_data():
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    a = _fit(MLPRegressor(**params), X_DIAB, Y_DIAB)
    b = _fit(MLPRegressor(validation_data=(X_DIAB[:5], Y_DIAB[:5]), **params), X_DIAB, Y_DIAB)
    assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert getattr(b, "validation_scores_", None) is None


def _state(est):
    return pickle.dumps(est.__dict__)


BAD_VALIDATION = {
    "n_features": ((X_DIGITS[:20, :10], Y_DIGITS[:20]), "X has 10 features, but"),
    "unknown_label": ((X_DIGITS[:20], np.full(20, 42)), "classes not in"),
    "lengths": ((X_DIGITS[:20], Y_DIGITS[:19]), "inconsistent numbers of samples"),
    "tuple_length": ((X_DIGITS[:20],), "tuple of length 1"),
    "sample_weight": ((X_DIGITS[:20], Y_DIGITS[:20], np.ones(3)), "sample_weight"),
    "nan": ((np.full((20, 64), np.nan), Y_DIGITS[:20]), "NaN"),
    "multilabel": ((X_DIGITS[:20], np.eye(20, 10, dtype=int)), "multilabel"),
}


@pytest.mark.parametrize("case", list(BAD_VALIDATION))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_validation_data_is_refused_and_model_unchanged(case, method):
    val, message = BAD_VALIDATION[case]
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True)
    _fit(est, X_DIGITS, Y_DIGITS)
    before = _state(est)
    est.set_params(validation_data=val)
    with pytest.raises(ValueError, match=message):
        if method == "fit":
            est.fit(X_DIGITS, Y_DIGITS)
        else:
            est.partial_fit(X_DIGITS, Y_DIGITS)
    est.set_params(validation_data=None)
    assert _state(est) == before


def test_bad_regression_validation_data_is_refused():
    est = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="1 outputs, but the training targets have 2"):
        est.set_params(validation_data=(X_DIAB[:9], Y_DIAB[:9])).fit(
            X_DIAB, np.c_[Y_DIAB, Y_DIAB])
    with pytest.raises(ValueError, match="negative"):
        est.set_params(loss="poisson", validation_data=(X_DIAB[:9], -np.ones(9))).fit(
            X_DIAB, np.exp(Y_DIAB))
    assert not hasattr(est, "coefs_")


# ---------------------------------------------------------------- restore_best_weights
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_restore_best_weights(solver):
    """Early stopping on validation_data: restore_best_weights=False ends with the weights of
    a run without early stopping of the same number of epochs; True with those of a run that
    stops at the epoch of the best validation score."""
    X_tr, y_tr, X_val, y_val = X_DIGITS[:300], Y_DIGITS[:300], X_DIGITS[300:], Y_DIGITS[300:]
    params = dict(hidden_layer_sizes=(12,), solver=solver, learning_rate_init=0.05,
                  random_state=0, validation_data=(X_val, y_val), tol=1e-3)
    last = _fit(MLPClassifier(early_stopping=True, n_iter_no_change=4, max_iter=100,
                              restore_best_weights=False, **params), X_tr, y_tr)
    best = _fit(MLPClassifier(early_stopping=True, n_iter_no_change=4, max_iter=100,
                              **params), X_tr, y_tr)
    n, best_epoch = last.n_iter_, int(np.argmax(last.validation_scores_)) + 1
    assert best.n_iter_ == n < 100
    assert best_epoch < n  # so that the two differ
    runs = {m: _fit(MLPClassifier(max_iter=m, n_iter_no_change=np.inf, **params), X_tr, y_tr)
            for m in (n, best_epoch)}
    for got, want in zip(last.coefs_ + last.intercepts_,
                         runs[n].coefs_ + runs[n].intercepts_):
        assert_array_equal(got, want)
    for got, want in zip(best.coefs_ + best.intercepts_,
                         runs[best_epoch].coefs_ + runs[best_epoch].intercepts_):
        assert_array_equal(got, want)
    assert last.score(X_val, y_val) == last.validation_scores_[-1]
    assert best.score(X_val, y_val) == best.best_validation_score_


def test_restore_best_weights_is_ignored_without_early_stopping():
    params = dict(hidden_layer_sizes=(6,), max_iter=8, random_state=0)
    a = _fit(MLPRegressor(**params), X_DIAB, Y_DIAB)
    b = _fit(MLPRegressor(restore_best_weights=False, **params), X_DIAB, Y_DIAB)
    assert_array_equal(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("switch", ["validation_data", "early_stopping"])
def test_warm_start_can_start_validating(switch):
    """A warm start that validates where the first fit did not starts the validation records
    (scikit-learn raises AttributeError for early_stopping there)."""
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0, warm_start=True)
    _fit(est, X_DIGITS, Y_DIGITS)
    assert est.validation_scores_ is None
    if switch == "validation_data":
        est.set_params(validation_data=(X_DIGITS[:50], Y_DIGITS[:50]))
    else:
        est.set_params(early_stopping=True, n_iter_no_change=100)
    _fit(est, X_DIGITS, Y_DIGITS)
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 3
    assert len(est.loss_curve_) == 6
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_validation_data_sparse_and_dtype_like_x():
    """X_val is converted to the model's dtype and read sparse or dense alike."""
    X_tr, y_tr, X_val, y_val = X_DIGITS[:300], Y_DIGITS[:300], X_DIGITS[300:], Y_DIGITS[300:]
    params = dict(hidden_layer_sizes=(8,), max_iter=4, random_state=0)
    dense = _fit(MLPClassifier(validation_data=(X_val, y_val), **params), X_tr, y_tr)
    sparse = _fit(MLPClassifier(validation_data=(sp.csr_matrix(X_val), y_val), **params),
                  X_tr, y_tr)
    assert_array_equal(sparse.validation_scores_, dense.validation_scores_)
    assert_allclose(sparse.validation_loss_curve_, dense.validation_loss_curve_, rtol=1e-12)
    X32 = X_tr.astype(np.float32)
    from64 = _fit(MLPClassifier(validation_data=(X_val, y_val), **params), X32, y_tr)
    from32 = _fit(MLPClassifier(validation_data=(X_val.astype(np.float32), y_val), **params),
                  X32, y_tr)
    assert from64.coefs_[0].dtype == np.float32
    assert_array_equal(from64.validation_scores_, from32.validation_scores_)
    assert_array_equal(from64.validation_loss_curve_, from32.validation_loss_curve_)
