"""Behaviour of fastmlp's MLPClassifier / MLPRegressor as scikit-learn estimators.

Where the behaviour is scikit-learn's, scikit-learn's own estimator is the oracle
(same hyperparameters, same random draws, float64 trajectories equal to rounding).
"""

import copy
import io
import pickle
import re
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import xlogy
import sklearn.neural_network as skl
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor, _core

ESTIMATORS = {"classifier": (MLPClassifier, skl.MLPClassifier),
              "regressor": (MLPRegressor, skl.MLPRegressor)}
STOCHASTIC = ("sgd", "adam")
SOLVERS = ("sgd", "adam", "lbfgs")

# ----------------------------------------------------------------------- data
_X_digits, _y_digits = load_digits(return_X_y=True)
X_DIGITS = StandardScaler().fit_transform(_X_digits)
Y_DIGITS = _y_digits
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
_X_diab, _y_diab = load_diabetes(return_X_y=True)
X_DIAB = StandardScaler().fit_transform(_X_diab)
Y_DIAB = (_y_diab - _y_diab.mean()) / _y_diab.std()


def _data(kind):
    """A small float64 problem for `kind` in ('classifier', 'regressor')."""
    if kind == "classifier":
        return X_IRIS, Y_IRIS
    return X_DIAB, Y_DIAB


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return func(*args, **kwargs)


def _params_of(est):
    return list(est.coefs_) + list(est.intercepts_)


def _assert_same_bits(a, b):
    pa, pb = _params_of(a), _params_of(b)
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb):
        assert x.dtype == y.dtype
        assert_array_equal(x, y, strict=True)


def _assert_close_params(a, b, rtol=1e-6, atol=1e-9):
    pa, pb = _params_of(a), _params_of(b)
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb):
        assert x.shape == y.shape
        assert_allclose(x, y, rtol=rtol, atol=atol)


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


# ------------------------------------------------------------ pickle / clone / copy
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_pickle_deepcopy_round_trip(kind, solver, dtype):
    """Test pickle, joblib and deepcopy give models predicting the same bits."""
    Est, _ = ESTIMATORS[kind]
    X, y = _data(kind)
    X = X.astype(dtype)
    est = _quiet(Est(hidden_layer_sizes=(7, 5), solver=solver, max_iter=10,
                     random_state=0).fit, X, y)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    copies = [pickle.loads(pickle.dumps(est)), copy.deepcopy(est), joblib.load(buffer)]
    for other in copies:
        _assert_same_bits(est, other)
        assert_array_equal(est.predict(X), other.predict(X), strict=True)
        assert_array_equal(_output(est, X), _output(other, X), strict=True)
        assert other.n_iter_ == est.n_iter_ and other.loss_ == est.loss_
        assert other.get_params() == est.get_params()


def test_pickling_leaves_the_live_model_alone():
    """Test pickling does not strip the parameter arena off the pickled estimator: its
    coefs_ stay the arrays predict reads, so in-place edits after pickling still count."""
    est = _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit,
                 X_IRIS, Y_IRIS)
    coef = est.coefs_[0]
    pickle.dumps(est)
    est.predict(X_IRIS)
    assert est.coefs_[0] is coef
    coef[...] = 0.0  # the first layer now ignores X: every row gets the same output
    proba = est.predict_proba(X_IRIS)
    assert_array_equal(proba, np.broadcast_to(proba[0], proba.shape))


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_pickled_model_keeps_training_identically(kind, solver):
    """Test a pickled/deep-copied model's partial_fit continues exactly like the
    original's (optimizer state included) and like scikit-learn's."""
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=3, random_state=0)
    est = _quiet(Est(**params).fit, X, y)
    sk = _quiet(SkEst(**params).fit, X, y)
    restored = pickle.loads(pickle.dumps(est))
    deep = copy.deepcopy(est)
    sk = pickle.loads(pickle.dumps(sk))
    before = [p.copy() for p in _params_of(restored)]
    for model in (est, restored, deep, sk):
        for _ in range(3):
            model.partial_fit(X, y)
    _assert_same_bits(est, restored)
    _assert_same_bits(est, deep)
    assert est.loss_curve_ == restored.loss_curve_
    # partial_fit really moved the restored model's (user-visible) weights ...
    assert not all(np.array_equal(a, b) for a, b in zip(before, _params_of(restored)))
    assert_array_equal(restored.predict(X), est.predict(X), strict=True)
    # ... along scikit-learn's trajectory (momentum / adam moments carried over)
    _assert_close_params(restored, sk)
    assert_allclose(restored.loss_curve_, sk.loss_curve_, rtol=1e-6)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_clone(kind):
    """Test clone gives an unfitted estimator with the same parameters which refits to
    the same bits."""
    Est, _ = ESTIMATORS[kind]
    X, y = _data(kind)
    est = _quiet(Est(hidden_layer_sizes=(6,), max_iter=5, random_state=3, n_jobs=1,
                     alpha=0.01).fit, X, y)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "coefs_")
    _quiet(cloned.fit, X, y)
    _assert_same_bits(est, cloned)


# ------------------------------------------------------- user-replaced weights
def _weights_like(est, factor, rng):
    coefs = [np.asfortranarray(factor * c + 0.01 * rng.standard_normal(c.shape))
             for c in est.coefs_]
    intercepts = [factor * b + 0.01 * rng.standard_normal(b.shape) for b in est.intercepts_]
    return coefs, intercepts


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_replaced_weights_honoured_by_predict_and_partial_fit(kind, solver):
    """Test new coefs_/intercepts_ arrays (whole lists, single entries, in-place edits,
    Fortran-ordered arrays) are used by predict and by the next partial_fit."""
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    rng = np.random.RandomState(0)
    params = dict(hidden_layer_sizes=(9, 4), solver=solver, max_iter=3, random_state=0)
    est = _quiet(Est(**params).fit, X, y)
    sk = _quiet(SkEst(**params).fit, X, y)

    # 1. replace both lists with new (Fortran-ordered) arrays
    coefs, intercepts = _weights_like(est, 0.5, rng)
    est.coefs_ = [c.copy(order="F") for c in coefs]
    est.intercepts_ = [b.copy() for b in intercepts]
    sk.coefs_ = [c.copy() for c in coefs]
    sk.intercepts_ = [b.copy() for b in intercepts]
    assert_allclose(_output(est, X), _output(sk, X), rtol=1e-12, atol=1e-14)
    est.partial_fit(X, y)
    sk.partial_fit(X, y)
    _assert_close_params(est, sk)

    # 2. replace single entries of the lists
    est.coefs_[1] = est.coefs_[1] + 0.25
    sk.coefs_[1] = sk.coefs_[1] + 0.25
    est.intercepts_[2] = np.zeros_like(est.intercepts_[2])
    sk.intercepts_[2] = np.zeros_like(sk.intercepts_[2])
    assert_allclose(_output(est, X), _output(sk, X), rtol=1e-10, atol=1e-12)

    # 3. edit the arrays in place
    est.coefs_[0][:2] *= -1.0
    sk.coefs_[0][:2] *= -1.0
    est.intercepts_[0][...] = 0.1
    sk.intercepts_[0][...] = 0.1
    assert_allclose(_output(est, X), _output(sk, X), rtol=1e-10, atol=1e-12)
    est.partial_fit(X, y)
    sk.partial_fit(X, y)
    _assert_close_params(est, sk)
    assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_replaced_weights_honoured_by_warm_start_fit(kind, solver):
    """Test a warm-started fit starts from user-assigned coefs_/intercepts_."""
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=4, random_state=0,
                  warm_start=True)
    est = _quiet(Est(**params).fit, X, y)
    sk = _quiet(SkEst(**params).fit, X, y)
    coefs, intercepts = _weights_like(est, -0.7, np.random.RandomState(1))
    est.coefs_, est.intercepts_ = [c.copy() for c in coefs], [b.copy() for b in intercepts]
    sk.coefs_, sk.intercepts_ = [c.copy() for c in coefs], [b.copy() for b in intercepts]
    _quiet(est.fit, X, y)
    _quiet(sk.fit, X, y)
    _assert_close_params(est, sk)
    assert est.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    # and it did start there: the same fit from the old weights ends elsewhere
    fresh = _quiet(Est(**params).fit, X, y)
    _quiet(fresh.fit, X, y)
    assert not np.allclose(fresh.coefs_[0], est.coefs_[0])


