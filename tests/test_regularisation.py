"""dropout, weight_decay and max_grad_norm (issue 6), through the core and the estimators.

* dropout masks against a NumPy recomputation of the documented counter-based hash, their keep
  fraction and mean (statistical bounds below), a one-batch step against central finite
  differences of a NumPy objective with the same fixed masks, reproducibility for a
  random_state, the same bits for n_jobs=1/2, agreement across ISA paths, no dropout at
  predict time, rate 0 bit-identical to the default;
* weight_decay: steps against NumPy references of AdamW / SGDW and against torch.optim.AdamW;
* max_grad_norm: a step against torch.nn.utils.clip_grad_norm_ followed by torch's SGD step,
  and a norm bound too large to clip giving the unclipped bits;
* refusals: lbfgs/rprop with any of them, a dropout list of the wrong length.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor, _core

from _numpy_reference import unpack
from _torch_reference import torch_reference

TANH, RELU = 2, 3
SQUARED = 2
GOLDEN = 0x9E3779B97F4A7C15


# --------------------------------------------------------------------------- the mask hash
def _splitmix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def numpy_mask(N, C, rate, seed, batch, layer):
    """The mask as the docs define it, in NumPy uint64 arrays (which wrap silently)."""
    g = np.array([GOLDEN], dtype=np.uint64)
    key = _splitmix64(np.array([seed], dtype=np.uint64) + g * np.uint64(batch + 1))
    key = _splitmix64(key + g * np.uint64(layer + 1))
    e = np.arange(N * C, dtype=np.uint64) + np.uint64(1)
    h = _splitmix64(key + g * e)
    threshold = np.uint64(int(np.ceil(rate * 2.0**53)))
    dropped = (h >> np.uint64(11)) < threshold
    return np.where(dropped, 0.0, 1.0 / (1.0 - rate)).reshape(N, C)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_mask_is_the_documented_hash(rate):
    for seed, batch, layer in [(0, 0, 0), (12345, 3, 1), (2**63 - 5, 17, 2)]:
        got = _core.dropout_mask(37, 11, rate, seed, batch, layer)
        np.testing.assert_array_equal(got, numpy_mask(37, 11, rate, seed, batch, layer))


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_mask_keep_fraction_and_mean(rate):
    # n = 400 * 100 Bernoulli(1 - rate) draws: the kept fraction has standard deviation
    # sqrt(rate (1 - rate) / n) <= 0.0025, so 6 standard deviations (a chance below 1e-8 for a
    # fair generator) is the bound; the mask's mean is the kept fraction / (1 - rate), so its
    # bound is the same divided by (1 - rate): inverted dropout keeps the expectation at 1.
    n_rows, n_cols = 400, 100
    n = n_rows * n_cols
    sd = np.sqrt(rate * (1 - rate) / n)
    for seed, batch, layer in [(1, 0, 0), (2, 5, 1)]:
        m = _core.dropout_mask(n_rows, n_cols, rate, seed, batch, layer)
        assert set(np.unique(m)) == {0.0, 1.0 / (1.0 - rate)}
        kept = np.mean(m > 0)
        assert abs(kept - (1 - rate)) < 6 * sd
        assert abs(m.mean() - 1.0) < 6 * sd / (1 - rate)
        # rows and columns are not patterned: per-column kept fractions spread like binomials
        per_col = np.mean(m > 0, axis=0)
        assert np.all(np.abs(per_col - (1 - rate)) < 6 * np.sqrt(rate * (1 - rate) / n_rows))
    # other batches, layers and seeds draw other masks: agreement of two independent masks
    # is rate^2 + (1-rate)^2 on average, far from 1
    a = _core.dropout_mask(n_rows, n_cols, rate, 1, 0, 0) > 0
    for other in [(1, 1, 0), (1, 0, 1), (2, 0, 0)]:
        b = _core.dropout_mask(n_rows, n_cols, rate, *other) > 0
        agree = np.mean(a == b)
        assert abs(agree - (rate**2 + (1 - rate) ** 2)) < 0.02


# ------------------------------------------------------------------ a step with fixed masks
def _np_objective(params, units, X, y, masks, alpha):
    """Mean half squared error (K = 1) of a tanh network whose hidden outputs are multiplied
    by the fixed masks, plus alpha/2 ||W||^2 / N, as training minimises per batch."""
    L = len(units) - 1
    W, b = unpack(params, units)
    a = X
    for l in range(L):
        z = a @ W[l] + b[l]
        a = z if l == L - 1 else np.tanh(z) * masks[l]
    n = X.shape[0]
    return 0.5 * np.sum((a - y) ** 2) / n + 0.5 * alpha * sum(np.sum(w * w) for w in W) / n


@pytest.mark.parametrize("rates", [(0.3, 0.5), (0.0, 0.4)])
def test_one_batch_gradient_with_fixed_masks(rates):
    """An SGD step with lr 1, no momentum, one batch: params - new params is the core's
    gradient with the masks of batch 0, checked against central finite differences of the
    NumPy objective with the masks recomputed from the documented hash; the epoch's loss is
    that objective (the dropped-out network's)."""
    rng = np.random.default_rng(0)
    units = [4, 6, 5, 1]
    N, seed, alpha = 9, 987654321, 0.2
    X = rng.normal(size=(N, units[0]))
    y = rng.normal(size=(N, 1))
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    p0 = rng.normal(scale=0.5, size=n_params)
    masks = [numpy_mask(N, units[l + 1], r, seed, 0, l) for l, r in enumerate(rates)]
    trainer = _core.Trainer64(units, TANH, SQUARED, N)
    params = p0.copy()
    vel = np.zeros(n_params)
    loss, _ = trainer.train_epoch(
        params, vel, None, None, np.zeros(1, dtype=np.int64), X, y, None,
        np.arange(N, dtype=np.int64), N, 0, alpha, 1.0, 0.0, False, 0.9, 0.999, 1e-8, 1,
        dropout=list(rates), dropout_seed=seed,
    )
    grad = p0 - params
    f = lambda p: _np_objective(p, units, X, y, masks, alpha)  # noqa: E731
    assert loss == pytest.approx(f(p0), rel=1e-12)
    h = 1e-6
    fd = np.empty(n_params)
    for i in range(n_params):
        e = np.zeros(n_params)
        e[i] = h
        fd[i] = (f(p0 + e) - f(p0 - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------ the estimators
def _clf_data(n=120, f=10, seed=0):
    return make_classification(n_samples=n, n_features=f, n_informative=5, random_state=seed)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _params(est):
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_defaults_are_bit_identical(solver):
    X, y = _clf_data()
    base = _fit(MLPClassifier((8,), solver=solver, max_iter=5, random_state=0), X, y)
    for kw in [dict(dropout=0.0), dict(dropout=[0.0]), dict(weight_decay=0.0),
               dict(max_grad_norm=None)]:
        other = _fit(MLPClassifier((8,), solver=solver, max_iter=5, random_state=0, **kw), X, y)
        np.testing.assert_array_equal(_params(other), _params(base))
        assert other.loss_curve_ == base.loss_curve_


def test_dropout_reproducible_and_differs_from_no_dropout():
    X, y = _clf_data()
    kw = dict(hidden_layer_sizes=(16, 8), max_iter=5, random_state=3, dropout=[0.3, 0.2])
    a = _fit(MLPClassifier(**kw), X, y)
    b = _fit(MLPClassifier(**kw), X, y)
    np.testing.assert_array_equal(_params(a), _params(b))
    assert a.loss_curve_ == b.loss_curve_
    kw.pop("dropout")
    c = _fit(MLPClassifier(**kw), X, y)
    assert not np.array_equal(_params(a), _params(c))


def test_thread_count_gives_same_bits():
    # 3·200·(50·300 + 300·2) multiply-adds a step: above the core's threshold for a team,
    # so n_jobs=2 really runs on two threads
    X, y = make_classification(n_samples=400, n_features=50, random_state=1)
    kw = dict(hidden_layer_sizes=(300,), max_iter=2, random_state=0, dropout=0.25,
              weight_decay=1e-3, max_grad_norm=0.5)
    one = _fit(MLPClassifier(n_jobs=1, **kw), X, y)
    two = _fit(MLPClassifier(n_jobs=2, **kw), X, y)
    np.testing.assert_array_equal(_params(one), _params(two))
    assert one.loss_curve_ == two.loss_curve_


def test_isa_paths_agree():
    X, y = _clf_data()
    kw = dict(hidden_layer_sizes=(16, 8), max_iter=4, random_state=0, dropout=0.3,
              weight_decay=1e-2, max_grad_norm=0.5)
    previous = _core.active_isa()
    results = []
    try:
        for isa in _core.available_isas():
            _core.set_isa(isa)
            results.append(_params(_fit(MLPClassifier(**kw), X, y)))
    finally:
        _core.set_isa(previous)
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=1e-9, atol=1e-12)


def test_predict_has_no_dropout():
    X, y = _clf_data()
    clf = _fit(MLPClassifier((16,), max_iter=5, random_state=0, dropout=0.5), X, y)
    p = clf.predict_proba(X)
    np.testing.assert_array_equal(p, clf.predict_proba(X))
    h = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    z = (h @ clf.coefs_[1] + clf.intercepts_[1]).ravel()
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-10)


def test_dropout_validation_score_is_dropout_free():
    """With early stopping the kept weights are the best-scoring ones, and their score on the
    held-out set, computed by predict (no dropout), is best_validation_score_: the validation
    scores are those of the whole network. The held-out split is redrawn as fit draws it:
    weights first, then train_test_split, from one RandomState."""
    from sklearn.model_selection import train_test_split

    X, y = make_regression(n_samples=150, n_features=6, noise=0.1, random_state=0)
    y = y / y.std()
    reg = _fit(MLPRegressor(hidden_layer_sizes=(12, 12), max_iter=30, random_state=0,
                            dropout=[0.1, 0.2], early_stopping=True, learning_rate_init=0.01),
               X, y)
    rs = np.random.RandomState(0)
    for fan_in, fan_out in [(6, 12), (12, 12), (12, 1)]:
        rs.uniform(size=(fan_in, fan_out))
        rs.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rs, test_size=0.1)
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, rel=1e-12)
    assert len(reg.loss_curve_) == len(reg.validation_scores_) == reg.n_iter_


