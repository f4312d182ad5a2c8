"""Parity of fastmlp with scikit-learn's MLPClassifier / MLPRegressor.

fastmlp draws the same random numbers as scikit-learn (weight init, epoch shuffles,
early-stopping split), so in float64 the stochastic solvers follow scikit-learn's
trajectory to rounding error and L-BFGS sees the same objective and gradient.

The one documented difference checked here: for regression fastmlp reports the
objective 0.5 * SUM over outputs of mean (y - p)^2 (+ L2), whereas scikit-learn
reports 0.5 * MEAN over outputs of the same (+ L2) while stepping along the sum's
gradient. So the weights agree and only the data term of the reported loss scales
with n_outputs.

The models here are fitted with n_jobs=1: results do not depend on n_jobs (see
test_estimators.py::test_n_jobs_bit_identical), and one thread keeps the file's
runtime independent of how busy the machine is.
"""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as skl
from numpy.testing import assert_allclose
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastmlp

SEEDS = (0, 1, 2)
SOLVERS = ("adam", "sgd", "lbfgs")
CLASSIFICATION = ("digits", "iris", "wine", "breast_cancer")
REGRESSION = ("diabetes",)
LOADERS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}

# Hyperparameters shared by both implementations, per dataset.
CLF_PARAMS = dict(hidden_layer_sizes=(32,), max_iter=200)
# diabetes is small and noisy: a strong L2 penalty keeps every solver (and L-BFGS in
# particular) on a well-conditioned path, and a larger step lets sgd/adam get there.
REG_PARAMS = dict(hidden_layer_sizes=(16,), max_iter=200, alpha=10.0, learning_rate_init=0.01)


def _split(name):
    """Train/test split with X standardised (and y too for the regression set)."""
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if name in REGRESSION:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def datasets():
    return {name: _split(name) for name in LOADERS}


def _fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


# scikit-learn's fits do not depend on fastmlp's kernel set (tests may run once per
# ISA path), so each is done once and shared; nothing here mutates them.
_SKLEARN_FITS = {}


def _fit_pair(datasets, name, **params):
    """(fitted scikit-learn estimator, fitted fastmlp estimator) on the training split
    of `name`, with identical hyperparameters."""
    X_train, _, y_train, _ = datasets[name]
    if name in REGRESSION:
        SkEst, FmEst = skl.MLPRegressor, fastmlp.MLPRegressor
    else:
        SkEst, FmEst = skl.MLPClassifier, fastmlp.MLPClassifier
    key = (name, tuple(sorted(params.items())))
    if key not in _SKLEARN_FITS:
        _SKLEARN_FITS[key] = _fit_quiet(SkEst(**params), X_train, y_train)
    fm = _fit_quiet(FmEst(n_jobs=1, **params), X_train, y_train)
    return _SKLEARN_FITS[key], fm


def _max_abs_diff(arrays_a, arrays_b):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(arrays_a, arrays_b))


# --------------------------------------------------------------------------- scores
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_score_parity(datasets, name, solver):
    """Test accuracy / R^2 averaged over seeds is within 1 point of scikit-learn's."""
    _, X_test, y_train, y_test = datasets[name]
    params = REG_PARAMS if name in REGRESSION else CLF_PARAMS
    sk_scores, fm_scores = [], []
    for seed in SEEDS:
        sk, fm = _fit_pair(datasets, name, solver=solver, random_state=seed, **params)
        sk_scores.append(sk.score(X_test, y_test))
        fm_scores.append(fm.score(X_test, y_test))
    assert abs(np.mean(fm_scores) - np.mean(sk_scores)) <= 0.01, (sk_scores, fm_scores)
    # and the models are sensible: better than chance / than predicting the mean
    if name in REGRESSION:
        assert np.mean(fm_scores) > 0.2
    else:
        n_classes = len(np.unique(y_train))
        assert np.mean(fm_scores) > 1.0 / n_classes + 0.2


