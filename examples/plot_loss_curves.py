"""Loss curves with LossCurveDisplay: training loss, validation loss and validation score.

With ``early_stopping=True`` a model holds out part of its training data and records, each
epoch, its score on it (``validation_scores_``, as in scikit-learn) and its loss on it
(``validation_loss_curve_``, fastmlp's addition, on the scale of ``loss_curve_``).
``LossCurveDisplay.from_estimator`` draws all three: the losses on the left axis, the score
on the right one.

Left: digits with the default settings; training stops once the validation score has not
improved for 10 epochs, and the weights of the best epoch (dotted line) are kept.
Right: 600 samples of which 20% carry a random label, a wide network, no L2 penalty and no
patience limit: the network learns the wrong labels by heart, so its training loss keeps
falling while the validation loss turns and climbs (overfitting) and the validation score
drifts down.

Run ``python examples/plot_loss_curves.py [--out-dir DIR]``; it writes
``plot_loss_curves.png`` (by default into ``examples/images/``).
"""

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastmlp import LossCurveDisplay, MLPClassifier


def main(out_dir=None):
    out_dir = Path(out_dir) if out_dir else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    default = MLPClassifier(early_stopping=True, random_state=0).fit(X, y)
    rng = np.random.RandomState(0)
    X_noisy, y_noisy = X[:600], y[:600].copy()
    flip = rng.rand(600) < 0.2
    y_noisy[flip] = rng.randint(0, 10, flip.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter ends it, on purpose
        overfit = MLPClassifier(hidden_layer_sizes=(256,), alpha=0.0, learning_rate_init=0.003,
                                early_stopping=True, validation_fraction=0.3,
                                n_iter_no_change=1000, max_iter=100,
                                random_state=0).fit(X_noisy, y_noisy)

    fig = Figure(figsize=(13, 4.8))
    axes = fig.subplots(1, 2)
    titles = ["digits, default settings: early stopping ends training",
              "600 samples, 20% wrong labels, 256 units, alpha=0: overfitting"]
    for ax, model, title, score_range in zip(axes, [default, overfit], titles,
                                             [(0.8, 1.0), (0.5, 0.8)]):
        display = LossCurveDisplay.from_estimator(model, ax=ax, name="")
        best = int(np.argmax(model.validation_scores_)) + 1
        ax.axvline(best, color="k", linestyle=":", linewidth=1)
        ax.annotate(f"best score\n(epoch {best})", (best, 0.97), xycoords=("data", "axes fraction"),
                    xytext=(4, 0), textcoords="offset points", va="top", fontsize="small")
        ax.set_yscale("log")
        ax.set_title(title, fontsize="medium")
        display.ax_score_.set_ylim(*score_range)
        ax.legend(list(display.lines_.values()),
                  ["training loss", "validation loss", "validation score (right axis)"],
                  loc="lower left", fontsize="small")
    fig.subplots_adjust(left=0.06, right=0.94, bottom=0.12, top=0.92, wspace=0.35)
    path = out_dir / "plot_loss_curves.png"
    fig.savefig(path, dpi=90)

    val = np.asarray(overfit.validation_loss_curve_)
    turn = int(np.argmin(val)) + 1
    print(f"default: {default.n_iter_} epochs, best validation score "
          f"{default.best_validation_score_:.4f}")
    print(f"overfit: validation loss lowest at epoch {turn} ({val.min():.4f}), "
          f"{val[-1]:.4f} at epoch {overfit.n_iter_}; training loss {overfit.loss_curve_[-1]:.2e}")
    print(f"wrote {path}")
    assert default.n_iter_ < default.max_iter, "early stopping should end the default fit"
    assert val[-1] > 1.05 * val.min(), "the overfitting run's validation loss should climb"
    return {"path": path, "default": default, "overfit": overfit}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.environ.get("FASTMLP_EXAMPLES_OUT"),
                        help="where to write the PNG (default: examples/images/, or "
                             "$FASTMLP_EXAMPLES_OUT)")
    main(parser.parse_args().out_dir)
