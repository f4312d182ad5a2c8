"""Output maps and losses beyond scikit-learn's (issue 6): sparsemax, binary sparsemax, label
smoothing, absolute error, Huber, quantile and gamma, and class weights.

* every output map, loss and delta of the core (_core.output_loss) against a NumPy reference
  written here from the formulas (and, for sparsemax on ties and extreme logits, against exact
  rational arithmetic), in float32 and float64, on every kernel path (tests/conftest.py);
* the whole network's objective and gradient (Trainer64.loss_and_grad) against central finite
  differences and against an independent NumPy forward/backward pass, for every loss;
* parity with PyTorch's losses where it has one (same weights: same loss, same gradients);
* the estimators: every loss trains with every solver, dtype, sample_weight, partial_fit and
  early stopping; what each loss is for (quantiles, sparse probabilities, robust fits,
  balanced classes, smoothed confidences); refusals in scikit-learn's words, leaving a fitted
  model unchanged; ONNX export.

Tolerances follow tests/test_ops.py: ``|got - ref| <= TOL[dtype] * mag`` with ``mag`` the
rounding scale of the terms that make the result.
"""

import zlib
from fractions import Fraction

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification
from sklearn.metrics import recall_score
from sklearn.utils.class_weight import compute_class_weight

from fastmlp import MLPClassifier, MLPRegressor, _core

from _numpy_reference import unpack
from _torch_reference import torch_reference

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-12}
TANH = 2
SOFTMAX, LOGISTIC, SQUARED, POISSON = 0, 1, 2, 3
SPARSEMAX, SPARSEMAX_BINARY, ABSOLUTE, HUBER, QUANTILE, GAMMA = 4, 5, 6, 7, 8, 9
MULTICLASS = (SOFTMAX, SPARSEMAX)
CLASSIFICATION = (SOFTMAX, LOGISTIC, SPARSEMAX, SPARSEMAX_BINARY)


def rng_for(*key):
    return np.random.default_rng([zlib.crc32(repr(k).encode()) for k in key] + [6])


def assert_bounded(got, ref, mag, dtype, what):
    """|got - ref| <= TOL[dtype] * mag elementwise (NaN/inf in got always fail)."""
    got64 = np.asarray(got).astype(np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got64.shape == ref.shape, f"{what}: shape {got64.shape} != {ref.shape}"
    err = np.abs(got64 - ref)
    bound = TOL[dtype] * np.broadcast_to(np.asarray(mag, np.float64), ref.shape)
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} out of bound; worst err "
        f"{np.max(np.where(bad, err, 0)):.3g}, got {got64[bad][:3]}, ref {ref[bad][:3]}"
    )


# ------------------------------------------------------------------ NumPy references
def ref_sparsemax(z):
    """Martins & Astudillo (2016), algorithm 1: sort, cumulative sums, support size, tau."""
    z = np.asarray(z, np.float64)
    K = z.shape[1]
    zs = -np.sort(-z, axis=1)
    cs = np.cumsum(zs, axis=1)
    ks = np.arange(1, K + 1)
    support = 1 + ks * zs > cs
    k = support.sum(axis=1)
    tau = (cs[np.arange(z.shape[0]), k - 1] - 1) / k
    return np.maximum(z - tau[:, None], 0.0), tau


def ref_sparsemax_loss(z, q):
    """The paper's loss with a target distribution q: -q.z + 1/2 sum_{S} (z_j^2 - tau^2)
    + 1/2 |q|^2 (with q one-hot: -z_y + 1/2 sum_S (z_j^2 - tau^2) + 1/2), and its scale."""
    z, q = np.asarray(z, np.float64), np.asarray(q, np.float64)
    p, tau = ref_sparsemax(z)
    S = p > 0
    loss = -(q * z).sum(1) + 0.5 * np.where(S, z**2 - tau[:, None] ** 2, 0).sum(1) + 0.5 * (
        q**2
    ).sum(1)
    mag = (np.abs(q * z)).sum(1) + np.where(S, z**2 + tau[:, None] ** 2, 0).sum(1) + 1.0
    return loss, mag


def smoothed(kind, y, eps):
    K = y.shape[1]
    if kind in MULTICLASS:
        return (1 - eps) * y + eps / K
    if kind in (LOGISTIC, SPARSEMAX_BINARY):
        return y * (1 - eps) + eps / 2
    return y


