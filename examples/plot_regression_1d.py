"""Universal approximation in one dimension: sin(x) fitted by ever wider hidden layers.

A network with one hidden layer of enough tanh units approximates any continuous function on
an interval as closely as asked. Here MLPRegressor fits two periods of sin(x) with 1, 2, 4,
8 and 16 hidden units (L-BFGS): one unit gives a single S-shaped step, two give two, and from
about four units (one per monotone piece of the curve) the fit follows the sine; the
maximum error on a fine grid keeps falling with the width.

Run ``python examples/plot_regression_1d.py [--out-dir DIR]``; it writes
``plot_regression_1d.png`` (by default into ``examples/images/``).
"""

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPRegressor

WIDTHS = (1, 2, 4, 8, 16)


def main(out_dir=None):
    out_dir = Path(out_dir) if out_dir else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)

    x_train = np.linspace(-2 * np.pi, 2 * np.pi, 400)[:, None]
    y_train = np.sin(x_train).ravel()
    x_grid = np.linspace(-2 * np.pi, 2 * np.pi, 2001)[:, None]
    y_grid = np.sin(x_grid).ravel()

    fits, max_errors = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for width in WIDTHS:
            model = MLPRegressor(hidden_layer_sizes=(width,), activation="tanh", solver="lbfgs",
                                 alpha=0.0, tol=1e-10, max_iter=5000, random_state=0)
            # inputs scaled to [-2, 2]: tanh units work best on inputs of order 1
            model.fit(x_train / np.pi, y_train)
            fits[width] = model.predict(x_grid / np.pi)
            max_errors[width] = float(np.max(np.abs(fits[width] - y_grid)))

    fig = Figure(figsize=(12, 4.6))
    ax_fit, ax_err = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    ax_fit.plot(x_grid, y_grid, color="k", lw=3, alpha=0.25, label="sin(x)")
    colors = ["C0", "C1", "C2", "C3", "C4"]
    for width, color in zip(WIDTHS, colors):
        ax_fit.plot(x_grid, fits[width], color=color, lw=1.5,
                    label=f"{width} hidden unit{'s' if width > 1 else ''}")
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.set_ylim(-1.6, 1.6)
    ax_fit.legend(loc="lower left", ncols=2, fontsize="small")
    ax_fit.set_title("MLPRegressor (tanh, lbfgs) fits to sin(x)")

    ax_err.loglog(WIDTHS, [max_errors[w] for w in WIDTHS], "o-", color="k")
    for width, color in zip(WIDTHS, colors):
        ax_err.plot(width, max_errors[width], "o", color=color, ms=9)
    ax_err.set_xticks(WIDTHS, [str(w) for w in WIDTHS])
    ax_err.minorticks_off()
    ax_err.set_xlabel("hidden units")
    ax_err.set_ylabel("max |fit - sin(x)| on [-2π, 2π]")
    ax_err.set_title("Error falls as the layer widens")
    ax_err.grid(True, which="major", alpha=0.3)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.9, wspace=0.3)
    path = out_dir / "plot_regression_1d.png"
    fig.savefig(path, dpi=90)

    for width in WIDTHS:
        print(f"{width:3d} hidden units: max error {max_errors[width]:.4f}")
    print(f"wrote {path}")
    assert max_errors[WIDTHS[0]] > 0.5, "one tanh unit cannot follow two periods of a sine"
    assert max_errors[WIDTHS[-1]] < 0.05, "the widest network should fit sin(x) closely"
    return {"path": path, "max_errors": max_errors}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.environ.get("FASTMLP_EXAMPLES_OUT"),
                        help="where to write the PNG (default: examples/images/, or "
                             "$FASTMLP_EXAMPLES_OUT)")
    main(parser.parse_args().out_dir)
