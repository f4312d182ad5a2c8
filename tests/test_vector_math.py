"""The vectorised transcendental functions of cpp/kernels/vector_math.h (exp, expm1, log1p,
erf, tanh, logistic and what is built from them), measured in ulps against 50-digit mpmath on
every kernel path, over each activation's whole domain: tiny and huge arguments, subnormal
results, the switch points between each function's branches, and the clamps.

The unfused activation ops run the active path's pass kernel, which applies the same register
code as the fused GEMM epilogues (tests/test_activations.py checks fused and unfused agree bit
for bit); here every path must also give the portable path's bits for every value, NaN and ±inf
included.
"""

import functools
import zlib

import mpmath
import numpy as np
import pytest

from fastmlp import _core

mpmath.mp.dps = 50

CODES = {"logistic": 1, "tanh": 2, "elu": 5, "selu": 6, "gelu": 7, "silu": 8, "softplus": 9, "mish": 11}
NEEDS_PRE = {"gelu", "silu", "mish"}
SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")
SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")
DTYPES = [np.float32, np.float64]


def sigma(x):
    return 1 / (1 + mpmath.exp(-x))


def softplus(x):
    return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))


def normal_cdf(x):
    if abs(x) > 1e5:  # beyond mpmath's erfc; Φ is 0 or 1 far past every float's resolution
        return mpmath.mpf(0 if x < 0 else 1)
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def normal_pdf(x):
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi) if abs(x) <= 1e5 else mpmath.mpf(0)


FORWARD = {
    "logistic": sigma,
    "tanh": mpmath.tanh,
    "elu": lambda x: x if x > 0 else mpmath.expm1(x),
    "selu": lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * mpmath.expm1(x)),
    "gelu": lambda x: x * normal_cdf(x),
    "silu": lambda x: x * sigma(x),
    "softplus": softplus,
    "mish": lambda x: x * mpmath.tanh(softplus(x)),
}
# g' as a function of what the core reads: the pre-activation (gelu, silu, mish) or the output
# (softplus: g' = 1 − e^−y); the other activations' derivatives are rational in the output
GRADIENT = {
    "gelu": lambda z: normal_cdf(z) + z * normal_pdf(z),
    "silu": lambda z: sigma(z) * (1 + z * (1 - sigma(z))),
    "softplus": lambda y: -mpmath.expm1(-y),
    "mish": lambda z: mpmath.tanh(softplus(z)) + z * (1 - mpmath.tanh(softplus(z)) ** 2) * sigma(z),
}
# Error bounds: |got − want| ≤ ULPS·spacing(want) + 2·eps·scale(x) + ULPS·(1 + |x|)·(the smallest
# subnormal). scale is 0 where the result is accurate relative to itself; gelu's
# Φ(x) = (1 + erf(x/√2))/2 is accurate to eps absolutely (it cancels for x ≪ 0, as in PyTorch's
# formula), so its bound carries eps·|x| forward and eps backward. The last term covers results
# below the normal range (see reference).
ULPS = 4
# silu' and mish' cross zero (near z = −1.28 and −1.19), where their sums of terms cancel: their
# bounds carry eps times the size of the terms.
SCALE = {
    "gelu": lambda x: float(abs(x)),
    ("grad", "gelu"): lambda z: 1.0,
    ("grad", "silu"): lambda z: float(sigma(z) * (1 + abs(z))),
    ("grad", "mish"): lambda z: float(1 + abs(z) * sigma(z)),
}


def seed_of(*key):
    return [zlib.crc32(repr(k).encode()) for k in key]


@functools.lru_cache(maxsize=None)
def arguments(dtype):
    """Every regime: a dense grid, magnitudes from the smallest subnormal to the largest finite
    value, both signs and zeros, and values on both sides of every switch point."""
    dtype = np.dtype(dtype).type
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed_of("arguments", dtype))
    mags = np.exp(np.linspace(np.log(float(info.smallest_subnormal)), np.log(float(info.max)), 600))
    mags = np.concatenate([mags[:-1], [float(info.max)]]).astype(dtype)
    switches = [0.5 * np.log(2), np.log(2) * 0.25, 1.0, np.sqrt(2.0), 6 * np.sqrt(2.0), 10.0, 20.0, 40.0,
                350.0, 87.0, 88.7, 89.0, 103.9, 104.0, 708.0, 709.8, 710.0, 745.0, 746.0, 1.0 / np.sqrt(2)]
    near = []
    for s in np.asarray(switches, dtype=dtype):
        near += [s, np.nextafter(s, dtype(0)), np.nextafter(s, dtype(np.inf))]
    x = np.concatenate([np.linspace(-12, 12, 2401, dtype=np.float64).astype(dtype),
                        rng.standard_normal(400).astype(dtype) * 3, mags, -mags,
                        np.asarray(near, dtype=dtype), -np.asarray(near, dtype=dtype),
                        np.asarray([0.0, -0.0], dtype=dtype)])
    return x


