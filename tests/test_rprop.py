"""solver='rprop' (iRPROP-, full batch): the core's step against torch.optim.Rprop and a NumPy
reference, the estimators' epochs against the reference fed the core's full-batch gradient,
training to a low loss, partial_fit, pickle, clone and warm_start."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor, _core

from _torch_reference import torch_reference

ETAS = (0.5, 1.2)
STEP_SIZES = (1e-6, 50.0)


def numpy_irprop_minus(params, step, prev, grad):
    """iRPROP- (Igel & Husken 2000), written from the paper: a new step size from the sign of
    grad * prev, kept in the bounds; on a sign change the gradient is taken as 0 (no move,
    and the next step sees no sign)."""
    s = np.sign(grad * prev)
    step = np.where(s > 0, step * ETAS[1], np.where(s < 0, step * ETAS[0], step))
    step = np.clip(step, *STEP_SIZES)
    grad = np.where(s < 0, 0.0, grad)
    return params - np.sign(grad) * step, step, grad


def _gradient_sequence(rng, n, n_steps):
    # signs that persist and flip, magnitudes over several decades, some exact zeros
    g = rng.normal(size=(n_steps, n)) * 10.0 ** rng.integers(-3, 2, size=(n_steps, n))
    g[:, : n // 3] = np.abs(g[:, : n // 3])  # a third keeps its sign: steps grow to the cap
    g[rng.random(size=g.shape) < 0.05] = 0.0
    return g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lr", [1e-3, 30.0, 1e-7])
def test_step_matches_torch_and_numpy(dtype, lr):
    rng = np.random.default_rng(0)
    n, n_steps = 60, 40  # 1.2**40 * 30 > 50 and 0.5**k * 1e-7 < 1e-6: both bounds are hit
    grads = _gradient_sequence(rng, n, n_steps).astype(dtype)
    p0 = rng.normal(size=n).astype(dtype)
    params, step, prev = p0.copy(), np.full(n, lr, dtype=dtype), np.zeros(n, dtype=dtype)

    def torch_steps():
        import torch

        tp = torch.tensor(p0.copy())
        opt = torch.optim.Rprop([tp], lr=lr, etas=ETAS, step_sizes=STEP_SIZES)
        out = []
        for g in grads:
            tp.grad = torch.tensor(g.copy())
            opt.step()
            out.append(tp.numpy().copy())
        return {"params": np.stack(out)}  # after each step

    torch_params = torch_reference(
        f"test_rprop::step[{np.dtype(dtype).name}-lr={lr!r}]", torch_steps)["params"]
    assert torch_params.dtype == dtype and torch_params.shape == (n_steps, n)
    # the reference in the same dtype (NumPy 2 keeps Python floats at the array's dtype)
    rp, rs, rprev = p0.copy(), np.full(n, lr, dtype=dtype), np.zeros(n, dtype=dtype)
    for g, tp in zip(grads, torch_params):
        _core.rprop_update(params, step, prev, g, *ETAS, *STEP_SIZES, 1)
        rp, rs, rprev = numpy_irprop_minus(rp, rs, rprev, g)
        # the rule is sign logic, one product, a clamp and one subtraction per entry, all in
        # the parameters' dtype in each of the three: the same bits
        np.testing.assert_array_equal(params, tp)
        np.testing.assert_array_equal(params, rp)
        np.testing.assert_array_equal(step, rs)
        np.testing.assert_array_equal(prev, rprev)
    assert step.max() == np.float32(STEP_SIZES[1]) or lr != 30.0
    assert step.min() == dtype(STEP_SIZES[0]) or lr != 1e-7


def _reference_epochs(est, X, Y, n_epochs, alpha):
    """n_epochs of NumPy iRPROP- fed the core's full-batch objective gradient, from the initial
    weights fit draws for est's random_state (one 0-iteration partial fit is not possible, so
    the draws are redone: glorot uniform in scikit-learn's order)."""
    units = [X.shape[1], *est.hidden_layer_sizes, Y.shape[1]]
    rs = np.random.RandomState(est.random_state)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rs.uniform(-bound, bound, fan_out))
    p = np.concatenate([a.ravel() for a in coefs + intercepts])
    trainer = _core.Trainer64(units, 3, 2, X.shape[0])  # relu, identity + squared error
    step, prev, g = np.full(p.size, est.learning_rate_init), np.zeros(p.size), np.empty(p.size)
    losses = []
    for _ in range(n_epochs):
        losses.append(trainer.loss_and_grad(g, p, X, Y, None, alpha, 1))
        p, step, prev = numpy_irprop_minus(p, step, prev, g)
    return p, losses


