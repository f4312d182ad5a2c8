"""The hidden activations of issue 6 (and the four before them), on every ISA path.

* every activation's forward and derivative, as the core computes them (unfused ops, the fused
  epilogues of linear_forward / linear_backward on tile-edge sizes, the GEMM test hook), against
  NumPy references written from the formulas, in float32 and float64;
* central finite differences of the whole network objective in float64, for every activation on
  every hidden layer and for mixed per-layer lists, dense and CSR input (the CSR first layer runs
  the unfused activation pair);
* parity with PyTorch: the same weights give the same objective and gradient (float64 to 1e-9,
  float32 to a float32 tolerance);
* the estimators: per-layer lists, refused lists, defaults bit-identical, ONNX export.

Kinks (relu, leaky_relu at 0; hard_tanh at ±1; elu/selu's second derivative at 0): problems for
finite differences are drawn so that no hidden pre-activation lies within MARGIN of a kink, and
that is asserted, never skipped.
"""

import warnings
import zlib

import numpy as np
import onnxruntime as ort
import pytest
import scipy.sparse as sp
import scipy.special
from sklearn.datasets import make_classification, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor, _core, to_onnx

from _numpy_reference import unpack
from _torch_reference import torch_reference

CODES = {
    "identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6,
    "gelu": 7, "silu": 8, "softplus": 9, "softsign": 10, "mish": 11, "hard_tanh": 12,
}
NAMES = list(CODES)
NEEDS_PRE = {"gelu", "silu", "mish"}  # derivative from the pre-activation, not the output
KINKS = {"relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,), "selu": (0.0,), "hard_tanh": (-1.0, 1.0)}
# the GEMM hook's epilogue codes (cpp/gemm/ukernel.h's EpilogueKind)
FORWARD_EPILOGUE = {
    "identity": 1, "relu": 2, "logistic": 3, "tanh": 4, "leaky_relu": 8, "elu": 9, "selu": 10,
    "gelu": 11, "silu": 12, "softplus": 13, "softsign": 14, "mish": 15, "hard_tanh": 16,
}
GRAD_EPILOGUE = {
    "identity": 0, "relu": 5, "logistic": 6, "tanh": 7, "leaky_relu": 17, "elu": 18, "selu": 19,
    "gelu": 20, "silu": 21, "softplus": 22, "softsign": 23, "mish": 24, "hard_tanh": 25,
}
SELU_SCALE = 1.0507009873554804934193349852946  # Klambauer et al., as torch.nn.SELU
SELU_ALPHA = 1.6732632423543772848170429916717
SLOPE = 0.2  # a non-default negative_slope for leaky_relu
DTYPES = [np.float32, np.float64]
# element-wise relative tolerance of one activation (a few ulps), by dtype
ELEMENT_RTOL = {np.float32: 3e-6, np.float64: 1e-14}
MARGIN = 1e-2
FD_STEP = 1e-6
CORE = {np.float32: "32", np.float64: "64"}


def seed_of(*key):
    return [zlib.crc32(repr(k).encode()) for k in key]


def core(dtype, name):
    return getattr(_core, name + CORE[np.dtype(dtype).type])


# ------------------------------------------------------------------ NumPy references
def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_act(name, x, s=SLOPE):
    """g(x) in float64 from the definitions."""
    x = np.asarray(x, dtype=np.float64)
    if name == "identity":
        return x
    if name == "logistic":
        return scipy.special.expit(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, s * x)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))
    if name == "gelu":
        return 0.5 * x * (1.0 + scipy.special.erf(x / np.sqrt(2.0)))
    if name == "silu":
        return x * scipy.special.expit(x)
    if name == "softplus":
        return np_softplus(x)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    if name == "mish":
        return x * np.tanh(np_softplus(x))
    if name == "hard_tanh":
        return np.clip(x, -1.0, 1.0)
    raise KeyError(name)


def np_act_grad(name, x, s=SLOPE):
    """g'(x) in float64 from the pre-activation x (the core takes most from the output)."""
    x = np.asarray(x, dtype=np.float64)
    sig = scipy.special.expit(x)
    if name == "identity":
        return np.ones_like(x)
    if name == "logistic":
        return sig * (1 - sig)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, s)
    if name == "elu":
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))
    if name == "selu":
        return np.where(x > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0)))
    if name == "gelu":
        return 0.5 * (1 + scipy.special.erf(x / np.sqrt(2))) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    if name == "silu":
        return sig * (1 + x * (1 - sig))
    if name == "softplus":
        return sig
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(x)) ** 2
    if name == "mish":
        t = np.tanh(np_softplus(x))
        return t + x * (1 - t * t) * sig
    if name == "hard_tanh":
        return ((x > -1) & (x < 1)).astype(np.float64)
    raise KeyError(name)