# ------------------------------------------------------------------ partial_fit
def test_partial_fit_requires_classes_on_first_call():
    """Test the classes= contract of MLPClassifier.partial_fit."""
    X, y = X_IRIS, Y_IRIS
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier(solver="sgd").partial_fit(X, y)
    clf = MLPClassifier(solver="sgd", random_state=0).partial_fit(X[:5], y[:5],
                                                                  classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    # a later call may omit classes, or repeat the same ones
    clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_partial_fit_unseen_class_raises():
    """Test a label outside classes_ is rejected by partial_fit."""
    clf = MLPClassifier(solver="adam", random_state=0)
    clf.partial_fit(X_IRIS[:10], Y_IRIS[:10], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X_IRIS[:3], [0, 1, 5])
    # a class announced up-front but absent from the first batches is fine
    clf = MLPClassifier(random_state=0)
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[4]], ["d"])
    assert_array_equal(clf.classes_, ["a", "b", "c", "d"])
    assert set(clf.predict([[1], [2], [3], [4]])) <= {"a", "b", "c", "d"}


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64])
def test_partial_fit_integer_labels_of_any_width(dtype):
    """Test 1-D integer labels of any width against classes_ fitted as int64 (the one-pass
    path for integer targets): known classes are taken, an unseen one is refused in
    scikit-learn's words, and a multilabel model refuses them as a switch of target kind."""
    clf = MLPClassifier(random_state=0)
    clf.partial_fit(X_IRIS[:10], Y_IRIS[:10], classes=np.array([0, 1, 2], dtype=np.int64))
    clf.partial_fit(X_IRIS[:4], np.array([2, 0, 2, 1], dtype=dtype))
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X_IRIS[:3], np.array([0, 1, 3], dtype=dtype))
    multilabel = MLPClassifier(random_state=0).partial_fit(
        X_IRIS[:10], np.eye(3, dtype=int)[Y_IRIS[:10] % 3], classes=[0, 1, 2]
    )
    with pytest.raises(ValueError, match="cannot switch between multilabel and single-label"):
        multilabel.partial_fit(X_IRIS[:3], np.array([0, 1, 2], dtype=dtype))


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_matches_sklearn_trajectory(kind, solver):
    """Test float64 partial_fit calls (alone and after a fit) follow scikit-learn's."""
    Est, SkEst = ESTIMATORS[kind]
    X, y = (X_DIGITS[:500], Y_DIGITS[:500]) if kind == "classifier" else _data(kind)
    params = dict(hidden_layer_sizes=(16,), solver=solver, random_state=2,
                  batch_size=64, learning_rate_init=0.01)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    est, sk = Est(**params), SkEst(**params)
    for _ in range(4):
        est.partial_fit(X, y, **extra)
        sk.partial_fit(X, y, **extra)
        assert est.n_iter_ == sk.n_iter_ and est.t_ == sk.t_
    assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
    _assert_close_params(est, sk)

    # partial_fit after fit continues with fit's optimizer state
    est = _quiet(Est(max_iter=3, **params).fit, X, y)
    sk = _quiet(SkEst(max_iter=3, **params).fit, X, y)
    for _ in range(2):
        est.partial_fit(X, y)
        sk.partial_fit(X, y)
    assert len(est.loss_curve_) == 5
    assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
    _assert_close_params(est, sk)


def test_partial_fit_does_not_warn_about_convergence():
    """Test partial_fit runs one epoch and never emits ConvergenceWarning."""
    clf = MLPClassifier(solver="sgd", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
        clf.partial_fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2
    assert clf.t_ == 2 * len(X_IRIS)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_partial_fit_unavailable_for_lbfgs(Est):
    """Test partial_fit does not exist under lbfgs (for the regressor too)."""
    est = Est(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as excinfo:
        est.partial_fit(X_IRIS, Y_IRIS)
    assert "partial_fit is only available for stochastic" in str(excinfo.value.__cause__)
    assert hasattr(Est(solver="sgd"), "partial_fit")
    assert hasattr(Est(solver="adam"), "partial_fit")
    est.set_params(solver="adam")
    assert hasattr(est, "partial_fit")


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_partial_fit_rejects_early_stopping(Est):
    est = Est(early_stopping=True, random_state=0, max_iter=5)
    _quiet(est.fit, X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X_IRIS, Y_IRIS)


# -------------------------------------------------------------------- warm_start
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_warm_start_matches_sklearn(kind, solver):
    """Test repeated warm-started fits continue from the previous solution as in
    scikit-learn (n_iter_ per fit, loss_curve_ appended)."""
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0,
                  warm_start=True, n_iter_no_change=np.inf)
    est, sk = Est(**params), SkEst(**params)
    for max_iter in (5, 5, 8):
        est.set_params(max_iter=max_iter)
        sk.set_params(max_iter=max_iter)
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
        _quiet(sk.fit, X, y)
        assert est.n_iter_ == sk.n_iter_ == max_iter
        _assert_close_params(est, sk)
        assert est.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    if solver != "lbfgs":
        assert len(est.loss_curve_) == 18
        assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
        assert est.t_ == sk.t_ == 18 * len(X)


@pytest.mark.parametrize("solver", SOLVERS)
def test_fit_without_warm_start_restarts(solver):
    """Test a second fit with warm_start=False is the same as a fresh fit."""
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0)
    est = _quiet(MLPClassifier(**params).fit, X_IRIS, Y_IRIS)
    _quiet(est.fit, X_IRIS, Y_IRIS)
    fresh = _quiet(MLPClassifier(**params).fit, X_IRIS, Y_IRIS)
    _assert_same_bits(est, fresh)
    if solver != "lbfgs":
        assert est.loss_curve_ == fresh.loss_curve_


def test_warm_start_class_change_raises():
    clf = MLPClassifier(hidden_layer_sizes=2, solver="lbfgs", warm_start=True,
                        random_state=42, tol=1e-2)
    _quiet(clf.fit, X_IRIS, Y_IRIS)
    _quiet(clf.fit, X_IRIS, Y_IRIS)
    y_other = np.array([0] * 50 + [1] * 50 + [3] * 50)
    with pytest.raises(ValueError, match=re.escape(
            "warm_start can only be used where `y` has the same classes")):
        clf.fit(X_IRIS, y_other)


def test_warm_start_architecture_change_raises():
    est = _quiet(MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                              random_state=0).fit, X_DIAB, Y_DIAB)
    with pytest.raises(ValueError):
        _quiet(est.fit, X_DIAB[:, :5], Y_DIAB)


# --------------------------------------------------------------- early stopping
@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor"])
def test_early_stopping_matches_sklearn(kind, solver):
    """Test early stopping: same validation split (stratified for binary targets),
    validation_scores_, n_iter_ and restored best weights as scikit-learn."""
    Est, SkEst = ESTIMATORS["regressor" if kind == "regressor" else "classifier"]
    if kind == "regressor":
        X, y = X_DIAB, Y_DIAB
    else:
        # imbalanced string labels
        n_classes = 2 if kind == "binary" else 3
        X, y_int = make_classification(n_samples=400, n_features=10, n_informative=4,
                                       n_classes=n_classes,
                                       weights=[0.6, 0.3, 0.1][:n_classes],
                                       random_state=0)
        y = np.array(["alpha", "beta", "gamma"])[y_int]
    params = dict(hidden_layer_sizes=(12,), solver=solver, early_stopping=True,
                  validation_fraction=0.2, random_state=4, max_iter=300,
                  learning_rate_init=0.01)
    est = _quiet(Est(**params).fit, X, y)
    sk = _quiet(SkEst(**params).fit, X, y)
    assert est.n_iter_ == sk.n_iter_ < 300
    assert est.best_loss_ is None
    assert isinstance(est.validation_scores_, list)
    assert len(est.validation_scores_) == est.n_iter_
    assert_allclose(est.validation_scores_, sk.validation_scores_, rtol=1e-9, atol=1e-12)
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_validation_score_ == pytest.approx(sk.best_validation_score_, rel=1e-9)
    _assert_close_params(est, sk)
    assert_allclose(_output(est, X), _output(sk, X), rtol=1e-6, atol=1e-9)


