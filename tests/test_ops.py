"""Each op of fastmlp._core against a plain NumPy reference, in float32 and float64.

Every reference below is written with NumPy only (never with fastmlp) and computed in
float64 from the exact values the kernel received (float32 inputs are up-cast exactly).

Tolerances
----------
A result is accepted when ``|got - ref| <= TOL[dtype] * mag`` elementwise, where ``mag`` is
the natural rounding-error scale of that result: the sum of the absolute values of the terms
that make it (``|A| @ |B| + |b|`` for a product, ``|p| + |y|`` for a difference, ...), times
the condition number where one is involved. This is the standard forward-error bound of
floating-point summation (error <= n * u * sum |terms|), so cancellation in a result never
forces a looser ``rtol``. TOL is 1e-5 for float32 (u = 6e-8: leaves room for the
sqrt(n)-sized rounding of a 257-term sum and a few ulps of exp/log/tanh) and 1e-12 for float64
(u = 1.1e-16: 257-term sums are ~1e-14). No tolerance is ever widened per test.
"""

import itertools
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import _core

SIZES = [1, 2, 7, 64, 257]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-12}

IDENTITY, LOGISTIC, TANH, RELU = 0, 1, 2, 3
ACTIVATIONS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU}
SOFTMAX, SIGMOID_BCE, SQUARED, POISSON = 0, 1, 2, 3
OUTPUTS = {"softmax": SOFTMAX, "logistic": SIGMOID_BCE, "identity": SQUARED, "exp": POISSON}


# --------------------------------------------------------------------------- helpers
def rng_for(*key):
    """A generator seeded from the test's parameters, so every case is reproducible."""
    return np.random.default_rng([zlib.crc32(repr(k).encode()) for k in key] + [20240611])