def xlogy(x, y):
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def ref_output(kind, z, y, eps=0.0, delta=1.0, q=0.5, dtype=np.float64):
    """(p, delta, row_loss, loss scale) of one output kind, from the formulas, in float64."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    t = smoothed(kind, y, eps)
    peps = float(np.finfo(dtype).eps)
    if kind == SOFTMAX:
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        pc = np.clip(p, peps, 1 - peps)
        return p, p - t, -xlogy(t, pc).sum(1), (t * (np.abs(np.log(pc)) + 1)).sum(1)
    if kind == LOGISTIC:
        p = 1 / (1 + np.exp(-z))
        pc = np.clip(p, peps, 1 - peps)
        loss = -(xlogy(t, pc) + xlogy(1 - t, 1 - pc)).sum(1)
        mag = (t * (np.abs(np.log(pc)) + 1)
               + (1 - t) * (np.abs(np.log1p(-pc)) + 1 + pc / (1 - pc))).sum(1)
        return p, p - t, loss, mag
    if kind == SPARSEMAX:
        p, _ = ref_sparsemax(z)
        loss, mag = ref_sparsemax_loss(z, t)
        return p, p - t, loss, mag
    if kind == SPARSEMAX_BINARY:
        # each column: the multiclass sparsemax of the pair (0, z_k) with target (1 - t, t)
        p, loss, mag = np.empty_like(z), np.zeros(z.shape[0]), np.zeros(z.shape[0])
        for k in range(z.shape[1]):
            pair = np.column_stack([np.zeros(z.shape[0]), z[:, k]])
            pp, _ = ref_sparsemax(pair)
            lk, mk = ref_sparsemax_loss(pair, np.column_stack([1 - t[:, k], t[:, k]]))
            p[:, k], loss, mag = pp[:, 1], loss + lk, mag + mk
        return p, p - t, loss, mag
    r = z - y
    scale = (np.abs(z) + np.abs(y)).sum(1)
    if kind == SQUARED:
        return z, r, 0.5 * (r**2).sum(1), 0.5 * ((np.abs(z) + np.abs(y)) ** 2).sum(1)
    if kind == ABSOLUTE:
        return z, np.sign(r), np.abs(r).sum(1), scale
    if kind == HUBER:
        a = np.abs(r)
        loss = np.where(a <= delta, 0.5 * r**2, delta * (a - delta / 2)).sum(1)
        mag = (0.5 * (np.abs(z) + np.abs(y) + delta) ** 2).sum(1)
        return z, np.clip(r, -delta, delta), loss, mag
    if kind == QUANTILE:
        u = y - z
        loss = np.maximum(q * u, (q - 1) * u).sum(1)
        return z, np.where(z > y, 1 - q, np.where(z < y, -q, 0.0)), loss, scale
    if kind == GAMMA:
        p = np.exp(z)
        loss = (np.log(p / y) + y / p - 1).sum(1)
        mag = (np.abs(z) + np.abs(np.log(y)) + y / p + 1).sum(1)
        return p, 1 - y / p, loss, mag
    raise AssertionError(kind)


def draw_targets(kind, rng, N, K):
    if kind in MULTICLASS:
        return np.eye(K)[rng.integers(0, K, N)]
    if kind in (LOGISTIC, SPARSEMAX_BINARY):
        return (rng.random((N, K)) < 0.5).astype(np.float64)
    if kind == GAMMA:
        return rng.gamma(2.0, 1.0, (N, K)) + 0.05
    return rng.standard_normal((N, K))


# (kind, loss keyword arguments) of every new output/loss pair
LOSS_CASES = {
    "sparsemax": (SPARSEMAX, {}),
    "sparsemax-ls0.1": (SPARSEMAX, {"label_smoothing": 0.1}),
    "sparsemax_binary": (SPARSEMAX_BINARY, {}),
    "sparsemax_binary-ls0.2": (SPARSEMAX_BINARY, {"label_smoothing": 0.2}),
    "softmax-ls0.1": (SOFTMAX, {"label_smoothing": 0.1}),
    "logistic-ls0.1": (LOGISTIC, {"label_smoothing": 0.1}),
    "absolute_error": (ABSOLUTE, {}),
    "huber": (HUBER, {}),
    "huber-delta0.3": (HUBER, {"huber_delta": 0.3}),
    "quantile-0.9": (QUANTILE, {"quantile": 0.9}),
    "quantile-0.2": (QUANTILE, {"quantile": 0.2}),
    "gamma": (GAMMA, {}),
}


def ref_kwargs(kw):
    return {"eps": kw.get("label_smoothing", 0.0), "delta": kw.get("huber_delta", 1.0),
            "q": kw.get("quantile", 0.5)}


# ------------------------------------------------------------------ output_loss vs NumPy
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,K", [(1, 1), (1, 2), (1, 3), (7, 1), (7, 2), (7, 3), (33, 10)])
@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_output_loss_matches_numpy(case, N, K, dtype):
    kind, kw = LOSS_CASES[case]
    rng = rng_for("ol", case, N, K, dtype)
    z = (2.0 * rng.standard_normal((N, K))).astype(dtype)
    y = draw_targets(kind, rng, N, K).astype(dtype)
    sw = rng.uniform(0.0, 3.0, N).astype(dtype) if N > 1 else None
    p, delta, row_loss = _core.output_loss(kind, z, y, sw, 1, **kw)
    assert p.dtype == delta.dtype == dtype and row_loss.dtype == np.float64
    p_ref, d_ref, loss_ref, loss_mag = ref_output(kind, z, y, dtype=dtype, **ref_kwargs(kw))
    z64 = np.abs(z.astype(np.float64))
    if kind == SPARSEMAX:
        # p = z - max z - tau: the rounding scale of that difference
        p_mag = 1 + z64 + z64.max(1, keepdims=True)
    elif kind in (ABSOLUTE, QUANTILE):
        p_mag = z64
    else:
        p_mag = np.abs(p_ref) + (kind == SPARSEMAX_BINARY) * (1 + z64)
    assert_bounded(p, p_ref, p_mag, dtype, "p")
    w = np.ones(N) if sw is None else sw.astype(np.float64)
    if kind in (ABSOLUTE, QUANTILE):
        # exact: the subgradient's value in dtype, times the weight in dtype
        w_t = np.ones((N, 1), dtype) if sw is None else sw[:, None]
        np.testing.assert_array_equal(delta, d_ref.astype(dtype) * w_t)
    else:
        d_mag = (p_mag + np.abs(y.astype(np.float64)) + 1) * w[:, None]
        if kind == GAMMA:
            d_mag = (1 + np.abs(d_ref)) * (1 + z64) * w[:, None]
        assert_bounded(delta, d_ref * w[:, None], d_mag, dtype, "delta")
    if kind == GAMMA:
        loss_mag = loss_mag * (1 + z64.sum(1))  # z's rounding error, amplified by y/p
    elif kind in (SOFTMAX, SPARSEMAX):
        loss_mag = loss_mag * (1 + 2 * z64.max(1))  # the scores' and max' rounding
    elif kind in (LOGISTIC, SPARSEMAX_BINARY):
        loss_mag = loss_mag * (1 + z64.sum(1))
    assert_bounded(row_loss, loss_ref, loss_mag, dtype, "row_loss")
    if kind in (SPARSEMAX, SOFTMAX):
        assert_bounded(p.sum(1), np.ones(N), np.full(N, 2.0 * K), dtype, "sum p")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparsemax_hand_computed_rows(dtype):
    # tau and p worked out by hand from the definition (p = max(z - tau, 0), sum p = 1)
    z = np.array([[1.0, 0.5, -2.0], [2.0, 2.0, 2.0], [1.0, 1.0, 0.0], [5.0, 1.0, -3.0],
                  [0.25, 0.0, 0.0]], dtype)
    y = np.eye(3, dtype=dtype)[[0, 1, 2, 1, 0]]
    p, delta, loss = _core.output_loss(SPARSEMAX, z, y, None, 1)
    expected_p = np.array([[0.75, 0.25, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0], [1, 0, 0],
                           [0.5, 0.25, 0.25]])
    assert_bounded(p, expected_p, np.ones_like(expected_p), dtype, "p")
    assert np.all(p[expected_p == 0] == 0)  # exact zeros
    np.testing.assert_allclose(delta, expected_p - y, rtol=0, atol=TOL[dtype])
    # -z_y + 1/2 sum_S (z_j^2 - tau^2) + 1/2; tau = 0.25, 5/3, 0.5, 4, -0.25
    expected_loss = [
        -1 + 0.5 * (1 + 0.25 - 2 * 0.0625) + 0.5,
        -2 + 0.5 * 3 * (4 - 25 / 9) + 0.5,
        -0 + 0.5 * (2 - 2 * 0.25) + 0.5,  # y = class 2, outside the support
        -1 + 0.5 * (25 - 16) + 0.5,
        -0.25 + 0.5 * (0.0625 - 3 * 0.0625) + 0.5,
    ]
    assert_bounded(loss, expected_loss, np.full(5, 10.0), dtype, "loss")


def exact_sparsemax_loss(z_row, label, eps):
    """Sparsemax p and loss of one row in exact rational arithmetic (Fractions)."""
    z = [Fraction(float(v)) for v in z_row]
    K = len(z)
    q = [(1 - Fraction(eps)) * (k == label) + Fraction(eps) / K for k in range(K)]
    zs = sorted(z, reverse=True)
    cum, k_z, s_z = Fraction(0), 0, Fraction(0)
    for k, v in enumerate(zs, start=1):
        cum += v
        if 1 + k * v > cum:
            k_z, s_z = k, cum
    tau = (s_z - 1) / k_z
    p = [max(v - tau, Fraction(0)) for v in z]
    loss = -sum(qk * v for qk, v in zip(q, z)) + Fraction(1, 2) * sum(
        v * v - tau * tau for v in z if v > tau) + Fraction(1, 2) * sum(qk * qk for qk in q)
    return [float(v) for v in p], float(loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_sparsemax_ties_and_extreme_logits_match_exact_arithmetic(dtype, eps):
    big = 1e4 if dtype == np.float32 else 1e12
    z = np.array([
        [big, 0.0, -big],
        [big, big, big],
        [-big, -big, -big],
        [big, big - 1.0, -big],
        [-big, -big + 0.5, big],
        [big + 0.5, big, big - 0.5],
        [3.0, 3.0, 1.0],
        [0.0, 0.0, 0.0],
        [7.0, 7.0, 7.0 - 2.0],
    ], dtype)
    labels = np.array([0, 1, 2, 1, 0, 2, 2, 1, 2])
    y = np.eye(3, dtype=dtype)[labels]
    p, delta, loss = _core.output_loss(SPARSEMAX, z, y, None, 1, label_smoothing=eps)
    for a in (p, delta, loss):
        assert np.all(np.isfinite(a))
    for i in range(z.shape[0]):
        p_ex, loss_ex = exact_sparsemax_loss(z[i], labels[i], eps)
        # the core works on z - max z in double: exact here, since every z is a float32 value
        # and their differences are exact in double
        np.testing.assert_allclose(p[i], p_ex, rtol=0, atol=TOL[dtype])
        assert loss[i] == pytest.approx(loss_ex, rel=1e-12, abs=1e-12), i
        assert np.all(p[i][np.array(p_ex) == 0] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparsemax_binary_columns_and_extremes(dtype):
    z = np.array([[-5.0, -1.0, -0.5, 0.0, 0.5, 1.0, 5.0]], dtype)
    p, _, _ = _core.output_loss(SPARSEMAX_BINARY, z, np.zeros_like(z), None, 1)
    np.testing.assert_array_equal(p, np.array([[0, 0, 0.25, 0.5, 0.75, 1, 1]], dtype))
    big = np.array([[1e4, -1e4]], dtype)
    y = np.array([[0.0, 1.0]], dtype)
    _, delta, loss = _core.output_loss(SPARSEMAX_BINARY, big, y, None, 1)
    # both columns sure and wrong: the loss is |z| per column (the 2-class hinge-like tail)
    assert loss[0] == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_array_equal(delta, [[1, -1]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gamma_extreme_scores_stay_finite(dtype):
    # log(p / y) + y / p - 1 is computed from z as z - log y + y e^-z - 1
    z = np.array([[80.0, -30.0]], dtype)
    y = np.array([[1.0, 2.0]], dtype)
    _, delta, loss = _core.output_loss(GAMMA, z, y, None, 1)
    expected = 80.0 + np.exp(-80.0) - 1 + (-30.0 - np.log(2.0) + 2.0 * np.exp(30.0) - 1)
    assert loss[0] == pytest.approx(expected, rel=TOL[dtype])
    assert np.isfinite(delta).all()


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_output_map_of_forward_is_the_loss_map(case):
    """_core.forward's output map (prediction) is bit for bit the map the loss trains."""
    kind, kw = LOSS_CASES[case]
    rng = rng_for("fwd", case)
    for dtype in DTYPES:
        W = rng.standard_normal((4, 3)).astype(dtype)
        b = rng.standard_normal(3).astype(dtype)
        X = (2 * rng.standard_normal((9, 4))).astype(dtype)
        params = np.concatenate([W.ravel(), b]).astype(dtype)
        z = _core.forward([4, 3], TANH, SQUARED, params, X, 1)  # identity output: the scores
        out = _core.forward([4, 3], TANH, kind, params, X, 1)
        y = draw_targets(kind, rng, 9, 3).astype(dtype)
        p, _, _ = _core.output_loss(kind, z, y, None, 1, **kw)
        np.testing.assert_array_equal(out, p)


