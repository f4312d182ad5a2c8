"""Learning-rate schedules (constant, invscaling, adaptive, cosine, step) for sgd and adam.

The expected rates are computed here from the formulas of the `learning_rate` docstring;
that the core steps with them is checked against a NumPy SGD / Adam on the same network;
the defaults are checked against scikit-learn's loss curves.
"""

import math
import warnings

import numpy as np
import pytest
import sklearn.neural_network as skl
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from _recording import initial_params
from fastmlp import MLPClassifier, MLPRegressor

_X, _y = load_digits(return_X_y=True)
X_DIGITS = StandardScaler().fit_transform(_X)[:240]
Y_DIGITS = _y[:240]
_rng = np.random.RandomState(0)
X_REG = _rng.standard_normal((40, 5))
Y_REG = np.sin(X_REG[:, 0]) + 0.5 * X_REG[:, 1] * X_REG[:, 2]


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def _expected_rates(schedule, n_epochs, *, eta0, max_iter, warmup=0, lr_min=0.0, step_size=50,
                    gamma=0.1, power_t=0.5, n_samples=None):
    """The documented rate of epochs 0 .. n_epochs - 1."""
    rates = []
    for e in range(n_epochs):
        if schedule == "constant":
            rate = eta0
        elif schedule == "invscaling":
            rate = eta0 / (e * n_samples + 1) ** power_t
        elif e < warmup:
            rate = eta0 * (e + 1) / (warmup + 1)
        elif schedule == "step":
            rate = eta0 * gamma ** math.floor((e - warmup) / step_size)
        else:  # cosine
            T = max(max_iter - warmup, 1)
            c = min(e - warmup, T)
            rate = lr_min + (eta0 - lr_min) * (1 + math.cos(math.pi * c / T)) / 2
        rates.append(rate)
    return np.array(rates)


SCHEDULE_CASES = {
    "constant": dict(learning_rate="constant"),
    "invscaling": dict(learning_rate="invscaling", power_t=0.3),
    "cosine": dict(learning_rate="cosine", lr_min=1e-4),
    "cosine_warmup": dict(learning_rate="cosine", lr_warmup_epochs=3, lr_min=2e-4),
    "cosine_warmup_past_max_iter": dict(learning_rate="cosine", lr_warmup_epochs=15),
    "step": dict(learning_rate="step", lr_step_size=4, lr_gamma=0.5),
    "step_warmup": dict(learning_rate="step", lr_step_size=3, lr_gamma=0.2, lr_warmup_epochs=2),
}


def _formula_args(params, max_iter, n_samples):
    return dict(
        eta0=params.get("learning_rate_init", 0.001), max_iter=max_iter,
        warmup=params.get("lr_warmup_epochs", 0), lr_min=params.get("lr_min", 0.0),
        step_size=params.get("lr_step_size", 50), gamma=params.get("lr_gamma", 0.1),
        power_t=params.get("power_t", 0.5), n_samples=n_samples,
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("case", list(SCHEDULE_CASES))
def test_rate_of_each_epoch_is_the_documented_formula(case, solver):
    params = dict(SCHEDULE_CASES[case], learning_rate_init=0.02)
    max_iter = 12
    est = MLPClassifier(hidden_layer_sizes=(8,), solver=solver, max_iter=max_iter,
                        n_iter_no_change=np.inf, random_state=0, **params)
    _fit(est, X_DIGITS, Y_DIGITS)
    assert est.n_iter_ == max_iter
    expected = _expected_rates(params["learning_rate"], max_iter,
                               **_formula_args(params, max_iter, X_DIGITS.shape[0]))
    assert len(est.learning_rate_curve_) == len(est.loss_curve_) == max_iter
    assert_allclose(est.learning_rate_curve_, expected, rtol=1e-13, atol=0)


def test_cosine_over_partial_fit_calls_stays_at_lr_min_past_max_iter():
    """Each partial_fit call is the next epoch of the schedule; epochs past max_iter run at
    lr_min."""
    params = dict(learning_rate="cosine", learning_rate_init=0.01, lr_warmup_epochs=2,
                  lr_min=1e-3)
    est = MLPRegressor(hidden_layer_sizes=(6,), max_iter=7, random_state=0, **params)
    for _ in range(12):
        est.partial_fit(X_REG, Y_REG)
    expected = _expected_rates("cosine", 12, **_formula_args(params, 7, X_REG.shape[0]))
    assert_allclose(est.learning_rate_curve_, expected, rtol=1e-13, atol=0)
    assert_allclose(est.learning_rate_curve_[7:], 1e-3, rtol=1e-13)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_warm_start_fit_restarts_the_schedule_partial_fit_continues_it(solver):
    params = dict(learning_rate="step", learning_rate_init=0.01, lr_step_size=2, lr_gamma=0.5)
    est = MLPRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=5, warm_start=True,
                       n_iter_no_change=np.inf, random_state=0, **params)
    _fit(est, X_REG, Y_REG)
    _fit(est, X_REG, Y_REG)
    once = _expected_rates("step", 5, **_formula_args(params, 5, X_REG.shape[0]))
    assert_allclose(est.learning_rate_curve_, np.concatenate([once, once]), rtol=1e-13)
    est.partial_fit(X_REG, Y_REG)  # epoch 5 of the second fit's optimizer
    assert est.learning_rate_curve_[-1] == pytest.approx(0.01 * 0.5 ** 2, rel=1e-13)


