"""Property tests: hypothesis drives MLPClassifier / MLPRegressor through the public API.

Each example draws data (shape, dtype, memory layout, sparse format, hostile values), the
hyperparameters and the ISA path, and must end in a correct result or a clear error
(ValueError, TypeError, NotFittedError) - never a crash, a hang or a silent NaN:

- odd layouts and dtypes train the very same model, bit for bit, as the C-contiguous float64
  (float32 for native float32) array of the same values, and predict the same bits;
- sparse input (CSR/CSC/COO, matrix and array classes, unsorted or duplicate indices, explicit
  zeros, 32/64-bit indices) trains the model dense input trains, to rounding;
- random hyperparameters, valid and invalid, raise exactly when scikit-learn's own estimator
  raises, with its exception type (and its message for parameter validation), and otherwise
  predict what scikit-learn's estimator predicts, to rounding (float64 trajectories match);
- NaN / infinity in X, y or sample_weight, wrong shapes and unfitted models raise what
  scikit-learn raises, and leave a fitted model predicting as before.

The ISA path is part of every example, so this module runs once rather than once per path
(conftest.py). Outcomes are counted in the `property_draws` fixture and printed at the end.
"""

import contextlib
import faulthandler
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as skl
from hypothesis import given, note, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import (
    ConvergenceWarning,
    DataConversionWarning,
    NotFittedError,
    UndefinedMetricWarning,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor, _core

ISAS = tuple(_core.available_isas())
ESTIMATORS = {"classifier": (MLPClassifier, skl.MLPClassifier),
              "regressor": (MLPRegressor, skl.MLPRegressor)}
SOLVERS = ("sgd", "adam", "lbfgs")
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
# one example takes milliseconds (a second or two under .ci/sanitize); one that runs for
# this long is hung: faulthandler prints every thread's stack and ends the process
HANG_SECONDS = 300


@contextlib.contextmanager
def example_on(isa):
    """Run one example with `isa`'s kernels and a hang guard; expected warnings silenced."""
    previous = _core.active_isa()
    _core.set_isa(isa)
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    try:
        with warnings.catch_warnings():
            # tiny max_iter, column-vector y, r2 of one sample, batch_size > n_samples
            for category in (ConvergenceWarning, DataConversionWarning, UndefinedMetricWarning):
                warnings.simplefilter("ignore", category)
            warnings.filterwarnings("ignore", "Got `batch_size`", UserWarning)
            yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        _core.set_isa(previous)


def outcome(func, *args, **kwargs):
    """(result, None) or (None, exception) for a call that may raise a clear error."""
    try:
        return func(*args, **kwargs), None
    except (ValueError, TypeError) as e:  # NotFittedError and InvalidParameterError included
        return None, e


def n_rows(X):
    return len(X) if isinstance(X, list) else X.shape[0]


def forward_may_overflow(est, X, dtype):
    """Whether est's forward pass over X may leave dtype's range. |h| <= B is carried through
    each layer as B * max_j sum_i |W_ij| + max |b| (a bound on every partial sum too), then
    max(B, 1) for the activation (identity and relu keep |h|, logistic and tanh stay within 1).
    Beyond the range, inf and then inf - inf = NaN are the arithmetic's answer, as they are
    scikit-learn's with the same weights: a diverging fit can end with finite but huge weights
    (sgd at batch size 1 on float16 data at scale 10 reached 1e178, and scikit-learn the same)."""
    Xa = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    bound = float(np.abs(Xa).max(initial=0.0))
    with np.errstate(over="ignore"):
        for layer, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
            if layer > 0:
                bound = max(bound, 1.0)
            widest = float(np.abs(W.astype(np.float64)).sum(axis=0).max(initial=0.0))
            bound = bound * widest + float(np.abs(b.astype(np.float64)).max(initial=0.0))
    return not bound < np.finfo(dtype).max


def check_outputs(est, X, y, dtype):
    """Shapes, dtypes, finiteness and mutual consistency of everything est predicts for X.
    Finiteness is asserted wherever no value of the forward pass can overflow."""
    n = n_rows(X)
    pred = est.predict(X)
    finite = not forward_may_overflow(est, X, dtype)
    if isinstance(est, MLPClassifier):
        proba = est.predict_proba(X)
        assert proba.dtype == dtype
        if not finite:
            assert proba.shape[0] == pred.shape[0] == n
            return pred
        assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
        if y.ndim == 2:  # multilabel indicator: one logistic output per label
            assert proba.shape == pred.shape == y.shape
            assert_array_equal(pred, (proba > 0.5).astype(pred.dtype))
        else:
            k = len(est.classes_)
            assert proba.shape == (n, k) and pred.shape == (n,)
            assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * k * np.finfo(dtype).eps)
            assert_array_equal(pred, est.classes_[np.argmax(proba, axis=1)])
            # computed from the scores by log-sum-exp, so finite even where proba rounds to 0
            log_proba = est.predict_log_proba(X)
            assert log_proba.dtype == dtype and np.isfinite(log_proba).all()
            assert (log_proba <= 0).all()
            # predict_proba's binary column 0 is 1 - p, exact only to an eps of 1 (absolute)
            eps = np.finfo(dtype).eps
            assert_allclose(np.exp(log_proba), proba, rtol=16 * eps, atol=4 * eps)
        assert est.score(X, y) == accuracy_score(y, pred)
    else:
        assert pred.dtype == dtype
        assert pred.shape == (y.shape if y.ndim == 2 and y.shape[1] > 1 else (n,))
        if not np.isfinite(pred).all():
            assert not finite
            # scikit-learn's r2_score refuses them, so score does, as scikit-learn's does
            with pytest.raises(ValueError, match="Input contains"):
                est.score(X, y)
            return pred
        # finite predictions beyond 1e154 (a diverging Adam with beta_2 = 0, the same weights
        # as scikit-learn's) overflow the metric's squares to the same inf on both sides
        with np.errstate(over="ignore"):
            assert_allclose(est.score(X, y), r2_score(y, pred), rtol=1e-12, equal_nan=True)
    return pred