# ---------------------------------------------------------------------- loss curves
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_loss_curve_parity_first_epochs(datasets, name, solver):
    """Test the first 5 epochs of sgd/adam reproduce scikit-learn's float64 loss curve."""
    params = dict(REG_PARAMS if name in REGRESSION else CLF_PARAMS, max_iter=5)
    for seed in SEEDS:
        sk, fm = _fit_pair(datasets, name, solver=solver, random_state=seed, **params)
        assert fm.n_iter_ == sk.n_iter_ == 5
        assert len(fm.loss_curve_) == 5
        assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
        assert_allclose(fm.loss_, sk.loss_, rtol=1e-6)
        assert fm.t_ == sk.t_
        for a, b in zip(fm.coefs_ + fm.intercepts_, sk.coefs_ + sk.intercepts_):
            assert a.dtype == np.float64
            assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_loss_curve_parity_long_run_classifier(datasets, solver):
    """Test 200 epochs on digits stay on scikit-learn's float64 trajectory."""
    X_test = datasets["digits"][1]
    sk, fm = _fit_pair(datasets, "digits", solver=solver, random_state=0, **CLF_PARAMS)
    assert fm.n_iter_ == sk.n_iter_
    assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
    assert fm.best_loss_ == pytest.approx(sk.best_loss_, rel=1e-6)
    assert_allclose(fm.predict_proba(X_test), sk.predict_proba(X_test), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_activation_parity(datasets, name, activation, solver):
    """Test every hidden activation (and its Glorot factor) trains like scikit-learn's,
    through two hidden layers."""
    X_test = datasets[name][1]
    params = dict(hidden_layer_sizes=(12, 7), activation=activation, solver=solver,
                  random_state=0, max_iter=5 if solver != "lbfgs" else 15,
                  learning_rate_init=0.01)
    sk, fm = _fit_pair(datasets, name, **params)
    assert fm.n_iter_ == sk.n_iter_
    if solver != "lbfgs":
        assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
    assert fm.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    assert _max_abs_diff(fm.coefs_, sk.coefs_) < 1e-6
    assert _max_abs_diff(fm.intercepts_, sk.intercepts_) < 1e-6
    fm_out = fm.predict(X_test) if name in REGRESSION else fm.predict_proba(X_test)
    sk_out = sk.predict(X_test) if name in REGRESSION else sk.predict_proba(X_test)
    assert_allclose(fm_out, sk_out, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_batch_size_parity(datasets, solver, batch_size):
    """Test minibatch boundaries (incl. a last partial batch, and batch_size > n, which
    is clipped with a warning) are scikit-learn's."""
    params = dict(hidden_layer_sizes=(10,), solver=solver, random_state=1, max_iter=3,
                  batch_size=batch_size, learning_rate_init=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the clipping warning
        sk, fm = _fit_pair(datasets, "iris", **params)
    assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
    assert _max_abs_diff(fm.coefs_, sk.coefs_) < 1e-6


# ---------------------------------------------------------------------------- lbfgs
@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_lbfgs_parity(datasets, name):
    """Test L-BFGS (scipy, same objective and gradient) lands on scikit-learn's solution."""
    X_test = datasets[name][1]
    params = dict(REG_PARAMS if name in REGRESSION else CLF_PARAMS, max_iter=50)
    for seed in SEEDS:
        sk, fm = _fit_pair(datasets, name, solver="lbfgs", random_state=seed, **params)
        assert fm.n_iter_ == sk.n_iter_
        assert fm.loss_ == pytest.approx(sk.loss_, rel=1e-6)
        assert _max_abs_diff(fm.coefs_, sk.coefs_) < 1e-6
        assert _max_abs_diff(fm.intercepts_, sk.intercepts_) < 1e-6
        if name in REGRESSION:
            assert_allclose(fm.predict(X_test), sk.predict(X_test), rtol=1e-6, atol=1e-8)
        else:
            assert_allclose(
                fm.predict_proba(X_test), sk.predict_proba(X_test), rtol=1e-6, atol=1e-8
            )


# -------------------------------------------------------------- poisson regression
@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_parity(solver):
    """Test loss='poisson' (exp output, half Poisson deviance) follows scikit-learn."""
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = y / y.mean()  # positive counts-like target of order 1
    params = dict(
        loss="poisson", hidden_layer_sizes=(8,), solver=solver, random_state=0,
        max_iter=5 if solver != "lbfgs" else 30, learning_rate_init=0.01,
    )
    sk = _fit_quiet(skl.MLPRegressor(**params), X, y)
    fm = _fit_quiet(fastmlp.MLPRegressor(n_jobs=1, **params), X, y)
    assert fm.out_activation_ == sk.out_activation_ == "exp"
    if solver == "lbfgs":
        assert fm.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    else:
        assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
    assert _max_abs_diff(fm.coefs_, sk.coefs_) < 1e-6
    assert_allclose(fm.predict(X), sk.predict(X), rtol=1e-6)


# ------------------------------------------------------ multi-output regression
def _linnerud():
    X, Y = load_linnerud(return_X_y=True)
    return StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)


def _multi_output_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    Y = np.column_stack([y, -0.5 * y + X[:, 2], X[:, 0] * X[:, 1]])
    return X, Y


def _l2_term(coefs, alpha, n_samples):
    return 0.5 * alpha * sum(float(np.sum(c * c)) for c in coefs) / n_samples


def _glorot_coefs(layer_units, seed):
    """scikit-learn's initial coefs_ (Glorot uniform, relu factor 6) for random_state=seed."""
    rng = np.random.RandomState(seed)
    coefs = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        rng.uniform(-bound, bound, fan_out)
    return coefs


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_multi_output_minibatch_same_weights_loss_scaled(solver):
    """Test multi-output minibatch training: same weights, loss curve n_outputs times
    scikit-learn's (alpha=0, so the reported loss is the data term only)."""
    X, Y = _multi_output_diabetes()
    n_outputs = Y.shape[1]
    params = dict(
        hidden_layer_sizes=(16,), solver=solver, alpha=0.0, batch_size=64,
        max_iter=5, random_state=3, learning_rate_init=0.01,
    )
    sk = _fit_quiet(skl.MLPRegressor(**params), X, Y)
    fm = _fit_quiet(fastmlp.MLPRegressor(n_jobs=1, **params), X, Y)
    for a, b in zip(fm.coefs_ + fm.intercepts_, sk.coefs_ + sk.intercepts_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert_allclose(fm.loss_curve_, n_outputs * np.asarray(sk.loss_curve_), rtol=1e-6)
    assert fm.predict(X).shape == Y.shape


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_multi_output_full_batch_loss_with_l2(solver):
    """Test with alpha > 0 only the data term of the reported loss scales.

    Full batch, so epoch e's loss is evaluated at the weights W_{e-1} that start it:
        sklearn = D / k + L2(W_{e-1}),  fastmlp = D + L2(W_{e-1})
    => fastmlp = k * (sklearn - L2) + L2, with L2 = 0.5 * alpha * ||W||^2 / n.
    """
    X, Y = _linnerud()
    n_samples, n_outputs = Y.shape
    alpha, n_epochs, seed = 0.5, 5, 7
    params = dict(
        hidden_layer_sizes=(6,), solver=solver, alpha=alpha, batch_size=n_samples,
        random_state=seed, learning_rate_init=0.05,
    )
    sk = _fit_quiet(skl.MLPRegressor(max_iter=n_epochs, **params), X, Y)
    fm = _fit_quiet(fastmlp.MLPRegressor(max_iter=n_epochs, n_jobs=1, **params), X, Y)
    for a, b in zip(fm.coefs_ + fm.intercepts_, sk.coefs_ + sk.intercepts_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)

    # weights at the start of each epoch: the initial draw, then scikit-learn's after e epochs
    starts = [_glorot_coefs([X.shape[1], 6, n_outputs], seed)]
    for e in range(1, n_epochs):
        starts.append(_fit_quiet(skl.MLPRegressor(max_iter=e, **params), X, Y).coefs_)
    l2 = np.array([_l2_term(c, alpha, n_samples) for c in starts])
    assert np.all(l2 > 1e-3 * np.asarray(sk.loss_curve_))  # the L2 term matters here
    expected = n_outputs * (np.asarray(sk.loss_curve_) - l2) + l2
    assert_allclose(fm.loss_curve_, expected, rtol=1e-6)
    # and the naive "k times" relation is wrong when alpha > 0
    assert not np.allclose(fm.loss_curve_, n_outputs * np.asarray(sk.loss_curve_), rtol=1e-6)


def test_multi_output_lbfgs_loss_is_documented_objective():
    """Test lbfgs multi-output loss_ is 0.5 * sum_j mean_i (y_ij - p_ij)^2 + L2 at the
    returned weights (scikit-learn's reported value would be the mean over outputs)."""
    X, Y = _multi_output_diabetes()
    alpha = 1.0
    fm = _fit_quiet(
        fastmlp.MLPRegressor(
            hidden_layer_sizes=(16,), solver="lbfgs", alpha=alpha, max_iter=100,
            random_state=0, n_jobs=1,
        ),
        X, Y,
    )
    residual = Y - fm.predict(X)
    data_sum = 0.5 * np.sum(np.mean(residual**2, axis=0))
    l2 = _l2_term(fm.coefs_, alpha, X.shape[0])
    assert fm.loss_ == pytest.approx(data_sum + l2, rel=1e-8)
    assert fm.loss_ != pytest.approx(data_sum / Y.shape[1] + l2, rel=1e-3)


def test_multi_output_lbfgs_linear_model_matches_sklearn_and_ridge():
    """Test with no hidden layer the objective is a convex quadratic whose minimiser is
    ridge regression: fastmlp's lbfgs reaches it, loss_ is the (sum-over-outputs)
    objective there, and scikit-learn's loss_ maps onto it as k * (loss_ - L2) + L2."""
    from sklearn.linear_model import Ridge

    X, Y = _multi_output_diabetes()
    n_samples, n_outputs = Y.shape
    alpha = 3.0
    params = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-12,
                  max_iter=2000, random_state=0)
    sk = _fit_quiet(skl.MLPRegressor(**params), X, Y)
    fm = _fit_quiet(fastmlp.MLPRegressor(n_jobs=1, **params), X, Y)

    def objective(W, b):  # fastmlp's documented objective
        return 0.5 * np.sum(np.mean((Y - X @ W - b) ** 2, axis=0)) + _l2_term(
            [W], alpha, n_samples
        )

    # n * objective = 0.5 * ||Y - XW - b||^2 + 0.5 * alpha * ||W||^2: ridge regression
    ridge = Ridge(alpha=alpha, fit_intercept=True, tol=1e-12).fit(X, Y)
    f_star = objective(ridge.coef_.T, ridge.intercept_)
    f_fm = objective(fm.coefs_[0], fm.intercepts_[0])
    # for a quadratic, f(W) - f* = 0.5 ||W - W*||_H^2: this bounds the weights' error.
    # L-BFGS-B stops on a relative decrease of ~2.2e-9 (scipy's default ftol).
    assert 0 <= f_fm - f_star <= 1e-8 * f_star
    assert fm.loss_ == pytest.approx(f_fm, rel=1e-10)
    l2_sk = _l2_term(sk.coefs_, alpha, n_samples)
    assert n_outputs * (sk.loss_ - l2_sk) + l2_sk == pytest.approx(f_star, rel=1e-7)
    assert fm.loss_ != pytest.approx(sk.loss_, rel=0.1)
    # the data part of that quadratic form: 0.5 * sum_j mean_i (p_ij - p*_ij)^2 <= f - f*
    dp = fm.predict(X) - ridge.predict(X)
    assert 0.5 * np.sum(np.mean(dp**2, axis=0)) <= (f_fm - f_star) + 1e-12