def _validation_split(est, X, y, seed, validation_fraction):
    """The held-out set early stopping uses: the split is drawn from the same
    RandomState as (and right after) the Glorot initialisation, stratified on the
    binarised target when that is a single column (binary classification)."""
    rng = np.random.RandomState(seed)
    for coef, intercept in zip(est.coefs_, est.intercepts_):
        rng.uniform(size=coef.shape)  # uniform(-b, b) consumes the same draws
        rng.uniform(size=intercept.shape)
    stratify = None
    if is_classifier(est) and est.n_outputs_ == 1:
        stratify = LabelBinarizer().fit(y).transform(y).astype(bool)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rng, stratify=stratify,
                                          test_size=validation_fraction)
    return X_val, y_val


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor"])
def test_early_stopping_restores_best_weights(kind):
    """Test the returned weights are those of the best validation epoch, not the last."""
    Est, _ = ESTIMATORS["regressor" if kind == "regressor" else "classifier"]
    if kind == "binary":
        X, y = make_classification(n_samples=400, n_features=10, n_informative=4,
                                   weights=[0.7], flip_y=0.05, random_state=0)
        seed = 0
    elif kind == "multiclass":
        X, y, seed = X_DIGITS[:400], Y_DIGITS[:400], 1
    else:
        X, y, seed = X_DIAB, Y_DIAB, 1
    params = dict(hidden_layer_sizes=(12,), solver="adam", early_stopping=True,
                  random_state=seed, learning_rate_init=0.01, validation_fraction=0.25,
                  n_jobs=1)
    full = _quiet(Est(max_iter=400, **params).fit, X, y)
    scores = full.validation_scores_
    best_epoch = int(np.argmax(scores)) + 1  # first maximum
    assert best_epoch < full.n_iter_
    assert scores[-1] < full.best_validation_score_ == scores[best_epoch - 1]
    # the returned model scores best_validation_score_ on the held-out set
    X_val, y_val = _validation_split(full, X, y, seed, 0.25)
    assert full.score(X_val, y_val) == pytest.approx(full.best_validation_score_, rel=1e-12)
    # a run stopped at the best epoch ends on the same weights, to the bit
    truncated = _quiet(Est(max_iter=best_epoch, **params).fit, X, y)
    assert truncated.validation_scores_ == scores[:best_epoch]
    _assert_same_bits(full, truncated)


def test_early_stopping_multilabel_and_errors():
    X, Y = make_multilabel_classification(n_samples=60, random_state=0)
    clf = _quiet(MLPClassifier(early_stopping=True, max_iter=20, random_state=0).fit, X, Y)
    sk = _quiet(skl.MLPClassifier(early_stopping=True, max_iter=20, random_state=0).fit, X, Y)
    assert_allclose(clf.validation_scores_, sk.validation_scores_, rtol=1e-9)
    assert clf.predict(X).shape == Y.shape
    Xs, ys = make_regression(n_samples=2, n_features=5, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, random_state=0).fit(Xs, ys)
    # stratification needs >= 2 members per class
    with pytest.raises(ValueError, match="least populated class"):
        MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


def test_early_stopping_diverging_model_scores_nan():
    """Test a diverging fit records NaN validation scores (a Python float) and returns
    the finite best weights, like scikit-learn."""
    params = dict(hidden_layer_sizes=100, activation="identity", solver="sgd",
                  learning_rate_init=1, max_iter=20, early_stopping=True,
                  n_iter_no_change=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(**params).fit(load_iris().data, Y_IRIS)
        sk = skl.MLPRegressor(**params).fit(load_iris().data, Y_IRIS)
    assert str(est.validation_scores_[-1]) == "nan"
    assert isinstance(est.validation_scores_[-1], float)
    assert_allclose(est.validation_scores_, sk.validation_scores_, rtol=1e-6)
    assert est.n_iter_ == sk.n_iter_
    assert all(np.isfinite(p).all() for p in _params_of(est))
    _assert_close_params(est, sk)


def test_early_stopping_multi_output_regression_matches_sklearn():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    params = dict(early_stopping=True, max_iter=30, random_state=0,
                  learning_rate_init=0.01, hidden_layer_sizes=(16,))
    est = _quiet(MLPRegressor(**params).fit, X, Y)
    sk = _quiet(skl.MLPRegressor(**params).fit, X, Y)
    assert_allclose(est.validation_scores_, sk.validation_scores_, rtol=1e-9)
    _assert_close_params(est, sk)


def test_early_stopping_off_attributes():
    clf = _quiet(MLPClassifier(solver="sgd", max_iter=5, random_state=0).fit, X_IRIS, Y_IRIS)
    assert clf.validation_scores_ is None
    assert clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)


# ----------------------------------------------- stopping rules, schedules, verbose
STOPPING_CASES = {
    "tol": dict(solver="adam", tol=1e-2, n_iter_no_change=3, max_iter=500),
    "tol_sgd": dict(solver="sgd", tol=1e-3, n_iter_no_change=5, max_iter=500),
    "adaptive": dict(solver="sgd", learning_rate="adaptive", tol=1e-3, max_iter=500),
    "adaptive_no_momentum": dict(solver="sgd", learning_rate="adaptive", momentum=0.0,
                                 tol=1e-2, n_iter_no_change=2, max_iter=500),
    "invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                       power_t=0.3, max_iter=40),
    "constant_no_nesterov": dict(solver="sgd", nesterovs_momentum=False, max_iter=40),
    "inf_patience": dict(solver="sgd", tol=1e9, n_iter_no_change=np.inf, max_iter=60),
    "early_stopping": dict(solver="sgd", early_stopping=True, max_iter=500),
    "no_shuffle": dict(solver="adam", shuffle=False, tol=1e-2, max_iter=500),
}


@pytest.mark.parametrize("case", list(STOPPING_CASES))
def test_stopping_and_schedules_match_sklearn(case, capsys):
    """Test n_iter_no_change/tol stopping, the adaptive and invscaling schedules and
    everything printed with verbose=True are exactly scikit-learn's."""
    X, y = X_DIGITS[:600], Y_DIGITS[:600]
    params = dict(hidden_layer_sizes=(16,), random_state=0, verbose=True,
                  **STOPPING_CASES[case])
    est = _quiet(MLPClassifier(**params).fit, X, y)
    out_fm = capsys.readouterr().out
    sk = _quiet(skl.MLPClassifier(**params).fit, X, y)
    out_sk = capsys.readouterr().out
    assert est.n_iter_ == sk.n_iter_
    assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
    _assert_close_params(est, sk)
    assert out_fm == out_sk
    lines = [l for l in out_fm.splitlines() if l.startswith("Iteration")]
    assert len(lines) == est.n_iter_
    for i, (line, loss) in enumerate(zip(lines, est.loss_curve_), start=1):
        assert re.fullmatch(r"Iteration \d+, loss = \d+\.\d{8}", line)
        assert line == "Iteration %d, loss = %.8f" % (i, loss)
    if case.startswith("adaptive"):
        assert "Setting learning rate to" in out_fm
        assert "Learning rate too small. Stopping." in out_fm
    if case == "inf_patience":
        assert est.n_iter_ == 60


