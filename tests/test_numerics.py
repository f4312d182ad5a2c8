"""Numerics of the estimators: extreme scores, log-loss clipping, divergence, float32 against
float64, and one row against a batch. Runs on every kernel path (conftest).

References are computed here in float64 NumPy/SciPy from the fitted coefs_ (scipy.special's
softmax/expit/log_softmax), not taken from the code under test.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._base import binary_log_loss, log_loss
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

X_IRIS_RAW, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS_RAW)
HIDDEN = {"identity": lambda a: a, "logistic": expit, "tanh": np.tanh,
          "relu": lambda a: np.maximum(a, 0)}


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return func(*args, **kwargs)


def _scores(est, X):
    """The last layer's raw output, in float64 NumPy from the fitted weights."""
    a = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
            a = a @ W.astype(np.float64) + b
            if i + 1 < len(est.coefs_):
                a = HIDDEN[est.activation](a)
    return a


# ------------------------------------------------------------------ extreme scores
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", list(HIDDEN))
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_extreme_inputs_give_finite_probabilities(target, activation, dtype):
    """Test huge inputs (scores near the dtype's range) give finite probabilities that sum
    to 1 and log-probabilities that are finite and right, for every hidden activation."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 3))
    y = {"binary": (X[:, 0] > 0).astype(int),
         "multiclass": np.argmax(X, axis=1),
         "multilabel": (X > 0).astype(int)}[target]
    est = _quiet(MLPClassifier(hidden_layer_sizes=(5,), activation=activation, max_iter=30,
                               random_state=0, learning_rate_init=0.05).fit,
                 X.astype(dtype), y)
    # large inputs and large output weights (logistic and tanh units saturate, so the
    # output weights carry the scale for them)
    big = 1e75 if dtype == np.float64 else 1e9
    est.coefs_[-1][...] *= np.asarray(big, dtype)
    X_big = (np.vstack([X[:10], -X[:10]]) * big).astype(dtype)
    z = _scores(est, X_big)
    assert np.isfinite(z).all()  # the scores themselves are representable ...
    assert np.abs(z).max() > 1e6  # ... and far outside where exp is finite in any dtype
    proba = est.predict_proba(X_big)
    log_proba = est.predict_log_proba(X_big)
    assert proba.dtype == log_proba.dtype == dtype
    assert np.isfinite(proba).all() and np.isfinite(log_proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    if target == "multiclass":
        assert_allclose(proba.sum(axis=1), 1.0, rtol=rtol)
        ref_log = log_softmax(z, axis=1)
        assert_allclose(proba, softmax(z, axis=1), rtol=rtol, atol=1e-300)
    else:
        ref_log = log_expit(z)
        if target == "binary":
            ref_log = np.hstack([log_expit(-z), ref_log])
        assert_allclose(proba, np.exp(ref_log), rtol=rtol, atol=1e-300)
    # log-probabilities far below log(tiny) are exact, not -inf
    assert ref_log.min() < np.log(np.finfo(dtype).tiny)
    # the scores are sums of rounded terms: their error scales with the row's largest score
    scale = np.abs(ref_log) + np.abs(z).max(axis=1, keepdims=True)
    assert np.all(np.abs(log_proba - ref_log) <= rtol * scale)
    assert_array_equal(est.predict(X_big), est.classes_[np.argmax(proba, axis=1)]
                       if target == "multiclass" else est.predict(X_big))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["logistic", "tanh"])
def test_saturating_activations_at_the_largest_finite_inputs(activation, dtype):
    """Test logistic and tanh hidden units map the largest finite pre-activations to 0/1
    and -1/1 (no overflow to NaN): a one-unit network whose hidden unit sees +-max."""
    top = np.finfo(dtype).max
    est = _quiet(MLPRegressor(hidden_layer_sizes=(1,), activation=activation, max_iter=2,
                              random_state=0).fit, np.zeros((4, 1), dtype), np.zeros(4))
    est.coefs_ = [np.ones((1, 1), dtype), np.ones((1, 1), dtype)]
    est.intercepts_ = [np.zeros(1, dtype), np.zeros(1, dtype)]
    X = np.array([[top], [-top], [top / 2], [-1e10], [0.0]], dtype)
    got = est.predict(X)
    low = 0.0 if activation == "logistic" else -1.0
    assert_array_equal(got, np.array([1.0, low, 1.0, low, HIDDEN[activation](0.0)], dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_poisson_exp_output_overflows_only_past_the_dtype_range(dtype):
    """Test the exp output is exp(score): exact where representable, +inf (never NaN)
    where the true value exceeds the dtype's largest number."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (80, 2))
    y = rng.poisson(np.exp(X[:, 0]))
    est = _quiet(MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), activation="tanh",
                              max_iter=20, random_state=0).fit, X.astype(dtype), y)
    log_max = np.log(np.finfo(dtype).max)
    # the score is affine in the output bias: place it below and above the overflow edge
    for margin in (-5.0, -0.5, 0.5, 50.0):
        z0 = _scores(est, X[:1])[0, 0] - est.intercepts_[-1][0]
        est.intercepts_[-1][0] = dtype(log_max + margin - z0)
        z = _scores(est, X[:1])[0, 0]
        got = est.predict(X[:1].astype(dtype))[0]
        assert not np.isnan(got)
        if z < log_max - 1e-3 * abs(log_max):
            assert_allclose(got, np.exp(z), rtol=1e-12 if dtype == np.float64 else 1e-4)
        elif z > log_max + 1e-3 * abs(log_max):
            assert got == np.inf