def test_loss_parameters_are_checked():
    z = np.zeros((2, 2))
    for kw, msg in [({"label_smoothing": 1.0}, "label_smoothing"),
                    ({"label_smoothing": -0.1}, "label_smoothing"),
                    ({"huber_delta": 0.0}, "huber_delta"),
                    ({"huber_delta": np.inf}, "huber_delta"),
                    ({"quantile": 0.0}, "quantile"), ({"quantile": 1.0}, "quantile")]:
        with pytest.raises(ValueError, match=msg):
            _core.output_loss(HUBER, z, z, None, 1, **kw)
        with pytest.raises(ValueError, match=msg):
            _core.Trainer64([2, 2], TANH, HUBER, 2, **kw)
    with pytest.raises(ValueError, match="unknown output code"):
        _core.output_loss(10, z, z, None, 1)


# ------------------------------------------------------- the whole objective, float64
UNITS = [4, 5]  # n_features, one hidden layer (tanh); K is appended
N_ROWS = 9
ALPHA = 0.2
MARGIN = 1e-2  # no loss kink is closer than this to a row's scores


def loss_kink_distance(kind, kw, z, y):
    """How far the scores z are from the loss' nearest kink (inf for smooth losses)."""
    if kind == ABSOLUTE:
        return np.abs(z - y).min()
    if kind == QUANTILE:
        return np.abs(z - y).min()
    if kind == HUBER:
        return np.abs(np.abs(z - y) - kw.get("huber_delta", 1.0)).min()
    if kind == SPARSEMAX_BINARY:
        return min(np.abs(z - 1).min(), np.abs(z + 1).min())
    if kind == SPARSEMAX:
        _, tau = ref_sparsemax(z)
        return np.abs(z - tau[:, None]).min()  # entering or leaving the support
    return np.inf