def test_invscaling_learning_rate_across_warm_start():
    """Test invscaling's step size uses t_ (samples seen) across warm-started fits."""
    X, y = X_IRIS, Y_IRIS
    params = dict(solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=3,
                  hidden_layer_sizes=(4,), warm_start=True, random_state=0,
                  learning_rate_init=0.3)
    est, sk = MLPClassifier(**params), skl.MLPClassifier(**params)
    for _ in range(3):
        _quiet(est.fit, X, y)
        _quiet(sk.fit, X, y)
    assert est.t_ == 9 * len(X)
    assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
    _assert_close_params(est, sk)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_verbose_partial_fit_prints_one_line(Est, capsys):
    est = Est(solver="sgd", verbose=True, hidden_layer_sizes=2, random_state=0)
    extra = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
    est.partial_fit(X_IRIS, Y_IRIS, **extra)
    est.partial_fit(X_IRIS, Y_IRIS)
    out = capsys.readouterr().out
    assert out == "Iteration 1, loss = %.8f\nIteration 1, loss = %.8f\n" % tuple(
        est.loss_curve_)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_not_verbose_prints_nothing(Est, capsys):
    for solver in SOLVERS:
        _quiet(Est(solver=solver, max_iter=3, random_state=0).fit, X_IRIS, Y_IRIS)
    assert capsys.readouterr().out == ""


# -------------------------------------------------------------- ConvergenceWarning
@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_convergence_warning_stochastic(Est, solver):
    est = Est(solver=solver, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning,
                      match=re.escape("Stochastic Optimizer: Maximum iterations (3) reached")):
        est.fit(X_IRIS, Y_IRIS)
    assert est.n_iter_ == 3
    # converging before max_iter does not warn
    est = Est(solver=solver, max_iter=1000, tol=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X_IRIS, Y_IRIS)
    assert est.n_iter_ < 1000


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_convergence_warning_lbfgs(Est):
    est = Est(solver="lbfgs", max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        est.fit(X_IRIS, Y_IRIS)
    assert est.n_iter_ == 2
    # max_fun limits too
    est = Est(solver="lbfgs", max_fun=5, max_iter=1000, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_IRIS, Y_IRIS)
    assert est.n_iter_ <= 5


# -------------------------------------------------------------- no hidden layer
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_no_hidden_layer_matches_sklearn(kind, solver):
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(), solver=solver, max_iter=20, random_state=0)
    est = _quiet(Est(**params).fit, X, y)
    sk = _quiet(SkEst(**params).fit, X, y)
    assert est.n_layers_ == sk.n_layers_ == 2
    assert len(est.coefs_) == len(est.intercepts_) == 1
    assert est.coefs_[0].shape == sk.coefs_[0].shape
    _assert_close_params(est, sk)
    assert_allclose(_output(est, X), _output(sk, X), rtol=1e-6, atol=1e-9)
    if solver != "lbfgs":
        assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)


def test_no_hidden_layer_poisson_is_poisson_glm():
    """Test a Poisson MLP without hidden layer is a Poisson GLM: its objective
    mean(y log(y/p) - y + p) + alpha ||W||^2 / (2 n) is PoissonRegressor's with
    alpha_glm = alpha / n."""
    rng = np.random.RandomState(0)
    n = 300
    X = rng.uniform(-1, 1, size=(n, 3))
    y = rng.poisson(np.exp(0.5 + X @ np.array([0.8, -0.4, 0.2])))
    alpha = 2.0
    glm = PoissonRegressor(alpha=alpha / n, tol=1e-10, max_iter=1000).fit(X, y)
    mlp = MLPRegressor(loss="poisson", hidden_layer_sizes=(), solver="lbfgs", alpha=alpha,
                       tol=1e-10, max_iter=1000, random_state=0).fit(X, y)
    assert mlp.out_activation_ == "exp"
    assert_allclose(mlp.coefs_[0].ravel(), glm.coef_, rtol=1e-4)
    assert_allclose(mlp.intercepts_[0], [glm.intercept_], rtol=1e-4)
    assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)