def assert_same_model(a, b):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(x, y, strict=True)


def assert_close_model(a, b, rtol):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, np.abs(y).max(initial=0)))


def close_models(a, b, rtol):
    try:
        assert_close_model(a, b, rtol)
    except AssertionError:
        return False
    return True


def moves_under_one_ulp(Est, params, X, y, ref, rtol):
    """Whether the model Est(**params) trains on X moves beyond rtol when every nonzero of X
    moves by one ulp: such a trajectory (L-BFGS's line search on a float32 objective of one
    sample, say) amplifies rounding, so a run whose sums are merely ordered differently is
    another sample of it, not the same model."""
    nudged = (X * (1 + np.finfo(X.dtype).eps)).astype(X.dtype)
    other, err = outcome(Est(**params).fit, nudged, y)
    return err is not None or not close_models(other, ref, rtol)


# ------------------------------------------------------------------------- data
# Scales stay where a few epochs of SGD with momentum and batch size 1 do not diverge: a
# diverging trajectory is chaotic (rounding-level differences grow without bound), so "the
# same model to rounding" would not be a property of it.
@st.composite
def targets(draw, kind, n, rng):
    """y for `kind`; a classifier's y has at least two classes whenever n >= 2."""
    if kind == "regressor":
        n_outputs = draw(st.sampled_from([0, 1, 2]))  # 0: 1-D y
        y = rng.standard_normal((n, max(n_outputs, 1))) * draw(st.sampled_from([0.1, 1, 5]))
        return y.ravel() if n_outputs == 0 else y
    form = draw(st.sampled_from(["int", "str", "float", "bool", "multilabel"]))
    if form == "multilabel":
        y = rng.integers(0, 2, (n, draw(st.integers(2, 3))))
        y[0, :] = 1 - y[-1, :] if n > 1 else y[0, :]  # every label takes both values
        return y
    n_classes = 2 if form == "bool" else draw(st.integers(2, 4))
    codes = rng.integers(0, n_classes, n)
    codes[: min(n, n_classes)] = np.arange(min(n, n_classes))
    return {"int": codes, "str": np.array(["cat", "dog", "eel", "fox"])[codes],
            "float": codes - 1.0, "bool": codes.astype(bool)}[form]


def values(rng, shape, dtype, scale):
    v = rng.standard_normal(shape) * scale
    if dtype == "bool":
        return v > 0
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.round(v), info.min, info.max).astype(dtype)
    return v.astype(dtype)


def layout(X, name):
    """X (C-contiguous) in the memory layout `name`, holding the same values."""
    if name == "C":
        return X
    if name == "F":
        return np.asfortranarray(X)
    if name == "rows_strided":
        big = np.repeat(X, 2, axis=0)
        return big[::2]
    if name == "cols_strided":
        big = np.repeat(X, 3, axis=1)
        return big[:, 1::3]
    if name == "reversed":
        return np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]
    if name == "transposed":
        return np.ascontiguousarray(X.T).T
    if name == "readonly":
        X = X.copy()
        X.setflags(write=False)
        return X
    if name == "big_endian":
        return X.astype(X.dtype.newbyteorder(">"))
    if name == "list":
        return X.tolist()
    raise AssertionError(name)


LAYOUTS = ("C", "F", "rows_strided", "cols_strided", "reversed", "transposed", "readonly",
           "big_endian", "list")