def np_objective(params, units, kind, kw, X, Y, sw, alpha):
    """Objective and gradient, tanh hidden layers, written from scratch with ref_output."""
    coefs, intercepts = unpack(params, units)
    acts = [X]
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        acts.append(np.tanh(acts[-1] @ W + b))
    z = acts[-1] @ coefs[-1] + intercepts[-1]
    _, d, row_loss, _ = ref_output(kind, z, Y, **ref_kwargs(kw))
    w = np.ones(X.shape[0]) if sw is None else sw
    ws = w.sum()
    loss = (w * row_loss).sum() / ws + 0.5 * alpha * sum((W**2).sum() for W in coefs) / ws
    delta = d * w[:, None]
    gW, gb = [None] * len(coefs), [None] * len(coefs)
    for layer in range(len(coefs) - 1, -1, -1):
        gW[layer] = (acts[layer].T @ delta + alpha * coefs[layer]) / ws
        gb[layer] = delta.sum(0) / ws
        if layer:
            delta = (delta @ coefs[layer].T) * (1 - acts[layer] ** 2)
    return loss, np.concatenate([g.ravel() for g in gW + gb]), z


def make_problem(case, K, weighted):
    """A problem whose scores keep MARGIN away from every kink of the loss (asserted)."""
    kind, kw = LOSS_CASES[case]
    units = UNITS + [K]
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    for attempt in range(200):
        rng = rng_for("prob", case, K, weighted, attempt)
        X = rng.standard_normal((N_ROWS, units[0]))
        params = rng.standard_normal(n_params)
        Y = draw_targets(kind, rng, N_ROWS, K)
        if kind in MULTICLASS:
            Y = np.eye(K)[np.arange(N_ROWS) % K]
        sw = rng.uniform(0.2, 3.0, N_ROWS) if weighted else None
        _, _, z = np_objective(params, units, kind, kw, X, Y, sw, ALPHA)
        if loss_kink_distance(kind, kw, z, Y) >= MARGIN:
            if kind == SPARSEMAX and not (0 < (ref_sparsemax(z)[0] == 0).sum() < z.size):
                continue  # both zero and non-zero probabilities
            if kind == SPARSEMAX_BINARY and not ((np.abs(z) < 1).any() and (np.abs(z) > 1).any()):
                continue  # both the clipped and the linear part
            if kind == HUBER and not (
                (np.abs(z - Y) < kw.get("huber_delta", 1.0)).any()
                and (np.abs(z - Y) > kw.get("huber_delta", 1.0)).any()):
                continue  # both the quadratic and the linear part
            return units, params, X, Y, sw
    raise AssertionError("no problem away from the loss' kinks was found")


GRAD_CASES = [
    pytest.param(c, K, w, id=f"{c}-K{K}-{'sw' if w else 'nosw'}")
    for c in LOSS_CASES
    for K in ((1, 3) if LOSS_CASES[c][0] in (SPARSEMAX_BINARY, LOGISTIC) else
              (3,) if LOSS_CASES[c][0] in MULTICLASS else (2,))
    for w in (False, True)
]


@pytest.mark.parametrize("case,K,weighted", GRAD_CASES)
def test_objective_gradient_matches_finite_differences_and_numpy(case, K, weighted):
    kind, kw = LOSS_CASES[case]
    units, params, X, Y, sw = make_problem(case, K, weighted)
    trainer = _core.Trainer64(units, TANH, kind, N_ROWS, **kw)
    grad = np.full(params.size, np.nan)
    loss = trainer.loss_and_grad(grad, params, X, Y, sw, ALPHA, 1)
    scratch = np.empty_like(params)

    def f(x):
        return trainer.loss_and_grad(scratch, x, X, Y, sw, ALPHA, 1)

    h = 1e-6
    fd = np.array([(f(params + h * e) - f(params - h * e)) / (2 * h) for e in np.eye(params.size)])
    # central differences: truncation ~h^2, rounding ~eps*|loss|/h = 1e-10
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    assert np.abs(grad).max() > 1e-3
    loss_ref, grad_ref, _ = np_objective(params, units, kind, kw, X, Y, sw, ALPHA)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("kind", [SOFTMAX, SPARSEMAX])