# ------------------------------------------------------------------ target types
@pytest.mark.parametrize("solver", SOLVERS)
def test_binary_classification(solver):
    X, y = X_DIGITS[Y_DIGITS < 2], Y_DIGITS[Y_DIGITS < 2]
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=30, random_state=0,
                  learning_rate_init=0.05)
    clf = _quiet(MLPClassifier(**params).fit, X, y)
    sk = _quiet(skl.MLPClassifier(**params).fit, X, y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert clf.coefs_[-1].shape == (10, 1)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(proba, sk.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.98


@pytest.mark.parametrize("solver", SOLVERS)
def test_multiclass_classification(solver):
    X, y = X_DIGITS[:500], Y_DIGITS[:500]
    params = dict(hidden_layer_sizes=(20,), solver=solver, max_iter=30, random_state=0,
                  learning_rate_init=0.05)
    clf = _quiet(MLPClassifier(**params).fit, X, y)
    sk = _quiet(skl.MLPClassifier(**params).fit, X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(proba, sk.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    assert clf.score(X, y) > 0.95


@pytest.mark.parametrize("solver", SOLVERS)
def test_multilabel_indicator(solver):
    X, Y = make_multilabel_classification(n_samples=80, n_classes=5, random_state=0)
    params = dict(hidden_layer_sizes=(30,), solver=solver, max_iter=50, random_state=0,
                  activation="logistic", alpha=1e-5)
    clf = _quiet(MLPClassifier(**params).fit, X, Y)
    sk = _quiet(skl.MLPClassifier(**params).fit, X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 5
    assert_array_equal(clf.classes_, np.arange(5))
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids, no softmax
    assert_allclose(proba, sk.predict_proba(X), rtol=1e-6, atol=1e-9)
    pred = clf.predict(X)
    assert pred.shape == Y.shape
    assert_array_equal(pred, (proba > 0.5).astype(pred.dtype))
    # predict_log_proba is computed from the scores (log(1 + e^-z)), not as log(proba): where
    # p rounds to 1, log(p) is 0 but the log-probability is -1e-17, so compare in p's scale
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12, atol=0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_multi_output_regression(solver):
    X, Y = make_regression(n_samples=200, n_features=8, n_targets=3, random_state=11)
    Y = StandardScaler().fit_transform(Y)
    params = dict(hidden_layer_sizes=(20,), solver=solver, max_iter=50, random_state=1)
    reg = _quiet(MLPRegressor(**params).fit, X, Y)
    assert reg.n_outputs_ == 3 and reg.out_activation_ == "identity"
    pred = reg.predict(X)
    assert pred.shape == Y.shape
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, pred))
    if solver != "lbfgs":  # sgd/adam only use the gradient, which scikit-learn shares
        sk = _quiet(skl.MLPRegressor(**params).fit, X, Y)
        _assert_close_params(reg, sk)
        assert_allclose(pred, sk.predict(X), rtol=1e-6, atol=1e-9)
    # single target given as a column: same model as the 1d target, 1d predictions
    r1 = _quiet(MLPRegressor(**params).fit, X, Y[:, 0])
    with pytest.warns(Warning, match="column-vector y was passed"):
        r2 = _quiet(MLPRegressor(**params).fit, X, Y[:, :1])
    _assert_same_bits(r1, r2)
    assert r2.predict(X).shape == (len(X),)


def test_string_and_integer_labels():
    """Test labels are mapped through sorted classes_: any label values give the same
    model as their integer codes, and predict returns the original labels."""
    X, codes = X_IRIS, Y_IRIS
    variants = {
        "codes": codes,
        "ints": np.array([-7, 3, 42])[codes],
        "strings": np.array(["ant", "bee", "cat"])[codes],
        "objects": np.array(["ant", "bee", "cat"], dtype=object)[codes],
        "floats": np.array([-1.0, 2.0, 10.0])[codes],
    }
    params = dict(hidden_layer_sizes=(5,), max_iter=20, random_state=0, early_stopping=True)
    reference = _quiet(MLPClassifier(**params).fit, X, codes)
    for y in variants.values():
        clf = _quiet(MLPClassifier(**params).fit, X, y)
        sk = _quiet(skl.MLPClassifier(**params).fit, X, y)
        labels = np.unique(y)
        assert_array_equal(clf.classes_, labels)
        _assert_same_bits(clf, reference)
        assert clf.validation_scores_ == reference.validation_scores_
        pred = clf.predict(X)
        assert pred.dtype == sk.predict(X).dtype
        assert clf.classes_.dtype == sk.classes_.dtype
        assert_array_equal(pred, labels[reference.predict(X)])
        assert clf.score(X, y) == reference.score(X, codes)
    # binary string labels
    yb = np.where(codes == 0, "yes", "no")
    clf = _quiet(MLPClassifier(**params).fit, X, yb)
    assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_single_class_raises():
    """Test a single class in y is an error (scikit-learn silently fits it)."""
    X = X_IRIS
    for y in (np.zeros(len(X), dtype=int), np.array(["only"] * len(X))):
        for solver in SOLVERS:
            with pytest.raises(ValueError, match="only one class"):
                MLPClassifier(solver=solver).fit(X, y)


def test_single_class_in_partial_fit_classes_raises():
    """Test partial_fit refuses classes= naming a single class, and leaves the model unfitted."""
    clf = MLPClassifier(solver="sgd")
    with pytest.raises(ValueError, match="only one class: 0"):
        clf.partial_fit(X_IRIS, np.zeros(len(X_IRIS), dtype=int), classes=[0])
    assert not hasattr(clf, "coefs_")


# ------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_preservation(kind, solver, dtype):
    """Test float32 X gives a float32 model and outputs (lbfgs too); anything else
    float64."""
    Est, _ = ESTIMATORS[kind]
    X = (_X_digits[:300] if dtype is np.int64 else X_DIGITS[:300]).astype(dtype)
    y = Y_DIGITS[:300] if kind == "classifier" else Y_DIGITS[:300] / 9.0
    expected = np.float32 if dtype is np.float32 else np.float64
    est = _quiet(Est(hidden_layer_sizes=(5, 3), solver=solver, max_iter=10,
                     random_state=1).fit, X, y)
    assert all(c.dtype == expected for c in est.coefs_)
    assert all(b.dtype == expected for b in est.intercepts_)
    out = _output(est, X)
    assert out.dtype == expected
    if kind == "classifier":
        assert est.predict_log_proba(X).dtype == expected
    assert np.isfinite(est.loss_)
    # sparse float32 input too
    est_sp = _quiet(clone(est).fit, sp.csr_matrix(X), y)
    assert all(c.dtype == expected for c in est_sp.coefs_)
    if solver != "lbfgs":
        est.partial_fit(X, y)
        assert all(c.dtype == expected for c in est.coefs_)


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_float32_close_to_float64(solver):
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    params = dict(alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1, max_iter=30,
                  solver=solver)
    c64 = _quiet(MLPClassifier(**params).fit, X, y)
    c32 = _quiet(MLPClassifier(**params).fit, X.astype(np.float32), y)
    assert_allclose(c32.predict_proba(X.astype(np.float32)), c64.predict_proba(X),
                    rtol=1e-2, atol=1e-4)
    r64 = _quiet(MLPRegressor(**params).fit, X, y / 9.0)
    r32 = _quiet(MLPRegressor(**params).fit, X.astype(np.float32), y / 9.0)
    assert_allclose(r32.predict(X.astype(np.float32)), r64.predict(X), rtol=5e-3, atol=1e-4)


def test_float32_lbfgs_converges_like_float64():
    """Test float32 L-BFGS (objective evaluated in float32) reaches the float64 optimum
    of a well-regularised problem (long non-converged L-BFGS runs amplify rounding, in
    scikit-learn as well, so only converged runs are compared)."""
    params = dict(alpha=1.0, hidden_layer_sizes=(5,), random_state=1, max_iter=500,
                  solver="lbfgs")
    c64 = MLPClassifier(**params).fit(X_IRIS, Y_IRIS)
    c32 = MLPClassifier(**params).fit(X_IRIS.astype(np.float32), Y_IRIS)
    assert c32.n_iter_ < 500 and c64.n_iter_ < 500
    assert c32.loss_ == pytest.approx(c64.loss_, rel=1e-3)
    assert_allclose(c32.predict_proba(X_IRIS.astype(np.float32)),
                    c64.predict_proba(X_IRIS), atol=1e-2)


# ------------------------------------------------------------------------ sparse
@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "csr_array", "csc_array"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sparse_same_model_as_dense(kind, solver, fmt):
    Est, _ = ESTIMATORS[kind]
    X, y = _data(kind)
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # genuinely sparse
    Xs = getattr(sp, fmt)(X)
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=20, random_state=0)
    dense = _quiet(Est(**params).fit, X, y)
    sparse = _quiet(Est(**params).fit, Xs, y)
    _assert_close_params(dense, sparse)
    assert_allclose(_output(sparse, Xs), _output(dense, X), rtol=1e-6, atol=1e-9)
    # a dense-trained model predicts sparse input exactly like dense input
    assert_allclose(_output(dense, Xs), _output(dense, X), rtol=1e-12, atol=1e-14)
    if solver != "lbfgs":
        dense.partial_fit(X, y)
        sparse.partial_fit(Xs, y)
        _assert_close_params(dense, sparse)


def test_sparse_early_stopping_matches_dense():
    X = np.where(np.abs(X_IRIS) < 0.5, 0.0, X_IRIS)
    params = dict(hidden_layer_sizes=(10,), early_stopping=True, max_iter=40,
                  random_state=0)
    dense = _quiet(MLPClassifier(**params).fit, X, Y_IRIS)
    sparse = _quiet(MLPClassifier(**params).fit, sp.csr_matrix(X), Y_IRIS)
    assert dense.validation_scores_ == sparse.validation_scores_
    _assert_close_params(dense, sparse)


@pytest.mark.parametrize("solver", SOLVERS)
def test_non_contiguous_input(solver):
    """Test Fortran-ordered and strided X give the same model and predictions as a
    C-contiguous copy."""
    base = np.ascontiguousarray(X_DIGITS[:300, ::2])
    y = Y_DIGITS[:300]
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=5, random_state=0,
                  n_jobs=1)
    ref = _quiet(MLPClassifier(**params).fit, base, y)
    for X in (X_DIGITS[:300, ::2], np.asfortranarray(base)):
        assert not X.flags.c_contiguous
        est = _quiet(MLPClassifier(**params).fit, X, y)
        _assert_same_bits(ref, est)
        assert_array_equal(est.predict_proba(X), ref.predict_proba(base), strict=True)


# ----------------------------------------------------------------- sample_weight
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_integer_sample_weight_equals_repeated_rows(kind, solver):
    """Test (full batch) integer weights are the same as repeating rows."""
    Est, _ = ESTIMATORS[kind]
    X, y = _data(kind)
    X, y = X[:120], y[:120]
    w = np.random.RandomState(0).randint(0, 4, size=len(y))
    X_rep, y_rep = np.repeat(X, w, axis=0), np.repeat(y, w)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=0)
    weighted = _quiet(Est(batch_size=len(y), **params).fit, X, y, sample_weight=w)
    repeated = _quiet(Est(batch_size=len(y_rep), **params).fit, X_rep, y_rep)
    _assert_close_params(weighted, repeated)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-6)

    # zero weights are the same as dropping the rows
    keep = w > 0
    dropped = _quiet(Est(batch_size=int(keep.sum()), **params).fit, X[keep], y[keep],
                     sample_weight=w[keep])
    _assert_close_params(weighted, dropped)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sample_weight_matches_sklearn(kind, solver):
    Est, SkEst = ESTIMATORS[kind]
    X, y = _data(kind)
    w = np.random.RandomState(1).uniform(0.0, 3.0, size=len(y))
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=0,
                  batch_size=50)
    est = _quiet(Est(**params).fit, X, y, sample_weight=w)
    sk = _quiet(SkEst(**params).fit, X, y, sample_weight=w)
    _assert_close_params(est, sk)
    assert est.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    # unit weights are no weights
    ones = _quiet(Est(**params).fit, X, y, sample_weight=np.ones(len(y)))
    none = _quiet(Est(**params).fit, X, y)
    _assert_close_params(ones, none, rtol=1e-10, atol=1e-13)
    # partial_fit with sample_weight too
    if solver != "lbfgs":
        for model in (est, sk):
            model.partial_fit(X, y, sample_weight=w[::-1])
        _assert_close_params(est, sk)
        assert_allclose(est.loss_curve_, sk.loss_curve_, rtol=1e-6)
    # score honours sample_weight
    score_fn = accuracy_score if kind == "classifier" else r2_score
    assert est.score(X, y, sample_weight=w) == pytest.approx(
        score_fn(y, est.predict(X), sample_weight=w))