def _adaptive_rates(loss_curve, eta0, tol, n_iter_no_change):
    """scikit-learn's adaptive rule replayed on a training-loss curve: the rate of each epoch,
    and whether training stops after the last one."""
    rate, best, count, rates = eta0, np.inf, 0, []
    for loss in loss_curve:
        rates.append(rate)
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n_iter_no_change:
            if rate <= 1e-6:
                return rates, True
            rate /= 5.0
            count = 0
    return rates, False


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_adaptive_divides_by_5_for_both_solvers(solver):
    tol, n_iter_no_change, eta0 = 0.05, 2, 0.01
    est = MLPClassifier(hidden_layer_sizes=(8,), solver=solver, learning_rate="adaptive",
                        learning_rate_init=eta0, tol=tol, n_iter_no_change=n_iter_no_change,
                        max_iter=40, random_state=0)
    _fit(est, X_DIGITS, Y_DIGITS)
    expected, _ = _adaptive_rates(est.loss_curve_, eta0, tol, n_iter_no_change)
    assert min(expected) < eta0 / 5  # the rule fired at least twice here
    assert_allclose(est.learning_rate_curve_, expected, rtol=1e-13)


# ----------------------------------------------------------- the rate drives the update
def _numpy_training(coefs, intercepts, X, y, rates, batch_size, solver, alpha, momentum=0.9,
                    beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """scikit-learn's mini-batch SGD (Nesterov) / Adam for a tanh network with identity output
    and half squared error, in NumPy float64, without shuffling; epoch e steps with rates[e]."""
    params = [np.array(a, dtype=np.float64) for a in coefs + intercepts]
    n_layers = len(coefs)
    state = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    t = 0
    Y = y.reshape(-1, 1)
    for rate in rates:
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[start:start + batch_size], Y[start:start + batch_size]
            n = xb.shape[0]
            acts = [xb]
            for i in range(n_layers):
                z = acts[-1] @ params[i] + params[n_layers + i]
                acts.append(z if i == n_layers - 1 else np.tanh(z))
            delta = acts[-1] - yb
            grads = [None] * (2 * n_layers)
            for i in range(n_layers - 1, -1, -1):
                grads[i] = (acts[i].T @ delta + alpha * params[i]) / n
                grads[n_layers + i] = delta.sum(axis=0) / n
                if i > 0:
                    delta = (delta @ params[i].T) * (1 - acts[i] ** 2)
            t += 1
            for p, g, s1, s2 in zip(params, grads, state, second):
                if solver == "sgd":
                    s1[:] = momentum * s1 - rate * g
                    p += momentum * s1 - rate * g
                else:
                    s1[:] = beta_1 * s1 + (1 - beta_1) * g
                    s2[:] = beta_2 * s2 + (1 - beta_2) * g * g
                    step = rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
                    p -= step * s1 / (np.sqrt(s2) + epsilon)
    return params[:n_layers], params[n_layers:]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("case", ["cosine_warmup", "step", "invscaling"])
def test_scheduled_rate_is_the_step_size_of_the_update(case, solver, monkeypatch):
    """Two mini-batches an epoch, so that each epoch's rate applies to all its steps; the
    NumPy optimizer is given the documented rates."""
    params = dict(SCHEDULE_CASES[case], learning_rate_init=0.05)
    max_iter, batch_size, alpha = 6, 20, 1e-3
    est = MLPRegressor(hidden_layer_sizes=(7, 4), activation="tanh", solver=solver,
                       batch_size=batch_size, shuffle=False, alpha=alpha, max_iter=max_iter,
                       n_iter_no_change=np.inf, random_state=3, n_jobs=1, **params)
    coefs0, intercepts0 = initial_params(monkeypatch, est, X_REG, Y_REG)
    rates = _expected_rates(params["learning_rate"], max_iter,
                            **_formula_args(params, max_iter, X_REG.shape[0]))
    assert np.ptp(rates) > 0.2 * rates.max()  # the schedule really moves the rate
    coefs, intercepts = _numpy_training(coefs0, intercepts0, X_REG, Y_REG, rates, batch_size,
                                        solver, alpha)
    for got, want in zip(est.coefs_ + est.intercepts_, coefs + intercepts):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # and a constant rate would have given other weights
    constant, _ = _numpy_training(coefs0, intercepts0, X_REG, Y_REG,
                                  np.full(max_iter, 0.05), batch_size, solver, alpha)
    assert not np.allclose(est.coefs_[0], constant[0], rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------- defaults as scikit-learn's
SKLEARN_CASES = [
    ("sgd", "constant"), ("sgd", "invscaling"), ("sgd", "adaptive"), ("adam", "constant"),
]


@pytest.mark.parametrize("solver,schedule", SKLEARN_CASES)
def test_sklearn_schedules_keep_sklearn_results(solver, schedule):
    """scikit-learn's own schedules (sgd) and Adam's default (constant) follow scikit-learn's
    trajectory; tol and n_iter_no_change make 'adaptive' divide its rate in these epochs."""
    params = dict(hidden_layer_sizes=(16,), solver=solver, learning_rate=schedule,
                  learning_rate_init=0.05, max_iter=25, tol=0.05, n_iter_no_change=2,
                  random_state=1)
    fm = _fit(MLPClassifier(n_jobs=1, **params), X_DIGITS, Y_DIGITS)
    sk = _fit(skl.MLPClassifier(**params), X_DIGITS, Y_DIGITS)
    assert fm.n_iter_ == sk.n_iter_
    assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=1e-6)
    if solver == "sgd":  # scikit-learn's Adam keeps its bias-corrected step there
        assert fm._optimizer_state["learning_rate"] == pytest.approx(
            sk._optimizer.learning_rate, rel=1e-12)
    if schedule == "adaptive":
        assert sk._optimizer.learning_rate < 0.05  # the division happened


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_adam_schedules_differ_from_sklearn_on_purpose(schedule):
    """scikit-learn's Adam ignores learning_rate; fastmlp's applies it (documented)."""
    params = dict(hidden_layer_sizes=(16,), solver="adam", learning_rate=schedule,
                  learning_rate_init=0.05, max_iter=25, tol=0.05, n_iter_no_change=2,
                  random_state=1)
    fm = _fit(MLPClassifier(n_jobs=1, **params), X_DIGITS, Y_DIGITS)
    sk = _fit(skl.MLPClassifier(**params), X_DIGITS, Y_DIGITS)
    if schedule == "invscaling":
        # the first epoch runs at eta0 in both; then fastmlp's Adam steps with smaller rates
        assert_allclose(fm.loss_curve_[0], sk.loss_curve_[0], rtol=1e-6)
        assert fm.learning_rate_curve_[1] < 0.05
        n = min(fm.n_iter_, sk.n_iter_)
        assert not np.allclose(fm.loss_curve_[1:n], sk.loss_curve_[1:n], rtol=1e-6)
    else:
        # scikit-learn's Adam stops where fastmlp's divides the rate by 5 and goes on
        n = sk.n_iter_
        assert fm.n_iter_ > n
        assert_allclose(fm.loss_curve_[:n], sk.loss_curve_, rtol=1e-6)
        assert fm.learning_rate_curve_[n - 1] == 0.05
        assert fm.learning_rate_curve_[n] == pytest.approx(0.05 / 5, rel=1e-15)


def test_schedule_parameters_are_validated():
    for bad in (dict(lr_warmup_epochs=-1), dict(lr_min=-0.1), dict(lr_step_size=0),
                dict(lr_gamma=0.0), dict(lr_gamma=1.5), dict(learning_rate="linear")):
        with pytest.raises(ValueError, match=list(bad)[0]):
            MLPRegressor(**bad).fit(X_REG, Y_REG)