def test_class_indices_give_the_same_bits_as_one_hot_targets(kind, eps, dtype):
    rng = rng_for("labels", kind, eps, dtype)
    units, K, n = [5, 4, 3], 3, 17
    X = rng.standard_normal((n, 5)).astype(dtype)
    labels = rng.integers(0, K, n).astype(np.int32)
    onehot = np.eye(K, dtype=dtype)[labels]
    sw = rng.random(n).astype(dtype)
    Trainer = _core.Trainer32 if dtype == np.float32 else _core.Trainer64
    trainer = Trainer(units, TANH, kind, 8, label_smoothing=eps)
    params = rng.uniform(-1, 1, trainer.n_params).astype(dtype)
    g1, g2 = np.empty_like(params), np.empty_like(params)
    assert trainer.loss_and_grad(g1, params, X, onehot, sw, 0.1, 1) == trainer.loss_and_grad(
        g2, params, X, labels, sw, 0.1, 1)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_sample_weight_equals_repeated_rows(case):
    kind, kw = LOSS_CASES[case]
    K = 3 if kind in MULTICLASS else 2
    units, params, X, Y, _ = make_problem(case, K, False)
    sw = np.array([1, 2, 0, 3, 1, 1, 2, 1, 1], np.float64)
    trainer = _core.Trainer64(units, TANH, kind, 32, **kw)
    g_w, g_r = np.empty_like(params), np.empty_like(params)
    loss_w = trainer.loss_and_grad(g_w, params, X, Y, sw, ALPHA, 1)
    rep = np.repeat(np.arange(N_ROWS), sw.astype(int))
    loss_r = trainer.loss_and_grad(g_r, params, np.ascontiguousarray(X[rep]),
                                   np.ascontiguousarray(Y[rep]), None, ALPHA, 1)
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-11, atol=1e-13)


def test_thread_count_gives_same_bits():
    """The output losses share rows on a fixed grid: 1 and 2 threads give the same bits (the
    problem is large enough for the training step to wake a team)."""
    rng = rng_for("threads")
    X = rng.standard_normal((512, 64))
    for case, (kind, kw) in LOSS_CASES.items():
        units = [64, 128, 3 if kind in MULTICLASS else 2]  # 3·512·(64·128 + 128·K) > 2^23 MACs
        Y = draw_targets(kind, rng, 512, units[-1])
        sw = rng.uniform(0.2, 2.0, 512)
        trainer = _core.Trainer64(units, TANH, kind, 512, **kw)
        params = rng.uniform(-0.2, 0.2, trainer.n_params)
        results = []
        for n_threads in (1, 2):
            grad = np.empty_like(params)
            results.append((trainer.loss_and_grad(grad, params, X, Y, sw, 0.1, n_threads), grad))
        assert results[0][0] == results[1][0], case
        np.testing.assert_array_equal(results[0][1], results[1][1], err_msg=case)


# ----------------------------------------------------------------- PyTorch parity
TORCH_CASES = {
    # name: (kind, fastmlp kwargs, K, per-row torch loss of (torch, z, y) -> (N,)); torch is
    # passed in so that it is imported only where PyTorch's result is computed
    "CrossEntropyLoss(label_smoothing=0.15)": (
        SOFTMAX, {"label_smoothing": 0.15}, 4,
        lambda torch, z, y: torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=0.15)(
            z, y.argmax(1))),
    "BCEWithLogitsLoss": (
        LOGISTIC, {}, 3,
        lambda torch, z, y: torch.nn.BCEWithLogitsLoss(reduction="none")(z, y).sum(1)),
    "BCEWithLogitsLoss(keras smoothing 0.2)": (
        LOGISTIC, {"label_smoothing": 0.2}, 3,
        lambda torch, z, y: torch.nn.BCEWithLogitsLoss(reduction="none")(z, y * 0.8 + 0.1).sum(1)),
    "L1Loss": (
        ABSOLUTE, {}, 2, lambda torch, z, y: torch.nn.L1Loss(reduction="none")(z, y).sum(1)),
    "HuberLoss(delta=0.7)": (
        HUBER, {"huber_delta": 0.7}, 2,
        lambda torch, z, y: torch.nn.HuberLoss(reduction="none", delta=0.7)(z, y).sum(1)),
    "MSELoss / 2": (
        SQUARED, {},
        2, lambda torch, z, y: 0.5 * torch.nn.MSELoss(reduction="none")(z, y).sum(1)),
    "PoissonNLLLoss(log_input=True)": (
        POISSON, {}, 2,
        lambda torch, z, y: torch.nn.PoissonNLLLoss(log_input=True, full=False,
                                                    reduction="none")(z, y).sum(1)),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["nosw", "sw"])
