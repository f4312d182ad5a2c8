"""verbose: scikit-learn's lines on stdout, and with verbose=2 a tqdm progress bar on stderr."""

import re
import sys
import warnings

import numpy as np
import pytest
import scipy.optimize
import sklearn.neural_network as skl
import tqdm as tqdm_module
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import fastmlp._multilayer_perceptron as mlp_module
from fastmlp import MLPClassifier, MLPRegressor

_X, _y = load_digits(return_X_y=True)
X_DIGITS, Y_DIGITS = StandardScaler().fit_transform(_X)[:400], _y[:400]
X_IRIS_RAW, Y_IRIS = load_iris(return_X_y=True)


@pytest.fixture
def bars(monkeypatch):
    """Every tqdm bar fastmlp creates, kept alive (so that only an explicit close closes it)."""
    created = []

    class RecordingTqdm(tqdm_module.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(tqdm_module, "tqdm", RecordingTqdm)
    return created


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def _last_bar_state(err):
    """(n, total, postfix) of the bar as last drawn on stderr."""
    frames = [f for f in re.split(r"[\r\n]", err) if "|" in f]
    assert frames, f"no progress bar on stderr: {err!r}"
    # "| n/total [elapsed<remaining, rate, postfix]"
    match = re.search(r"\| (\d+)/(\d+) \[[^,\]]*, [^,\]]*(?:, ([^\]]*))?\]\s*$", frames[-1])
    assert match, frames[-1]
    return int(match[1]), int(match[2]), match[3] or ""


CASES = {
    # stops on the training-loss rule
    "adam_tol": (MLPClassifier, skl.MLPClassifier,
                 dict(solver="adam", tol=1e-2, n_iter_no_change=3, max_iter=300)),
    # stops on the validation-score rule; prints "Validation score" lines
    "sgd_early_stopping": (MLPClassifier, skl.MLPClassifier,
                           dict(solver="sgd", early_stopping=True, max_iter=300,
                                learning_rate_init=0.05)),
    # adaptive schedule: prints "Setting learning rate to" lines
    "sgd_adaptive": (MLPClassifier, skl.MLPClassifier,
                     dict(solver="sgd", learning_rate="adaptive", tol=1e-2,
                          n_iter_no_change=2, max_iter=300)),
    # runs to max_iter
    "max_iter": (MLPRegressor, skl.MLPRegressor, dict(solver="adam", max_iter=7)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_verbose_2_prints_sklearns_lines_and_a_bar(case, capsys, bars):
    """Test verbose=2 prints on stdout the bytes scikit-learn's verbose=1 prints, and draws one
    bar on stderr over max_iter epochs that ends at n_iter_ and is closed."""
    Est, SkEst, extra = CASES[case]
    y = Y_DIGITS if Est is MLPClassifier else X_DIGITS[:, 0]
    X = X_DIGITS[:, 1:] if Est is MLPRegressor else X_DIGITS
    params = dict(hidden_layer_sizes=(16,), random_state=0, **extra)
    _fit(SkEst(verbose=1, **params), X, y)
    sk_out = capsys.readouterr().out
    est = _fit(Est(verbose=2, **params), X, y)
    captured = capsys.readouterr()
    assert captured.out == sk_out
    assert captured.out.count("Iteration ") == est.n_iter_
    assert len(bars) == 1 and bars[0].disable  # closed
    assert (bars[0].n, bars[0].total) == (est.n_iter_, params["max_iter"])
    n, total, postfix = _last_bar_state(captured.err)
    assert (n, total) == (est.n_iter_, params["max_iter"])
    assert captured.err.endswith("\n")  # closed, kept on screen
    assert f"loss={est.loss_curve_[-1]:.6g}" in postfix
    if params.get("early_stopping"):
        assert f"val_loss={est.validation_loss_curve_[-1]:.6g}" in postfix
        assert f"val_score={est.validation_scores_[-1]:.4f}" in postfix
    else:
        assert "val_" not in postfix
    if case == "max_iter":
        assert est.n_iter_ == total == 7
    else:
        assert est.n_iter_ < total


@pytest.mark.parametrize("verbose", [0, False, 1, True])
def test_verbose_below_2_draws_no_bar(verbose, capsys, bars):
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0,
                             verbose=verbose), X_DIGITS, Y_DIGITS)
    captured = capsys.readouterr()
    assert bars == [] and captured.err == ""
    assert captured.out.count("Iteration ") == (est.n_iter_ if verbose else 0)


def test_verbose_is_validated():
    MLPClassifier(verbose=3).get_params()  # ints >= 0 are allowed
    with pytest.raises(InvalidParameterError, match="verbose"):
        MLPClassifier(verbose=-1).fit(X_DIGITS, Y_DIGITS)
    with pytest.raises(InvalidParameterError, match="verbose"):
        MLPClassifier(verbose="yes").fit(X_DIGITS, Y_DIGITS)


def test_lbfgs_bar_counts_iterations(capsys, bars):
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=25,
                             random_state=0, verbose=2), X_DIGITS, Y_DIGITS)
    err = capsys.readouterr().err
    assert est.n_iter_ == 25
    assert len(bars) == 1 and bars[0].disable
    assert (bars[0].n, bars[0].total) == (25, 25)
    n, total, postfix = _last_bar_state(err)
    assert (n, total) == (25, 25)
    assert postfix == f"loss={est.loss_:.6g}"
    assert "iter" in err