@pytest.mark.parametrize("bad", [[0.1], [0.1, 0.2, 0.3], [0.1, 1.0], [-0.1, 0.2]])
def test_dropout_list_is_checked(bad):
    X, y = _clf_data()
    clf = _fit(MLPClassifier((6, 5), max_iter=2, random_state=0), X, y)
    before = _params(clf).copy()
    with pytest.raises(ValueError, match="dropout"):
        clf.set_params(dropout=bad).fit(X, y)
    np.testing.assert_array_equal(_params(clf), before)


@pytest.mark.parametrize("solver", ["lbfgs", "rprop"])
@pytest.mark.parametrize("kw", [dict(dropout=0.1), dict(weight_decay=0.1),
                                dict(max_grad_norm=1.0)])
def test_full_batch_solvers_refuse(solver, kw):
    X, y = _clf_data()
    with pytest.raises(ValueError, match="stochastic solver"):
        MLPClassifier((5,), solver=solver, **kw).fit(X, y)


# ------------------------------------------------------------------ weight decay, clipping
def _problem(seed=0, units=(5, 7, 3)):
    rng = np.random.default_rng(seed)
    N = 11
    X = rng.normal(size=(N, units[0]))
    labels = rng.integers(0, units[-1], size=N).astype(np.int32)
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    p0 = rng.normal(scale=0.5, size=n_params)
    n_coefs = sum(a * b for a, b in zip(units[:-1], units[1:]))
    return list(units), X, labels, p0, n_coefs