@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_pytorch_parity(name, weighted):
    kind, kw, K, torch_rows = TORCH_CASES[name]
    rng = rng_for("torch", name, weighted)
    units, n = [6, 7, 5, K], 40
    X = rng.standard_normal((n, 6))
    if kind == SOFTMAX:
        Y = np.eye(K)[rng.integers(0, K, n)]
    elif kind == LOGISTIC:
        Y = (rng.random((n, K)) < 0.5).astype(np.float64)
    elif kind == POISSON:
        Y = rng.poisson(1.5, (n, K)).astype(np.float64)
    else:
        Y = rng.standard_normal((n, K))
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    trainer = _core.Trainer64(units, TANH, kind, 16, **kw)
    params = rng.uniform(-0.8, 0.8, trainer.n_params)
    grad = np.empty_like(params)
    loss = trainer.loss_and_grad(grad, params, X, Y, sw, 0.0, 1)
    if kind in (ABSOLUTE,):  # away from L1's kink, where torch and fastmlp both take 0
        z = _core.forward(units, TANH, SQUARED, params, X, 1)
        assert np.abs(z - Y).min() > 1e-6

    # the same network in torch, float64, with the same weights
    def torch_loss_and_grad():
        import torch

        tensors, start = [], 0
        for a, b in zip(units[:-1], units[1:]):
            tensors.append(torch.tensor(params[start:start + a * b].reshape(a, b),
                                        requires_grad=True))
            start += a * b
        biases = []
        for b in units[1:]:
            biases.append(torch.tensor(params[start:start + b], requires_grad=True))
            start += b
        h = torch.tensor(X)
        for i, (W, b) in enumerate(zip(tensors, biases)):
            h = h @ W + b
            if i + 1 < len(tensors):
                h = torch.tanh(h)
        w = torch.ones(n, dtype=torch.float64) if sw is None else torch.tensor(sw)
        rows = torch_rows(torch, h, torch.tensor(Y))
        torch_loss = (w * rows).sum() / w.sum()
        torch_loss.backward()
        return {"loss": torch_loss.item(),
                "grad": np.concatenate([t.grad.numpy().ravel() for t in tensors + biases])}

    ref = torch_reference(f"test_losses::pytorch_parity[{name}-weighted={weighted}]",
                          torch_loss_and_grad)
    torch_grad = ref["grad"]
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-9, atol=1e-12)
    constant = 0.0
    if kind == POISSON:
        # torch drops the terms of the half deviance y log y - y, constant in the weights
        wn = np.ones(n) if sw is None else sw
        constant = float((wn * (xlogy(Y, Y) - Y).sum(1)).sum() / wn.sum())
    assert loss == pytest.approx(ref["loss"] + constant, rel=1e-10)


# --------------------------------------------------------------------------- estimators
def _noisy_line(n, seed, positive=False):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 1))
    if positive:
        mu = np.exp(0.5 + 0.8 * X[:, 0])
        return X, rng.gamma(4.0, mu / 4.0), mu
    return X, 2 * X[:, 0] + rng.normal(0, 0.5, n), 2 * X[:, 0]


@pytest.mark.parametrize("q", [0.1, 0.9])
def test_quantile_regressor_straddles_the_right_fraction(q):
    X, y, _ = _noisy_line(2000, 3)
    reg = MLPRegressor(loss="quantile", quantile=q, hidden_layer_sizes=(8,), solver="lbfgs",
                       max_iter=300, random_state=0, alpha=1e-5).fit(X, y)
    below = np.mean(y < reg.predict(X))
    # the pinball loss' minimiser has a fraction q of y below it; with n = 2000 the binomial
    # standard deviation is sqrt(q(1-q)/n) = 0.0067: 0.03 is ~4.5 of them
    assert abs(below - q) < 0.03, below


def test_robust_losses_resist_outliers():
    X, y, clean = _noisy_line(600, 4)
    y = y.copy()
    y[::10] += 30.0  # 10% large outliers, all upwards
    err = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        reg = MLPRegressor(loss=loss, hidden_layer_sizes=(8,), solver="lbfgs", max_iter=300,
                           random_state=0).fit(X, y)
        err[loss] = np.median(np.abs(reg.predict(X) - clean))
    # squared error is pulled up by ~3 (the outliers' mean shift); the robust ones are not
    assert err["squared_error"] > 2.0
    assert err["absolute_error"] < 0.5 and err["huber"] < 0.5, err


def test_gamma_regressor_fits_the_mean():
    X, y, mu = _noisy_line(1500, 5, positive=True)
    reg = MLPRegressor(loss="gamma", hidden_layer_sizes=(8,), solver="lbfgs", max_iter=300,
                       random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    # gamma noise of shape 4 has a relative standard deviation of 1/2: the fitted mean of 1500
    # draws is within ~10% of mu over the range
    assert np.max(np.abs(reg.predict(X) / mu - 1)) < 0.15


def _easy_blobs():
    return make_blobs(400, n_features=4, centers=4, cluster_std=1.0, random_state=0)


def test_sparsemax_gives_exact_zeros_and_comparable_accuracy():
    X, y = _easy_blobs()
    acc = {}
    for loss in ("log_loss", "sparsemax"):
        clf = MLPClassifier((16,), loss=loss, max_iter=300, random_state=0).fit(X, y)
        acc[loss] = clf.score(X, y)
    P = clf.predict_proba(X)
    assert clf.out_activation_ == "sparsemax"
    assert (P == 0).mean() > 0.5  # most classes get exactly 0
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=0, atol=1e-12)
    assert acc["sparsemax"] >= 0.97 and acc["sparsemax"] >= acc["log_loss"] - 0.02, acc
    log_p = clf.predict_log_proba(X)  # no RuntimeWarning: pytest turns them into errors
    assert np.all(np.isneginf(log_p[P == 0]))
    np.testing.assert_array_equal(log_p[P > 0], np.log(P[P > 0]))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(P, axis=1)])


def test_sparsemax_binary_and_multilabel():
    X, y = make_classification(300, 5, random_state=1)
    clf = MLPClassifier((10,), loss="sparsemax", max_iter=300, random_state=0).fit(X, y)
    assert clf.out_activation_ == "sparsemax_binary"
    P = clf.predict_proba(X)
    assert ((P == 0) | (P == 1)).any() and np.all(P.sum(1) == 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(P[:, 1] > 0.5).astype(int)])
    log_loss_model = MLPClassifier((10,), max_iter=300, random_state=0).fit(X, y)
    assert clf.score(X, y) >= log_loss_model.score(X, y) - 0.03
    Y = np.column_stack([y, X[:, 0] > 0])
    ml = MLPClassifier((10,), loss="sparsemax", max_iter=300, random_state=0).fit(X, Y)
    assert ml.predict_proba(X).shape == (300, 2) and (ml.predict_proba(X) == 0).any()
    assert np.all(np.isneginf(ml.predict_log_proba(X)[ml.predict_proba(X) == 0]))