def away_from_kinks(name, x, margin):
    """x moved so that no element lies within margin of one of name's kinks."""
    for k in KINKS.get(name, ()):
        near = np.abs(x - k) < margin
        x = np.where(near, k + np.where(x >= k, margin, -margin) * 2, x)
    return x


def assert_close(got, want, rtol, scale=None, what=""):
    """|got - want| <= rtol·(|want| + scale) element-wise, scale the size of the inputs that
    were rounded on the way (a sum's terms), and NaN nowhere."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, what
    assert np.isfinite(got).all(), what
    bound = rtol * (np.abs(want) + (1.0 if scale is None else scale))
    err = np.abs(got - want)
    worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.size else ()
    assert (err <= bound).all(), f"{what}: at {worst} got {got[worst]!r}, want {want[worst]!r}"


# ------------------------------------------------------------------ unfused ops
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_unfused_activation_pair(kernel_path, name, dtype):
    """activation_forward / activation_backward (used after a sparse first layer) vs NumPy,
    on values across every regime: tiny, around the kinks, large, huge (no overflow)."""
    rng = np.random.default_rng(seed_of(name, dtype))
    big = 80.0 if dtype == np.float32 else 700.0
    x = np.concatenate([rng.standard_normal(257) * 3, rng.uniform(-1e-3, 1e-3, 31),
                        [-big, -30.0, -5.0, 5.0, 30.0, big]])
    x = away_from_kinks(name, x, 1e-4).astype(dtype)
    if name in NEEDS_PRE:
        y, pre = _core.activation_forward(CODES[name], x, 1, negative_slope=SLOPE, return_pre=True)
        np.testing.assert_array_equal(pre, x)  # the pre-activation, stored exactly
    else:
        y = _core.activation_forward(CODES[name], x, 1, negative_slope=SLOPE)
        pre = None
    assert y.dtype == dtype
    # relative to |g(x)| + |x|: gelu's 1 + erf(x/√2) cancels for x ≪ 0, as in PyTorch's formula
    assert_close(y, np_act(name, x), ELEMENT_RTOL[dtype], scale=np.abs(x.astype(np.float64)),
                 what=f"{name} forward")
    dx = rng.standard_normal(x.size).astype(dtype)
    got = _core.activation_backward(CODES[name], dx, y, 1, pre=pre, negative_slope=SLOPE)
    want = dx.astype(np.float64) * np_act_grad(name, x)
    # a derivative taken from the stored output inherits y's rounding (eps relative to y), so
    # the bound is relative to |dx| (every g' here is at most λα ≈ 1.76 in magnitude)
    assert_close(got, want, 8 * np.finfo(dtype).eps, scale=np.abs(dx.astype(np.float64)),
                 what=f"{name} backward")


@pytest.mark.parametrize("dtype", DTYPES)
def test_unfused_pass_has_portables_bits(kernel_path, dtype):
    """The activation pass (the unfused ops) on a SIMD path takes vectors four, two and one at
    a time and a masked last part: at lengths that end in each of those, forward, pre-activation
    and backward must equal the portable path's bits, values around every branch point
    included, and the forward the fused epilogue's (a product of depth 1 makes C = x + 0)."""
    isa = _core.active_isa()
    lanes = _core.kernel_info(isa)[np.dtype(dtype).name]["nr"] // 2  # NR is two vectors
    rng = np.random.default_rng(seed_of("pass bits", dtype))
    specials = [0.0, -0.0, 1.0, -1.0, 0.2, -0.3, 1.5, -3.0, 30.0, -30.0, 1e-4, np.nan]
    for n in sorted({1, lanes - 1 or 1, lanes + 1, 2 * lanes + 1, 4 * lanes - 1, 4 * lanes + 3,
                     7 * lanes + 3, 257}):
        x = (rng.standard_normal(n) * 3).astype(dtype)
        x[: len(specials)] = specials[:n]
        dx = rng.standard_normal(n).astype(dtype)
        for name in NAMES:
            code, what = CODES[name], f"{name} on {isa}, n={n}"
            results = {}
            for path in (isa, "portable"):
                _core.set_isa(path)
                try:
                    if name in NEEDS_PRE:
                        y, pre = _core.activation_forward(code, x, 1, return_pre=True)
                        outputs = (y, pre)
                    else:
                        y = _core.activation_forward(code, x, 1, negative_slope=SLOPE)
                        outputs = (y,)
                    g = _core.activation_backward(code, dx, y, 1, pre=x if name in NEEDS_PRE else None,
                                                  negative_slope=SLOPE)
                finally:
                    _core.set_isa(isa)
                results[path] = outputs + (g,)
            for got, want in zip(results[isa], results["portable"]):
                np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
                ok = ~np.isnan(want)
                np.testing.assert_array_equal(got[ok].view(np.uint8), want[ok].view(np.uint8),
                                              err_msg=what)
            if name != "identity":
                fused = _core.gemm(np.ones((1, 1), dtype), x[None, :], False, False, None,
                                   FORWARD_EPILOGUE[name], np.zeros(n, dtype), None, isa, 1, False,
                                   param=SLOPE)[0][0]
                # the product's sum is x + 0 (so -0 becomes +0 before the epilogue)
                y = _core.activation_forward(code, x + dtype(0), 1, negative_slope=SLOPE)
                np.testing.assert_array_equal(np.isnan(fused), np.isnan(y), err_msg=what)
                ok = ~np.isnan(y)
                np.testing.assert_array_equal(fused[ok].view(np.uint8), y[ok].view(np.uint8),
                                              err_msg=what)