def _epoch(trainer, params, state, X, labels, solver, lr, alpha, **kw):
    """One full-batch step of the core (softmax output, labels) on params in place."""
    N = X.shape[0]
    return trainer.train_epoch(
        params, state.get("vel"), state.get("m"), state.get("v"), state["t"], X, labels, None,
        np.arange(N, dtype=np.int64), N, solver, alpha, lr, state.get("mu", 0.9),
        state.get("nesterov", True), 0.9, 0.999, state.get("eps", 1e-8), 1, **kw,
    )


def _gradient(units, X, labels, params, alpha):
    g = np.empty_like(params)
    _core.Trainer64(units, TANH, 0, X.shape[0]).loss_and_grad(g, params, X, labels, None, alpha, 1)
    return g


def _torch_gradient(torch, units, X, labels, p, alpha):
    """PyTorch's gradient of the core's objective (tanh hidden layers, softmax cross-entropy
    averaged over the rows, alpha / 2 * sum(W**2) / N) at the flat parameters p. The recorded
    steps are computed from it rather than from the core's gradient, so that PyTorch's results
    depend on the seeded inputs only, not on the kernel path (tests/_torch_reference.py)."""
    t = torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True)
    ws, bs, start = [], [], 0
    for a, b in zip(units[:-1], units[1:]):
        ws.append(t[start : start + a * b].reshape(a, b))
        start += a * b
    for b in units[1:]:
        bs.append(t[start : start + b])
        start += b
    h = torch.tensor(X)
    for layer, (W, b) in enumerate(zip(ws, bs)):
        h = h @ W + b
        if layer + 1 < len(ws):
            h = torch.tanh(h)
    N = X.shape[0]
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(labels, dtype=torch.long),
                                             reduction="sum") / N
    loss = loss + 0.5 * alpha * sum((W * W).sum() for W in ws) / N
    loss.backward()
    return t.grad.numpy().copy()