def test_label_smoothing_lowers_confidence_and_is_the_reported_loss():
    X, y = make_blobs(200, n_features=4, centers=4, cluster_std=1.0, random_state=0)
    clfs = {eps: MLPClassifier((8,), solver="lbfgs", label_smoothing=eps, max_iter=150,
                               random_state=0).fit(X, y) for eps in (0.0, 0.2)}
    top = {eps: c.predict_proba(X).max(1).mean() for eps, c in clfs.items()}
    # the smoothed target's top probability is 1 - 0.2 + 0.2/4 = 0.85, which the smoothed
    # model approaches and the unsmoothed one exceeds
    assert top[0.2] < 0.87 < top[0.0], top
    clf = clfs[0.2]
    Y = np.eye(4)[np.searchsorted(clf.classes_, y)]
    # loss_ is the smoothed objective at the solution (relu hidden layer: NumPy forward here)
    h = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    z = h @ clf.coefs_[1] + clf.intercepts_[1]
    _, _, rows, _ = ref_output(SOFTMAX, z, Y, eps=0.2)
    l2 = sum((W**2).sum() for W in clf.coefs_)
    assert clf.loss_ == pytest.approx(rows.mean() + 0.5 * clf.alpha * l2 / len(y), rel=1e-10)


def test_class_weight_balanced_raises_minority_recall():
    X, y = make_classification(600, 5, n_informative=3, weights=[0.9, 0.1], flip_y=0.05,
                               class_sep=0.6, random_state=2)
    recall = {}
    for cw in (None, "balanced"):
        clf = MLPClassifier((10,), class_weight=cw, max_iter=300, random_state=0).fit(X, y)
        recall[cw] = recall_score(y, clf.predict(X), pos_label=1)
    assert recall["balanced"] > recall[None] + 0.1, recall


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("class_weight", ["balanced", {"b": 3.0, "c": 0.5}])
def test_class_weight_is_sample_weight(class_weight, dtype):
    X, y = make_blobs(90, n_features=3, centers=3, random_state=1)
    X = X.astype(dtype)
    y = np.array(["a", "b", "c"])[y][:80]
    X = X[:80]
    sw = np.random.default_rng(0).uniform(0.5, 2, 80)
    classes = np.unique(y)
    weights = compute_class_weight(class_weight, classes=classes, y=y,
                                   sample_weight=sw)[np.searchsorted(classes, y)]
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    a = MLPClassifier(class_weight=class_weight, **params).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**params).fit(X, y, sample_weight=weights * sw)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)
    assert a.loss_curve_ == b.loss_curve_


def test_class_weight_refusals_leave_the_model_unchanged():
    X, y = make_blobs(60, n_features=3, centers=3, random_state=1)
    clf = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    before = [a.copy() for a in clf.coefs_ + clf.intercepts_]

    def unchanged():
        for u, v in zip(clf.coefs_ + clf.intercepts_, before):
            np.testing.assert_array_equal(u, v)

    # scikit-learn's compute_class_weight: labels it does not know, while classes lack weights
    clf.set_params(class_weight={0: 1.0, 5: 2.0})
    with pytest.raises(ValueError, match=r"The classes, \[1, 2\], are not in class_weight"):
        clf.fit(X, y)
    unchanged()
    clf.set_params(class_weight="balanced")
    assert not hasattr(clf, "partial_fit")  # as under solver="lbfgs", for meta-estimators
    with pytest.raises(AttributeError) as info:
        clf.partial_fit(X, y)
    # scikit-learn's available_if raises "has no attribute", from SGDClassifier's explanation
    assert ("class_weight 'balanced' is not supported for partial_fit. In order to use "
            "'balanced' weights") in str(info.value.__cause__)
    unchanged()
    clf.set_params(class_weight="other")
    with pytest.raises(ValueError, match="The 'class_weight' parameter of MLPClassifier"):
        clf.fit(X, y)
    unchanged()
    # 'balanced' with sample weights leaving a class without weight: said, no division by 0
    clf.set_params(class_weight="balanced")
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] have a total sample weight of 0"):
        clf.fit(X, y, sample_weight=(y != 1).astype(float))
    unchanged()
    Y = (X[:, :2] > 0).astype(int)
    with pytest.raises(ValueError, match="class_weight is not supported for multilabel"):
        MLPClassifier((5,), class_weight={0: 2.0}, max_iter=5).fit(X, Y)
    # a dict works with partial_fit
    clf.set_params(class_weight={0: 2.0})
    clf.partial_fit(X, y)
    assert not np.array_equal(clf.coefs_[0], before[0])