def test_sample_weight_early_stopping_matches_sklearn():
    X, y = make_regression(n_samples=100, n_features=2, random_state=42)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    params = dict(hidden_layer_sizes=10, early_stopping=True, tol=1e-2,
                  learning_rate_init=0.01, batch_size=10, random_state=42, max_iter=50)
    est = _quiet(MLPRegressor(**params).fit, X, y, sample_weight=w)
    sk = _quiet(skl.MLPRegressor(**params).fit, X, y, sample_weight=w)
    assert_allclose(est.validation_scores_, sk.validation_scores_, rtol=1e-9)
    _assert_close_params(est, sk)


# --------------------------------------------------------- threads / determinism
def _threading_data(kind):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((3000, 40))
    if kind == "classifier":
        y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    else:
        y = np.column_stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]])
    return X, y


@pytest.mark.parametrize("variant", ["dense64", "dense32", "sparse"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_n_jobs_bit_identical(kind, solver, variant):
    """Test the result does not depend on the number of threads, to the bit."""
    Est, _ = ESTIMATORS[kind]
    X, y = _threading_data(kind)
    if variant == "dense32":
        X = X.astype(np.float32)
    elif variant == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) < 1.0, 0.0, X))
    params = dict(hidden_layer_sizes=(64, 32), solver=solver, random_state=0,
                  max_iter=3 if solver != "lbfgs" else 8, batch_size=500)
    models = [_quiet(Est(n_jobs=n_jobs, **params).fit, X, y) for n_jobs in (1, 2, None, -1)]
    for other in models[1:]:
        _assert_same_bits(models[0], other)
        assert other.loss_ == models[0].loss_
        assert_array_equal(_output(other, X), _output(models[0], X), strict=True)
    # and prediction alone does not depend on it either
    m = models[0]
    out_1 = _output(m, X)
    m.set_params(n_jobs=2)
    assert_array_equal(_output(m, X), out_1, strict=True)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_repeated_fits_bit_identical(kind, solver):
    Est, _ = ESTIMATORS[kind]
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=10, random_state=5)
    a = _quiet(Est(**params).fit, X, y)
    b = _quiet(Est(**params).fit, X, y)
    _assert_same_bits(a, b)
    _quiet(a.fit, X, y)
    _assert_same_bits(a, b)
    if solver != "lbfgs":
        assert a.loss_curve_ == b.loss_curve_
    c = _quiet(Est(**dict(params, random_state=6)).fit, X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("solver", SOLVERS)
def test_random_state_instance_consumed_like_sklearn(solver):
    """Test a RandomState instance is drawn from exactly as scikit-learn does, so
    successive fits sharing it follow scikit-learn's successive fits."""
    X, y = _data("classifier")
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5)
    rng_fm, rng_sk = np.random.RandomState(11), np.random.RandomState(11)
    for _ in range(2):
        est = _quiet(MLPClassifier(random_state=rng_fm, **params).fit, X, y)
        sk = _quiet(skl.MLPClassifier(random_state=rng_sk, **params).fit, X, y)
        _assert_close_params(est, sk)
    assert_array_equal(rng_fm.uniform(size=3), rng_sk.uniform(size=3))


def test_batch_size_clipped_with_warning():
    params = dict(solver="sgd", batch_size=1000, max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        est = _quiet(MLPClassifier(**params).fit, X_IRIS, Y_IRIS)
    full = _quiet(MLPClassifier(**dict(params, batch_size=len(X_IRIS))).fit, X_IRIS, Y_IRIS)
    _assert_same_bits(est, full)


# ----------------------------------------------------------------------- poisson
@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_regressor(solver):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 4))
    y = rng.poisson(np.exp(0.3 + X[:, 0] - 0.5 * X[:, 1])).astype(float)
    assert (y == 0).any()
    params = dict(loss="poisson", hidden_layer_sizes=(10,), solver=solver, max_iter=200,
                  random_state=0, learning_rate_init=0.01)
    reg = _quiet(MLPRegressor(**params).fit, X, y)
    assert reg.out_activation_ == "exp"
    pred = reg.predict(X)
    assert pred.shape == y.shape and np.all(pred > 0)
    # better than the constant mean prediction in deviance
    def deviance(mu):
        return np.mean(xlogy(y, y / mu) - y + mu)
    assert deviance(pred) < deviance(np.full_like(y, y.mean()))


@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_rejects_negative_y(solver):
    y = np.abs(Y_DIAB)
    y[3] = -0.1
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson", solver=solver).fit(X_DIAB, y)
    if solver != "lbfgs":
        reg = MLPRegressor(loss="poisson", solver=solver, random_state=0)
        reg.partial_fit(X_DIAB, np.abs(Y_DIAB))
        with pytest.raises(ValueError, match="negative"):
            reg.partial_fit(X_DIAB, y)
    # squared error is fine with negative targets
    _quiet(MLPRegressor(solver=solver, max_iter=2).fit, X_DIAB, y)


# -------------------------------------------------------- predict_log_proba, score
@pytest.mark.parametrize("solver", SOLVERS)
def test_predict_log_proba_and_score(solver):
    X, y = X_DIGITS[:400], Y_DIGITS[:400]
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(10,), solver=solver, max_iter=20,
                               random_state=0).fit, X, y)
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    # log-sum-exp of the scores, not log(proba): log(p) loses the digits of p near 1
    assert_allclose(np.exp(log_proba), proba, rtol=1e-12, atol=0)
    assert_array_equal(log_proba.argmax(axis=1), proba.argmax(axis=1))
    assert clf.score(X, y) == accuracy_score(y, clf.predict(X))
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(10,), solver=solver, max_iter=20,
                              random_state=0).fit, X_DIAB, Y_DIAB)
    assert reg.score(X_DIAB, Y_DIAB) == pytest.approx(r2_score(Y_DIAB, reg.predict(X_DIAB)))


def test_predict_before_fit_raises():
    from sklearn.exceptions import NotFittedError
    for est in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            est.predict(X_IRIS)


def test_predict_wrong_n_features_raises():
    clf = _quiet(MLPClassifier(max_iter=2, random_state=0).fit, X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_IRIS[:, :3])


def test_nonfinite_weights_raise():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor().fit(X, y)