# ----------------------------------------------------------------- log-loss clipping
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_log_loss_clipped_as_sklearn(target, dtype):
    """Test the loss of a confidently wrong model is scikit-learn's clipped log-loss
    (probabilities clipped to [eps, 1 - eps] of the dtype): one full-batch partial_fit
    step with alpha=0 reports the loss at the weights before the step."""
    rng = np.random.RandomState(1)
    n = 40
    X = rng.standard_normal((n, 3)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) if target == "binary" else rng.randint(0, 3, n)
    classes = np.unique(y)
    est = MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", alpha=0.0,
                        learning_rate_init=1e-12, momentum=0.0, random_state=0)
    est.partial_fit(X[:2], y[:2], classes=classes)
    # make the network confidently wrong on some rows: large output weights
    est.coefs_[-1][...] *= np.asarray(1e4, dtype)
    proba = est.predict_proba(X)
    assert (proba.min(axis=1) < np.finfo(dtype).eps).any()  # clipping matters here
    Y = np.eye(len(classes))[np.searchsorted(classes, y)]
    if target == "binary":
        expected = binary_log_loss(Y[:, 1:].astype(dtype), proba[:, 1:])
    else:
        expected = log_loss(Y.astype(dtype), proba)
    assert np.isfinite(expected)
    est.partial_fit(X, y)
    assert_allclose(est.loss_, expected, rtol=1e-12 if dtype == np.float64 else 1e-5)


# ---------------------------------------------------------------------- divergence
def _glorot(layer_units, seed, activation):
    """scikit-learn's initial weights for random_state=seed."""
    rng = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return coefs, intercepts


# (estimator, solver) -> (input scale, hyperparameters): a huge learning rate on unscaled
# input for sgd/adam; unscaled input for lbfgs (it has no learning rate)
DIVERGING = {
    ("classifier", "sgd"): (1e3, dict(learning_rate_init=1e6)),
    ("classifier", "adam"): (1e3, dict(learning_rate_init=1e300)),
    ("classifier", "lbfgs"): (1e160, {}),
    ("regressor", "sgd"): (1e3, dict(learning_rate_init=1e3)),
    ("regressor", "adam"): (1e3, dict(learning_rate_init=1e300)),
    ("regressor", "lbfgs"): (1e60, {}),
}


@pytest.mark.parametrize("kind, solver", list(DIVERGING))
def test_divergence_stops_with_cause_and_keeps_last_finite_weights(kind, solver):
    """Test a diverging fit raises a ValueError naming the likely cause, and leaves the
    weights (and optimizer state, n_iter_, loss_curve_, t_) of the last finite iteration:
    the same bits as a fit stopped there by max_iter."""
    scale, extra = DIVERGING[kind, solver]
    Est = MLPClassifier if kind == "classifier" else MLPRegressor
    X = X_IRIS_RAW * scale
    y = Y_IRIS if kind == "classifier" else X_IRIS_RAW[:, 0] * 100
    params = dict(hidden_layer_sizes=(20,), solver=solver, random_state=0, max_iter=200,
                  n_iter_no_change=10**6, **extra)
    est = Est(**params)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights") as info:
        _quiet(est.fit, X, y)
    message = str(info.value)
    assert "input data may contain large values" in message and "StandardScaler" in message
    if solver != "lbfgs":
        assert f"learning rate may be too large (learning_rate_init={extra['learning_rate_init']!r})" in message
    assert f"in iteration {est.n_iter_ + 1})" in message
    assert all(np.isfinite(p).all() for p in est.coefs_ + est.intercepts_)
    assert_array_equal(est.predict(X_IRIS_RAW), est.predict(X_IRIS_RAW))  # usable

    k = est.n_iter_
    if k == 0:  # diverged in the first iteration: the initial weights are kept
        layer_units = [X.shape[1], 20, est.n_outputs_]
        coefs, intercepts = _glorot(layer_units, 0, "relu")
        expected = coefs + intercepts
    else:
        ref = _quiet(Est(**dict(params, max_iter=k)).fit, X, y)
        expected = ref.coefs_ + ref.intercepts_
        assert est.loss_ == ref.loss_
        if solver != "lbfgs":
            assert est.loss_curve_ == ref.loss_curve_ and est.t_ == ref.t_
            for key, value in ref._optimizer_state.items():
                assert_array_equal(est._optimizer_state[key], value, strict=True)
    for got, want in zip(est.coefs_ + est.intercepts_, expected):
        assert_array_equal(got, want, strict=True)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_in_partial_fit_keeps_the_model_before_the_call(solver):
    est = MLPRegressor(hidden_layer_sizes=(20,), solver=solver, random_state=0,
                       learning_rate_init=1e300 if solver == "adam" else 1e3)
    X, y = X_IRIS_RAW * 1e3, X_IRIS_RAW[:, 0] * 100
    est.partial_fit(X, y)
    assert np.isfinite(est.loss_)
    before = [p.copy() for p in est.coefs_ + est.intercepts_]
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v)
             for k, v in est._optimizer_state.items()}
    curve, t = list(est.loss_curve_), est.t_
    with pytest.raises(ValueError, match="training diverged"):
        for _ in range(200):
            est.partial_fit(X, y)
            before = [p.copy() for p in est.coefs_ + est.intercepts_]
            state = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                     for k, v in est._optimizer_state.items()}
            curve, t = list(est.loss_curve_), est.t_
    for got, want in zip(est.coefs_ + est.intercepts_, before):
        assert_array_equal(got, want, strict=True)
    for key, value in state.items():
        assert_array_equal(est._optimizer_state[key], value, strict=True)
    assert est.loss_curve_ == curve and est.t_ == t