DENSE_DTYPES = ("float16", "float32", "float64", "int8", "int64", "uint16", "bool")


def model_dtype(X):
    """scikit-learn's rule: native float32 input keeps float32, anything else is float64
    (validate_data keeps only a dtype it lists, and a byte-swapped float32 is not that)."""
    if isinstance(X, np.ndarray) or sp.issparse(X):
        if X.dtype == np.dtype(np.float32):
            return np.dtype(np.float32)
    return np.dtype(np.float64)


def stochastic_params(draw, solver):
    return dict(
        solver=solver,
        hidden_layer_sizes=draw(st.sampled_from([(), (3,), (4, 2)])),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        max_iter=draw(st.integers(1, 3)),
        batch_size=draw(st.sampled_from(["auto", 1, 5])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 0.1])),
        random_state=draw(st.integers(0, 2**31 - 1)),
    )


@settings(max_examples=300)
@given(data=st.data())
def test_dense_layouts_and_dtypes_train_the_same_model(data, property_draws):
    """An odd layout or dtype trains and predicts the same bits as its C-contiguous equivalent,
    on any thread count, and partial_fit goes on identically."""
    draw = data.draw
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n, d = draw(st.integers(1, 24)), draw(st.integers(1, 30))  # often more features than rows
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(DENSE_DTYPES))
    base = values(rng, (n, d), dtype, draw(st.sampled_from([0.01, 1.0, 10.0])))
    name = draw(st.sampled_from(LAYOUTS))
    X = layout(base, name)
    mdtype = model_dtype(X)
    X_ref = np.ascontiguousarray(base, dtype=mdtype)
    y = draw(targets(kind, n, rng))
    solver = draw(st.sampled_from(SOLVERS))
    params = stochastic_params(draw, solver)
    isa = draw(st.sampled_from(ISAS))
    n_jobs = draw(st.sampled_from([1, 2, None]))
    note(f"{kind} {dtype} {name} n={n} d={d} isa={isa} n_jobs={n_jobs} {params}")
    Est = ESTIMATORS[kind][0]

    with example_on(isa):
        ref, ref_err = outcome(Est(**params, n_jobs=1).fit, X_ref, y)
        est, err = outcome(Est(**params, n_jobs=n_jobs).fit, X, y)
        single_class = kind == "classifier" and y.ndim == 1 and len(np.unique(y)) < 2
        if single_class:
            assert isinstance(err, ValueError) and "only one class" in str(err)
            property_draws["dense layouts: single class refused"] += 1
            return
        assert (err is None) == (ref_err is None), (err, ref_err)
        if err is not None:  # the same data must fail the same way
            assert type(err) is type(ref_err) and str(err) == str(ref_err)
            property_draws[f"dense layouts: {type(err).__name__} as for C-contiguous"] += 1
            return
        assert est.coefs_[0].dtype == mdtype
        assert_same_model(est, ref)
        pred = check_outputs(est, X, y, mdtype)
        assert_array_equal(pred, ref.predict(X_ref), strict=True)
        if kind == "classifier":
            assert_array_equal(est.predict_proba(X), ref.predict_proba(X_ref), strict=True)
        if mdtype == np.float32:  # float64 X given to a float32 model is cast, not upcast
            assert_array_equal(est.predict(X_ref.astype(np.float64)), pred, strict=True)
        if solver != "lbfgs":
            # a step may diverge (float16 data at scale 10, batch 1): then both refuse alike
            # and keep the same last finite weights
            _, err = outcome(est.partial_fit, X, y)
            _, ref_err = outcome(ref.partial_fit, X_ref, y)
            assert (err is None) == (ref_err is None), (err, ref_err)
            if err is not None:
                assert type(err) is type(ref_err) is not TypeError and str(err) == str(ref_err)
                assert "diverged" in str(err)
                assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
            assert_same_model(est, ref)
    property_draws["dense layouts: same model as C-contiguous"] += 1