def _adamw_run(eps, n_steps=3, lr=0.05, wd=0.3, alpha=0.1, with_torch=False):
    """n_steps full-batch AdamW steps of the core, of a NumPy reference (scikit-learn's Adam:
    epsilon added to sqrt(v), bias corrections folded into the rate; AdamW's decay of the
    weights by the scheduled rate, biases not decayed) and of torch.optim.AdamW (weights and
    biases as two groups, the biases with weight_decay=0), each fed the objective's gradient at
    its own current parameters (the core's for the core and NumPy, PyTorch's for PyTorch)."""
    units, X, labels, p0, n_coefs = _problem()
    trainer = _core.Trainer64(units, TANH, 0, X.shape[0])
    n = p0.size
    params = p0.copy()
    state = {"m": np.zeros(n), "v": np.zeros(n), "t": np.zeros(1, dtype=np.int64), "eps": eps}
    ref, m, v = p0.copy(), np.zeros(n), np.zeros(n)
    decay = np.where(np.arange(n) < n_coefs, 1 - lr * wd, 1.0)

    def torch_steps():
        import torch

        tw = torch.tensor(p0[:n_coefs].copy())
        tb = torch.tensor(p0[n_coefs:].copy())
        opt = torch.optim.AdamW([{"params": [tw], "weight_decay": wd},
                                 {"params": [tb], "weight_decay": 0.0}],
                                lr=lr, betas=(0.9, 0.999), eps=eps)
        for _ in range(n_steps):
            gt = _torch_gradient(torch, units, X, labels,
                                 np.concatenate([tw.numpy(), tb.numpy()]), alpha)
            tw.grad = torch.tensor(gt[:n_coefs])
            tb.grad = torch.tensor(gt[n_coefs:])
            opt.step()
        return {"params": np.concatenate([tw.numpy(), tb.numpy()])}

    torch_params = None
    if with_torch:
        case = f"eps={eps!r}-steps={n_steps}-lr={lr!r}-wd={wd!r}-alpha={alpha!r}"
        torch_params = torch_reference(f"test_regularisation::adamw[{case}]", torch_steps)["params"]
    for step in range(1, n_steps + 1):
        g = _gradient(units, X, labels, params, alpha)
        _epoch(trainer, params, state, X, labels, 1, lr, alpha, weight_decay=wd)
        state["t"][0] = step
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr_t = lr * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        ref = ref * decay - lr_t * m / (np.sqrt(v) + eps)
    return params, ref, torch_params, p0, n_coefs


def test_adamw_matches_numpy():
    params, ref, _, p0, n_coefs = _adamw_run(eps=1e-8)
    np.testing.assert_allclose(params, ref, rtol=1e-12, atol=1e-14)
    # the decay did act: the same steps without it leave larger weights
    plain, *_ = _adamw_run(eps=1e-8, wd=0.0)
    assert np.linalg.norm(params[:n_coefs]) < np.linalg.norm(plain[:n_coefs])