# ------------------------------------------------------------------ feature names
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_feature_names_in(Est):
    pd = pytest.importorskip("pandas")
    columns = [f"feature_{i}" for i in range(X_IRIS.shape[1])]
    df = pd.DataFrame(X_IRIS, columns=columns)
    est = _quiet(Est(max_iter=5, random_state=0).fit, df, Y_IRIS)
    assert_array_equal(est.feature_names_in_, columns)
    assert est.n_features_in_ == len(columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        from_df = est.predict(df)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = est.predict(X_IRIS)
    assert_array_equal(from_df, from_array)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[columns[::-1]])
    no_names = _quiet(Est(max_iter=5, random_state=0).fit, X_IRIS, Y_IRIS)
    assert not hasattr(no_names, "feature_names_in_")
    # early stopping scores a held-out DataFrame slice without feature-name warnings
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(40, 2), columns=["colname_a", "colname_b"])
    y = pd.Series(np.r_[np.zeros(20), np.ones(20)], name="colname_y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        Est(early_stopping=True, validation_fraction=0.2, max_iter=5).fit(X, y)


# ------------------------------------------------------------ parameter validation
BAD_PARAMS = [
    ("hidden_layer_sizes", 0),
    ("hidden_layer_sizes", -3),
    ("hidden_layer_sizes", "ten"),
    ("activation", "sigmoid"),  # softsign is an activation since issue 6
    ("solver", "bogus"),
    ("alpha", -1),
    ("batch_size", 0),
    ("learning_rate", "cyclic"),
    ("learning_rate_init", 0.0),
    ("power_t", -0.5),
    ("max_iter", 0),
    ("shuffle", "yes"),
    ("random_state", "seed"),
    ("tol", -1e-4),
    ("momentum", 1.5),
    ("nesterovs_momentum", 1),
    ("early_stopping", "no"),
    ("validation_fraction", 1.0),
    ("beta_1", 1.0),
    ("beta_2", -0.1),
    ("epsilon", 0.0),
    ("n_iter_no_change", 0),
    ("max_fun", 0),
    ("n_jobs", 0),
    ("n_jobs", 1.5),
    ("n_jobs", "2"),
]


@pytest.mark.parametrize("param, value", BAD_PARAMS)
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_invalid_parameters(Est, param, value):
    """Test invalid hyperparameters raise InvalidParameterError naming them, at fit."""
    est = Est(**{param: value})  # constructors do not validate
    assert est.get_params()[param] == value
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {Est.__name__}"):
        est.fit(X_IRIS, Y_IRIS)
    assert issubclass(InvalidParameterError, ValueError)


def test_invalid_loss_and_hidden_layer_entries():
    with pytest.raises(InvalidParameterError, match="The 'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="hinge").fit(X_DIAB, Y_DIAB)
    for sizes in [(5, 0), [3, -1], (0,)]:
        with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
            MLPClassifier(hidden_layer_sizes=sizes).fit(X_IRIS, Y_IRIS)
    with pytest.raises(InvalidParameterError, match="The 'loss' parameter of MLPClassifier"):
        MLPClassifier(loss="squared_error").fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1, -2, -1000])
def test_valid_n_jobs(n_jobs):
    clf = _quiet(MLPClassifier(max_iter=3, random_state=0, n_jobs=n_jobs).fit,
                 X_IRIS, Y_IRIS)
    ref = _quiet(MLPClassifier(max_iter=3, random_state=0, n_jobs=1).fit, X_IRIS, Y_IRIS)
    _assert_same_bits(clf, ref)


# parameters scikit-learn does not have, with their defaults (which keep its results)
FASTMLP_ONLY_DEFAULTS = {
    "n_jobs": None,
    "lr_warmup_epochs": 0, "lr_min": 0.0, "lr_step_size": 50, "lr_gamma": 0.1,
    "init": "glorot_uniform", "validation_data": None, "restore_best_weights": True,
    "dropout": 0.0, "weight_decay": 0.0, "max_grad_norm": None, "negative_slope": 0.01,
}


def test_default_parameters_match_sklearn():
    """Test the constructor parameters and defaults are scikit-learn's plus fastmlp's own."""
    for Est, SkEst in ESTIMATORS.values():
        ours, theirs = Est().get_params(), SkEst().get_params()
        # issue 6's loss parameters, whose defaults are scikit-learn's behaviour
        extra = ({"loss": "log_loss", "label_smoothing": 0.0, "class_weight": None}
                 if Est is MLPClassifier else {"huber_delta": 1.0, "quantile": 0.5})
        for name, default in {**FASTMLP_ONLY_DEFAULTS, **extra}.items():
            assert ours.pop(name) == default
        assert ours == theirs


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_model_pickled_before_new_parameters_predicts_as_before():
    """Test a model pickled by an earlier fastmlp, whose state lacks the parameters added
    since (issue 6's), unpickles with their defaults and predicts exactly as before."""
    X, y = X_IRIS, Y_IRIS
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    state = clf.__getstate__()
    added = ("negative_slope", "dropout", "weight_decay", "max_grad_norm", "init",
             "lr_warmup_epochs", "loss", "label_smoothing", "class_weight")
    for name in added:
        state.pop(name)
    old = MLPClassifier.__new__(MLPClassifier)
    old.__setstate__(state)
    assert_array_equal(old.predict_proba(X), clf.predict_proba(X), strict=True)
    assert old.get_params() == clf.get_params()


# ------------------------------------------------------------------------ memory
# (Ctrl-C during fit: tests/test_threads.py)
def test_wide_sparse_input_allocates_no_dense_batch():
    """Test a CSR fit allocates nothing of size batch x n_features: with a million features a
    dense batch buffer alone would take 800 MB."""
    script = r"""
import resource, warnings
import numpy as np, scipy.sparse as sp
from fastmlp import MLPClassifier
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
# built from its parts: scipy's random-matrix helper would itself peak far above the fit
indptr = np.arange(0, 1001, 10)
X = sp.csr_matrix((rng.random(1000), rng.integers(0, 1_000_000, 1000), indptr),
                  shape=(100, 1_000_000))
y = rng.integers(0, 2, 100)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
clf = MLPClassifier((2,), max_iter=2, random_state=0).fit(X, y)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    grown = int(out.stdout.strip().splitlines()[-1])
    # weights, gradient and Adam moments: 4 x 1e6 x 2 x 8 bytes = 64 MB, plus copies
    assert grown < 300e6, f"fit grew the process by {grown / 1e6:.0f} MB"


@pytest.mark.parametrize("fit_labels,labels", [
    (np.array([3, 7, 3, 7]), np.array([7, 7, 3, 7, 3])),                        # binary ints
    (np.array([0, 2, 5, 2]), np.array([5, 0, 2, 2, 0, 5])),                     # multiclass
    (np.array([0, 2, 5, 2]), np.array([2, 5, 5])),                              # a batch of 2 of 3
    (np.array([0, 2, 5, 2]), np.array([2, 2])),                                 # a batch of 1 of 3
    (np.array([False, True, True]), np.array([True, False, False])),            # bool
    (np.array([-1.0, 0.0, 2.0, 0.0]), np.array([2.0, -0.0, -1.0, 0.0])),        # floats, −0
    (np.array([1, 2, 3], dtype=np.uint8), np.array([3, 1, 2], dtype=np.int64)),  # other dtype
    (np.array(["b", "a", "c"]), np.array(["c", "a", "b", "a"])),                # strings
    (np.array(["x", "y", "z"], dtype=object), np.array(["z", "x", "y"], dtype=object)),
    (np.array([[0, 1], [1, 1], [1, 0]]), np.array([[1, 0], [0, 0], [1, 1]])),  # multilabel
])
def test_label_binarization_is_label_binarizers(fit_labels, labels):
    """The estimators' one-pass binarization of numeric labels gives LabelBinarizer's result
    (as bool, C-contiguous); other targets go through LabelBinarizer itself."""
    from fastmlp._multilayer_perceptron import _binarize_labels, _fit_label_binarizer
    binarizer = _fit_label_binarizer(fit_labels)
    got = _binarize_labels(binarizer, labels)
    want = binarizer.transform(labels).astype(bool)
    assert got.dtype == bool and got.flags.c_contiguous
    assert_array_equal(got, want, strict=True)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("spread", ["narrow", "wide"])
def test_integer_labels_fit_as_label_binarizer_fits(dtype, n_classes, spread):
    """1-D integer labels are fitted without LabelBinarizer.fit: the same attributes, classes_
    with its dtype and order, and the same transform (others: see the test above). Narrow:
    labels within 120 of the dtype's smallest value (counted); wide: anywhere in its range."""
    from sklearn.preprocessing import LabelBinarizer

    from fastmlp._multilayer_perceptron import _fit_label_binarizer
    rng = np.random.default_rng(n_classes)
    info = np.iinfo(dtype)
    if spread == "narrow":
        values = info.min + rng.choice(np.arange(120), n_classes, replace=False)
    else:
        values = np.unique(rng.integers(info.min, info.max, 4 * n_classes, dtype=dtype,
                                        endpoint=True))[:n_classes]
        values[-1] = info.max
    values = values.astype(dtype)
    labels = np.concatenate([values, rng.choice(values, 200)]).astype(dtype)
    rng.shuffle(labels)
    got, want = _fit_label_binarizer(labels), LabelBinarizer().fit(labels)
    assert sorted(vars(got)) == sorted(vars(want))
    for name, value in vars(want).items():
        if isinstance(value, np.ndarray):
            assert_array_equal(getattr(got, name), value, strict=True)
        else:
            assert getattr(got, name) == value, name
    assert_array_equal(got.transform(labels[::-1]), want.transform(labels[::-1]), strict=True)