# ---------------------------------------------------------------------- sparse
def sparse_from(dense, fmt, twist, index_dtype, rng):
    """A sparse matrix equal to `dense`, in format `fmt`, stored with `twist`."""
    n, d = dense.shape
    rows, cols = np.nonzero(dense)
    vals = dense[rows, cols]
    if twist == "explicit_zeros":  # stored entries that are zero
        extra = rng.random((n, d)) < 0.2
        extra &= dense == 0
        r0, c0 = np.nonzero(extra)
        rows, cols = np.concatenate([rows, r0]), np.concatenate([cols, c0])
        vals = np.concatenate([vals, np.zeros(len(r0), dense.dtype)])
    if twist == "duplicates" and dense.dtype.kind == "f":  # each value stored as two halves
        half = vals * dense.dtype.type(0.5)
        rows, cols = np.concatenate([rows, rows]), np.concatenate([cols, cols])
        vals = np.concatenate([half, vals - half])
    order = rng.permutation(len(vals)) if twist != "canonical" else np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    if fmt.startswith("coo"):
        cls = getattr(sp, fmt)
        return cls((vals, (rows.astype(index_dtype), cols.astype(index_dtype))), shape=(n, d))
    # CSR (CSC: the CSR of the transpose, transposed) built from its parts, so that the
    # stored order and duplicates survive (the COO route would sum and sort them)
    major, minor, size = (rows, cols, (n, d)) if fmt.startswith("csr") else (cols, rows, (d, n))
    by_major = np.argsort(major, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(major, minlength=size[0]))])
    parts = (vals[by_major], minor[by_major].astype(index_dtype), indptr.astype(index_dtype))
    kind = "array" if fmt.endswith("array") else "matrix"
    csr = getattr(sp, f"csr_{kind}")(parts, shape=size)
    return csr if fmt.startswith("csr") else csr.T


SPARSE_FORMATS = ("csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array", "coo_array")
# a sparse product sums each row in a different order than the dense GEMM: differences are
# rounding, grown over at most 3 epochs (L-BFGS line searches amplify them most)
SPARSE_RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-3}


@settings(max_examples=250)
@given(data=st.data())
def test_sparse_input_trains_the_dense_model(data, property_draws):
    """CSR/CSC/COO input in any storage order trains the model its dense equal trains, and a
    model predicts sparse input as it predicts the same values dense."""
    draw = data.draw
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n, d = draw(st.integers(1, 24)), draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "bool"]))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    dense = np.where(rng.random((n, d)) < density, values(rng, (n, d), dtype, 1.5), 0)
    dense = dense.astype(dtype)
    fmt = draw(st.sampled_from(SPARSE_FORMATS))
    twist = draw(st.sampled_from(["canonical", "unsorted", "duplicates", "explicit_zeros"]))
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    Xs = sparse_from(dense, fmt, twist, index_dtype, rng)
    assert_array_equal(Xs.toarray(), dense)
    mdtype = model_dtype(Xs)
    X_ref = np.ascontiguousarray(dense, dtype=mdtype)
    y = draw(targets(kind, n, rng))
    solver = draw(st.sampled_from(SOLVERS))
    params = stochastic_params(draw, solver)
    isa = draw(st.sampled_from(ISAS))
    note(f"{kind} {dtype} {fmt} {twist} {index_dtype.__name__} n={n} d={d} isa={isa} {params}")
    Est = ESTIMATORS[kind][0]

    with example_on(isa):
        ref, ref_err = outcome(Est(**params).fit, X_ref, y)
        est, err = outcome(Est(**params).fit, Xs, y)
        assert (err is None) == (ref_err is None), (err, ref_err)
        if err is not None:
            assert type(err) is type(ref_err) and str(err) == str(ref_err)
            property_draws[f"sparse: {type(err).__name__} as for dense"] += 1
            return
        if not close_models(est, ref, SPARSE_RTOL[mdtype]) and moves_under_one_ulp(
                Est, params, X_ref, y, ref, SPARSE_RTOL[mdtype]):
            check_outputs(est, Xs, y, mdtype)
            property_draws["sparse: chaotic trajectory (dense moves as far under one ulp)"] += 1
            return
        assert_close_model(est, ref, SPARSE_RTOL[mdtype])
        pred = check_outputs(est, Xs, y, mdtype)
        # the same model, sparse vs dense input: one layer's sums in another order
        same_model_rtol = 50 * np.finfo(mdtype).eps
        out_s = est.predict_proba(Xs) if kind == "classifier" else est.predict(Xs)
        out_d = est.predict_proba(X_ref) if kind == "classifier" else est.predict(X_ref)
        assert_allclose(out_s, out_d, rtol=same_model_rtol,
                        atol=same_model_rtol * max(1.0, np.abs(out_d).max(initial=0)))
        if kind == "classifier" and y.ndim == 1:
            assert pred.shape == (n,)
        if solver != "lbfgs":
            est.partial_fit(Xs, y)
            ref.partial_fit(X_ref, y)
            assert_close_model(est, ref, SPARSE_RTOL[mdtype])
    property_draws["sparse: same model as dense"] += 1


