"""Hostile input: every bad value gets scikit-learn's own error before the core is touched, a
refused call changes nothing, and valid but odd layouts give the same model as the plain one.

Each bad input is its own test case. Where scikit-learn raises for the same input, its
estimator is run too and the exception type and message must agree; where fastmlp refuses
something scikit-learn accepts (a single class, Poisson with y < 0, switching between
multilabel and single-label targets under warm_start) the message is fastmlp's own.
"""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as skl
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor, _core

_X_iris, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(_X_iris)
_X_diab, _y_diab = load_diabetes(return_X_y=True)
X_DIAB = StandardScaler().fit_transform(_X_diab)
Y_DIAB = (_y_diab - _y_diab.mean()) / _y_diab.std()
KINDS = {"classifier": (MLPClassifier, skl.MLPClassifier, X_IRIS, Y_IRIS),
         "regressor": (MLPRegressor, skl.MLPRegressor, X_DIAB[:150], Y_DIAB[:150])}


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return func(*args, **kwargs)


def _raised(func):
    try:
        func()
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return exc
    return None


# ------------------------------------------------------------------ the bad inputs
def _with(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


# name -> (X, y, sample_weight) made from a good (X, y) pair, for fit and partial_fit
BAD_FIT_DATA = {
    "X_nan": lambda X, y: (_with(X, (3, 1), np.nan), y, None),
    "X_inf": lambda X, y: (_with(X, (0, 0), np.inf), y, None),
    "X_neg_inf": lambda X, y: (_with(X, (5, 2), -np.inf), y, None),
    "X_float32_nan": lambda X, y: (_with(X, (3, 1), np.nan).astype(np.float32), y, None),
    "X_sparse_nan": lambda X, y: (sp.csr_matrix(_with(X, (3, 1), np.nan)), y, None),
    "X_sparse_inf": lambda X, y: (sp.csc_matrix(_with(X, (3, 1), np.inf)), y, None),
    "X_1d": lambda X, y: (X[:, 0], y, None),
    "X_3d": lambda X, y: (X[:, :2].reshape(len(X), 2, 1), y, None),
    "X_scalar": lambda X, y: (3.0, y, None),
    "X_none": lambda X, y: (None, y, None),
    "X_0_rows": lambda X, y: (X[:0], y[:0], None),
    "X_0_features": lambda X, y: (X[:, :0], y, None),
    "X_longer_than_y": lambda X, y: (X, y[:-1], None),
    "X_shorter_than_y": lambda X, y: (X[:-3], y, None),
    "X_object_strings": lambda X, y: (np.array([["a", "b"]] * len(y), dtype=object), y, None),
    "X_unicode_strings": lambda X, y: (np.array([["1.0", "x"]] * len(y)), y, None),
    "X_complex": lambda X, y: (X + 1j, y, None),
    "X_ragged_list": lambda X, y: ([[1.0, 2.0], [3.0]] + [[1.0, 2.0]] * (len(y) - 2), y, None),
    "y_nan": lambda X, y: (X, _with(y, 4, np.nan), None),
    "y_inf": lambda X, y: (X, _with(y, 4, np.inf), None),
    "y_2d_wrong_rows": lambda X, y: (X, np.column_stack([y, y])[:-1], None),
    "y_complex": lambda X, y: (X, y + 1j, None),
    "y_3d": lambda X, y: (X, np.asarray(y).reshape(len(y), 1, 1), None),
    "sw_nan": lambda X, y: (X, y, _with(np.ones(len(y)), 2, np.nan)),
    "sw_inf": lambda X, y: (X, y, _with(np.ones(len(y)), 2, np.inf)),
    "sw_wrong_length": lambda X, y: (X, y, np.ones(len(y) + 1)),
    "sw_2d": lambda X, y: (X, y, np.ones((len(y), 2))),
    "sw_strings": lambda X, y: (X, y, np.array(["w"] * len(y))),
}
# only for one estimator
CLASSIFIER_ONLY = {
    "y_continuous": lambda X, y: (X, np.linspace(0.0, 1.0, len(y)) + 0.01, None),
    "y_single_class": lambda X, y: (X, np.zeros(len(y)), None),
    "y_single_string_class": lambda X, y: (X, np.array(["only"] * len(y)), None),
}
REGRESSOR_ONLY = {
    "y_strings": lambda X, y: (X, np.array(["a", "b"] * (len(y) // 2)), None),
}
# fastmlp refuses these where scikit-learn does not: (kind, name) -> message regex
OWN_MESSAGES = {
    "y_single_class": "needs samples of at least 2 classes.*only one class: 0.0",
    "y_single_string_class": "needs samples of at least 2 classes.*only one class: 'only'",
    "y_strings": "MLPRegressor needs numeric targets, but y has dtype <U1",
}
# a model fitted on classes 0, 1, 2 sees these as other classes, not as one class
WARM_MESSAGES = {
    "y_single_class": "warm_start can only be used where `y` has the same classes",
    "y_single_string_class": "warm_start can only be used where `y` has the same classes",
}
# scikit-learn's partial_fit meets these in type_of_target, whose message names no input;
# fastmlp validates y first, with the same words plus the name
PARTIAL_FIT_MESSAGES = {
    ("classifier", "y_nan"): re.escape("Input y contains NaN."),
    ("classifier", "y_inf"): re.escape("Input y contains infinity"),
}
# valid for partial_fit: a batch may hold one of the announced classes
NOT_REFUSED_BY_PARTIAL_FIT = {"y_single_class"}


def _fit_cases():
    cases = []
    for kind in KINDS:
        extra = CLASSIFIER_ONLY if kind == "classifier" else REGRESSOR_ONLY
        for name in list(BAD_FIT_DATA) + list(extra):
            cases.append(pytest.param(kind, name, id=f"{kind}-{name}"))
    return cases


def _bad_data(kind, name):
    _, _, X, y = KINDS[kind]
    make = {**BAD_FIT_DATA, **CLASSIFIER_ONLY, **REGRESSOR_ONLY}[name]
    return make(X, y)


def _expected_error(kind, name, method="fit", warm_start=False):
    """(type, message regex) of the error: scikit-learn's own where it has one."""
    Est, SkEst, X, y = KINDS[kind]
    if warm_start and name in WARM_MESSAGES:
        return ValueError, WARM_MESSAGES[name]
    if method == "partial_fit" and (kind, name) in PARTIAL_FIT_MESSAGES:
        return ValueError, PARTIAL_FIT_MESSAGES[kind, name]
    if name in OWN_MESSAGES and (method == "fit" or name not in WARM_MESSAGES):
        return ValueError, OWN_MESSAGES[name]
    Xb, yb, swb = _bad_data(kind, name)
    sk = SkEst(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exc = _raised(lambda: getattr(sk, method)(Xb, yb, sample_weight=swb)
                      if method == "fit" else
                      sk.partial_fit(Xb, yb, sample_weight=swb,
                                     **({"classes": np.unique(y)} if kind == "classifier"
                                        else {})))
    assert exc is not None, f"scikit-learn accepts {name}: no oracle"
    # the first line, without numpy's reprs of the whole array
    first = str(exc).splitlines()[0] if str(exc) else ""
    return type(exc), re.escape(first[:60])


@pytest.mark.parametrize("kind, name", _fit_cases())
def test_fit_refuses_bad_data(kind, name):
    """Test fit on an unfitted estimator raises scikit-learn's error (same type, same
    words) and leaves it unfitted."""
    Est, _, _, _ = KINDS[kind]
    Xb, yb, swb = _bad_data(kind, name)
    exc_type, pattern = _expected_error(kind, name)
    est = Est(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(exc_type, match=pattern) as info:
            est.fit(Xb, yb, sample_weight=swb)
    assert type(info.value) is exc_type
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")
    assert not hasattr(est, "classes_")


# --------------------------------------------- a refused call changes nothing
def _frozen(value):
    """A deep, comparable copy of an attribute value."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.random.RandomState):
        state = value.get_state()
        return ("rng", state[0], state[1].tobytes(), state[2:])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_frozen(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted((k, _frozen(v)) for k, v in value.items()))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__name__, _frozen(dict(vars(value))))
    return ("value", repr(value), type(value).__name__)


def _snapshot(est, X):
    """Every attribute (the optimizer state and the arena included), named ones for
    readable failures, the pickled model, and predictions."""
    named = {k: _frozen(getattr(est, k, None)) for k in
             ("coefs_", "intercepts_", "_optimizer_state", "n_iter_", "loss_curve_", "t_",
              "loss_", "classes_", "n_features_in_", "n_outputs_", "out_activation_",
              "_label_binarizer", "best_loss_", "_no_improvement_count")}
    everything = _frozen(dict(vars(est)))
    outputs = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        outputs.append(est.predict_proba(X))
    return named, everything, pickle.dumps(est), [_frozen(o) for o in outputs]


def _assert_unchanged(before, after):
    named_b, all_b, pickled_b, out_b = before
    named_a, all_a, pickled_a, out_a = after
    for key in named_b:
        assert named_a[key] == named_b[key], f"{key} changed"
    assert all_a == all_b
    assert pickled_a == pickled_b
    assert out_a == out_b


_FITTED = {}


def _fitted(kind, solver, warm_start=False):
    """A fitted model (fitted once per module, deep-copied for each test)."""
    key = (kind, solver, warm_start)
    if key not in _FITTED:
        Est, _, X, y = KINDS[kind]
        est = _quiet(Est(hidden_layer_sizes=(6,), solver=solver, max_iter=4, random_state=0,
                         warm_start=warm_start).fit, X, y)
        if solver != "lbfgs":
            est.partial_fit(X, y)  # optimizer state, t_ and loss_curve_ all in use
        _FITTED[key] = est
    return copy.deepcopy(_FITTED[key])


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind, name", _fit_cases())
def test_refused_fit_changes_nothing(kind, name, solver, warm_start):
    """Test a fitted model that gets bad data in fit is left exactly as it was: every
    attribute bit for bit, and its predictions."""
    est = _fitted(kind, solver, warm_start)
    X = KINDS[kind][2]
    before = _snapshot(est, X)
    Xb, yb, swb = _bad_data(kind, name)
    exc_type, pattern = _expected_error(kind, name, warm_start=warm_start)
    with pytest.raises(exc_type, match=pattern):
        _quiet(est.fit, Xb, yb, sample_weight=swb)
    _assert_unchanged(before, _snapshot(est, X))


PARTIAL_FIT_CASES = [c for c in _fit_cases() if c.values[1] not in NOT_REFUSED_BY_PARTIAL_FIT]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind, name", PARTIAL_FIT_CASES)
def test_refused_partial_fit_changes_nothing(kind, name, solver):
    est = _fitted(kind, solver)
    X = KINDS[kind][2]
    before = _snapshot(est, X)
    Xb, yb, swb = _bad_data(kind, name)
    exc_type, pattern = _expected_error(kind, name, method="partial_fit")
    with pytest.raises(exc_type, match=pattern):
        est.partial_fit(Xb, yb, sample_weight=swb)
    _assert_unchanged(before, _snapshot(est, X))


@pytest.mark.parametrize("kind, name", PARTIAL_FIT_CASES)
def test_refused_first_partial_fit_leaves_estimator_unfitted(kind, name):
    """Test a refused first partial_fit (classes= given) leaves no trace: the next call
    still needs classes= and fits as a fresh estimator would."""
    Est, _, X, y = KINDS[kind]
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    est = Est(hidden_layer_sizes=(4,), solver="sgd", random_state=0)
    Xb, yb, swb = _bad_data(kind, name)
    with pytest.raises((ValueError, TypeError)):
        est.partial_fit(Xb, yb, sample_weight=swb, **extra)
    assert vars(est) == vars(Est(hidden_layer_sizes=(4,), solver="sgd", random_state=0))
    est.partial_fit(X, y, **extra)
    fresh = Est(hidden_layer_sizes=(4,), solver="sgd", random_state=0).partial_fit(X, y, **extra)
    for a, b in zip(est.coefs_ + est.intercepts_, fresh.coefs_ + fresh.intercepts_):
        assert_array_equal(a, b, strict=True)


# name -> (callable on a model and a good (X, y), expected type, regex); refusals that need a
# fitted model: architecture or target kind changes under warm_start, bad hyperparameters set
# after fitting, absurd sizes, early-stopping splits that cannot be made
def _set_and_fit(params, X, y, **fit_kw):
    def call(est):
        est.set_params(**params)
        return est.fit(X, y, **fit_kw)
    return call


STATEFUL_REFUSALS = {
    "warm_start_new_class": (
        "classifier", lambda X, y: _set_and_fit({"warm_start": True}, X, np.where(y == 2, 7, y)),
        ValueError, "warm_start can only be used where `y` has the same classes"),
    "warm_start_multiclass_to_multilabel": (
        "classifier",
        lambda X, y: _set_and_fit({"warm_start": True}, X, np.eye(3, dtype=int)[y]),
        ValueError, "cannot switch between multilabel and single-label"),
    "partial_fit_multiclass_to_multilabel": (
        "classifier", lambda X, y: (lambda est: est.partial_fit(X, np.eye(3, dtype=int)[y])),
        ValueError, "cannot switch between multilabel and single-label"),
    "partial_fit_unseen_class": (
        "classifier", lambda X, y: (lambda est: est.partial_fit(X, y + 1)),
        ValueError, re.escape("`y` has classes not in `self.classes_`")),
    "partial_fit_classes_changed": (
        "classifier", lambda X, y: (lambda est: est.partial_fit(X, y, classes=[0, 1, 2, 3])),
        ValueError, "is not the same as on last call"),
    "partial_fit_changed_width": (
        "classifier", lambda X, y: (lambda est: est.partial_fit(X[:, :3], y)),
        ValueError, "X has 3 features, but MLPClassifier is expecting 4 features"),
    "warm_start_changed_width": (
        "regressor", lambda X, y: _set_and_fit({"warm_start": True}, X[:, :5], y),
        ValueError, "X has 5 features, but MLPRegressor is expecting 10 features"),
    "warm_start_changed_hidden_sizes": (
        "regressor", lambda X, y: _set_and_fit({"warm_start": True, "hidden_layer_sizes": (5,)}, X, y),
        ValueError, "The fitted network has layer sizes"),
    "partial_fit_changed_n_outputs": (
        "regressor", lambda X, y: (lambda est: est.partial_fit(X, np.column_stack([y, y]))),
        ValueError, "The fitted network has layer sizes"),
    "partial_fit_early_stopping": (
        "regressor", lambda X, y: (lambda est: est.set_params(early_stopping=True).partial_fit(X, y)),
        ValueError, "partial_fit does not support early_stopping=True"),
    "poisson_negative_y": (
        "regressor", lambda X, y: _set_and_fit({"loss": "poisson"}, X, y),
        ValueError, "negative which is not allowed for Poisson"),
    "poisson_negative_y_partial_fit": (
        "regressor", lambda X, y: (lambda est: est.set_params(loss="poisson").partial_fit(X, y)),
        ValueError, "negative which is not allowed for Poisson"),
    "early_stopping_validation_too_small": (
        "regressor", lambda X, y: _set_and_fit({"early_stopping": True}, X[:3], y[:3]),
        ValueError, "The validation set is too small"),
    "early_stopping_class_too_small": (
        "classifier", lambda X, y: _set_and_fit({"early_stopping": True}, X[:51], y[:51]),
        ValueError, "The least populated class(es)? in y ha(s|ve) only 1 member"),
    "hidden_sizes_1e12": (
        "classifier", lambda X, y: _set_and_fit({"hidden_layer_sizes": (10**12,)}, X, y),
        MemoryError, r"hidden_layer_sizes=\[1000000000000\].*GiB"),
    "hidden_sizes_overflow_int64": (
        "regressor", lambda X, y: _set_and_fit({"hidden_layer_sizes": (2**40, 2**40)}, X, y),
        ValueError, "too many to count in 64 bits"),
    "hidden_sizes_zero_entry": (
        "classifier", lambda X, y: _set_and_fit({"hidden_layer_sizes": (5, 0)}, X, y),
        ValueError, "hidden_layer_sizes must be > 0"),
    "hidden_sizes_float_entry": (
        "classifier", lambda X, y: _set_and_fit({"hidden_layer_sizes": (2.5,)}, X, y),
        TypeError, "hidden_layer_sizes must hold integers"),
    "bad_learning_rate_init": (
        "regressor", lambda X, y: _set_and_fit({"learning_rate_init": -1.0}, X, y),
        InvalidParameterError, "The 'learning_rate_init' parameter of MLPRegressor"),
    "bad_activation": (
        "classifier", lambda X, y: _set_and_fit({"activation": "softmax"}, X, y),
        InvalidParameterError, "The 'activation' parameter of MLPClassifier"),
}


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(STATEFUL_REFUSALS))
def test_stateful_refusals_change_nothing(name, solver):
    kind, make_call, exc_type, pattern = STATEFUL_REFUSALS[name]
    est = _fitted(kind, solver)
    _, _, X, y = KINDS[kind]
    params = est.get_params()
    before = _snapshot(est, X)
    with pytest.raises(exc_type, match=pattern) as info:
        _quiet(make_call(X, y), est)
    assert type(info.value) is exc_type
    est.set_params(**params)  # the parameters were the user's change, not the model's
    _assert_unchanged(before, _snapshot(est, X))


# name -> bad X for prediction (given the good X)
BAD_PREDICT_X = {
    "nan": lambda X: _with(X, (1, 1), np.nan),
    "inf": lambda X: _with(X, (0, 2), np.inf),
    "nan_float32": lambda X: _with(X, (1, 1), np.nan).astype(np.float32),
    "nan_fortran": lambda X: np.asfortranarray(_with(X, (1, 1), np.nan)),
    "nan_sparse": lambda X: sp.csr_matrix(_with(X, (1, 1), np.nan)),
    "1d": lambda X: X[0],
    "3d": lambda X: X[:, :2].reshape(len(X), 2, 1),
    "scalar": lambda X: 1.5,
    "none": lambda X: None,
    "0_rows": lambda X: X[:0],
    "too_narrow": lambda X: X[:, :-1],
    "too_wide": lambda X: np.hstack([X, X[:, :1]]),
    "too_narrow_float32": lambda X: np.ascontiguousarray(X[:, :-1], dtype=np.float32),
    "too_narrow_sparse": lambda X: sp.csr_matrix(X[:, :-1]),
    "too_narrow_list": lambda X: X[:, :-1].tolist(),
    "object_strings": lambda X: np.full(X.shape, "a", dtype=object),
    "complex": lambda X: X + 1j,
}


def _predict_cases():
    cases = []
    for kind in KINDS:
        methods = ["predict", "predict_proba", "predict_log_proba", "score"]
        for method in methods if kind == "classifier" else ["predict", "score"]:
            for name in BAD_PREDICT_X:
                cases.append(pytest.param(kind, method, name, id=f"{kind}-{method}-{name}"))
    return cases


def _call(est, method, X, y):
    return est.score(X, y) if method == "score" else getattr(est, method)(X)


@pytest.mark.parametrize("kind, method, name", _predict_cases())
def test_refused_prediction_changes_nothing(kind, method, name):
    """Test bad X in predict/predict_proba/predict_log_proba/score gets scikit-learn's
    error (same type and first line) and changes nothing."""
    _, SkEst, X, y = KINDS[kind]
    est = _fitted(kind, "adam")
    sk = _quiet(SkEst(hidden_layer_sizes=(6,), max_iter=4, random_state=0).fit, X, y)
    Xb = BAD_PREDICT_X[name](X)
    sk_exc = _raised(lambda: _call(sk, method, Xb, y))
    assert sk_exc is not None
    before = _snapshot(est, X)
    with pytest.raises(type(sk_exc)) as info:
        _call(est, method, Xb, y)
    assert type(info.value) is type(sk_exc)
    assert str(info.value).splitlines()[0] == str(sk_exc).splitlines()[0]
    _assert_unchanged(before, _snapshot(est, X))


@pytest.mark.parametrize("kind, method", [
    (kind, method) for kind in KINDS
    for method in ("predict", "predict_proba", "predict_log_proba", "score")
    if hasattr(KINDS[kind][0](), method)])
def test_unfitted_raises_not_fitted(kind, method):
    Est, _, X, y = KINDS[kind]
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        _call(Est(), method, X, y)


def test_score_with_wrong_y_length_changes_nothing():
    est = _fitted("classifier", "sgd")
    before = _snapshot(est, X_IRIS)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X_IRIS, Y_IRIS[:-1])
    _assert_unchanged(before, _snapshot(est, X_IRIS))


# ------------------------------------------------------------------ hyperparameters
BAD_HYPERPARAMETERS = [
    ("hidden_layer_sizes", -1),
    ("activation", "softmax"),
    ("activation", None),
    ("solver", "LBFGS"),
    ("alpha", -1e-4),
    ("alpha", np.nan),
    ("batch_size", 0),
    ("batch_size", -5),
    ("batch_size", 2.5),
    ("learning_rate", "optimal"),
    ("learning_rate_init", 0),
    ("learning_rate_init", -0.01),
    ("power_t", -1.0),
    ("max_iter", 0),
    ("max_iter", -10),
    ("max_iter", 2.0),
    ("tol", -0.1),
    ("momentum", -0.1),
    ("momentum", 1.01),
    ("validation_fraction", -0.1),
    ("validation_fraction", 1.0),
    ("beta_1", -0.1),
    ("beta_1", 1.0),
    ("beta_2", 1.0),
    ("beta_2", 1.5),
    ("epsilon", -1e-8),
    ("n_iter_no_change", -1),
    ("max_fun", -1),
    ("n_jobs", 0),
]


@pytest.mark.parametrize("param, value", BAD_HYPERPARAMETERS, ids=lambda v: repr(v))
@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_hyperparameter_named_in_error(kind, param, value):
    """Test each invalid hyperparameter fails fit with scikit-learn's
    InvalidParameterError naming it, as scikit-learn's own estimator does."""
    Est, SkEst, X, y = KINDS[kind]
    with pytest.raises(InvalidParameterError,
                       match=f"The '{param}' parameter of {Est.__name__} must be"):
        Est(**{param: value}).fit(X, y)
    if param != "n_jobs":
        with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of"):
            SkEst(**{param: value}).fit(X, y)


def test_bad_regressor_loss_named_in_error():
    with pytest.raises(InvalidParameterError, match="The 'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="hinge").fit(X_DIAB, Y_DIAB)


# ----------------------------------------------------------------------- sizes
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("sizes, exc_type, pattern", [
    ((10**12,), MemoryError, "GiB, more than this machine"),
    ((2**40, 2**40), ValueError, "too many to count in 64 bits"),
    ((2**62,), ValueError, "too many to count in 64 bits"),
    ((2**31, 2**31, 2**31), ValueError, "too many to count in 64 bits"),
    ((3, 10**11, 3), MemoryError, "GiB, more than this machine"),
], ids=["1e12", "2^40x2^40", "2^62", "2^31x3", "3-1e11-3"])
def test_absurd_sizes_refused_before_allocating(sizes, exc_type, pattern, solver):
    """Test absurd layer sizes fail with MemoryError/ValueError naming
    hidden_layer_sizes, before anything is allocated: the check runs before the first
    random draw, so the estimator's RandomState is untouched."""
    rng = np.random.RandomState(0)
    est = MLPClassifier(hidden_layer_sizes=sizes, solver=solver, random_state=rng)
    with pytest.raises(exc_type, match=pattern) as info:
        est.fit(X_IRIS, Y_IRIS)
    assert "hidden_layer_sizes=" in str(info.value)
    assert_array_equal(rng.uniform(size=3), np.random.RandomState(0).uniform(size=3))
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("dtype", ["32", "64"])
@pytest.mark.parametrize("units, max_rows", [
    ([4, 2**62, 3], 1),           # 4 * 2^62 overflows
    ([2**32, 2**32, 1], 1),       # 2^64
    ([1, 2**61, 1], 1),           # parameters fit in 63 bits, 3 * 2^61 + 1 of them
    ([3, 8, 2], 2**62),           # max_rows * units overflows
    ([1, 2**40, 1], 1),           # no overflow: 8 TiB of activations
])
def test_core_size_arithmetic_is_checked(units, max_rows, dtype):
    """Test the core refuses sizes whose products overflow 64 bits (ValueError) or cannot
    be allocated (MemoryError), never crashing."""
    Trainer = getattr(_core, f"Trainer{dtype}")
    with pytest.raises((ValueError, MemoryError)):
        Trainer(units, 3, 0, max_rows)
    with pytest.raises((ValueError, MemoryError)):
        _core.forward(units, 3, 2, np.zeros(4, dtype=f"float{dtype}"),
                      np.zeros((1, units[0]), dtype=f"float{dtype}") if units[0] < 100
                      else np.zeros((1, 1), dtype=f"float{dtype}"), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_core_refuses_unaligned_arrays(dtype):
    """Test the core refuses an unaligned array with a TypeError rather than read it (a
    misaligned load is undefined behaviour; the estimators pass aligned copies)."""
    p = np.zeros(3 * 2 + 2 + 2 * 1 + 1, dtype)
    X = np.ones((4, 3), dtype)
    assert _core.forward([3, 2, 1], 3, 2, p, X, 1).shape == (4, 1)
    with pytest.raises(TypeError, match="aligned"):
        _core.forward([3, 2, 1], 3, 2, p, _unaligned(X), 1)
    with pytest.raises(TypeError, match="aligned"):
        _core.forward([3, 2, 1], 3, 2, _unaligned(p), X, 1)


def test_core_csr_shape_at_int64_limit_is_refused():
    """Test CSR parts claiming 2^63 - 1 rows are refused (n_rows + 1 would overflow)."""
    data, idx, ptr = np.zeros(0), np.zeros(0, np.int64), np.zeros(1, np.int64)
    with pytest.raises(ValueError):
        _core.forward([3, 2, 1], 3, 2, np.zeros(11), (data, idx, ptr, 2**63 - 1, 3), 1)


# ---------------------------------------------------------- valid but odd layouts
def _unaligned(a):
    """A copy of a whose items start one byte past their alignment, as arrays unpickled from
    a byte stream (dask, multiprocessing) can be: numpy flags it not aligned."""
    a = np.ascontiguousarray(a)
    raw = np.zeros(a.nbytes + 1, np.uint8)[1:]
    out = raw.view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def _layouts(X):
    """name -> (X in that layout, the array it must behave exactly like)."""
    Xc = np.ascontiguousarray(X)
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    wide[::2, ::3] = Xc
    readonly = Xc.copy()
    readonly.flags.writeable = False
    return {
        "fortran": (np.asfortranarray(Xc), Xc),
        "strided_view": (wide[::2, ::3], Xc),
        "negative_strides": (np.ascontiguousarray(Xc[::-1])[::-1], Xc),
        "big_endian": (Xc.astype(">f8"), Xc),
        "read_only": (readonly, Xc),
        "unaligned": (_unaligned(Xc), Xc),
        "list": (Xc.tolist(), Xc),
        "tuple_rows": (tuple(map(tuple, Xc.tolist())), Xc),
    }


def _rounded_layouts(X):
    """Layouts whose values are not float64: compared with the explicitly converted array
    (validate_data upcasts float16, integers and booleans to float64)."""
    X16 = X.astype(np.float16)
    Xi = np.round(X * 3).astype(np.int32)
    Xb = X > 0
    return {
        "float16": (X16, X16.astype(np.float64)),
        "int32": (Xi, Xi.astype(np.float64)),
        "uint8": ((Xi - Xi.min()).astype(np.uint8), (Xi - Xi.min()).astype(np.float64)),
        "bool": (Xb, Xb.astype(np.float64)),
    }


def _assert_same_model(a, b):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(x, y, strict=True)
    assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_


LAYOUT_NAMES = list(_layouts(X_IRIS)) + list(_rounded_layouts(X_IRIS))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_layouts_give_identical_results(kind, layout, solver):
    """Test each layout trains the same bits as the C-contiguous float64 array holding
    the same values, and predicts the same bits (the arithmetic is the same: the
    validation converts to that array before the core sees it)."""
    Est, _, X, y = KINDS[kind]
    Xl, Xref = {**_layouts(X), **_rounded_layouts(X)}[layout]
    params = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=5, random_state=0)
    ref = _quiet(Est(**params).fit, Xref, y)
    est = _quiet(Est(**params).fit, Xl, y)
    _assert_same_model(ref, est)
    assert_array_equal(est.predict(Xl), ref.predict(Xref), strict=True)
    if kind == "classifier":
        assert_array_equal(est.predict_proba(Xl), ref.predict_proba(Xref), strict=True)
    # a model fitted on the plain array predicts the odd layout identically too
    assert_array_equal(ref.predict(Xl), ref.predict(Xref), strict=True)
    if solver != "lbfgs":
        est.partial_fit(Xl, y)
        ref.partial_fit(Xref, y)
        _assert_same_model(ref, est)


@pytest.mark.parametrize("kind", list(KINDS))
def test_odd_y_and_sample_weight_layouts(kind):
    """Test y and sample_weight as lists, big-endian, read-only, strided or unaligned views
    give the same bits as plain arrays."""
    Est, _, X, y = KINDS[kind]
    w = 0.5 + 0.25 * (np.arange(len(y)) % 7)  # exact in float32 too
    params = dict(hidden_layer_sizes=(5,), solver="adam", max_iter=4, random_state=1)
    ref = _quiet(Est(**params).fit, X, y, sample_weight=w)
    ro_y, ro_w = y.copy(), w.copy()
    ro_y.flags.writeable = ro_w.flags.writeable = False
    wide_w = np.repeat(w, 2)[::2]
    for yv, wv in [(y.tolist(), w.tolist()), (y.astype(y.dtype.newbyteorder(">")), w.astype(">f8")),
                   (ro_y, ro_w), (y, wide_w), (y, w.astype(np.float32)),
                   (_unaligned(y), _unaligned(w))]:
        est = _quiet(Est(**params).fit, X, yv, sample_weight=wv)
        _assert_same_model(ref, est)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dataframe_keeps_feature_names_and_bits(kind):
    pd = pytest.importorskip("pandas")
    Est, _, X, y = KINDS[kind]
    columns = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    ys = pd.Series(y, name="target")
    params = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
    ref = _quiet(Est(**params).fit, X, y)
    est = _quiet(Est(**params).fit, df, ys)
    assert_array_equal(est.feature_names_in_, columns)
    _assert_same_model(ref, est)
    assert_array_equal(est.predict(df), ref.predict(X), strict=True)
    # a float32 frame gives a float32 model, the same as the float32 array
    est32 = _quiet(Est(**params).fit, df.astype(np.float32), ys)
    ref32 = _quiet(Est(**params).fit, X.astype(np.float32), y)
    _assert_same_model(ref32, est32)


@pytest.mark.parametrize("kind", list(KINDS))
def test_plain_arrays_skip_check_x_y_with_the_same_bookkeeping(kind, monkeypatch):
    """A C-contiguous float X and a numeric y are handed on without check_X_y (the core scans X
    for NaN and infinity instead): the tests above compare that path's models and errors with
    the other layouts' and scikit-learn's. Here: it is the path taken, non-finite values and
    other layouts still meet check_X_y, and the feature-name and width bookkeeping is the same."""
    pd = pytest.importorskip("pandas")
    import sklearn.utils.validation as validation

    Est, _, X, y = KINDS[kind]
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return check_X_y(*args, **kwargs)

    check_X_y = validation.check_X_y
    monkeypatch.setattr(validation, "check_X_y", counted)
    params = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    for Xp in (X, X.astype(np.float32)):
        plain = _quiet(Est(**params).fit, Xp, y)
        _quiet(plain.partial_fit, Xp, y)
        assert calls == []
        _assert_same_model(plain, _quiet(Est(**params).fit, np.asfortranarray(Xp), y).partial_fit(Xp, y))
        assert calls == [1]
        calls.clear()
    for bad in (_with(X, (2, 1), np.nan), _with(X, (0, 0), -np.inf)):
        with pytest.raises(ValueError, match="Input X contains"):
            Est(**params).fit(bad, y)
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(ValueError, match="Input y contains NaN"):
        Est(**params).fit(X, _with(y, 3, np.nan))
    # a frame's names are kept, then dropped by a refit on an array, as check_X_y's path does
    est = _quiet(Est(**params).fit, pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y)
    assert "feature_names_in_" in est.__dict__
    _quiet(est.fit, X, y)
    assert "feature_names_in_" not in est.__dict__ and est.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match=f"X has 2 features, but {Est.__name__} is expecting "
                                         f"{X.shape[1]} features as input"):
        est.partial_fit(np.ascontiguousarray(X[:, :2]), y)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("fmt", ["csc", "coo", "csr_unsorted", "csr_int_indices64"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_sparse_formats_identical_to_csr(kind, fmt, solver):
    """Test CSC, COO and CSR with unsorted or int64 indices train the same bits as sorted
    CSR (all become the same CSR before the core); and that CSR is close to dense (the
    sparse kernel sums in another order, so not the same bits)."""
    Est, _, X, y = KINDS[kind]
    X = np.where(np.abs(X) < 0.6, 0.0, X)
    csr = sp.csr_matrix(X)
    if fmt == "csr_unsorted":
        odd = csr.copy()
        for r in range(odd.shape[0]):  # reverse each row's entries
            s, e = odd.indptr[r], odd.indptr[r + 1]
            odd.indices[s:e] = odd.indices[s:e][::-1].copy()
            odd.data[s:e] = odd.data[s:e][::-1].copy()
        odd.has_sorted_indices = False
    elif fmt == "csr_int_indices64":
        odd = sp.csr_matrix((csr.data, csr.indices.astype(np.int64), csr.indptr.astype(np.int64)),
                            shape=csr.shape)
    else:
        odd = getattr(csr, f"to{fmt}")()
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    ref = _quiet(Est(**params).fit, csr, y)
    est = _quiet(Est(**params).fit, odd, y)
    if fmt == "csr_unsorted":
        # the stored order is the summation order: the same values, up to rounding
        for a, b in zip(ref.coefs_ + ref.intercepts_, est.coefs_ + est.intercepts_):
            assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    else:
        _assert_same_model(ref, est)
        assert_array_equal(est.predict(odd), ref.predict(csr), strict=True)
    dense = _quiet(Est(**params).fit, X, y)
    for a, b in zip(ref.coefs_ + ref.intercepts_, dense.coefs_ + dense.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
