"""Handwritten digits: fastmlp against scikit-learn on the same network.

Trains MLPClassifier (one hidden layer of 100 ReLU units, Adam) on scikit-learn's 8x8 digits
with fastmlp and with scikit-learn, from the same random initialisation, and draws fastmlp's
confusion matrix on the held-out quarter, the test digits it gets wrong, and the two fit
times. Both libraries take the same steps, so their accuracies agree; fastmlp's fit is the
faster one (timed on one thread each, BLAS and OpenMP alike).

Run ``python examples/plot_digits.py [--out-dir DIR]``; it writes ``plot_digits.png`` (by
default into ``examples/images/``).
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier

PARAMS = dict(hidden_layer_sizes=(100,), max_iter=200, random_state=0)


def _timed_fit(model, X, y):
    """Fit on one thread (BLAS for scikit-learn, OpenMP for fastmlp): a comparison of the
    same resources that other processes on the machine disturb least."""
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return model, time.perf_counter() - start


def main(out_dir=None):
    out_dir = Path(out_dir) if out_dir else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    X_train, X_test, y_train, y_test, img_train, img_test = train_test_split(
        digits.data, digits.target, digits.images, test_size=0.25, stratify=digits.target,
        random_state=0,
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    fast, fast_seconds = _timed_fit(MLPClassifier(n_jobs=1, **PARAMS), X_train, y_train)
    sk, sk_seconds = _timed_fit(SklearnMLPClassifier(**PARAMS), X_train, y_train)
    fast_acc, sk_acc = fast.score(X_test, y_test), sk.score(X_test, y_test)
    y_pred = fast.predict(X_test)
    wrong = np.flatnonzero(y_pred != y_test)

    fig = Figure(figsize=(14, 4.9))
    left, middle, right = fig.subfigures(1, 3, width_ratios=[1.15, 1.1, 0.75])

    ax_cm = left.subplots()
    ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax_cm, colorbar=False,
                                            cmap="Blues")
    ax_cm.set_title(f"fastmlp: {fast_acc:.1%} of {len(y_test)} test digits right")

    n_show = min(len(wrong), 12)
    axes = middle.subplots(3, 4)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i in zip(axes.ravel(), wrong[:n_show]):
        ax.imshow(img_test[i], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"true {y_test[i]}, said {y_pred[i]}", fontsize="small", color="C3")
    middle.suptitle(f"The {len(wrong)} test digits fastmlp gets wrong"
                    + (f" (first {n_show})" if n_show < len(wrong) else ""))

    ax_t = right.subplots()
    names = ["fastmlp", "scikit-learn"]
    bars = ax_t.bar(names, [fast_seconds, sk_seconds], color=["C0", "C7"])
    for bar, acc, n_iter in zip(bars, [fast_acc, sk_acc], [fast.n_iter_, sk.n_iter_]):
        ax_t.annotate(f"{bar.get_height():.2f} s\naccuracy {acc:.3f}\n{n_iter} epochs",
                      (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      textcoords="offset points", xytext=(0, 4), ha="center", va="bottom",
                      fontsize="small")
    ax_t.set_ylim(0, 1.35 * max(fast_seconds, sk_seconds))
    ax_t.set_ylabel("fit time (s), one thread each")
    ax_t.set_title(f"Same network, same steps:\nfastmlp fits {sk_seconds / fast_seconds:.1f}x "
                   "as fast")
    right.subplots_adjust(left=0.25, bottom=0.1, top=0.82)
    path = out_dir / "plot_digits.png"
    fig.savefig(path, dpi=90)

    print(f"fastmlp:      accuracy {fast_acc:.4f}, fit {fast_seconds:.3f} s, "
          f"{fast.n_iter_} epochs")
    print(f"scikit-learn: accuracy {sk_acc:.4f}, fit {sk_seconds:.3f} s, {sk.n_iter_} epochs")
    print(f"wrote {path}")
    assert fast_acc > 0.95, "fastmlp should classify the digits well"
    assert abs(fast_acc - sk_acc) <= 0.01, "both libraries train the same network"
    return {"path": path, "accuracy": fast_acc, "sklearn_accuracy": sk_acc,
            "seconds": fast_seconds, "sklearn_seconds": sk_seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.environ.get("FASTMLP_EXAMPLES_OUT"),
                        help="where to write the PNG (default: examples/images/, or "
                             "$FASTMLP_EXAMPLES_OUT)")
    main(parser.parse_args().out_dir)