def _params(est):
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])


def _fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


def test_epochs_match_numpy_reference():
    X, y = make_regression(n_samples=80, n_features=5, noise=0.5, random_state=0)
    y = (y - y.mean()) / y.std()
    reg = _fit(MLPRegressor(hidden_layer_sizes=(9,), solver="rprop", max_iter=15, tol=0,
                            n_iter_no_change=1000, random_state=4, learning_rate_init=0.01,
                            alpha=1e-3), X, y)
    ref, losses = _reference_epochs(reg, X, y.reshape(-1, 1), 15, 1e-3)
    np.testing.assert_allclose(_params(reg), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(reg.loss_curve_, losses, rtol=1e-12)
    assert reg.n_iter_ == 15 and reg.t_ == 15 * 80


def test_trains_to_low_loss():
    X, y = make_classification(n_samples=200, n_features=8, n_informative=5, random_state=0)
    clf = _fit(MLPClassifier((16,), solver="rprop", max_iter=300, random_state=0), X, y)
    # the start is the log-loss of a random network, about log 2; rprop reaches a small
    # fraction of it and fits the training set
    assert clf.loss_curve_[-1] < 0.02 * clf.loss_curve_[0]
    assert clf.score(X, y) == 1.0
    # tol / n_iter_no_change stopped it before max_iter, with scikit-learn's rule
    assert clf.n_iter_ < 300


def test_partial_fit_is_one_epoch_and_matches_fit():
    X, y = make_classification(n_samples=60, n_features=5, random_state=1)
    fitted = _fit(MLPClassifier((6,), solver="rprop", max_iter=5, tol=0, n_iter_no_change=100,
                                random_state=0), X, y)
    inc = MLPClassifier((6,), solver="rprop", random_state=0)
    for i in range(5):
        inc.partial_fit(X, y, classes=np.unique(y))
        assert inc.n_iter_ == 1 and len(inc.loss_curve_) == i + 1
    np.testing.assert_array_equal(_params(inc), _params(fitted))
    assert inc.loss_curve_ == fitted.loss_curve_


def test_pickle_clone_and_warm_start():
    X, y = make_classification(n_samples=60, n_features=5, random_state=2)
    clf = _fit(MLPClassifier((6,), solver="rprop", max_iter=4, random_state=0), X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    # the optimizer state travels: one more epoch on each gives the same bits
    for est in (clf, back):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(_params(back), _params(clf))
    np.testing.assert_array_equal(back._optimizer_state["step"], clf._optimizer_state["step"])
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "coefs_")
    # warm_start continues from the fitted weights (with a fresh step-size state, as adam's)
    warm = _fit(MLPClassifier((6,), solver="rprop", max_iter=3, random_state=0,
                              warm_start=True), X, y)
    start = _params(warm).copy()
    _fit(warm, X, y)
    assert len(warm.loss_curve_) == 6
    # the second fit's first loss is the objective at the first fit's final weights
    g = np.empty_like(start)
    at_start = _core.Trainer64([5, 6, 1], 3, 1, X.shape[0]).loss_and_grad(
        g, start, X, y.reshape(-1, 1).astype(np.float64), None, warm.alpha, 1)
    assert warm.loss_curve_[3] == pytest.approx(at_start, rel=1e-12)
    assert warm.loss_curve_[3] < warm.loss_curve_[0]


def test_early_stopping_and_sample_weight():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=3)
    y = y / y.std()
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), solver="rprop", max_iter=60,
                            early_stopping=True, random_state=0, learning_rate_init=0.01), X, y)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_) > 0.5
    # integer sample weights are repeated rows for a full-batch objective
    w = np.random.default_rng(0).integers(1, 3, size=X.shape[0])
    kw = dict(hidden_layer_sizes=(5,), solver="rprop", max_iter=5, tol=0, random_state=0)
    a = _fit(MLPRegressor(**kw), X, y, sample_weight=w)
    b = _fit(MLPRegressor(**kw), np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(_params(a), _params(b), rtol=1e-9, atol=1e-12)
