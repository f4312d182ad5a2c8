"""validation_loss_curve_: the loss of the held-out early-stopping set at each epoch.

The oracle is an independent NumPy forward pass and loss from the saved weights, on the
validation split the fit drew (recorded by wrapping train_test_split).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import xlogy
from sklearn.datasets import load_diabetes, load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

import fastmlp._multilayer_perceptron as mlp_module
from _recording import split_recorder
from fastmlp import MLPClassifier, MLPRegressor

_X_digits, _y_digits = load_digits(return_X_y=True)
X_DIGITS = StandardScaler().fit_transform(_X_digits)[:500]
Y_DIGITS = _y_digits[:500]
_X_diab, _y_diab = load_diabetes(return_X_y=True)
X_DIAB = StandardScaler().fit_transform(_X_diab)
Y_DIAB = (_y_diab - _y_diab.mean()) / _y_diab.std()


def _fit_recording_split(monkeypatch, est, X, y, sample_weight=None):
    """Fit `est`, returning the arrays of the train/validation split it drew."""
    splits = split_recorder(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=sample_weight)
    assert len(splits) == 1
    out = splits[0]
    X_tr, X_val, Y_tr, Y_val = out[:4]
    sw_tr, sw_val = (out[4], out[5]) if sample_weight is not None else (None, None)
    return X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val


def _forward(est, X, coefs=None, intercepts=None):
    """The network's output in NumPy (float64)."""
    coefs = est.coefs_ if coefs is None else coefs
    intercepts = est.intercepts_ if intercepts is None else intercepts
    hidden = {
        "identity": lambda z: z,
        "logistic": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }[est.activation]
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        if i < len(coefs) - 1:
            a = hidden(a)
    if est.out_activation_ == "softmax":
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if est.out_activation_ == "logistic":
        return 1 / (1 + np.exp(-a))
    if est.out_activation_ == "exp":
        return np.exp(a)
    return a