def test_divergence_with_early_stopping_returns_best_weights():
    """Test early stopping keeps scikit-learn's behaviour on a diverging fit: no error, the
    best (finite) validation weights are returned (see also
    test_early_stopping_diverging_model_scores_nan)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn's r2_score overflows
        est = _quiet(MLPRegressor(hidden_layer_sizes=(20,), solver="sgd", random_state=0,
                                  learning_rate_init=1e6, early_stopping=True,
                                  max_iter=100).fit, X_IRIS_RAW * 1e3, X_IRIS_RAW[:, 0] * 100)
    assert np.isnan(est.validation_scores_[-1])
    assert all(np.isfinite(p).all() for p in est.coefs_ + est.intercepts_)


# ----------------------------------------------------------- float32 against float64
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_float32_and_float64_agree_on_easy_problems(kind, solver):
    if kind == "classifier":
        X, y = make_classification(n_samples=300, n_features=6, n_informative=4,
                                   class_sep=3.0, random_state=0)
    else:
        X, y = make_regression(n_samples=300, n_features=6, noise=0.1, random_state=0)
        y = y / y.std()
    X = StandardScaler().fit_transform(X)
    Est = MLPClassifier if kind == "classifier" else MLPRegressor
    params = dict(hidden_layer_sizes=(8,), solver=solver, random_state=0, max_iter=200,
                  learning_rate_init=0.01, alpha=1e-3)
    m64 = _quiet(Est(**params).fit, X, y)
    m32 = _quiet(Est(**params).fit, X.astype(np.float32), y)
    assert m32.coefs_[0].dtype == np.float32 and m64.coefs_[0].dtype == np.float64
    if kind == "classifier":
        assert m64.score(X, y) > 0.95
        assert (m32.predict(X.astype(np.float32)) == m64.predict(X)).mean() > 0.98
        assert abs(m32.score(X.astype(np.float32), y) - m64.score(X, y)) < 0.01
    else:
        assert m64.score(X, y) > 0.95
        assert abs(m32.score(X.astype(np.float32), y) - m64.score(X, y)) < 0.01


# ------------------------------------------------------------ one row against a batch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", list(HIDDEN))
@pytest.mark.parametrize("target", ["multiclass", "binary", "regression"])
def test_one_row_equals_the_row_in_a_batch(target, activation, dtype):
    """Test scikit-learn's subset invariance: a row predicted alone (the one-row kernel),
    in small batches across tile edges, or in a batch of more than one 1024-row block,
    gets the same output (1e-7 in float64, as check_methods_subset_invariance; float32
    to its own rounding)."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((5000, 37)).astype(dtype)
    if target == "regression":
        Est, y = MLPRegressor, X[:, 0] - X[:, 1] ** 2
    else:
        Est = MLPClassifier
        y = (X[:, 0] > 0).astype(int) + (target == "multiclass") * (X[:, 1] > 0.5)
    est = _quiet(Est(hidden_layer_sizes=(33, 17), activation=activation, max_iter=2,
                     random_state=0).fit, X[:400], y[:400])
    method = est.predict if target == "regression" else est.predict_proba
    full = method(X)
    atol = 1e-7 if dtype == np.float64 else 1e-5
    for i in list(range(0, 5000, 97)) + [1023, 1024, 4095, 4096, 4999]:
        assert_allclose(method(X[i:i + 1])[0], full[i], rtol=atol, atol=atol)
    for start, size in [(3, 2), (10, 7), (100, 13), (1000, 31), (2000, 257)]:
        assert_allclose(method(X[start:start + size]), full[start:start + size],
                        rtol=atol, atol=atol)
    # sparse rows too
    Xs = sp.csr_matrix(np.where(np.abs(X[:300]) < 1.0, 0, X[:300]))
    full_s = method(Xs)
    for i in (0, 1, 150, 299):
        assert_allclose(method(Xs[i]), full_s[i:i + 1], rtol=atol, atol=atol)
