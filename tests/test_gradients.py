"""The whole model's objective and gradient (Trainer.loss_and_grad) in float64.

* the gradient against central finite differences of the objective, on every parameter,
  for every hidden activation x output/loss x (dense, CSR) x (no / random sample weights);
* the objective and the gradient against an independent NumPy forward/backward pass;
* row blocks (max_rows < n) against one block, thread counts against each other;
* the network forward (_core.forward) against NumPy;
* the L-BFGS objective that MLPClassifier / MLPRegressor hand to scipy, by finite differences.

Relu kinks: every problem is drawn so that no hidden pre-activation lies within MARGIN of 0,
and that is asserted, never skipped: a 1e-6 step moves a pre-activation by ~1e-5 at most, so
no finite difference crosses a kink.
"""

import warnings
import zlib

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor, _core
from _numpy_reference import unpack

IDENTITY, LOGISTIC, TANH, RELU = 0, 1, 2, 3
HIDDEN = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU}
SOFTMAX, SIGMOID_BCE, SQUARED, POISSON = 0, 1, 2, 3
# name -> (output code, K)
OUTPUT_CASES = {
    "softmax-K3": (SOFTMAX, 3),
    "logistic-K1": (SIGMOID_BCE, 1),
    "logistic-K3": (SIGMOID_BCE, 3),
    "identity-K2": (SQUARED, 2),
    "exp-K2": (POISSON, 2),
}
HIDDEN_UNITS = [5, 4, 3]  # n_features, then two hidden layers; K is appended
N_ROWS = 7
ALPHA = 0.3
MARGIN = 1e-2  # no hidden pre-activation is closer than this to 0
FD_STEP = 1e-6


def seed_of(*key):
    return [zlib.crc32(repr(k).encode()) for k in key]


# ------------------------------------------------------------------ NumPy reference
def np_act(kind, a):
    if kind == IDENTITY:
        return a
    if kind == LOGISTIC:
        return 1.0 / (1.0 + np.exp(-a))
    if kind == TANH:
        return np.tanh(a)
    return np.maximum(a, 0.0)


def np_act_grad(kind, a):
    """g'(a) from the pre-activation a (not from the output, unlike the core)."""
    if kind == IDENTITY:
        return np.ones_like(a)
    if kind == LOGISTIC:
        s = 1.0 / (1.0 + np.exp(-a))
        return s * (1.0 - s)
    if kind == TANH:
        return 1.0 / np.cosh(a) ** 2
    return (a > 0).astype(np.float64)


def np_out(kind, z):
    if kind == SOFTMAX:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == SIGMOID_BCE:
        return 1.0 / (1.0 + np.exp(-z))
    if kind == SQUARED:
        return z
    return np.exp(z)


def xlogy(x, y):
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def np_row_loss(kind, p, y):
    eps = np.finfo(np.float64).eps
    if kind == SOFTMAX:
        return -xlogy(y, np.clip(p, eps, 1 - eps)).sum(axis=1)
    if kind == SIGMOID_BCE:
        pc = np.clip(p, eps, 1 - eps)
        return -(xlogy(y, pc) + xlogy(1 - y, 1 - pc)).sum(axis=1)
    if kind == SQUARED:
        return 0.5 * ((y - p) ** 2).sum(axis=1)
    return (xlogy(y, y / p) - y + p).sum(axis=1)


def np_model(params, units, hidden, output, X, Y, sw, alpha):
    """(objective, gradient in arena order, hidden pre-activations), written from scratch."""
    coefs, intercepts = unpack(params, units)
    L = len(coefs)
    acts, pre = [X], []
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        a = acts[-1] @ W + b
        if layer + 1 < L:
            pre.append(a)
            acts.append(np_act(hidden, a))
        else:
            p = np_out(output, a)
    w = np.ones(X.shape[0]) if sw is None else np.asarray(sw, np.float64)
    wsum = w.sum()
    l2 = sum(float((W**2).sum()) for W in coefs)
    loss = float((w * np_row_loss(output, p, Y)).sum() / wsum + 0.5 * alpha * l2 / wsum)
    delta = (p - Y) * w[:, None]
    gW, gb = [None] * L, [None] * L
    for layer in range(L - 1, -1, -1):
        gW[layer] = (acts[layer].T @ delta + alpha * coefs[layer]) / wsum
        gb[layer] = delta.sum(axis=0) / wsum
        if layer > 0:
            delta = (delta @ coefs[layer].T) * np_act_grad(hidden, pre[layer - 1])
    grad = np.concatenate([g.ravel() for g in gW + gb])
    return loss, grad, pre