def test_adamw_matches_torch():
    # torch adds eps to the bias-corrected sqrt(v_hat), scikit-learn (and fastmlp) to sqrt(v):
    # the steps differ by a relative ~eps/sqrt(v_hat), which reaches 1e-4 for the smallest
    # gradients of this problem at eps=1e-8. With eps=1e-15 the two placements agree far
    # below the tolerance, so what is compared is the decay: by the scheduled rate, without
    # bias correction, on the weights only, before the Adam step is added.
    params, _, torch_params, _, _ = _adamw_run(eps=1e-15, with_torch=True)
    np.testing.assert_allclose(params, torch_params, rtol=0, atol=1e-6)
    np.testing.assert_allclose(params, torch_params, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgdw_matches_numpy(nesterov):
    units, X, labels, p0, n_coefs = _problem(1)
    lr, wd, alpha, mu = 0.1, 0.5, 0.05, 0.9
    trainer = _core.Trainer64(units, TANH, 0, X.shape[0])
    n = p0.size
    params = p0.copy()
    state = {"vel": np.zeros(n), "t": np.zeros(1, dtype=np.int64), "mu": mu, "nesterov": nesterov}
    ref, vel = p0.copy(), np.zeros(n)
    decay = np.where(np.arange(n) < n_coefs, 1 - lr * wd, 1.0)
    for _ in range(3):
        g = _gradient(units, X, labels, params, alpha)
        _epoch(trainer, params, state, X, labels, 0, lr, alpha, weight_decay=wd)
        vel = mu * vel - lr * g
        ref = ref * decay + (mu * vel - lr * g if nesterov else vel)
        np.testing.assert_allclose(params, ref, rtol=1e-12, atol=1e-14)


def test_weight_decay_shrinks_weights():
    X, y = _clf_data()
    kw = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0, learning_rate_init=0.01)
    plain = _fit(MLPClassifier(**kw), X, y)
    decayed = _fit(MLPClassifier(weight_decay=5.0, **kw), X, y)
    norm = lambda est: sum(np.sum(c * c) for c in est.coefs_)  # noqa: E731
    assert norm(decayed) < 0.5 * norm(plain)


@pytest.mark.parametrize("max_norm", [0.05, 1e6])
def test_clipping_matches_torch(max_norm):
    units, X, labels, p0, n_coefs = _problem(2)
    lr, alpha = 0.1, 0.2
    trainer = _core.Trainer64(units, TANH, 0, X.shape[0])
    n = p0.size
    params = p0.copy()
    state = {"vel": np.zeros(n), "t": np.zeros(1, dtype=np.int64), "mu": 0.0, "nesterov": False}
    g = _gradient(units, X, labels, p0, alpha)
    _epoch(trainer, params, state, X, labels, 0, lr, alpha, max_grad_norm=max_norm)

    def torch_step():
        import torch

        tw = torch.tensor(p0[:n_coefs].copy())
        tb = torch.tensor(p0[n_coefs:].copy())
        gt = _torch_gradient(torch, units, X, labels, p0, alpha)  # the same as g to rounding
        tw.grad = torch.tensor(gt[:n_coefs])
        tb.grad = torch.tensor(gt[n_coefs:])
        torch.nn.utils.clip_grad_norm_([tw, tb], max_norm)
        torch.optim.SGD([tw, tb], lr=lr).step()
        return {"params": np.concatenate([tw.numpy(), tb.numpy()])}

    torch_params = torch_reference(
        f"test_regularisation::clipping[max_norm={max_norm!r}]", torch_step)["params"]
    np.testing.assert_allclose(params, torch_params, rtol=1e-12, atol=1e-15)
    clipped = np.linalg.norm(g) > max_norm
    assert clipped == (max_norm == 0.05)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_clipping_bound_never_reached_is_bit_identical(solver):
    X, y = _clf_data()
    kw = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=4, random_state=0)
    a = _fit(MLPClassifier(**kw), X, y)
    b = _fit(MLPClassifier(max_grad_norm=1e300, **kw), X, y)
    np.testing.assert_array_equal(_params(a), _params(b))


def test_pickle_keeps_the_new_parameters():
    X, y = _clf_data()
    clf = _fit(MLPClassifier((8,), max_iter=3, random_state=0, dropout=0.2, weight_decay=1e-3,
                             max_grad_norm=1.0), X, y)
    back = pickle.loads(pickle.dumps(clf))
    assert back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_dropout_sparse_input_matches_dense():
    # the first layer reads CSR in place (no GEMM): the same masks, the same model to rounding
    import scipy.sparse as sp

    X, y = _clf_data()
    X[np.abs(X) < 0.8] = 0.0
    kw = dict(hidden_layer_sizes=(12, 6), max_iter=4, random_state=0, dropout=[0.4, 0.2])
    dense = _fit(MLPClassifier(**kw), X, y)
    sparse = _fit(MLPClassifier(**kw), sp.csr_matrix(X), y)
    np.testing.assert_allclose(_params(sparse), _params(dense), rtol=1e-10, atol=1e-13)