@pytest.mark.parametrize("labels", [np.array([4, 4, 4]), np.array([4, 4, 4], dtype=np.uint8),
                                    np.array([1.0, 1.0]), np.array(["a", "a"])])
def test_one_class_is_refused_for_every_kind_of_label(labels):
    from fastmlp._multilayer_perceptron import _fit_label_binarizer
    with pytest.raises(ValueError, match="only one class"):
        _fit_label_binarizer(labels)


@pytest.mark.parametrize("fit_labels", [
    np.array([3, 7, 3, 7]),                                       # binary ints
    np.array([0, 2, 5, 2]),                                       # multiclass
    np.array([False, True, True]),                                # bool
    np.array([-1.0, 0.0, 2.0, 0.0]),                              # floats
    np.array(["b", "a", "c"]),                                    # strings
    np.array(["x", "y"], dtype=object),                           # binary objects
    np.array([[0, 1], [1, 1], [1, 0]]),                           # multilabel
])
def test_labels_from_output_are_label_binarizers(fit_labels):
    """predict's decoding of the network's output gives LabelBinarizer.inverse_transform's
    labels, dtype included: argmax ties go to the first class, a binary output of exactly 0.5
    to the negative class."""
    from fastmlp._multilayer_perceptron import _fit_label_binarizer, _labels_from_output
    binarizer = _fit_label_binarizer(fit_labels)
    n_out = 1 if binarizer.y_type_ == "binary" else len(binarizer.classes_)
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        out = rng.random((50, n_out)).astype(dtype)
        out[:5] = 0.5  # ties across classes and the binary threshold
        out[5:10, :] = out[5:10, :1]
        if binarizer.y_type_ == "binary":
            out = out.ravel()
        got = _labels_from_output(binarizer, out)
        assert_array_equal(got, binarizer.inverse_transform(out), strict=True)


# the core draws in chunks of 256; MT19937 regenerates its 624 words of state every 624 draws
def test_fit_random_state_is_check_random_states():
    """Test the generator a fit draws from is check_random_state's: for integer seeds a new
    RandomState in the same state, drawing the same numbers (uniform, integers, normals), and
    the same refusals of seeds out of range; None and a RandomState pass through as it gives
    them."""
    from fastmlp._multilayer_perceptron import _checked_random_state

    for seed in (0, 1, 42, 2**32 - 1, np.int64(7), np.uint8(3), True):
        ours, theirs = _checked_random_state(seed), check_random_state(seed)
        assert type(ours) is np.random.RandomState and ours is not _checked_random_state(seed)
        for a, b in zip(ours.get_state(), theirs.get_state()):
            assert_array_equal(a, b)
        assert_array_equal(ours.uniform(-1, 1, 50), theirs.uniform(-1, 1, 50))
        assert_array_equal(ours.randint(1 << 30, size=50), theirs.randint(1 << 30, size=50))
        assert_array_equal(ours.standard_normal(5), theirs.standard_normal(5))
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match=re.escape("Seed must be between 0 and 2**32 - 1")):
            _checked_random_state(bad)
    given = np.random.RandomState(3)
    assert _checked_random_state(given) is given
    assert _checked_random_state(None) is check_random_state(None)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 37, 255, 256, 257, 513, 624, 625, 1025, 20000])
@pytest.mark.parametrize("skip", [0, 1, 623])
def test_epoch_shuffle_is_sklearn_utils_shuffle(n, skip):
    """The epoch's order is sklearn.utils.shuffle's: the same result from the same state, and
    the same state afterwards (so every later draw stays scikit-learn's), from any position in
    the generator's stream, epoch after epoch from one shuffler (which looks up the generator
    once), also after the generator is reseeded between epochs."""
    from sklearn.utils import shuffle

    from fastmlp._multilayer_perceptron import _shuffler
    sample_idx = np.random.RandomState(1).permutation(n)
    ours, theirs = np.random.RandomState(7), np.random.RandomState(7)
    ours.random_sample(skip)
    theirs.random_sample(skip)
    shuffled = _shuffler(ours)
    for epoch in range(4):
        if epoch == 2:
            ours.seed(11)
            theirs.seed(11)
        got, want = shuffled(sample_idx), shuffle(sample_idx, random_state=theirs)
        assert_array_equal(got, want, strict=True)
        sample_idx = got
    assert_array_equal(ours.randint(1 << 30, size=700), theirs.randint(1 << 30, size=700))


def test_epoch_shuffle_in_the_core_draws_as_numpy():
    """The core's shuffle takes plain RandomStates on any bit generator (PCG64 buffers half
    of each 64-bit draw: its 32-bit draws come through the same interface) and gives the same
    permutation and state as numpy's; other generators and index arrays go to numpy."""
    from fastmlp._multilayer_perceptron import _shuffler

    class Recording(np.random.RandomState):
        calls = 0

        def shuffle(self, x):
            Recording.calls += 1
            super().shuffle(x)

    sample_idx = np.arange(1000, 3000, dtype=np.int64)
    for make in (lambda: np.random.RandomState(3),
                 lambda: np.random.RandomState(np.random.PCG64(3)),
                 lambda: Recording(3)):
        ours, theirs = make(), make()
        ours.randint(7)  # PCG64: leaves half a 64-bit draw buffered
        theirs.randint(7)
        got = _shuffler(ours)(sample_idx)
        order = np.arange(sample_idx.size)
        np.random.RandomState.shuffle(theirs, order)
        assert_array_equal(got, sample_idx[order], strict=True)
        assert_array_equal(ours.randint(1 << 30, size=50), theirs.randint(1 << 30, size=50))
    assert Recording.calls == 1  # the subclass's own shuffle ran
    for idx in (sample_idx.astype(np.int32), sample_idx[::2]):  # not int64, not contiguous
        got = _shuffler(np.random.RandomState(5))(idx)
        order = np.arange(idx.size)
        np.random.RandomState(5).shuffle(order)
        assert_array_equal(got, idx[order], strict=True)


def test_parameter_names_are_scikit_learns_for_each_class():
    """get_params' names are kept per class, and a subclass's own __init__ (or one set later)
    gives its own names, as scikit-learn's signature lookup would."""
    from sklearn.base import BaseEstimator

    def sklearns(cls):
        return BaseEstimator._get_param_names.__func__(cls)

    class Wider(MLPClassifier):
        def __init__(self, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    class Same(MLPRegressor):
        pass

    for cls in (MLPClassifier, MLPRegressor, Wider, Same):
        assert cls._get_param_names() == sklearns(cls)
        assert cls._get_param_names() == sklearns(cls)  # from the cache
    assert "extra" in Wider._get_param_names()

    def narrower(self, alpha=0.0001, max_iter=200):
        MLPRegressor.__init__(self, alpha=alpha, max_iter=max_iter)

    Same.__init__ = narrower
    assert Same._get_param_names() == ["alpha", "max_iter"] == sklearns(Same)