# ------------------------------------------------------------- hyperparameters
# (parameter, value) pairs scikit-learn refuses; n_jobs is fastmlp's own
INVALID_PARAMS = [
    ("hidden_layer_sizes", (0,)), ("hidden_layer_sizes", (3, -1)), ("hidden_layer_sizes", "5"),
    ("hidden_layer_sizes", 2.5), ("activation", "sigmoid"), ("solver", "newton"),
    ("alpha", -1.0), ("alpha", "0.1"), ("batch_size", 0), ("batch_size", "big"),
    ("learning_rate", "cyclic"), ("learning_rate_init", 0.0), ("power_t", -0.5),
    ("max_iter", 0), ("max_iter", 2.0), ("shuffle", "yes"), ("tol", -1e-3),
    ("momentum", 1.5), ("nesterovs_momentum", 1), ("early_stopping", None),
    ("validation_fraction", 1.0), ("beta_1", 1.0), ("beta_2", -0.1), ("epsilon", 0.0),
    ("n_iter_no_change", 0), ("max_fun", 0), ("random_state", "seed"), ("warm_start", "no"),
    ("verbose", "loud"),
]
INVALID_N_JOBS = [0, 1.5, "all"]


@st.composite
def hyperparameters(draw, kind):
    p = {}
    for name, choices in [
        ("hidden_layer_sizes", [(), (1,), (4,), (5, 3), [3], np.array([2, 2]), 3]),
        ("activation", ACTIVATIONS), ("solver", SOLVERS),
        ("alpha", [0.0, 1e-5, 0.5]), ("batch_size", ["auto", 1, 3, 50]),
        ("learning_rate", ["constant", "invscaling", "adaptive"]),
        ("learning_rate_init", [1e-4, 1e-3, 0.03]), ("power_t", [0.0, 0.5, 2.0]),
        ("shuffle", [True, False]), ("tol", [0.0, 1e-4, 10.0]),
        ("momentum", [0.0, 0.5, 0.9]), ("nesterovs_momentum", [True, False]),
        ("early_stopping", [False, False, True]), ("validation_fraction", [0.0, 0.2, 0.5]),
        ("beta_1", [0.0, 0.9]), ("beta_2", [0.0, 0.999]), ("epsilon", [1e-8, 1.0]),
        ("n_iter_no_change", [1, 10, np.inf]), ("max_fun", [1, 15000]),
        ("warm_start", [False, True]),
    ]:
        if draw(st.booleans()):
            p[name] = draw(st.sampled_from(choices))
    if kind == "regressor" and draw(st.booleans()):
        p["loss"] = draw(st.sampled_from(["squared_error", "poisson"]))
    p["random_state"] = draw(st.integers(0, 2**31 - 1))
    p["max_iter"] = draw(st.sampled_from([1, 2, 4, 15]))  # the default 200 takes long
    invalid = draw(st.sampled_from([None, None, "sklearn", "n_jobs"]))
    if invalid == "sklearn":
        # no invalid loss: fastmlp's loss options (issue 6) are scikit-learn's and more, so
        # the two messages list different options (tests/test_losses.py checks fastmlp's)
        name, value = draw(st.sampled_from(INVALID_PARAMS))
        p[name] = value
    n_jobs = draw(st.sampled_from(INVALID_N_JOBS if invalid == "n_jobs" else [None, 1, 2, -1]))
    return p, n_jobs


def same_error(err, sk_err):
    """fastmlp raised what scikit-learn raised: same type; for parameter validation (whose
    wording names the estimator class, the same in both) the same message, up to the order
    in which a set of allowed options happens to be listed."""
    assert type(err) is type(sk_err), (err, sk_err)
    if isinstance(sk_err, InvalidParameterError):
        assert options_sorted(str(err)) == options_sorted(str(sk_err))


# options fastmlp adds to scikit-learn's parameters: left out of the listed options compared
FASTMLP_ONLY_OPTIONS = {
    "'cosine'", "'step'",  # learning_rate
    "'rprop'",  # solver
    "'leaky_relu'", "'elu'", "'selu'", "'gelu'", "'silu'", "'swish'", "'softplus'",
    "'softsign'", "'mish'", "'hard_tanh'",  # activation
}
# the types fastmlp adds: activation also takes a list or tuple (one name per hidden layer)
FASTMLP_ONLY_TYPES = ", an instance of 'list' or an instance of 'tuple'"


def options_sorted(message):
    return re.sub(r"\{([^{}]*)\}",
                  lambda m: "{" + ", ".join(sorted(
                      o for o in m.group(1).split(", ") if o not in FASTMLP_ONLY_OPTIONS)) + "}",
                  message.replace(FASTMLP_ONLY_TYPES, ""))


def diverged(err):
    """err is a divergence: fastmlp's (training stopped) or scikit-learn's (at the end)."""
    return isinstance(err, ValueError) and "non-finite parameter weights" in str(err)