def _row_losses(est, P, Y):
    """Per-sample training loss, summed over outputs."""
    Y = np.asarray(Y, dtype=np.float64).reshape(P.shape)
    eps = np.finfo(np.float64).eps
    if est.out_activation_ == "softmax":
        return -xlogy(Y, np.clip(P, eps, 1 - eps)).sum(axis=1)
    if est.out_activation_ == "logistic":
        Pc = np.clip(P, eps, 1 - eps)
        return -(xlogy(Y, Pc) + xlogy(1 - Y, 1 - Pc)).sum(axis=1)
    if est.out_activation_ == "exp":
        return (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    return 0.5 * ((Y - P) ** 2).sum(axis=1)


def _data_loss(est, X, Y, sw, coefs=None, intercepts=None):
    rows = _row_losses(est, _forward(est, X, coefs, intercepts), Y)
    w = np.ones(len(rows)) if sw is None else np.asarray(sw, dtype=np.float64)
    return float(np.sum(w * rows) / np.sum(w))


def _squared_coefs(est):
    return sum(float(np.sum(np.asarray(W, np.float64) ** 2)) for W in est.coefs_)


def _l2_scale_no_shuffle(sw_train, n_train, batch_size):
    """1/Σw of each training mini-batch, averaged by rows, for shuffle=False (batches in
    row order)."""
    w = np.ones(n_train) if sw_train is None else np.asarray(sw_train, dtype=np.float64)
    total = 0.0
    for start in range(0, n_train, batch_size):
        batch = w[start:start + batch_size]
        if batch.sum() > 0:
            total += len(batch) / batch.sum()
    return total / n_train


CASES = {
    "multiclass": (MLPClassifier, X_DIGITS, Y_DIGITS, {}),
    "binary": (MLPClassifier, X_DIGITS, Y_DIGITS % 2, {}),
    "multilabel": (MLPClassifier, *make_multilabel_classification(
        n_samples=300, n_features=10, n_classes=4, random_state=0), {}),
    "squared_error": (MLPRegressor, X_DIAB, Y_DIAB, {}),
    "poisson": (MLPRegressor, X_DIAB, np.exp(Y_DIAB / 2), {"loss": "poisson"}),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_validation_loss_equals_numpy_from_saved_weights(case, weighted, monkeypatch):
    """Test the entry of the epoch whose weights early stopping returned equals a NumPy
    computation of the documented definition: sample-weighted mean loss on the held-out rows
    plus alpha/2·‖W‖² at the scale of the training loss's L2 term."""
    Est, X, y, extra = CASES[case]
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    batch_size = 50
    est = Est(hidden_layer_sizes=(12,), early_stopping=True, validation_fraction=0.2,
              random_state=1, max_iter=40, learning_rate_init=0.01, batch_size=batch_size,
              alpha=0.05, shuffle=False, activation="tanh", **extra)
    X_tr, X_val, _, Y_val, sw_tr, sw_val = _fit_recording_split(monkeypatch, est, X, y, sw)

    curve = est.validation_loss_curve_
    assert isinstance(curve, list) and all(isinstance(v, float) for v in curve)
    assert len(curve) == est.n_iter_ == len(est.validation_scores_) == len(est.loss_curve_)
    best = int(np.argmax(est.validation_scores_))  # the epoch of the returned weights
    c = _l2_scale_no_shuffle(sw_tr, X_tr.shape[0], batch_size)
    expected = _data_loss(est, X_val, Y_val, sw_val) + 0.5 * est.alpha * _squared_coefs(est) * c
    assert_allclose(curve[best], expected, rtol=1e-12)


def test_validation_loss_at_last_epoch_and_against_sklearn_log_loss(monkeypatch):
    """Test, with alpha=0, the last entry (the run's best epoch here) equals scikit-learn's
    log_loss of predict_proba on the held-out rows, weighted."""
    sw = np.random.RandomState(3).uniform(0.5, 2.0, size=X_DIGITS.shape[0])
    est = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, alpha=0.0,
                        random_state=0, max_iter=8, learning_rate_init=1e-2)
    _, X_val, _, Y_val, _, sw_val = _fit_recording_split(monkeypatch, est, X_DIGITS, Y_DIGITS,
                                                         sw)
    assert est.n_iter_ == 8
    # still improving: the returned weights are those of the last epoch
    assert int(np.argmax(est.validation_scores_)) == est.n_iter_ - 1
    labels = est.classes_[np.argmax(Y_val, axis=1)]
    want = log_loss(labels, est.predict_proba(X_val), sample_weight=sw_val, labels=est.classes_)
    assert_allclose(est.validation_loss_curve_[-1], want, rtol=1e-12)


def test_l2_term_is_the_training_loss_one(monkeypatch):
    """Test the two curves share their L2 term, with shuffled, weighted, uneven mini-batches
    (whose 1/Σw scale changes from epoch to epoch): with a learning rate so small that the
    weights do not move, loss_curve_[i] is the row-weighted mean over the epoch's batches of
    (batch data loss + alpha/2·‖W‖²/Σw_batch), and validation_loss_curve_[i] the held-out data
    loss plus alpha/2·‖W‖² at that same epoch's scale."""
    orders = []
    original_shuffler = mlp_module._shuffler

    def recording_shuffler(random_state):
        shuffled = original_shuffler(random_state)

        def recording_shuffle(sample_idx):
            out = shuffled(sample_idx)
            orders.append(out)
            return out

        return recording_shuffle

    monkeypatch.setattr(mlp_module, "_shuffler", recording_shuffler)
    sw = np.random.RandomState(0).uniform(0.1, 5.0, size=X_DIAB.shape[0])
    batch_size = 37
    est = MLPRegressor(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=1e-14,
                       momentum=0.0, early_stopping=True, alpha=3.0, batch_size=batch_size,
                       max_iter=6, n_iter_no_change=100, random_state=0)
    X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val = _fit_recording_split(monkeypatch, est, X_DIAB,
                                                                   Y_DIAB, sw)
    assert est.n_iter_ == len(orders) == 6
    l2 = 0.5 * est.alpha * _squared_coefs(est)
    val_data = _data_loss(est, X_val, Y_val, sw_val)
    scales = []
    for i, order in enumerate(orders):
        n = len(order)
        train_loss, scale = 0.0, 0.0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            s_b = sw_tr[rows].sum()
            train_loss += len(rows) * (_data_loss(est, X_tr[rows], Y_tr[rows], sw_tr[rows])
                                       + l2 / s_b)
            scale += len(rows) / s_b
        scales.append(scale / n)
        assert_allclose(est.loss_curve_[i], train_loss / n, rtol=1e-9)
        assert_allclose(est.validation_loss_curve_[i], val_data + l2 * scales[-1], rtol=1e-9)
    assert np.ptp(scales) > 1e-3 * np.mean(scales)  # the scale does vary between epochs
    # the held-out set's own weight sum would give another L2 term
    assert 1 / sw_val.sum() != pytest.approx(np.mean(scales), rel=0.1)


def test_sample_weights_enter_the_validation_loss(monkeypatch):
    """Test all-ones sample weights give the unweighted curve and other weights another."""
    params = dict(hidden_layer_sizes=(8,), early_stopping=True, random_state=0, max_iter=5)
    runs = {}
    for name, sw in [("none", None), ("ones", np.ones(len(Y_DIAB))),
                     ("random", np.random.RandomState(1).uniform(0, 2, len(Y_DIAB)))]:
        runs[name] = MLPRegressor(**params)
        _fit_recording_split(monkeypatch, runs[name], X_DIAB, Y_DIAB, sw)
    assert runs["ones"].validation_loss_curve_ == runs["none"].validation_loss_curve_
    assert not np.allclose(runs["random"].validation_loss_curve_,
                           runs["none"].validation_loss_curve_, rtol=1e-3)


def test_float32_validation_loss(monkeypatch):
    X = X_DIGITS.astype(np.float32)
    est = MLPClassifier(hidden_layer_sizes=(12,), early_stopping=True, random_state=0,
                        max_iter=10, alpha=0.01, shuffle=False, batch_size=50)
    X_tr, X_val, _, Y_val, _, _ = _fit_recording_split(monkeypatch, est, X, Y_DIGITS)
    assert est.coefs_[0].dtype == np.float32
    best = int(np.argmax(est.validation_scores_))
    c = _l2_scale_no_shuffle(None, X_tr.shape[0], 50)
    expected = _data_loss(est, X_val, Y_val, None) + 0.5 * est.alpha * _squared_coefs(est) * c
    assert_allclose(est.validation_loss_curve_[best], expected, rtol=1e-5)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_no_validation_loss_without_early_stopping(Est):
    X, y = (X_DIGITS, Y_DIGITS) if Est is MLPClassifier else (X_DIAB, Y_DIAB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
        assert est.validation_loss_curve_ is None
        assert est.validation_scores_ is None
        # partial_fit: never early stopping
        est = Est(hidden_layer_sizes=(4,), random_state=0)
        extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
        est.partial_fit(X, y, **extra)
        assert est.validation_loss_curve_ is None
        # lbfgs records neither (like scikit-learn's validation_scores_)
        est = Est(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3, random_state=0,
                  early_stopping=True).fit(X, y)
        assert not hasattr(est, "validation_loss_curve_")
        assert not hasattr(est, "validation_scores_")


def test_warm_start_extends_like_validation_scores():
    est = MLPRegressor(hidden_layer_sizes=(6,), early_stopping=True, warm_start=True,
                       max_iter=4, random_state=0, n_iter_no_change=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_DIAB, Y_DIAB)
        first = list(est.validation_loss_curve_)
        est.fit(X_DIAB, Y_DIAB)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == 8
    assert est.validation_loss_curve_[:4] == first
    # a cold refit starts both again
    est.set_params(warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_DIAB, Y_DIAB)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == 4
    assert est.validation_loss_curve_ == first


def test_refused_fit_leaves_validation_loss_curve_unchanged():
    est = MLPRegressor(hidden_layer_sizes=(6,), early_stopping=True, warm_start=True,
                       max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_DIAB, Y_DIAB)
    curve = list(est.validation_loss_curve_)
    with pytest.raises(ValueError):
        est.fit(X_DIAB[:, :3], Y_DIAB)  # wrong width
    assert est.validation_loss_curve_ == curve


def test_diverging_fit_records_non_finite_validation_loss():
    """Test a diverging early-stopping fit records a non-finite validation loss without a
    numpy warning from fastmlp, and keeps finite best weights."""
    X = load_diabetes().data * 1e3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = MLPRegressor(hidden_layer_sizes=(20,), solver="sgd", learning_rate_init=10.0,
                           activation="identity", early_stopping=True, max_iter=20,
                           random_state=0).fit(X, Y_DIAB * 100)
    ours = [w for w in caught if w.category is RuntimeWarning
            and w.filename == mlp_module.__file__]
    assert ours == []
    assert not np.isfinite(est.validation_loss_curve_[-1])
    assert len(est.validation_loss_curve_) == est.n_iter_
    assert all(np.isfinite(W).all() for W in est.coefs_)