def assert_bounded(got, ref, mag, dtype, what):
    """|got - ref| <= TOL[dtype] * mag elementwise (NaN/inf in got always fail)."""
    got = np.asarray(got)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    got64 = got.astype(np.float64)
    err = np.abs(got64 - ref)
    bound = TOL[dtype] * np.broadcast_to(np.asarray(mag, dtype=np.float64), ref.shape)
    bad = ~(err <= bound)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err - bound, -np.inf)), ref.shape)
        raise AssertionError(
            f"{what}: {bad.sum()} of {bad.size} elements out of bound; worst at {i}: "
            f"got {got64[i]!r}, ref {ref[i]!r}, err {err[i]:.3g} > bound {bound[i]:.3g}"
        )


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def normal(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def csr_tuple(m, dtype):
    """The CSR parts in the core's format (int64 indices and indptr)."""
    m = sp.csr_matrix(m)
    return (
        np.ascontiguousarray(m.data, dtype=dtype),
        np.ascontiguousarray(m.indices, dtype=np.int64),
        np.ascontiguousarray(m.indptr, dtype=np.int64),
        m.shape[0],
        m.shape[1],
    )


def random_sparse(rng, n_rows, n_cols, dtype, density=0.3):
    """A duplicate-free random CSR matrix (as a dense float64 array of its exact values and
    the CSR tuple). Some rows are empty: at least one whenever n_rows >= 2."""
    dense = rng.standard_normal((n_rows, n_cols)).astype(dtype).astype(np.float64)
    mask = rng.random((n_rows, n_cols)) < density
    if n_rows >= 2:
        mask[rng.random(n_rows) < 0.25] = False
        mask[n_rows // 2] = False
    dense = np.where(mask, dense, 0.0)
    csr = csr_tuple(dense, dtype)
    assert np.all(np.diff(csr[2]) <= n_cols)
    if n_rows >= 2:
        assert (np.diff(csr[2]) == 0).any()
    return dense, csr


# ------------------------------------------------------------------ NumPy references
def ref_activation(kind, x):
    x = np.asarray(x, dtype=np.float64)
    if kind == IDENTITY:
        return x.copy()
    if kind == LOGISTIC:
        with np.errstate(over="ignore"):
            e = np.exp(-np.abs(x))  # never overflows
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    if kind == TANH:
        return np.tanh(x)
    return np.maximum(x, 0.0)


def ref_activation_grad(kind, dx, out):
    """dx * g'(.) written in terms of out = g(.), and its rounding scale."""
    dx, out = np.asarray(dx, np.float64), np.asarray(out, np.float64)
    if kind == IDENTITY:
        return dx.copy(), np.abs(dx)
    if kind == LOGISTIC:
        r = dx * out * (1.0 - out)
        return r, np.abs(r)
    if kind == TANH:
        # 1 - out**2 cancels when |out| -> 1: the rounding of out**2 is the error scale
        return dx * (1.0 - out * out), np.abs(dx) * (1.0 + out * out)
    r = np.where(out > 0, dx, 0.0)
    return r, np.abs(r)


def ref_output_map(kind, z):
    z = np.asarray(z, np.float64)
    if kind == SOFTMAX:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == SIGMOID_BCE:
        return ref_activation(LOGISTIC, z)
    if kind == SQUARED:
        return z.copy()
    return np.exp(z)


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (NumPy only)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    safe = np.where(x == 0, 1.0, y)
    return np.where(x == 0, 0.0, x * np.log(safe))


def ref_row_loss(kind, p, y, dtype):
    """Unweighted loss of each row from probabilities/predictions p, and its error scale.

    The scale holds, per term, the value itself plus the absolute error that a relative
    error of TOL in p causes: 1 for log(p); p/(1-p) (the condition number) for log(1-p)."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    eps = float(np.finfo(dtype).eps)
    if kind == SOFTMAX:
        pc = np.clip(p, eps, 1 - eps)
        terms = -xlogy(y, pc)
        mag = np.abs(y) * (np.abs(np.log(pc)) + 1.0)
    elif kind == SIGMOID_BCE:
        pc = np.clip(p, eps, 1 - eps)
        terms = -(xlogy(y, pc) + xlogy(1 - y, 1 - pc))
        mag = np.abs(y) * (np.abs(np.log(pc)) + 1.0) + np.abs(1 - y) * (
            np.abs(np.log1p(-pc)) + 1.0 + pc / (1 - pc)
        )
    elif kind == SQUARED:
        terms = 0.5 * (y - p) ** 2
        mag = 0.5 * (np.abs(y) + np.abs(p)) ** 2
    else:
        terms = xlogy(y, y / p) - y + p
        mag = np.abs(y) * (np.abs(np.log(np.where(y > 0, y, 1.0) / p)) + 2.0) + np.abs(p)
    return terms.sum(axis=1), mag.sum(axis=1)


def targets(kind, rng, N, K, dtype):
    if kind == SOFTMAX:
        y = np.zeros((N, K))
        y[np.arange(N), rng.integers(0, K, N)] = 1.0
    elif kind == SIGMOID_BCE:
        y = (rng.random((N, K)) < 0.5).astype(np.float64)
    elif kind == SQUARED:
        y = rng.standard_normal((N, K))
    else:
        y = rng.poisson(1.5, (N, K)).astype(np.float64)  # has zeros: xlogy(0, .) = 0
    return y.astype(dtype)


# -------------------------------------------------------------------- linear (dense)
LINEAR_SHAPES = sorted(
    {(n, c, oc) for n in SIZES for (c, oc) in [(1, 7), (257, 2), (7, 64)]}
    | {(s, s, s) for s in SIZES}
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C,OC", LINEAR_SHAPES)
def test_linear_forward(dtype, N, C, OC):
    rng = rng_for("lf", dtype, N, C, OC)
    inp, weight = normal(rng, (N, C), dtype), normal(rng, (C, OC), dtype)
    bias = normal(rng, OC, dtype)
    out = _core.linear_forward(inp, weight, bias, 1)
    assert out.dtype == dtype and out.flags.c_contiguous
    i64, w64, b64 = inp.astype(np.float64), weight.astype(np.float64), bias.astype(np.float64)
    ref = i64 @ w64 + b64
    mag = np.abs(i64) @ np.abs(w64) + np.abs(b64)
    assert_bounded(out, ref, mag, dtype, "out")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C,OC", LINEAR_SHAPES)
def test_linear_backward(dtype, N, C, OC):
    rng = rng_for("lb", dtype, N, C, OC)
    dout, inp = normal(rng, (N, OC), dtype), normal(rng, (N, C), dtype)
    weight = normal(rng, (C, OC), dtype)
    dinp, dweight, dbias = _core.linear_backward(dout, inp, weight, 1)
    for a in (dinp, dweight, dbias):
        assert a.dtype == dtype and a.flags.c_contiguous
    d64, i64, w64 = dout.astype(np.float64), inp.astype(np.float64), weight.astype(np.float64)
    assert_bounded(dinp, d64 @ w64.T, np.abs(d64) @ np.abs(w64).T, dtype, "dinp")
    assert_bounded(dweight, i64.T @ d64, np.abs(i64).T @ np.abs(d64), dtype, "dweight")
    assert_bounded(dbias, d64.sum(axis=0), np.abs(d64).sum(axis=0), dtype, "dbias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_exact_small_integers(dtype):
    # integer-valued data: every product and partial sum is exact, so the result must be too
    rng = rng_for("exact", dtype)
    inp = rng.integers(-3, 4, (7, 64)).astype(dtype)
    weight = rng.integers(-3, 4, (64, 7)).astype(dtype)
    bias = rng.integers(-3, 4, 7).astype(dtype)
    np.testing.assert_array_equal(_core.linear_forward(inp, weight, bias, 1), inp @ weight + bias)
    dout = rng.integers(-3, 4, (7, 7)).astype(dtype)
    dinp, dweight, dbias = _core.linear_backward(dout, inp, weight, 1)
    np.testing.assert_array_equal(dinp, dout @ weight.T)
    np.testing.assert_array_equal(dweight, inp.T @ dout)
    np.testing.assert_array_equal(dbias, dout.sum(axis=0))


# ---------------------------------------------------------------------- linear (CSR)
CSR_SHAPES = sorted(
    {(n, c, oc) for n in SIZES for (c, oc) in [(7, 64), (257, 2), (64, 257)]}
    | {(s, s, s) for s in SIZES}
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C,OC", CSR_SHAPES)
def test_linear_forward_csr(dtype, N, C, OC):
    rng = rng_for("lfc", dtype, N, C, OC)
    dense, csr = random_sparse(rng, N, C, dtype)
    weight, bias = normal(rng, (C, OC), dtype), normal(rng, OC, dtype)
    out = _core.linear_forward_csr(csr, weight, bias, 1)
    assert out.dtype == dtype and out.shape == (N, OC)
    w64, b64 = weight.astype(np.float64), bias.astype(np.float64)
    ref = dense @ w64 + b64
    assert_bounded(out, ref, np.abs(dense) @ np.abs(w64) + np.abs(b64), dtype, "out")
    # an empty row is exactly the bias
    empty = np.diff(csr[2]) == 0
    np.testing.assert_array_equal(out[empty], np.broadcast_to(bias, (empty.sum(), OC)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C,OC", CSR_SHAPES)
def test_linear_backward_csr(dtype, N, C, OC):
    rng = rng_for("lbc", dtype, N, C, OC)
    dense, csr = random_sparse(rng, N, C, dtype)
    dout = normal(rng, (N, OC), dtype)
    dweight, dbias = _core.linear_backward_csr(dout, csr, 1)
    assert dweight.dtype == dtype and dbias.dtype == dtype
    d64 = dout.astype(np.float64)
    assert_bounded(dweight, dense.T @ d64, np.abs(dense).T @ np.abs(d64), dtype, "dweight")
    assert_bounded(dbias, d64.sum(axis=0), np.abs(d64).sum(axis=0), dtype, "dbias")
    # a column no row uses gets exactly zero gradient
    unused = ~(dense != 0).any(axis=0)
    assert np.all(dweight[unused] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_matches_dense_kernels(dtype):
    rng = rng_for("csr-vs-dense", dtype)
    dense, csr = random_sparse(rng, 64, 257, dtype)
    weight, bias = normal(rng, (257, 7), dtype), normal(rng, 7, dtype)
    dout = normal(rng, (64, 7), dtype)
    d = dense.astype(dtype)
    mag = np.abs(dense) @ np.abs(weight.astype(np.float64)) + np.abs(bias)
    ref = _core.linear_forward(d, weight, bias, 1).astype(np.float64)
    assert_bounded(_core.linear_forward_csr(csr, weight, bias, 1), ref, 2 * mag, dtype, "out")
    _, dw_dense, db_dense = _core.linear_backward(dout, d, weight, 1)
    dw, db = _core.linear_backward_csr(dout, csr, 1)
    d64 = dout.astype(np.float64)
    assert_bounded(dw, dw_dense, 2 * np.abs(dense).T @ np.abs(d64), dtype, "dweight")
    assert_bounded(db, db_dense, 2 * np.abs(d64).sum(axis=0), dtype, "dbias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_all_rows_empty(dtype):
    rng = rng_for("csr-empty", dtype)
    N, C, OC = 7, 5, 3
    csr = (np.zeros(0, dtype), np.zeros(0, np.int64), np.zeros(N + 1, np.int64), N, C)
    weight, bias = normal(rng, (C, OC), dtype), normal(rng, OC, dtype)
    out = _core.linear_forward_csr(csr, weight, bias, 1)
    np.testing.assert_array_equal(out, np.broadcast_to(bias, (N, OC)))
    dout = normal(rng, (N, OC), dtype)
    dw, db = _core.linear_backward_csr(dout, csr, 1)
    np.testing.assert_array_equal(dw, np.zeros((C, OC), dtype))
    d64 = dout.astype(np.float64)
    assert_bounded(db, d64.sum(0), np.abs(d64).sum(0), dtype, "dbias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_unsorted_indices(dtype):
    # CSR does not promise sorted column indices within a row (scipy allows unsorted ones)
    rng = rng_for("csr-unsorted", dtype)
    dense, (data, indices, indptr, n, c) = random_sparse(rng, 64, 64, dtype, density=0.5)
    for r in range(n):
        perm = indptr[r] + rng.permutation(indptr[r + 1] - indptr[r])
        data[indptr[r] : indptr[r + 1]] = data[perm].copy()
        indices[indptr[r] : indptr[r + 1]] = indices[perm].copy()
    csr = (data, indices, indptr, n, c)
    weight, bias = normal(rng, (64, 7), dtype), normal(rng, 7, dtype)
    w64 = weight.astype(np.float64)
    out = _core.linear_forward_csr(csr, weight, bias, 1)
    mag = np.abs(dense) @ np.abs(w64) + np.abs(bias)
    assert_bounded(out, dense @ w64 + bias, mag, dtype, "out")
    dout = normal(rng, (64, 7), dtype).astype(np.float64)
    dw, _ = _core.linear_backward_csr(dout.astype(dtype), csr, 1)
    assert_bounded(dw, dense.T @ dout, np.abs(dense).T @ np.abs(dout), dtype, "dweight")


# ----------------------------------------------------------------------- activations
def activation_inputs(rng, n, dtype):
    x = 3.0 * rng.standard_normal(n)
    special = np.array([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 1e4, -1e4, 88.0, -88.0])
    x[: min(n, special.size)] = special[: min(n, special.size)]
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES + [257 * 257])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward(dtype, n, name):
    kind = ACTIVATIONS[name]
    x = activation_inputs(rng_for("af", dtype, n, name), n, dtype)
    got = _core.activation_forward(kind, x, 1)
    assert got.dtype == dtype and got.shape == x.shape
    assert np.all(np.isfinite(got))
    ref = ref_activation(kind, x)
    assert_bounded(got, ref, np.abs(ref), dtype, name)
    if kind in (IDENTITY, RELU):
        np.testing.assert_array_equal(got, ref.astype(dtype))  # no rounding at all
    # the input is not modified
    np.testing.assert_array_equal(x, activation_inputs(rng_for("af", dtype, n, name), n, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward_2d(dtype, name):
    kind = ACTIVATIONS[name]
    x = normal(rng_for("af2", dtype, name), (7, 64), dtype, scale=3.0)
    got = _core.activation_forward(kind, x, 1)
    assert got.shape == (7, 64)
    ref = ref_activation(kind, x)
    assert_bounded(got, ref, np.abs(ref), dtype, name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_activation_saturates_finitely(dtype):
    # exp(-x) overflows for x = -1e4 if computed naively; the result must still be 0 / 1
    x = np.array([-1e4, -1e3, 1e3, 1e4], dtype)
    got = _core.activation_forward(LOGISTIC, x, 1)
    np.testing.assert_array_equal(got, [0, 0, 1, 1])
    out = _core.activation_backward(LOGISTIC, np.ones_like(x), got, 1)
    np.testing.assert_array_equal(out, 0)
    tanh = _core.activation_forward(TANH, x, 1)
    np.testing.assert_array_equal(tanh, np.sign(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_passes_nan(dtype):
    x = np.array([np.nan, -1.0, 2.0], dtype)
    got = _core.activation_forward(RELU, x, 1)
    assert np.isnan(got[0]) and got[1] == 0 and got[2] == 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES + [257 * 257])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward(dtype, n, name):
    kind = ACTIVATIONS[name]
    rng = rng_for("ab", dtype, n, name)
    x = activation_inputs(rng, n, dtype)
    out = ref_activation(kind, x).astype(dtype)  # the stored forward output
    dx = normal(rng, n, dtype)
    got = _core.activation_backward(kind, dx, out, 1)
    assert got.dtype == dtype and got.shape == (n,)
    ref, mag = ref_activation_grad(kind, dx, out)
    assert_bounded(got, ref, mag, dtype, name)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_is_derivative(name):
    # independent of the out-form formulas above: a float64 central difference of g
    kind = ACTIVATIONS[name]
    rng = rng_for("abd", name)
    x = rng.uniform(0.1, 2.0, 64) * rng.choice([-1.0, 1.0], 64)  # away from relu's kink
    h = 1e-6
    fd = (ref_activation(kind, x + h) - ref_activation(kind, x - h)) / (2 * h)
    dx = rng.standard_normal(64)
    got = _core.activation_backward(kind, dx, ref_activation(kind, x), 1)
    np.testing.assert_allclose(got, dx * fd, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ outputs + losses
@pytest.mark.parametrize("weighted", [False, True], ids=["sw=None", "sw=random"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,K", list(itertools.product(SIZES, SIZES)))
@pytest.mark.parametrize("name", list(OUTPUTS))
def test_output_loss(name, N, K, dtype, weighted):
    kind = OUTPUTS[name]
    rng = rng_for("ol", name, N, K, dtype, weighted)
    z = normal(rng, (N, K), dtype, scale=2.0)
    y = targets(kind, rng, N, K, dtype)
    sw = rng.uniform(0.0, 3.0, N).astype(dtype) if weighted else None
    z_before = z.copy()
    p, delta, row_loss = _core.output_loss(kind, z, y, sw, 1)
    np.testing.assert_array_equal(z, z_before)  # the binding works on a copy
    assert p.dtype == dtype and delta.dtype == dtype and row_loss.dtype == np.float64
    assert p.shape == delta.shape == (N, K) and row_loss.shape == (N,)

    p_ref = ref_output_map(kind, z)
    assert_bounded(p, p_ref, np.abs(p_ref), dtype, "p")
    if kind == SOFTMAX:
        assert_bounded(p.sum(axis=1), np.ones(N), np.full(N, float(K)), dtype, "sum p")

    y64 = y.astype(np.float64)
    w = np.ones(N) if sw is None else sw.astype(np.float64)
    delta_ref = (p_ref - y64) * w[:, None]
    assert_bounded(delta, delta_ref, (np.abs(p_ref) + np.abs(y64)) * w[:, None], dtype, "delta")

    # the loss of the probabilities the kernel returned (formula check, tight) ...
    loss_of_p, mag = ref_row_loss(kind, p, y, dtype)
    assert_bounded(row_loss, loss_of_p, mag, dtype, "row_loss(p)")
    # ... and of the exact probabilities (end to end, scaled by the loss' condition number)
    loss_ref, mag = ref_row_loss(kind, p_ref, y, dtype)
    assert_bounded(row_loss, loss_ref, mag, dtype, "row_loss(p_ref)")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OUTPUTS))
def test_output_loss_zero_weight_rows(dtype, name):
    kind = OUTPUTS[name]
    rng = rng_for("ol0", name, dtype)
    z = normal(rng, (7, 3), dtype)
    y = targets(kind, rng, 7, 3, dtype)
    sw = np.array([0, 1, 0, 2.5, 1, 0, 0.5], dtype)
    p, delta, row_loss = _core.output_loss(kind, z, y, sw, 1)
    _, delta1, row_loss1 = _core.output_loss(kind, z, y, None, 1)
    np.testing.assert_array_equal(delta[sw == 0], 0)
    np.testing.assert_array_equal(row_loss, row_loss1)  # row_loss is unweighted
    np.testing.assert_array_equal(delta[sw == 1], delta1[sw == 1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_huge_logits(dtype):
    eps = float(np.finfo(dtype).eps)
    z = np.array(
        [
            [1e4, 0.0, -1e4],
            [1e4, 1e4, 1e4],
            [-1e4, -1e4, -1e4],
            [1e4, 1e4 - 1.0, -1e4],
            [-1e4, -1e4 + 2.0, 1e4],
        ],
        dtype,
    )
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype)
    p, delta, row_loss = _core.output_loss(SOFTMAX, z, y, None, 1)
    for a in (p, delta, row_loss):
        assert np.all(np.isfinite(a))
    p_ref = ref_output_map(SOFTMAX, z)
    assert_bounded(p, p_ref, np.abs(p_ref), dtype, "p")
    assert_bounded(p.sum(1), np.ones(5), np.full(5, 3.0), dtype, "sum p")
    np.testing.assert_array_equal(p[0], [1, 0, 0])
    assert_bounded(p[1], np.full(3, 1 / 3), np.ones(3), dtype, "uniform")
    # row 4 puts ~all mass on class 2 but y is class 0: p is clipped to eps
    assert_bounded(row_loss[4], -np.log(eps), -np.log(eps), dtype, "clipped loss")
    assert_bounded(row_loss[3], -np.log(p_ref[3, 1]), 1 - np.log(p_ref[3, 1]), dtype, "loss")
    # ordinary logits shifted by +-1e4: as accurate as unshifted ones (the max is subtracted)
    for shift in (1e4, -1e4):
        z2 = (normal(rng_for("shift", dtype), (7, 5), dtype, scale=3.0) + shift).astype(dtype)
        y2 = np.eye(5, dtype=dtype)[np.arange(7) % 5]
        p2, delta2, loss2 = _core.output_loss(SOFTMAX, z2, y2, None, 1)
        p2_ref = ref_output_map(SOFTMAX, z2)
        assert_bounded(p2, p2_ref, np.abs(p2_ref), dtype, "shifted p")
        loss2_ref, mag = ref_row_loss(SOFTMAX, p2_ref, y2, dtype)
        assert_bounded(loss2, loss2_ref, mag, dtype, "shifted loss")
        assert np.all(np.isfinite(delta2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_output_huge_logits(dtype):
    eps = float(np.finfo(dtype).eps)
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4], [-1e4, -1e4]], dtype)
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype)
    p, delta, row_loss = _core.output_loss(SIGMOID_BCE, z, y, None, 1)
    for a in (p, delta, row_loss):
        assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(p[z > 0], 1)
    assert np.all(p[z < 0] < 2 * np.finfo(dtype).tiny)
    np.testing.assert_array_equal(delta, p - y)
    # per element: right label -> -log(1 - eps) ~ eps, wrong label -> -log(eps)
    wrong = ((z > 0) != (y > 0)).sum(axis=1)
    right = 2 - wrong
    expected = wrong * -np.log(eps) + right * -np.log1p(-eps)
    assert_bounded(row_loss, expected, expected + 1, dtype, "loss")


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_forward_matches_network_forward(dtype):
    # _core.forward on a 1-layer identity network applies only linear + output map
    rng = rng_for("outfwd", dtype)
    for name, kind in OUTPUTS.items():
        W, b = normal(rng, (7, 3), dtype), normal(rng, 3, dtype)
        X = normal(rng, (64, 7), dtype)
        params = np.concatenate([W.ravel(), b]).astype(dtype)
        out = _core.forward([7, 3], IDENTITY, kind, params, X, 1)
        z = X.astype(np.float64) @ W.astype(np.float64) + b
        zmag = np.abs(X.astype(np.float64)) @ np.abs(W.astype(np.float64)) + np.abs(b)
        ref = ref_output_map(kind, z)
        # z is off by <= TOL*zmag; exp and logistic pass that on as a relative error of p,
        # softmax as at most twice the row's largest one; identity as it is
        if kind == SQUARED:
            mag = zmag
        elif kind == SOFTMAX:
            mag = np.abs(ref) * (1 + 2 * zmag.max(axis=1, keepdims=True))
        else:
            mag = np.abs(ref) * (1 + zmag)
        assert_bounded(out, ref, mag, dtype, name)


# ------------------------------------------------------------- thread-count invariance
def _ops_results(dtype, n_threads):
    rng = rng_for("threads", dtype)
    n = 257
    inp, weight = normal(rng, (n, n), dtype), normal(rng, (n, n), dtype)
    bias = normal(rng, n, dtype)
    dout = normal(rng, (n, n), dtype)
    _, csr = random_sparse(rng, n, n, dtype, density=0.2)
    z = normal(rng, (n, n), dtype, scale=2.0)
    sw = rng.uniform(0, 2, n).astype(dtype)
    res = {
        "linear_forward": _core.linear_forward(inp, weight, bias, n_threads),
        "linear_backward": _core.linear_backward(dout, inp, weight, n_threads),
        "linear_forward_csr": _core.linear_forward_csr(csr, weight, bias, n_threads),
        "linear_backward_csr": _core.linear_backward_csr(dout, csr, n_threads),
    }
    for name, kind in ACTIVATIONS.items():
        out = _core.activation_forward(kind, z, n_threads)
        res["act_fwd_" + name] = out
        res["act_bwd_" + name] = _core.activation_backward(kind, dout, out, n_threads)
    for name, kind in OUTPUTS.items():
        y = targets(kind, rng_for("threads-y", name), n, n, dtype)
        res["out_" + name] = _core.output_loss(kind, z, y, sw, n_threads)
    return res


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_gives_same_bits(dtype):
    one = _ops_results(dtype, 1)
    for n_threads in (2, 3):
        many = _ops_results(dtype, n_threads)
        for key, a in one.items():
            b = many[key]
            parts_a = a if isinstance(a, tuple) else (a,)
            parts_b = b if isinstance(b, tuple) else (b,)
            for i, (x, y) in enumerate(zip(parts_a, parts_b)):
                assert same_bits(x, y), f"{key}[{i}] differs between 1 and {n_threads} threads"


# ------------------------------------------------------------------- binding contract
def _bad_linear_args(case):
    inp = np.ones((3, 4))
    weight = np.ones((4, 2))
    bias = np.zeros(2)
    if case == "float32 input to float64 weights":
        inp = inp.astype(np.float32)
    elif case == "float64 input to float32 weights":
        weight, bias = weight.astype(np.float32), bias.astype(np.float32)
    elif case == "int64 input":
        inp = inp.astype(np.int64)
    elif case == "Fortran-ordered input":
        inp = np.asfortranarray(np.ones((3, 4)))
    elif case == "strided input":
        inp = np.ones((3, 8))[:, ::2]
    return inp, weight, bias


@pytest.mark.parametrize(
    "case",
    [
        "float32 input to float64 weights",
        "float64 input to float32 weights",
        "int64 input",
        "Fortran-ordered input",
        "strided input",
    ],
)
def test_wrong_dtype_or_layout_is_type_error(case):
    # the binding's documented contract: C-contiguous arrays of the exact dtype, else TypeError
    inp, weight, bias = _bad_linear_args(case)
    with pytest.raises(TypeError):
        _core.linear_forward(inp, weight, bias, 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_validation(dtype):
    w, b = np.ones((4, 2), dtype), np.zeros(2, dtype)
    ok = (np.ones(2, dtype), np.array([0, 3], np.int64), np.array([0, 1, 2], np.int64), 2, 4)
    _core.linear_forward_csr(ok, w, b, 1)
    bad = [
        (ok[0], np.array([0, 4], np.int64), ok[2], 2, 4),  # column out of range
        (ok[0], np.array([0, -1], np.int64), ok[2], 2, 4),  # negative column
        (ok[0], ok[1], np.array([0, 2, 1], np.int64), 2, 4),  # indptr decreases / disagrees
        (ok[0], ok[1], np.array([0, 1], np.int64), 2, 4),  # indptr too short
        (ok[0], ok[1], np.array([1, 1, 2], np.int64), 2, 4),  # indptr[0] != 0
        (ok[0], ok[1], ok[2], 2),  # not 5 parts
        (np.ones(0, dtype), np.ones(0, np.int64), np.ones(0, np.int64), -1, 4),  # negative rows
    ]
    for csr in bad:
        with pytest.raises(ValueError):
            _core.linear_forward_csr(csr, w, b, 1)