@pytest.mark.parametrize("est,param,value,words", [
    (MLPClassifier, "loss", "hinge", "The 'loss' parameter of MLPClassifier must be a str among"),
    (MLPClassifier, "label_smoothing", 1.0, "The 'label_smoothing' parameter of MLPClassifier "
                                            "must be a float in the range [0.0, 1.0)"),
    (MLPClassifier, "label_smoothing", -0.1, "'label_smoothing' parameter"),
    (MLPRegressor, "loss", "log_loss", "The 'loss' parameter of MLPRegressor must be a str among"),
    (MLPRegressor, "huber_delta", 0.0, "The 'huber_delta' parameter of MLPRegressor must be a "
                                       "float in the range (0.0, inf)"),
    (MLPRegressor, "quantile", 1.0, "The 'quantile' parameter of MLPRegressor must be a float "
                                    "in the range (0.0, 1.0)"),
    (MLPRegressor, "quantile", 0.0, "'quantile' parameter"),
])
def test_bad_values_are_refused_and_the_model_unchanged(est, param, value, words):
    X, y = make_blobs(40, n_features=3, centers=3, random_state=1)
    model = est(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    before = [a.copy() for a in model.coefs_ + model.intercepts_]
    model.set_params(**{param: value})
    for call in (model.fit, model.partial_fit):
        with pytest.raises(ValueError) as info:
            call(X, y)
        assert words in str(info.value)
        for u, v in zip(model.coefs_ + model.intercepts_, before):
            np.testing.assert_array_equal(u, v)


def test_gamma_refuses_non_positive_targets():
    X = np.random.default_rng(0).standard_normal((20, 2))
    reg = MLPRegressor(loss="gamma", hidden_layer_sizes=(3,), max_iter=3).fit(X, np.ones(20))
    before = reg.coefs_[0].copy()
    with pytest.raises(ValueError, match="not allowed for Gamma regression"):
        reg.fit(X, np.r_[np.ones(19), 0.0])
    np.testing.assert_array_equal(reg.coefs_[0], before)


def test_warm_start_cannot_switch_the_output_map():
    X, y = make_blobs(40, n_features=3, centers=3, random_state=1)
    clf = MLPClassifier((4,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    before = clf.coefs_[0].copy()
    clf.set_params(loss="sparsemax")
    with pytest.raises(ValueError, match="output activation 'softmax'.*'sparsemax'"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], before)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, warm_start=True).fit(X, y + 1.0)
    reg.set_params(loss="huber")  # the same identity output: training goes on with huber
    reg.fit(X, y + 1.0)
    reg.set_params(loss="gamma")
    with pytest.raises(ValueError, match="'identity', but loss='gamma' needs 'exp'"):
        reg.fit(X, y + 1.0)


def test_parameters_of_other_losses_change_nothing():
    """A loss' parameters reach only that loss: the defaults' results stay as they were."""
    X, y = make_blobs(60, n_features=3, centers=3, random_state=1)
    pairs = [
        (MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0),
         MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0, huber_delta=0.2,
                      quantile=0.9)),
        (MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5,
                      random_state=0),
         MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5,
                      random_state=0, huber_delta=3.0, quantile=0.1)),
        (MLPClassifier((5,), max_iter=5, random_state=0),
         MLPClassifier((5,), max_iter=5, random_state=0, class_weight={})),
    ]
    for a, b in pairs:
        target = y + 1.0 if isinstance(a, MLPRegressor) else y
        a.fit(X, target)
        b.fit(X, target)
        for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_array_equal(u, v)


# every loss through every solver, dtype, sample_weight, partial_fit and early stopping
ESTIMATOR_LOSSES = [
    ("clf", dict(loss="sparsemax")),
    ("clf", dict(loss="sparsemax", label_smoothing=0.1, class_weight="balanced")),
    ("clf-binary", dict(loss="sparsemax", class_weight={0: 2.0})),
    ("clf-multilabel", dict(loss="sparsemax", label_smoothing=0.2)),
    ("clf", dict(label_smoothing=0.1)),
    ("reg", dict(loss="absolute_error")),
    ("reg", dict(loss="huber", huber_delta=0.5)),
    ("reg", dict(loss="quantile", quantile=0.8)),
    ("reg-positive", dict(loss="gamma")),
]


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("target,params", ESTIMATOR_LOSSES,
                         ids=[f"{t}-{'-'.join(f'{k}={v}' for k, v in p.items())}"
                              for t, p in ESTIMATOR_LOSSES])
def test_every_loss_trains_everywhere(target, params, solver):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((80, 4))
    if target == "clf":
        y = np.argmax(X[:, :3], 1)
    elif target == "clf-binary":
        y = (X[:, 0] > 0.3).astype(int)
    elif target == "clf-multilabel":
        y = (X[:, :2] > 0).astype(int)
    elif target == "reg":
        y = X[:, 0] - 2 * X[:, 1]
    else:
        y = np.exp(0.5 * X[:, 0])
    Est = MLPClassifier if target.startswith("clf") else MLPRegressor
    sw = rng.uniform(0.5, 2.0, 80)
    for dtype in DTYPES:
        est = Est(hidden_layer_sizes=(6,), solver=solver, max_iter=8, random_state=0, **params)
        est.fit(X.astype(dtype), y, sample_weight=sw)
        assert est.coefs_[0].dtype == dtype
        assert np.isfinite(est.loss_) and np.all(np.isfinite(est.predict(X.astype(dtype))))
        if solver == "lbfgs":
            continue
        assert len(est.loss_curve_) == est.n_iter_
        if params.get("class_weight") != "balanced":
            n_epochs = len(est.loss_curve_)
            est.partial_fit(X.astype(dtype), y, sample_weight=sw)
            assert len(est.loss_curve_) == n_epochs + 1 and np.isfinite(est.loss_)
        es = Est(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0,
                 early_stopping=True, validation_fraction=0.25, n_iter_no_change=50, **params)
        es.fit(X.astype(dtype), y, sample_weight=sw)
        assert len(es.validation_scores_) == len(es.validation_loss_curve_) == es.n_iter_
        assert np.all(np.isfinite(es.validation_loss_curve_))


# ---------------------------------------------------------------------------- ONNX
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel", "huber", "gamma"])
def test_onnx_export_of_the_new_outputs(target):
    ort = pytest.importorskip("onnxruntime")
    from fastmlp import to_onnx

    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        X = rng.standard_normal((120, 5)).astype(dtype)
        if target in ("huber", "gamma"):
            model = MLPRegressor(loss=target, hidden_layer_sizes=(7,), max_iter=20,
                                 random_state=0).fit(X, np.exp(X[:, 0]))
        else:
            y = {"multiclass": np.argmax(X[:, :4], 1), "binary": (X[:, 0] > 0).astype(int),
                 "multilabel": (X[:, :3] > 0.2).astype(int)}[target]
            model = MLPClassifier((7,), loss="sparsemax", max_iter=40, random_state=0).fit(X, y)
        onnx_model = to_onnx(model, target_opset=13)
        session = ort.InferenceSession(onnx_model.SerializeToString())
        outputs = session.run(None, {"X": X})
        atol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
        if target in ("huber", "gamma"):
            np.testing.assert_allclose(outputs[0][:, 0], model.predict(X), rtol=atol, atol=atol)
            continue
        label, proba = outputs
        np.testing.assert_array_equal(label, model.predict(X))
        np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=atol)
        assert (proba == 0).any()  # exact zeros survive the export