def test_partial_fit_draws_no_bar(capsys, bars):
    est = MLPClassifier(hidden_layer_sizes=(4,), random_state=0, verbose=2)
    est.partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
    captured = capsys.readouterr()
    assert bars == [] and captured.err == ""
    assert captured.out == "Iteration 1, loss = %.8f\n" % est.loss_


def test_bar_closed_on_ctrl_c(monkeypatch, capsys, bars):
    """Test a KeyboardInterrupt (Ctrl-C) in the third epoch closes the bar at 2 epochs."""
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0, verbose=2)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return type(est)._update_no_improvement_count(est, *args, **kwargs)

    monkeypatch.setattr(est, "_update_no_improvement_count", interrupted)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X_DIGITS, Y_DIGITS)
    assert est.n_iter_ == 3 and len(bars) == 1 and bars[0].disable
    assert bars[0].n == 2  # the third epoch did not finish its bookkeeping
    assert _last_bar_state(capsys.readouterr().err)[:2] == (2, 50)


def test_lbfgs_bar_closed_on_ctrl_c(monkeypatch, capsys, bars):
    real_minimize = scipy.optimize.minimize

    def interrupted_minimize(fun, x0, callback, **kwargs):
        def cb(intermediate_result):
            callback(intermediate_result)
            if bars[0].n == 4:
                raise KeyboardInterrupt
        return real_minimize(fun, x0, callback=cb, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", interrupted_minimize)
    est = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=50, random_state=0,
                        verbose=2)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X_DIGITS, Y_DIGITS)
    assert est.n_iter_ == 4 and len(bars) == 1 and bars[0].disable
    assert _last_bar_state(capsys.readouterr().err)[:2] == (4, 50)


@pytest.mark.parametrize("solver, scale, extra", [
    ("sgd", 1e3, dict(learning_rate_init=1e6)),
    ("lbfgs", 1e160, {}),
])
def test_bar_closed_on_divergence(solver, scale, extra, capsys, bars):
    est = MLPClassifier(hidden_layer_sizes=(20,), solver=solver, random_state=0, max_iter=200,
                        n_iter_no_change=10**6, verbose=2, **extra)
    with pytest.raises(ValueError, match="training diverged"):
        _fit(est, X_IRIS_RAW * scale, Y_IRIS)
    assert len(bars) == 1 and bars[0].disable
    assert bars[0].n == est.n_iter_
    err = capsys.readouterr().err
    assert _last_bar_state(err)[:2] == (est.n_iter_, 200) and err.endswith("\n")


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_without_tqdm_verbose_2_warns_and_prints_verbose_1(solver, monkeypatch, capsys):
    """Test that without tqdm, verbose=2 warns once, naming the extra to install (pointing at
    the caller's line), and prints exactly what verbose=1 prints."""
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=6, random_state=0)
    _fit(MLPClassifier(verbose=1, **params), X_DIGITS, Y_DIGITS)
    want = capsys.readouterr()
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` raises ImportError
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(verbose=2, **params).fit(X_DIGITS, Y_DIGITS)
    got = capsys.readouterr()
    hints = [w for w in caught if 'pip install "fastmlp[progress]"' in str(w.message)]
    assert len(hints) == 1
    assert hints[0].category is UserWarning and hints[0].filename == __file__
    assert got.out == want.out and got.err == want.err == ""