# ------------------------------------------------------------------------- problems
def csr_tuple(m):
    m = sp.csr_matrix(m)
    return (
        np.ascontiguousarray(m.data, dtype=np.float64),
        np.ascontiguousarray(m.indices, dtype=np.int64),
        np.ascontiguousarray(m.indptr, dtype=np.int64),
        m.shape[0],
        m.shape[1],
    )


def draw_targets(rng, output, n, K):
    if output == SOFTMAX:
        Y = np.zeros((n, K))
        Y[np.arange(n), rng.permutation(np.arange(n) % K)] = 1.0  # every class appears
        return Y
    if output == SIGMOID_BCE:
        Y = (rng.random((n, K)) < 0.5).astype(np.float64)
        Y[0], Y[1] = 0.0, 1.0  # both labels in every column
        return Y
    if output == SQUARED:
        return rng.standard_normal((n, K))
    Y = rng.poisson(1.5, (n, K)).astype(np.float64)
    Y[0] = 0.0  # xlogy(0, .) terms
    return Y


def make_problem(hidden, output, K, sparse, weighted, n_rows=N_ROWS, key=()):
    """A deterministic problem whose hidden pre-activations all keep MARGIN away from 0."""
    units = HIDDEN_UNITS + [K]
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    for attempt in range(1000):
        seed = seed_of(hidden, output, K, sparse, weighted, n_rows, key, attempt)
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n_rows, units[0]))
        if sparse:
            X[rng.random(X.shape) < 0.5] = 0.0
            X[n_rows // 2] = 0.0  # an empty row
        parts = []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            parts.append(rng.standard_normal(fan_in * fan_out) * 1.2 / np.sqrt(fan_in))
        for fan_out in units[1:]:
            parts.append(0.5 * rng.standard_normal(fan_out))
        params = np.concatenate(parts)
        assert params.size == n_params
        Y = draw_targets(rng, output, n_rows, K)
        sw = rng.uniform(0.2, 3.0, n_rows) if weighted else None
        _, _, pre = np_model(params, units, hidden, output, X, Y, sw, ALPHA)
        if min(np.abs(a).min() for a in pre) >= MARGIN and all(
            (a > 0).any() and (a < 0).any() for a in pre
        ):
            X_core = csr_tuple(X) if sparse else np.ascontiguousarray(X)
            return units, params, X, X_core, Y, sw
    raise AssertionError("no problem with pre-activations away from 0 was found")


def trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw, alpha=ALPHA,
                          max_rows=None, n_threads=1):
    trainer = _core.Trainer64(units, hidden, output, max_rows or Y.shape[0])
    grad = np.full(params.size, np.nan)  # must be overwritten, not accumulated into
    loss = trainer.loss_and_grad(grad, params, X_core, Y, sw, alpha, n_threads)
    return loss, grad


def central_differences(f, x, h=FD_STEP):
    g = np.empty_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


CASES = [
    pytest.param(h, o, s, w, id=f"{h}-{o}-{'csr' if s else 'dense'}-{'sw' if w else 'nosw'}")
    for h in HIDDEN
    for o in OUTPUT_CASES
    for s in (False, True)
    for w in (False, True)
]


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("hidden_name,output_name,sparse,weighted", CASES)
def test_gradient_matches_finite_differences(hidden_name, output_name, sparse, weighted):
    hidden = HIDDEN[hidden_name]
    output, K = OUTPUT_CASES[output_name]
    units, params, X, X_core, Y, sw = make_problem(hidden, output, K, sparse, weighted)
    if hidden == RELU:
        # the finite differences below are valid: no step crosses a kink
        _, _, pre = np_model(params, units, hidden, output, X, Y, sw, ALPHA)
        assert min(np.abs(a).min() for a in pre) >= MARGIN
    trainer = _core.Trainer64(units, hidden, output, N_ROWS)
    scratch = np.empty(params.size)

    def objective(x):
        return trainer.loss_and_grad(scratch, x, X_core, Y, sw, ALPHA, 1)

    loss, grad = trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    fd = central_differences(objective, params)
    # central differences: truncation ~h^2 = 1e-12, rounding ~eps*|loss|/h = 1e-10
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    # the check is not vacuous: the gradient is not ~0 and the L2 term is in it
    assert np.abs(grad).max() > 1e-3