def test_unknown_activation_code_is_refused():
    x = np.zeros(3)
    for bad in (-1, 13):
        with pytest.raises(ValueError, match="unknown activation code"):
            _core.activation_forward(bad, x, 1)
    with pytest.raises(ValueError, match="needs pre"):
        _core.activation_backward(CODES["gelu"], x, x, 1)


def test_nan_stays_nan(kernel_path):
    x = np.array([np.nan, 1.0, -1.0])
    for name in NAMES:
        y = _core.activation_forward(CODES[name], x, 1)
        assert np.isnan(y[0]), name


# ------------------------------------------------------------------ fused epilogues
def tile_sizes(dtype):
    info = _core.kernel_info(_core.active_isa())[np.dtype(dtype).name]
    mr, nr = info["mr"], info["nr"]
    # (rows, out features): one row (the one-row kernel where there is one), tile - 1, tile + 1,
    # and two full tiles and one row down a panel (one micro-kernel call: z and pre advance per tile)
    return [(1, 1), (mr - 1, nr - 1), (mr + 1, nr + 1), (2 * mr + 1, nr + 1), (1, nr + 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_linear_forward_backward_fused(kernel_path, name, dtype):
    """linear_forward's bias+activation epilogue and linear_backward's derivative epilogue vs
    NumPy, on the kernel's tile edges."""
    rng = np.random.default_rng(seed_of("linear", name, dtype))
    eps = np.finfo(dtype).eps
    C = 7
    for N, OC in tile_sizes(dtype):
        inp = rng.standard_normal((N, C)).astype(dtype)
        W = rng.standard_normal((C, OC)).astype(dtype)
        b = rng.standard_normal(OC).astype(dtype)
        out, pre = _core.linear_forward(inp, W, b, 1, CODES[name], negative_slope=SLOPE,
                                        return_pre=True)
        z = inp.astype(np.float64) @ W.astype(np.float64) + b
        scale = np.abs(inp.astype(np.float64)) @ np.abs(W.astype(np.float64)) + np.abs(b)
        lipschitz = np.abs(np_act_grad(name, z)) + 1.0
        assert_close(out, np_act(name, z), 4 * eps, scale=scale * lipschitz * C,
                     what=f"{name} forward {N}x{OC}")
        if name in NEEDS_PRE:
            assert_close(pre, z, 4 * eps, scale=scale * C, what=f"{name} pre {N}x{OC}")
        else:
            assert np.isnan(pre).all()  # written only for the activations that need it

        # backward of the layer that reads this activation: dinp = (dout·Wᵀ) ⊙ g'(x)
        x = away_from_kinks(name, rng.standard_normal((N, OC)) * 2, 1e-3).astype(dtype)
        y = np_act(name, x).astype(dtype)
        W2 = rng.standard_normal((OC, 5)).astype(dtype)
        dout = rng.standard_normal((N, 5)).astype(dtype)
        dinp, dW, db = _core.linear_backward(dout, y, W2, 1, CODES[name],
                                             inp_pre=x if name in NEEDS_PRE else None,
                                             negative_slope=SLOPE)
        prod = dout.astype(np.float64) @ W2.astype(np.float64).T
        pscale = np.abs(dout.astype(np.float64)) @ np.abs(W2.astype(np.float64)).T
        # from y, the derivative carries y's rounding (relative eps, amplified near |y| = 1)
        want = prod * np_act_grad(name, x)
        assert_close(dinp, want, 16 * eps, scale=pscale * 6, what=f"{name} dinp {N}x{OC}")
        assert_close(dW, y.astype(np.float64).T @ dout, 4 * eps,
                     scale=np.abs(y.astype(np.float64)).T @ np.abs(dout) * N, what="dW")
        assert_close(db, dout.astype(np.float64).sum(0), 4 * eps,
                     scale=np.abs(dout).sum(0) * N, what="db")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_hook_epilogues(kernel_path, dtype):
    """Every new epilogue through the blocked GEMM with this path's kernel named explicitly,
    accumulating and not, against NumPy (C starts as NaN when not accumulating)."""
    isa = _core.active_isa()
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    M, N, K = info["mr"] + 1, info["nr"] + 3, 9
    eps = np.finfo(dtype).eps
    rng = np.random.default_rng(seed_of("gemm", dtype, isa))
    for name in NAMES:
        a = rng.standard_normal((M, K)).astype(dtype)
        bm = rng.standard_normal((K, N)).astype(dtype)
        prod = a.astype(np.float64) @ bm.astype(np.float64)
        scale = np.abs(a.astype(np.float64)) @ np.abs(bm.astype(np.float64))
        for accumulate in (False, True):
            c0 = rng.standard_normal((M, N)).astype(dtype) if accumulate else None
            base = prod + (c0 if accumulate else 0)
            sc = scale + (np.abs(c0) if accumulate else 0)
            bias = rng.standard_normal(N).astype(dtype)
            got, _, pre = _core.gemm(a, bm, False, False, c0, FORWARD_EPILOGUE[name], bias, None,
                                     isa, 1, False, param=SLOPE, store_pre=True)
            v = base + bias
            assert_close(got, np_act(name, v), 4 * eps,
                         scale=(sc + np.abs(bias)) * (np.abs(np_act_grad(name, v)) + 1) * K,
                         what=f"gemm {name} forward")
            if name in NEEDS_PRE:
                assert_close(pre, v, 4 * eps, scale=(sc + np.abs(bias)) * K, what=f"gemm {name} pre")
            else:
                assert np.isnan(pre).all()
            if name == "identity":
                continue
            x = away_from_kinks(name, rng.standard_normal((M, N)) * 2, 1e-3)
            zarg = x if name in NEEDS_PRE else np_act(name, x)
            zarg = zarg.astype(dtype)
            got, _ = _core.gemm(a, bm, False, False, c0, GRAD_EPILOGUE[name], None, zarg, isa, 1,
                                False, param=SLOPE)
            assert_close(got, base * np_act_grad(name, x), 16 * eps, scale=sc * 4 * K,
                         what=f"gemm {name} grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("one_row", [False, True])
def test_every_epilogue_has_portables_bits_when_the_sum_is_exact(kernel_path, dtype, one_row):
    """With depth 1 every path's sum is the same rounded product, so the epilogues alone decide
    the bits: the SIMD kernels' register epilogues (tile kernels, and the one-row kernel for a
    single row as wide as two of its chunks and a part) must equal the portable kernel's scalar
    apply_epilogue exactly (values around every kink included)."""
    isa = _core.active_isa()
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    M, N = 2 * info["mr"] + 1, 2 * info["nr"] + 3
    if one_row:
        M, N = 1, 2 * max(info["row_nr"], info["nr"]) + 3
    rng = np.random.default_rng(seed_of("bits", dtype))
    a = rng.standard_normal((M, 1)).astype(dtype) * 2
    b = rng.standard_normal((1, N)).astype(dtype)
    if one_row:  # C = b: its values carry the specials, a wide spread and the branch points
        a[0, 0] = 1.0
        b = (rng.standard_normal((1, N)) * 3).astype(dtype)
        b[0, :10] = [0.0, 1.0, -1.0, np.nan, 0.2, -0.3, 1.5, -3.0, 30.0, -30.0]
    else:
        a[:4, 0] = [0.0, 1.0, -1.0, np.nan]  # exact zeros, ±1 (hard_tanh's kinks), NaN
        b[0, :3] = [1.0, -1.0, 0.0]
    bias = np.zeros(N, dtype)
    for name in NAMES:
        for kind in {FORWARD_EPILOGUE[name], GRAD_EPILOGUE[name]}:
            z = None
            if kind == GRAD_EPILOGUE[name] and kind != 0:
                x = rng.standard_normal((M, N)).astype(dtype) * 2
                x[0, :4] = [0.0, 1.0, -1.0, -0.0]
                x[0, 4:10] = [0.2, -0.3, 1.5, -3.0, 30.0, -30.0]  # each side of the branch points
                z = x if name in NEEDS_PRE else _core.activation_forward(CODES[name], x, 1,
                                                                         negative_slope=SLOPE)
            b_arg = bias if kind == FORWARD_EPILOGUE[name] else None
            got = _core.gemm(a, b, False, False, None, kind, b_arg, z, isa, 1, False, param=SLOPE)[0]
            want = _core.gemm(a, b, False, False, None, kind, b_arg, z, "portable", 1, False,
                              param=SLOPE)[0]
            # the same bits, signed zeros included; a NaN may differ in its sign bit only
            what = f"{name} epilogue {kind} on {isa}"
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
            ok = ~np.isnan(want)
            np.testing.assert_array_equal(got[ok].view(np.uint8), want[ok].view(np.uint8), err_msg=what)


# ------------------------------------------------------------------ whole-network gradients
def draw_problem(hidden, output, sparse, seed, units=(5, 4, 3), K=3, n=7, scale=0.8):
    """Parameters, X, Y with no hidden pre-activation within MARGIN of a kink."""
    layer_units = list(units) + [K]
    for attempt in range(200):
        rng = np.random.default_rng(seed_of(hidden, output, sparse, seed, attempt))
        n_params = sum(a * b + b for a, b in zip(layer_units[:-1], layer_units[1:]))
        params = rng.standard_normal(n_params) * scale
        X = rng.standard_normal((n, units[0]))
        if sparse:
            X[rng.random(X.shape) < 0.5] = 0.0
        pre = np_forward(params, layer_units, hidden, X)[1]
        if all(np.abs(p - k).min() > MARGIN for p, h in zip(pre, hidden) for k in KINKS.get(h, ())):
            break
    else:
        raise AssertionError("no draw kept every pre-activation away from the kinks")
    if output == 0:  # softmax: class indices
        Y = rng.integers(0, K, n).astype(np.int32)
    else:  # squared error
        Y = rng.standard_normal((n, K))
    return layer_units, params, X, Y


def np_forward(params, units, hidden, X, s=SLOPE):
    coefs, intercepts = unpack(params, units)
    h, pre = X, []
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        z = h @ W + b
        if layer + 1 < len(coefs):
            pre.append(z)
            h = np_act(hidden[layer], z, s)
        else:
            h = z
    return h, pre


def core_input(X, sparse, dtype=np.float64):
    if not sparse:
        return np.ascontiguousarray(X, dtype=dtype)
    Xs = sp.csr_matrix(X)
    return (Xs.data.astype(dtype), Xs.indices.astype(np.int64), Xs.indptr.astype(np.int64),
            X.shape[0], X.shape[1])


def objective(units, hidden, output, params, X, Y, sparse, alpha, dtype=np.float64, max_rows=None):
    trainer = core(dtype, "Trainer")(units, [CODES[h] for h in hidden], output,
                                     max_rows or X.shape[0], negative_slope=SLOPE)
    grad = np.zeros(params.size, dtype=dtype)
    Yc = Y if Y.dtype == np.int32 else np.ascontiguousarray(Y, dtype=dtype)
    loss = trainer.loss_and_grad(grad, np.ascontiguousarray(params, dtype=dtype),
                                 core_input(X, sparse, dtype), Yc, None, alpha, 1)
    return loss, grad


HIDDEN_CASES = [(h, h) for h in NAMES] + [
    ("gelu", "leaky_relu"), ("mish", "silu"), ("selu", "softplus"), ("hard_tanh", "elu"),
    ("softsign", "gelu"), ("relu", "mish"),
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("output", [0, 2], ids=["softmax", "squared"])
@pytest.mark.parametrize("hidden", HIDDEN_CASES, ids=["-".join(h) for h in HIDDEN_CASES])
def test_gradient_matches_finite_differences(kernel_path, hidden, output, sparse):
    units, params, X, Y = draw_problem(hidden, output, sparse, 0)
    alpha = 0.3
    _, grad = objective(units, hidden, output, params, X, Y, sparse, alpha)
    fd = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += FD_STEP
        up = objective(units, hidden, output, p, X, Y, sparse, alpha)[0]
        p[i] -= 2 * FD_STEP
        down = objective(units, hidden, output, p, X, Y, sparse, alpha)[0]
        fd[i] = (up - down) / (2 * FD_STEP)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("hidden", [("gelu", "mish"), ("silu", "leaky_relu")])
def test_row_blocks_and_threads_agree(kernel_path, hidden):
    """The pre-activation buffers hold up across row blocks (max_rows < n), and a step big
    enough to wake a team (tens of millions of multiply-adds) gives the same bits on 1 and 2
    threads."""
    units, params, X, Y = draw_problem(hidden, 0, False, 1, n=40)
    whole = objective(units, hidden, 0, params, X, Y, False, 0.1)
    blocks = objective(units, hidden, 0, params, X, Y, False, 0.1, max_rows=7)
    np.testing.assert_allclose(blocks[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(blocks[1], whole[1], rtol=1e-12, atol=1e-15)
    rng = np.random.default_rng(seed_of("threads", hidden))
    units = [64, 128, 128, 3]
    n = 600
    params = rng.standard_normal(sum(a * b + b for a, b in zip(units[:-1], units[1:]))) * 0.1
    X = rng.standard_normal((n, units[0]))
    Y = rng.integers(0, 3, n).astype(np.int32)
    trainer = _core.Trainer64(units, [CODES[h] for h in hidden], 0, n, negative_slope=SLOPE)
    results = []
    for threads in (1, 2):
        g = np.zeros(params.size)
        loss = trainer.loss_and_grad(g, params, X, Y, None, 0.1, threads)
        results.append((loss, g))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    out = [_core.transform(units, [CODES[h] for h in hidden], 0, params, X, 1, t,
                           negative_slope=SLOPE) for t in (1, 2)]
    np.testing.assert_array_equal(out[0], out[1])


# ------------------------------------------------------------------ PyTorch parity
def torch_act(name):
    """PyTorch's activation function ``name`` (imports torch: only inside a recording)."""
    import torch
    import torch.nn.functional as F

    return {
        "identity": lambda x: x,
        "logistic": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda x: F.leaky_relu(x, SLOPE),
        "elu": F.elu,
        "selu": F.selu,
        "gelu": F.gelu,
        "silu": F.silu,
        # PyTorch's default threshold=20 returns x above 20, off by log1p(e^-x) < 2.1e-9; from
        # 40 on that term is below float64's resolution of x, so threshold=40 is the exact
        # function
        "softplus": lambda x: F.softplus(x, threshold=40.0),
        "softsign": F.softsign,
        "mish": F.mish,
        "hard_tanh": F.hardtanh,
    }[name]


def torch_objective(units, hidden, output, params, X, Y, alpha, dtype):
    """PyTorch's loss and gradient for the same network and the same (flat) parameters, in
    dtype ("float32" or "float64"); imports torch: only inside a recording."""
    import torch
    import torch.nn.functional as F

    tdtype = getattr(torch, dtype)
    p = torch.tensor(params, dtype=tdtype, requires_grad=True)
    ws, bs, start = [], [], 0
    for a, b in zip(units[:-1], units[1:]):
        ws.append(p[start : start + a * b].reshape(a, b))
        start += a * b
    for b in units[1:]:
        bs.append(p[start : start + b])
        start += b
    h = torch.tensor(X, dtype=tdtype)
    for layer, (W, b) in enumerate(zip(ws, bs)):
        h = h @ W + b
        if layer + 1 < len(ws):
            h = torch_act(hidden[layer])(h)
    n = X.shape[0]
    if output == 0:
        data = F.cross_entropy(h, torch.tensor(Y, dtype=torch.long), reduction="sum") / n
    else:
        data = 0.5 * ((h - torch.tensor(Y, dtype=tdtype)) ** 2).sum() / n
    loss = data + 0.5 * alpha * sum((W * W).sum() for W in ws) / n
    loss.backward()
    return loss.item(), p.grad.numpy()  # the gradient in dtype, as PyTorch computed it


TORCH_CASES = [(h, h) for h in NAMES] + [("gelu", "leaky_relu"), ("mish", "selu")]


@pytest.mark.parametrize("output", [0, 2], ids=["softmax", "squared"])
@pytest.mark.parametrize("hidden", TORCH_CASES, ids=["-".join(h) for h in TORCH_CASES])
def test_same_loss_and_gradient_as_pytorch(kernel_path, hidden, output):
    units, params, X, Y = draw_problem(hidden, output, False, 2, units=(6, 9, 8), n=20, scale=0.4)
    if output == 0:  # the core clips p to [eps, 1 - eps] as scikit-learn does; torch does not
        scores = np_forward(params, units, hidden, X)[0]
        spread = scores.max(axis=1) - scores.min(axis=1)
        assert spread.max() < -np.log(np.finfo(np.float32).eps) - 1
    alpha = 0.2
    loss, grad = objective(units, hidden, output, params, X, Y, False, alpha)
    case = f"test_activations::same_loss_and_gradient[{'-'.join(hidden)}-output={output}]"
    t_loss, t_grad = torch_reference(
        case + "-float64",
        lambda: torch_objective(units, hidden, output, params, X, Y, alpha, "float64"))
    t_grad = t_grad.astype(np.float64)
    assert abs(loss - t_loss) <= 1e-9 * max(1.0, abs(t_loss))
    np.testing.assert_allclose(grad, t_grad, rtol=1e-9, atol=1e-9)
    # float32: both sides round to float32 at every step
    loss32, grad32 = objective(units, hidden, output, params.astype(np.float32), X, Y, False,
                               alpha, dtype=np.float32)
    t_loss32, t_grad32 = torch_reference(
        case + "-float32",
        lambda: torch_objective(units, hidden, output, params.astype(np.float32), X, Y, alpha,
                                "float32"))
    t_grad32 = t_grad32.astype(np.float64)
    assert abs(loss32 - t_loss32) <= 2e-5 * max(1.0, abs(t_loss32))
    np.testing.assert_allclose(grad32, t_grad32, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_transform_matches_pytorch_hidden_layers(kernel_path, sparse):
    hidden = ("gelu", "leaky_relu", "softplus")
    units = [6, 9, 8, 7, 3]
    rng = np.random.default_rng(seed_of("transform-torch", sparse))
    params = rng.standard_normal(sum(a * b + b for a, b in zip(units[:-1], units[1:])))
    X = rng.standard_normal((30, 6))
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
    codes = [CODES[h] for h in hidden]
    _, pre = np_forward(params, units, hidden, X)

    def torch_hidden_layers():
        import torch

        h = torch.tensor(X)
        tp = torch.tensor(params)
        start = 0
        ws = []
        for a, b in zip(units[:-1], units[1:]):
            ws.append(tp[start : start + a * b].reshape(a, b))
            start += a * b
        bs = []
        for b in units[1:]:
            bs.append(tp[start : start + b])
            start += b
        out = []
        for layer in range(3):
            h = torch_act(hidden[layer])(h @ ws[layer] + bs[layer])
            out.append(h.numpy().copy())
        return tuple(out)

    torch_layers = torch_reference(f"test_activations::transform_hidden_layers[sparse={sparse}]",
                                   torch_hidden_layers)
    for layer in range(3):
        got = _core.transform(units, codes, 0, params, core_input(X, sparse), layer, 1,
                              negative_slope=SLOPE)
        np.testing.assert_allclose(got, torch_layers[layer], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got, np_act(hidden[layer], pre[layer]), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ estimators
def _classification():
    return make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_default_is_bit_identical_to_a_relu_list(kernel_path):
    X, y = _classification()
    for Est, target in ((MLPClassifier, y), (MLPRegressor, X[:, 0] * 2 + X[:, 1])):
        default = Est(hidden_layer_sizes=(8, 5), max_iter=20, random_state=0).fit(X, target)
        listed = Est(hidden_layer_sizes=(8, 5), activation=["relu", "relu"], max_iter=20,
                     random_state=0).fit(X, target)
        sloped = Est(hidden_layer_sizes=(8, 5), max_iter=20, random_state=0,
                     negative_slope=0.5).fit(X, target)  # ignored by relu
        for a, b, c in zip(default.coefs_ + default.intercepts_, listed.coefs_ + listed.intercepts_,
                           sloped.coefs_ + sloped.intercepts_):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)
        assert default.loss_curve_ == listed.loss_curve_
    # one name for every layer is the same model as the list of that name
    for name in ("logistic", "gelu"):
        one = MLPClassifier((6, 4), activation=name, max_iter=5, random_state=1).fit(X, y)
        many = MLPClassifier((6, 4), activation=[name] * 2, max_iter=5, random_state=1).fit(X, y)
        for a, b in zip(one.coefs_, many.coefs_):
            np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_every_activation_fits_predicts_transforms(kernel_path, solver):
    X, y = _classification()
    yr = X[:, 0] - 0.5 * X[:, 2]
    for name in NAMES + ["swish"]:
        clf = MLPClassifier((7,), activation=name, solver=solver, max_iter=15, random_state=0,
                            negative_slope=SLOPE).fit(X, y)
        assert np.isfinite(clf.loss_)
        assert clf.predict(X).shape == (120,)
        H = clf.transform(X)
        coefs, intercepts = clf.coefs_, clf.intercepts_
        np.testing.assert_allclose(H, np_act("silu" if name == "swish" else name,
                                             X @ coefs[0] + intercepts[0]), rtol=1e-12, atol=1e-12)
        reg = MLPRegressor(hidden_layer_sizes=(5, 4), activation=[name, "tanh"], solver=solver, max_iter=15,
                           random_state=0).fit(X, yr)
        assert np.isfinite(reg.predict(X)).all()
        assert reg.transform(X, layer=0).shape == (120, 5)
        assert reg.transform(X).shape == (120, 4)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_training_lowers_the_loss_with_the_new_activations(kernel_path):
    X, y = _classification()
    for name in ("leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "softsign", "mish",
                 "hard_tanh"):
        clf = MLPClassifier((16,), activation=name, max_iter=60, learning_rate_init=0.02,
                            random_state=0).fit(X, y)
        assert clf.loss_curve_[-1] < 0.7 * clf.loss_curve_[0], name
        assert clf.score(X, y) > 0.7, name  # chance is 0.5


def test_bad_activation_lists_are_refused(kernel_path):
    X, y = _classification()
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        MLPClassifier((4, 3), activation=["relu"]).fit(X, y)
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        MLPRegressor(hidden_layer_sizes=(4,), activation=["relu", "tanh"]).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="The 'activation' parameter of MLPClassifier"):
        MLPClassifier((4, 3), activation=["relu", "sigmoid"]).fit(X, y)
    with pytest.raises(InvalidParameterError):
        MLPClassifier((4,), activation="sigmoid").fit(X, y)
    with pytest.raises(InvalidParameterError):
        MLPClassifier((4,), activation=3).fit(X, y)
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(InvalidParameterError):
            MLPClassifier((4,), activation="leaky_relu", negative_slope=bad).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_refused_refit_leaves_the_model_unchanged(kernel_path):
    X, y = _classification()
    clf = MLPClassifier((4, 3), activation=["gelu", "elu"], max_iter=5, random_state=0).fit(X, y)
    before = [c.copy() for c in clf.coefs_]
    proba = clf.predict_proba(X)
    clf.set_params(activation=["gelu"])
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        clf.fit(X, y)
    clf.set_params(activation=["gelu", "elu"])
    for a, b in zip(before, clf.coefs_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_negative_slope_reaches_the_core(kernel_path):
    X, y = _classification()
    a = MLPClassifier((6,), activation="leaky_relu", negative_slope=0.0, max_iter=10,
                      random_state=0).fit(X, y)
    b = MLPClassifier((6,), activation="relu", max_iter=10, random_state=0).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):  # slope 0 is relu
        np.testing.assert_array_equal(p, q)
    c = MLPClassifier((6,), activation="leaky_relu", negative_slope=0.3, max_iter=10,
                      random_state=0).fit(X, y)
    z = X @ c.coefs_[0] + c.intercepts_[0]
    np.testing.assert_allclose(c.transform(X), np.where(z > 0, z, 0.3 * z), rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------ ONNX
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_onnx_export_of_every_activation(dtype):
    X, y = _classification()
    X = X.astype(dtype)
    yr = (X[:, 0] - X[:, 1]).astype(np.float64)
    # float64 gelu takes erf in float32 (onnxruntime has no float64 Erf)
    tol = {np.float32: 2e-6, np.float64: 1e-12}[dtype]
    cases = [(MLPClassifier((6, 5), activation=[name, "tanh"], max_iter=8, random_state=0,
                            negative_slope=SLOPE), "predict_proba", y, name)
             for name in NAMES + ["swish"]]
    # the regressor's graph, with one activation per hidden layer
    mixed = ["gelu", "mish", "selu", "leaky_relu"]
    cases.append((MLPRegressor(hidden_layer_sizes=(5, 4, 4, 3), activation=mixed, max_iter=8,
                               random_state=0, negative_slope=SLOPE), "predict", yr, "gelu"))
    for model, method, target, name in cases:
        model.fit(X, target)
        sess = ort.InferenceSession(to_onnx(model, X[:1]).SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        outs = sess.run(None, {sess.get_inputs()[0].name: X})
        want = getattr(model, method)(X)
        got = outs[1] if method == "predict_proba" else outs[0].reshape(want.shape)
        this_tol = 1e-6 if (name == "gelu" and dtype == np.float64) else tol
        np.testing.assert_allclose(got, want, rtol=this_tol, atol=this_tol, err_msg=name)
        if method == "predict_proba":
            np.testing.assert_array_equal(outs[0], model.predict(X))
