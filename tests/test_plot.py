"""LossCurveDisplay, drawn with matplotlib's Agg backend."""

import sys
import warnings

import matplotlib
import numpy as np
import pytest
import sklearn.neural_network as skl
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from fastmlp import LossCurveDisplay, MLPClassifier, MLPRegressor

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

_X, _y = load_digits(return_X_y=True)
X_DIGITS, Y_DIGITS = StandardScaler().fit_transform(_X)[:400], _y[:400]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _fit(est, X=X_DIGITS, y=Y_DIGITS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def early_stopped():
    return _fit(MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, max_iter=30,
                              random_state=0, learning_rate_init=0.01))


@pytest.fixture(scope="module")
def plain():
    return _fit(MLPClassifier(hidden_layer_sizes=(16,), max_iter=12, random_state=0))


def _xy(line):
    x, y = line.get_data()
    return np.asarray(x), np.asarray(y)


def test_from_estimator_with_early_stopping(early_stopped):
    est = early_stopped
    display = LossCurveDisplay.from_estimator(est)
    assert isinstance(display, LossCurveDisplay)
    assert set(display.lines_) == {"loss", "validation_loss", "validation_score"}
    assert display.line_ is display.lines_["loss"]
    epochs = np.arange(1, est.n_iter_ + 1)
    for key, curve in [("loss", est.loss_curve_),
                       ("validation_loss", est.validation_loss_curve_),
                       ("validation_score", est.validation_scores_)]:
        x, y = _xy(display.lines_[key])
        assert_array_equal(x, epochs)
        assert_array_equal(y, curve)
    # losses share the main axes; the score has a twin axes sharing x
    ax, twin = display.ax_, display.ax_score_
    assert display.lines_["loss"].axes is ax and display.lines_["validation_loss"].axes is ax
    assert display.lines_["validation_score"].axes is twin and twin is not ax
    assert twin.get_shared_x_axes().joined(ax, twin)
    assert display.figure_ is ax.figure and len(display.figure_.axes) == 2
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss"
    assert twin.get_ylabel() == "Validation score"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["MLPClassifier: training loss", "MLPClassifier: validation loss",
                      "MLPClassifier: validation score"]


def test_no_twin_axis_without_early_stopping(plain):
    display = LossCurveDisplay.from_estimator(plain, name="mine")
    assert set(display.lines_) == {"loss"}
    assert display.ax_score_ is None and len(display.figure_.axes) == 1
    assert_array_equal(_xy(display.line_)[1], plain.loss_curve_)
    assert display.line_.get_label() == "mine: training loss"


def test_given_axes_are_used_and_kwargs_reach_every_line(early_stopped, plain):
    fig, (left, right) = plt.subplots(1, 2)
    display = LossCurveDisplay.from_estimator(early_stopped, ax=right, linewidth=3.5)
    assert display.ax_ is right and display.figure_ is fig
    assert right.lines and not left.lines
    assert all(line.get_linewidth() == 3.5 for line in display.lines_.values())
    # a second estimator on the same axes
    again = LossCurveDisplay.from_estimator(plain, ax=right, name="plain", color="k")
    assert again.ax_ is right and len(right.lines) == 3
    assert again.line_.get_color() == "k"


def test_display_from_curves_and_plot_returns_self():
    display = LossCurveDisplay([3.0, 2.0, 1.5], validation_loss_curve=[3.5, 2.5, 2.4],
                               estimator_name="net")
    assert not hasattr(display, "ax_")
    assert display.plot() is display
    assert set(display.lines_) == {"loss", "validation_loss"} and display.ax_score_ is None
    assert_array_equal(_xy(display.lines_["validation_loss"])[1], [3.5, 2.5, 2.4])
    assert display.line_.get_label() == "net: training loss"
    display.plot(name="other")
    assert display.line_.get_label() == "other: training loss"
    unnamed = LossCurveDisplay([1.0, 0.5]).plot()
    assert unnamed.line_.get_label() == "training loss"


def test_regressor_and_sklearns_estimator():
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                            early_stopping=True), X_DIGITS[:, 1:], X_DIGITS[:, 0])
    display = LossCurveDisplay.from_estimator(reg)
    assert_array_equal(_xy(display.lines_["validation_loss"])[1], reg.validation_loss_curve_)
    sk = _fit(skl.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                                early_stopping=True))
    display = LossCurveDisplay.from_estimator(sk)
    assert set(display.lines_) == {"loss", "validation_score"}  # no validation loss there


def test_unfitted_and_lbfgs_estimators_are_refused():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(MLPClassifier())
    lbfgs = _fit(MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5,
                               random_state=0))
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        LossCurveDisplay.from_estimator(lbfgs)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, plain):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[plot\]"'):
        LossCurveDisplay.from_estimator(plain)
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[plot\]"'):
        LossCurveDisplay([1.0, 0.5]).plot()