def sklearn_outcome(func, *args, **kwargs):
    """outcome() of a scikit-learn call, its numpy overflow warnings silenced. Its losses
    average a mini-batch with weights summing to zero by dividing by that sum (np.average
    raises ZeroDivisionError); that is returned as the error too, and fastmlp trains on."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return outcome(func, *args, **kwargs)
        except ZeroDivisionError as e:
            return None, e


@settings(max_examples=250)
@given(data=st.data())
def test_hyperparameters_behave_like_scikit_learn(data, property_draws):
    """Any hyperparameters, valid or not: fastmlp raises exactly when scikit-learn does, with
    its exception, and otherwise predicts what scikit-learn predicts (float64, to rounding);
    the documented differences (one class, Poisson with negative y) are clear ValueErrors."""
    draw = data.draw
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n, d = draw(st.integers(2, 30)), draw(st.integers(1, 6))  # 1 row: the layout test
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((n, d))
    y = draw(targets(kind, n, rng))
    if kind == "classifier" and draw(st.integers(0, 9)) == 0:
        y = draw(st.sampled_from([np.full(n, "only"),  # a single class: refused, unlike sklearn
                                  rng.standard_normal(n)]))  # continuous: not class labels
    sample_weight = draw(st.sampled_from([None, "ones", "random", "with_zeros"]))
    sw = {None: None, "ones": np.ones(n), "random": rng.random(n) + 0.1,
          "with_zeros": np.where(rng.random(n) < 0.3, 0.0, 1.0)}[sample_weight]
    params, n_jobs = draw(hyperparameters(kind))
    isa = draw(st.sampled_from(ISAS))
    note(f"{kind} n={n} d={d} y={y.dtype}{y.shape} sw={sample_weight} {params} n_jobs={n_jobs}")
    Est, SkEst = ESTIMATORS[kind]

    with example_on(isa):
        est, err = outcome(Est(**params, n_jobs=n_jobs).fit, X, y, sample_weight=sw)
        if n_jobs in INVALID_N_JOBS:
            assert isinstance(err, InvalidParameterError) and "'n_jobs'" in str(err)
            property_draws["hyperparameters: invalid n_jobs refused"] += 1
            return
        sk, sk_err = sklearn_outcome(SkEst(**params).fit, X, y, sample_weight=sw)
        # scikit-learn got past validation: the documented differences apply
        validated = sk_err is None or not isinstance(sk_err, (ValueError, TypeError)) or (
            "non-finite parameter weights" in str(sk_err))
        if validated and kind == "classifier" and y.ndim == 1 and len(np.unique(y)) < 2:
            assert isinstance(err, ValueError) and "only one class" in str(err), err
            property_draws["hyperparameters: single class refused (documented)"] += 1
            return
        if validated and kind == "regressor" and params.get("loss") == "poisson" and (y < 0).any():
            assert isinstance(err, ValueError) and "Poisson" in str(err), err
            property_draws["hyperparameters: Poisson with y < 0 refused (documented)"] += 1
            return
        if isinstance(sk_err, ZeroDivisionError):
            assert err is None, err
            check_outputs(est, X, y, np.dtype(np.float64))
            property_draws["hyperparameters: fitted where scikit-learn divides by 0"] += 1
            return
        # Compared with scikit-learn unless the trajectory is chaotic or documented to differ:
        # with beta_2 = 0 an Adam step is lr * g / (|g| + epsilon), so a gradient entry near
        # epsilon turns a rounding difference into a different step; a multi-output
        # regressor's loss_ is n_outputs times scikit-learn's (README), so tol stops it at
        # other epochs.
        multi_output_regression = kind == "regressor" and y.ndim == 2 and y.shape[1] > 1
        chaotic = params.get("solver", "adam") == "adam" and params.get("beta_2") == 0.0
        # fastmlp applies learning_rate to Adam too; scikit-learn's Adam ignores it (README)
        adam_schedule = params.get("solver", "adam") == "adam" and params.get(
            "learning_rate", "constant") != "constant"
        comparable = not (multi_output_regression or chaotic or adam_schedule)
        if not comparable and (diverged(err) or diverged(sk_err)):
            # one trajectory may diverge where the other does not: fastmlp then stops
            # with its divergence error (scikit-learn trains on in NaN and may raise at the
            # end); anything else must still match below
            assert err is None or diverged(err), err
            assert sk_err is None or diverged(sk_err), sk_err
            if err is None:
                check_outputs(est, X, y, np.dtype(np.float64))
            property_draws["hyperparameters: diverged on one side (trajectories differ)"] += 1
            return
        if sk_err is not None:
            assert err is not None, f"scikit-learn raised {sk_err!r}, fastmlp did not"
            same_error(err, sk_err)
            property_draws[f"hyperparameters: {type(err).__name__} like scikit-learn"] += 1
            return
        assert err is None, f"fastmlp raised {err!r}, scikit-learn did not"
        pred = check_outputs(est, X, y, np.dtype(np.float64))

        def assert_like_scikit_learn():
            assert est.n_iter_ == sk.n_iter_ and est.t_ == sk.t_
            out = est.predict_proba(X) if kind == "classifier" else pred
            sk_out = sk.predict_proba(X) if kind == "classifier" else sk.predict(X)
            assert_allclose(out, sk_out, rtol=1e-7, atol=1e-9)

        if comparable:
            assert_like_scikit_learn()
        if params.get("solver", "adam") != "lbfgs" and not params.get("early_stopping"):
            extra = {"classes": est.classes_} if kind == "classifier" and y.ndim == 1 else {}
            _, err = outcome(est.partial_fit, X, y, sample_weight=sw, **extra)
            if not comparable and diverged(err):  # its trajectory went on to diverge
                property_draws["hyperparameters: partial_fit diverged (trajectories differ)"] += 1
                return
            assert err is None, err
            pred = check_outputs(est, X, y, np.dtype(np.float64))
            if comparable:
                _, sk_err = sklearn_outcome(sk.partial_fit, X, y, sample_weight=sw, **extra)
                if isinstance(sk_err, ZeroDivisionError):
                    property_draws["hyperparameters: fitted; scikit-learn's partial_fit "
                                   "divides by 0"] += 1
                    return
                assert sk_err is None, sk_err
                assert_like_scikit_learn()
    property_draws["hyperparameters: fitted like scikit-learn"] += 1


# ------------------------------------------------------------------ hostile input
HOSTILE = ("nan", "inf", "-inf", "wrong_n_features", "one_dimensional", "three_dimensional",
           "no_rows", "no_features", "complex", "strings", "ragged")


def hostile_X(X, what, rng):
    if what in ("nan", "inf", "-inf"):
        X = X.copy()
        mask = rng.random(X.shape) < 0.3
        mask[rng.integers(X.shape[0]), rng.integers(X.shape[1])] = True
        X[mask] = float(what)
        return X
    return {
        "wrong_n_features": lambda: np.hstack([X, X[:, :1]]),
        "one_dimensional": lambda: X[:, 0].copy(),
        "three_dimensional": lambda: X[:, :, None],
        "no_rows": lambda: X[:0],
        "no_features": lambda: X[:, :0],
        "complex": lambda: X + 1j,
        "strings": lambda: np.where(np.arange(X.size).reshape(X.shape) % 2 == 0, "x",
                                    X.astype(str)).astype(object),  # numeric ones would pass
        "ragged": lambda: [list(r) for r in X[:-1]] + [list(X[-1, :-1])],
    }[what]()


@settings(max_examples=400)
@given(data=st.data())
def test_hostile_input_raises_what_scikit_learn_raises(data, property_draws):
    """NaN, infinity and malformed X (dense in any layout, sparse, list) at fit, partial_fit,
    predict, predict_proba and score; NaN in y or sample_weight; unfitted models: the error
    scikit-learn raises, and a fitted model afterwards predicts exactly as before."""
    draw = data.draw
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n, d = draw(st.integers(2, 20)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    X = rng.standard_normal((n, d)).astype(dtype)
    y = draw(targets(kind, n, rng))
    where = draw(st.sampled_from(["X", "X", "X", "y", "sample_weight", "unfitted"]))
    stage = draw(st.sampled_from(["fit", "partial_fit", "predict", "predict_proba", "score"]))
    what = draw(st.sampled_from(HOSTILE if where == "X" else ("nan", "inf")))
    form = draw(st.sampled_from(["C", "F", "csr", "csc", "list"]))
    isa = draw(st.sampled_from(ISAS))
    note(f"{kind} {np.dtype(dtype)} n={n} d={d} {what} in {where} at {stage}, X as {form}")
    Est, SkEst = ESTIMATORS[kind]
    params = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    if stage == "predict_proba" and kind == "regressor":
        stage = "predict"
    if what == "wrong_n_features" and stage == "fit":
        stage = "predict"  # any width fits; the fitted width is what predict checks

    bad_X, bad_y, bad_sw = X, y, None
    if where == "X":
        bad_X = hostile_X(X, what, rng)
    elif where == "y":
        bad_y = hostile_X(rng.standard_normal((n, 1)), what, rng).ravel()
        if kind == "classifier":
            bad_y = bad_y.astype(object)  # NaN as a class label
    elif where == "sample_weight":
        bad_sw = hostile_X(np.ones((n, 1)), what, rng).ravel()
    if form != "C" and isinstance(bad_X, np.ndarray) and bad_X.ndim == 2 and bad_X.size:
        if form == "F":
            bad_X = np.asfortranarray(bad_X)
        elif form == "list":
            bad_X = bad_X.tolist()
        elif bad_X.dtype.kind == "f":
            bad_X = getattr(sp, f"{form}_matrix")(bad_X)

    def call(est):
        if stage in ("fit", "partial_fit") or where != "X":
            if stage == "partial_fit" and isinstance(est, (MLPClassifier, skl.MLPClassifier)):
                kwargs = {"classes": np.unique(y)} if y.ndim == 1 else {}
                return est.partial_fit(bad_X, bad_y, sample_weight=bad_sw, **kwargs)
            method = est.partial_fit if stage == "partial_fit" else est.fit
            return method(bad_X, bad_y, sample_weight=bad_sw)
        return getattr(est, stage)(*((bad_X, y) if stage == "score" else (bad_X,)))

    with example_on(isa):
        est, sk = Est(**params), SkEst(**params)
        fitted = where == "X" and (stage not in ("fit", "partial_fit")
                                   or what == "wrong_n_features")
        if fitted:
            est.fit(X, y)
            sk.fit(X, y)
            before = est.predict(X)
        if where == "unfitted":
            method = {"fit": "predict", "partial_fit": "predict"}.get(stage, stage)
            for e in (est, sk):
                _, err = outcome(getattr(e, method), *((X, y) if method == "score" else (X,)))
                assert isinstance(err, NotFittedError), err
            property_draws["hostile: unfitted model refused"] += 1
            return
        _, err = outcome(call, est)
        _, sk_err = sklearn_outcome(call, sk)
        assert sk_err is not None, "the hostile input should be refused by scikit-learn too"
        assert err is not None, f"fastmlp accepted what scikit-learn refused with {sk_err!r}"
        same_error(err, sk_err)
        # a float32 model validates sample_weight as float32, scikit-learn as float64
        if where == "sample_weight" and model_dtype(bad_X) == np.float32:
            sk_err = str(sk_err).replace("float64", "float32")
        assert str(err) == str(sk_err)
        if fitted:
            assert_array_equal(est.predict(X), before, strict=True)
    property_draws[f"hostile: {what} in {where} refused like scikit-learn"] += 1


@settings(max_examples=100)
@given(data=st.data())
def test_float32_model_refuses_values_beyond_float32(data, property_draws):
    """A float32 model casts float64 X to float32: finite values beyond float32's range are a
    ValueError, not infinities that turn into NaN outputs (regression: they were NaN)."""
    draw = data.draw
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n, d = draw(st.integers(1, 10)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((max(n, 2), d))
    y = draw(targets(kind, max(n, 2), rng))
    big = draw(st.floats(3.5e38, 1e300)) * draw(st.sampled_from([1, -1]))
    X_big = X[:n].copy()
    X_big[rng.integers(n), rng.integers(d)] = big
    form = draw(st.sampled_from(["C", "F", "csr", "csc", "list"]))
    X_big = {"C": X_big, "F": np.asfortranarray(X_big), "list": X_big.tolist(),
             "csr": sp.csr_matrix(X_big), "csc": sp.csc_matrix(X_big)}[form]
    stage = draw(st.sampled_from(["predict", "score", "partial_fit"]))
    isa = draw(st.sampled_from(ISAS))
    note(f"{kind} {big} at {stage} as {form}")
    Est = ESTIMATORS[kind][0]
    with example_on(isa):
        est = Est(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
        est.fit(X.astype(np.float32), y)
        before = est.predict(X)
        if stage == "partial_fit":
            with pytest.raises(ValueError, match="too large for dtype"):
                est.partial_fit(X_big, y[:n])
        else:
            with pytest.raises(ValueError, match="too large for dtype"):
                if stage == "score":
                    est.score(X_big, y[:n])
                else:
                    est.predict(X_big)
            assert_array_equal(est.predict(X), before, strict=True)
        # a value float32 holds is still fine
        X_ok = X[:n].copy()
        X_ok[0, 0] = np.finfo(np.float32).max / 2
        assert est.predict(X_ok).shape[0] == n
    property_draws["hostile: beyond float32 refused by a float32 model"] += 1


def test_float32_model_refuses_float64_beyond_its_range_regression():
    """Regression: a float32 model given float64 X holding 1e39 returned NaN probabilities (the
    cast to float32 made it infinity); now a ValueError, for dense and sparse X."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = np.arange(20) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
        clf.fit(X.astype(np.float32), y)
    X[3, 1] = 1e39
    for X_big in (X, sp.csr_matrix(X)):
        with pytest.raises(ValueError, match=r"too large for dtype\('float32'\)"):
            clf.predict_proba(X_big)
    X[3, 1] = 3e38  # below float32's largest value, 3.4e38: fine
    assert np.isfinite(clf.predict_proba(X)).all()