@pytest.mark.parametrize("hidden_name,output_name,sparse,weighted", CASES)
def test_loss_and_grad_match_numpy(hidden_name, output_name, sparse, weighted):
    hidden = HIDDEN[hidden_name]
    output, K = OUTPUT_CASES[output_name]
    units, params, X, X_core, Y, sw = make_problem(hidden, output, K, sparse, weighted)
    loss_ref, grad_ref, _ = np_model(params, units, hidden, output, X, Y, sw, ALPHA)
    loss, grad = trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw)
    assert loss == pytest.approx(loss_ref, rel=1e-12, abs=1e-14)
    # the same sums in another order: rounding is ~1e-16 of the terms (all of size <~10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-11, atol=1e-13)
    # alpha enters as 0.5*alpha*||W||^2/sum(w): check the derivative in alpha as well
    loss0, grad0 = trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw, alpha=0.0)
    n_coefs = sum(a * b for a, b in zip(units[:-1], units[1:]))
    wsum = N_ROWS if sw is None else sw.sum()
    W = params[:n_coefs]
    assert loss - loss0 == pytest.approx(0.5 * ALPHA * (W**2).sum() / wsum, rel=1e-10)
    np.testing.assert_allclose(grad[:n_coefs] - grad0[:n_coefs], ALPHA * W / wsum,
                               rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(grad[n_coefs:], grad0[n_coefs:])  # biases are not penalised


@pytest.mark.parametrize("output_name", list(OUTPUT_CASES))
def test_sample_weight_equals_repeated_rows(output_name):
    # integer weights are the same objective as repeating rows (scikit-learn's semantics)
    output, K = OUTPUT_CASES[output_name]
    units, params, X, _, Y, _ = make_problem(TANH, output, K, False, False)
    sw = np.array([1, 2, 0, 3, 1, 1, 2], np.float64)
    loss_w, grad_w = trainer_loss_and_grad(units, TANH, output, params, X, Y, sw)
    rep = np.repeat(np.arange(N_ROWS), sw.astype(int))
    X_rep, Y_rep = np.ascontiguousarray(X[rep]), np.ascontiguousarray(Y[rep])
    loss_r, grad_r = trainer_loss_and_grad(units, TANH, output, params, X_rep, Y_rep, None)
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    np.testing.assert_allclose(grad_w, grad_r, rtol=1e-11, atol=1e-13)


# --------------------------------------------------------------------- row blocks
@pytest.mark.parametrize("weighted", [False, True], ids=["nosw", "sw"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("output_name", list(OUTPUT_CASES))
@pytest.mark.parametrize("hidden_name", ["tanh", "relu"])
def test_row_blocks_match_one_block(hidden_name, output_name, sparse, weighted):
    hidden = HIDDEN[hidden_name]
    output, K = OUTPUT_CASES[output_name]
    n = 23
    units, params, X, X_core, Y, sw = make_problem(hidden, output, K, sparse, weighted, n_rows=n)
    loss_one, grad_one = trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw,
                                               max_rows=n)
    loss_ref, grad_ref, _ = np_model(params, units, hidden, output, X, Y, sw, ALPHA)
    assert loss_one == pytest.approx(loss_ref, rel=1e-12)
    for max_rows in (1, 2, 5, 22, 64):
        loss, grad = trainer_loss_and_grad(units, hidden, output, params, X_core, Y, sw,
                                           max_rows=max_rows)
        assert loss == pytest.approx(loss_one, rel=1e-12, abs=1e-14), max_rows
        np.testing.assert_allclose(grad, grad_one, rtol=1e-12, atol=1e-14, err_msg=str(max_rows))


def test_trainer_is_reusable():
    # one trainer, many calls with different data: no state leaks between calls
    units, params, X, X_core, Y, sw = make_problem(TANH, SOFTMAX, 3, False, True, n_rows=11)
    _, params2, X2, _, Y2, _ = make_problem(TANH, SOFTMAX, 3, True, False, n_rows=11, key="2")
    trainer = _core.Trainer64(units, TANH, SOFTMAX, 4)
    g1, g2, g3 = (np.full(params.size, np.nan) for _ in range(3))
    l1 = trainer.loss_and_grad(g1, params, X_core, Y, sw, ALPHA, 1)
    trainer.loss_and_grad(g2, params2, csr_tuple(X2), Y2, None, ALPHA, 1)
    l3 = trainer.loss_and_grad(g3, params, X_core, Y, sw, ALPHA, 1)
    assert l1 == l3
    np.testing.assert_array_equal(g1, g3)
    # fewer rows than max_rows works too
    l4, g4 = trainer_loss_and_grad(units, TANH, SOFTMAX, params, X_core[:3], Y[:3], sw[:3])
    g5 = np.empty(params.size)
    assert trainer.loss_and_grad(g5, params, X_core[:3], Y[:3], sw[:3], ALPHA, 1) == l4
    np.testing.assert_array_equal(g4, g5)


def test_thread_count_gives_same_bits():
    # large enough that every parallel region runs with a team
    rng = np.random.default_rng(seed_of("threads"))
    units, n = [64, 257, 64, 3], 300
    Xd = rng.standard_normal((n, 64))
    Xd[rng.random(Xd.shape) < 0.7] = 0.0
    Y = np.eye(3)[rng.integers(0, 3, n)]
    sw = rng.uniform(0.5, 2.0, n)
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    params = 0.1 * rng.standard_normal(n_params)
    for hidden in HIDDEN.values():
        for X in (Xd, csr_tuple(Xd)):
            results = []
            for n_threads in (1, 2, 3):
                trainer = _core.Trainer64(units, hidden, SOFTMAX, 128)
                grad = np.empty(n_params)
                loss = trainer.loss_and_grad(grad, params, X, Y, sw, ALPHA, n_threads)
                out = _core.forward(units, hidden, SOFTMAX, params, X, n_threads)
                results.append((loss, grad.tobytes(), out.tobytes()))
            assert results[0] == results[1] == results[2], hidden


# ------------------------------------------------------------------ network forward
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("output_name", list(OUTPUT_CASES))
@pytest.mark.parametrize("hidden_name", list(HIDDEN))
def test_forward_matches_numpy(hidden_name, output_name, sparse):
    hidden = HIDDEN[hidden_name]
    output, K = OUTPUT_CASES[output_name]
    units, params, _, _, _, _ = make_problem(hidden, output, K, sparse, False)
    rng = np.random.default_rng(seed_of("fwd", hidden, output, sparse))
    n = 2 * 1024 + 53  # more than one of the forward pass' 1024-row blocks
    X = rng.standard_normal((n, units[0]))
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
        X[::17] = 0.0
    out = _core.forward(units, hidden, output, params, csr_tuple(X) if sparse else X, 1)
    coefs, intercepts = unpack(params, units)
    a = X
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ W + b
        if layer + 1 < len(coefs):
            a = np_act(hidden, a)
    ref = np_out(output, a)
    assert out.shape == (n, K) and out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)


def test_forward_empty_input():
    units = [5, 4, 3, 2]
    params = np.zeros(5 * 4 + 4 * 3 + 3 * 2 + 4 + 3 + 2)
    out = _core.forward(units, TANH, SOFTMAX, params, np.zeros((0, 5)), 1)
    assert out.shape == (0, 2)


# -------------------------------------------------------------- float32 trainer
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("output_name", list(OUTPUT_CASES))
@pytest.mark.parametrize("hidden_name", list(HIDDEN))
def test_trainer32_matches_numpy(hidden_name, output_name, sparse):
    # float32 through the whole network; compared normwise (||err|| <= 1e-5 ||grad||): a
    # float32 chain of 3 layers of <= 5-term sums has errors of a few 1e-7 relative
    hidden = HIDDEN[hidden_name]
    output, K = OUTPUT_CASES[output_name]
    units, params, X, _, Y, sw = make_problem(hidden, output, K, sparse, True)
    p32, X32, Y32, sw32 = (a.astype(np.float32) for a in (params, X, Y, sw))
    loss_ref, grad_ref, _ = np_model(p32.astype(np.float64), units, hidden, output,
                                     X32.astype(np.float64), Y32.astype(np.float64),
                                     sw32.astype(np.float64), ALPHA)
    X_core = X32 if not sparse else tuple(
        a.astype(np.float32) if i == 0 else a for i, a in enumerate(csr_tuple(X32))
    )
    trainer = _core.Trainer32(units, hidden, output, N_ROWS)
    grad = np.full(params.size, np.nan, np.float32)
    loss = trainer.loss_and_grad(grad, p32, X_core, Y32, sw32, ALPHA, 1)
    assert loss == pytest.approx(loss_ref, rel=1e-5)
    assert np.abs(grad - grad_ref).max() <= 1e-5 * np.abs(grad_ref).max()


# ------------------------------------------------------------------- train_epoch
def test_train_epoch_sgd_steps_are_minibatch_gradients():
    # plain SGD (no momentum): each step is params -= lr * (gradient of its mini-batch)
    units, params, X, X_core, Y, sw = make_problem(TANH, SOFTMAX, 3, True, True, n_rows=11)
    trainer = _core.Trainer64(units, TANH, SOFTMAX, 4)
    order = np.array([3, 1, 4, 10, 5, 9, 2, 6, 0, 8, 7], np.int64)
    lr, batch = 0.05, 4
    p = params.copy()
    vel = np.zeros_like(p)
    step = np.array([0], np.int64)
    loss, _ = trainer.train_epoch(p, vel, None, None, step, X_core, Y, sw, order, batch, 0, ALPHA,
                                  lr, 0.0, False, 0.9, 0.999, 1e-8, 1)
    assert step[0] == 0  # SGD takes no Adam steps
    ref, losses = params.copy(), []
    for start in range(0, order.size, batch):
        rows = order[start : start + batch]
        batch_loss, g, _ = np_model(ref, units, TANH, SOFTMAX, X[rows], Y[rows], sw[rows], ALPHA)
        losses.append(batch_loss * rows.size)
        ref = ref - lr * g
    np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(sum(losses) / order.size, rel=1e-12)


# -------------------------------------------------------------- binding contract
@pytest.mark.parametrize(
    "bad_grad",
    [
        pytest.param(lambda n: np.zeros(n, np.float32), id="float32 grad"),
        pytest.param(lambda n: np.zeros(2 * n)[::2], id="strided grad"),
    ],
)
def test_loss_and_grad_rejects_an_output_it_cannot_write(bad_grad):
    # grad is written in place: a converted copy would silently drop the gradient
    units, params, _, X_core, Y, sw = make_problem(TANH, SOFTMAX, 3, False, True)
    trainer = _core.Trainer64(units, TANH, SOFTMAX, N_ROWS)
    grad = bad_grad(params.size)
    with pytest.raises(TypeError):
        trainer.loss_and_grad(grad, params, X_core, Y, sw, ALPHA, 1)


def test_train_epoch_rejects_params_it_cannot_write():
    units, params, _, X_core, Y, sw = make_problem(TANH, SOFTMAX, 3, False, True)
    trainer = _core.Trainer64(units, TANH, SOFTMAX, N_ROWS)
    p = np.zeros(2 * params.size)[::2]
    p[:] = params
    with pytest.raises(TypeError):
        trainer.train_epoch(p, np.zeros(params.size), None, None, np.zeros(1, np.int64),
                            X_core, Y, sw,
                            np.arange(N_ROWS, dtype=np.int64), N_ROWS, 0, ALPHA, 0.1, 0.0,
                            False, 0.9, 0.999, 1e-8, 1)


# --------------------------------------------------- through the public estimators
def _estimator_problem(kind, rng, n=20, n_features=5):
    X = rng.standard_normal((n, n_features))
    if kind == "multiclass":
        y = np.arange(n) % 3
        est = MLPClassifier
    elif kind == "binary":
        y = np.arange(n) % 2
        est = MLPClassifier
    elif kind == "multilabel":
        y = (rng.random((n, 3)) < 0.5).astype(int)
        y[0], y[1] = 0, 1
        est = MLPClassifier
    elif kind == "squared_error":
        y = rng.standard_normal(n)
        est = MLPRegressor
    elif kind == "squared_error-2d":
        y = rng.standard_normal((n, 2))
        est = MLPRegressor
    else:
        y = rng.poisson(2.0, n).astype(np.float64)
        est = MLPRegressor
    return X, y, est


@pytest.mark.parametrize("weighted", [False, True], ids=["nosw", "sw"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "kind", ["multiclass", "binary", "multilabel", "squared_error", "squared_error-2d", "poisson"]
)
def test_lbfgs_objective_of_estimator(kind, sparse, weighted, monkeypatch):
    rng = np.random.default_rng(seed_of("est", kind, sparse, weighted))
    X, y, Est = _estimator_problem(kind, rng)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    captured = {}
    real_minimize = scipy.optimize.minimize

    def spy(fun, x0, *args, **kwargs):
        captured["fun"], captured["x0"] = fun, np.array(x0, copy=True)
        res = real_minimize(fun, x0, *args, **kwargs)
        captured["x"] = np.array(res.x, copy=True)
        return res

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    params = dict(hidden_layer_sizes=(4, 3), activation="tanh", solver="lbfgs", alpha=0.1,
                  max_iter=5, random_state=0)
    if kind == "poisson":
        params["loss"] = "poisson"
    est = Est(**params)
    Xfit = sp.csr_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter=5 on purpose
        est.fit(Xfit, y, sample_weight=sw)
    assert "fun" in captured, "the estimator did not call scipy.optimize.minimize"
    fun = captured["fun"]
    assert not np.array_equal(captured["x"], captured["x0"])  # checked at two points

    for x in (captured["x0"], captured["x"]):
        loss, grad = fun(x.copy())
        grad = np.array(grad, copy=True)
        fd = central_differences(lambda v: fun(v)[0], x)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)

    # the objective at the solution is the estimator's loss_, and equals the NumPy objective
    units = [X.shape[1], 4, 3, est.n_outputs_]
    output = {"softmax": SOFTMAX, "logistic": SIGMOID_BCE, "identity": SQUARED,
              "exp": POISSON}[est.out_activation_]
    if kind in ("multiclass", "multilabel"):
        Y = est._label_binarizer.transform(y).astype(np.float64)
    else:
        Y = np.asarray(y, np.float64).reshape(X.shape[0], -1)
    loss_ref, grad_ref, _ = np_model(captured["x"], units, TANH, output, X, Y, sw, 0.1)
    assert est.loss_ == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(fun(captured["x"].copy())[1], grad_ref, rtol=1e-10, atol=1e-13)
    params_fitted = np.concatenate([c.ravel() for c in est.coefs_ + est.intercepts_])
    np.testing.assert_array_equal(params_fitted, captured["x"])


@pytest.mark.parametrize("sample_weight", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_indices_give_the_same_bits_as_one_hot_targets(dtype, sample_weight):
    """Softmax targets as int32 class indices: the same loss, gradient and training step as the
    one-hot matrix they stand for."""
    rng = np.random.default_rng(7)
    units, K, n = [6, 5, 4], 4, 23
    X = rng.standard_normal((n, units[0])).astype(dtype)
    labels = rng.integers(0, K, n).astype(np.int32)
    onehot = np.eye(K, dtype=dtype)[labels]
    sw = rng.random(n).astype(dtype) if sample_weight else None
    Trainer = _core.Trainer32 if dtype == np.float32 else _core.Trainer64
    trainer = Trainer(units, RELU, SOFTMAX, 8)
    params = rng.uniform(-0.5, 0.5, trainer.n_params).astype(dtype)
    g1, g2 = np.empty_like(params), np.empty_like(params)
    l1 = trainer.loss_and_grad(g1, params, X, onehot, sw, 0.1, 1)
    l2 = trainer.loss_and_grad(g2, params, X, labels, sw, 0.1, 1)
    assert l1 == l2
    np.testing.assert_array_equal(g1, g2)
    order = rng.permutation(n).astype(np.int64)
    p1, p2 = params.copy(), params.copy()
    for p, Y in ((p1, onehot), (p2, labels)):
        m, v = np.zeros_like(p), np.zeros_like(p)
        step = np.array([5], np.int64)
        _, returned = trainer.train_epoch(p, None, m, v, step, X, Y, sw, order, 8, 1, 0.1, 1e-2,
                                          0.9, True, 0.9, 0.999, 1e-8, 1)
        # Adam's step count is updated in place (so Ctrl-C mid-epoch keeps it): one per batch
        assert step[0] == returned == 5 + -(-n // 8)
    np.testing.assert_array_equal(p1, p2)


def test_class_indices_are_checked():
    trainer = _core.Trainer64([3, 2, 4], RELU, SOFTMAX, 4)
    params = np.zeros(trainer.n_params)
    grad = np.empty_like(params)
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match="class index out of range"):
        trainer.loss_and_grad(grad, params, X, np.array([0, 4], np.int32), None, 0.0, 1)
    with pytest.raises(ValueError, match="one entry per row"):
        trainer.loss_and_grad(grad, params, X, np.array([0], np.int32), None, 0.0, 1)
    identity = _core.Trainer64([3, 2, 4], RELU, SQUARED, 4)
    with pytest.raises(ValueError, match="softmax"):
        identity.loss_and_grad(grad, params, X, np.array([0, 1], np.int32), None, 0.0, 1)