@functools.lru_cache(maxsize=None)
def reference(kind, name, dtype):
    """(x, want as float64 and the bound) for one function, computed in 50 digits."""
    x = arguments(dtype)
    f = FORWARD[name] if kind == "forward" else GRADIENT[name]
    want = np.array([float(f(mpmath.mpf(float(v)))) for v in x], dtype=np.float64)
    with np.errstate(over="ignore"):  # rounded to dtype, so beyond its range it is ±inf
        want = want.astype(dtype).astype(np.float64)
    info = np.finfo(dtype)
    # the spacing of dtype at want (the smallest subnormal's below the normal range)
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    scale = SCALE.get(name if kind == "forward" else ("grad", name), lambda v: 0.0)
    extra = np.array([scale(mpmath.mpf(float(v))) for v in x], dtype=np.float64)
    # below the normal range a factor that underflowed on the way (e^x in x·σ(x)) costs up to
    # |x| subnormal ulps
    underflow = (1 + np.abs(x.astype(np.float64))) * float(info.smallest_subnormal)
    bound = ULPS * spacing + 2 * float(info.eps) * extra + ULPS * underflow
    return x, want, bound


def run(kind, name, x):
    if kind == "forward":
        return _core.activation_forward(CODES[name], x, 1)
    dx = np.ones_like(x)
    if name in NEEDS_PRE:
        return _core.activation_backward(CODES[name], dx, x, 1, pre=x)
    return _core.activation_backward(CODES[name], dx, x, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,name", [("forward", n) for n in FORWARD] + [("grad", n) for n in GRADIENT])
def test_accuracy_in_ulps(kernel_path, kind, name, dtype):
    x, want, bound = reference(kind, name, dtype)
    if kind == "grad" and name == "softplus":
        keep = x >= 0  # z is softplus's output, never negative
        x, want, bound = x[keep], want[keep], bound[keep]
    got = run(kind, name, x).astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf − inf where both saturate
        err = np.where(got == want, 0.0, np.abs(got - want))
        bad = ~((got == want) | (err <= bound))
    if bad.any():
        worst = np.flatnonzero(bad)[np.argmax((err / bound)[bad])]
        pytest.fail(f"{name} {kind} on {kernel_path}, {np.dtype(dtype).name}: {bad.sum()} of {x.size} "
                    f"beyond the bound; worst at x = {x[worst]!r}: got {got[worst]!r}, want {want[worst]!r}, "
                    f"error {err[worst] / bound[worst]:.2f}× the bound")


@pytest.mark.parametrize("dtype", DTYPES)
def test_limits_and_special_values(kernel_path, dtype):
    """±inf, NaN and the saturated ends: the values the definitions give."""
    inf, nan = np.inf, np.nan
    x = np.array([-inf, inf, nan, -0.0, 0.0], dtype=dtype)
    f = lambda name: _core.activation_forward(CODES[name], x, 1)
    np.testing.assert_array_equal(f("logistic")[[0, 1, 3, 4]], [0.0, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(f("tanh")[[0, 1]], [-1.0, 1.0])
    np.testing.assert_array_equal(np.signbit(f("tanh")[[3, 4]]), [True, False])  # tanh(−0) = −0
    np.testing.assert_array_equal(f("elu")[[0, 1]], [-1.0, inf])
    np.testing.assert_array_equal(f("softplus")[[0, 1, 4]], [0.0, inf, np.log(2.0).astype(dtype)])
    np.testing.assert_array_equal(f("gelu")[[1, 3, 4]], [inf, 0.0, 0.0])
    for name in CODES:
        assert np.isnan(f(name)[2]), name  # NaN stays NaN


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_path_has_portables_bits(kernel_path, dtype):
    """The pass kernels of every path give the portable path's bits on every argument (signed
    zeros included; a NaN may differ in its sign bit only), forward and backward."""
    isa = _core.active_isa()
    x = np.concatenate([arguments(dtype), np.array([np.inf, -np.inf, np.nan], dtype=dtype)])
    for name in CODES:
        for kind in ("forward", "grad"):
            if kind == "grad" and name not in GRADIENT:
                continue
            got = run(kind, name, x)
            _core.set_isa("portable")
            try:
                want = run(kind, name, x)
            finally:
                _core.set_isa(isa)
            what = f"{name} {kind} on {isa}"
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
            ok = ~np.isnan(want)
            np.testing.assert_array_equal(got[ok].view(np.uint8), want[ok].view(np.uint8), err_msg=what)
