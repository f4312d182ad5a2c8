"""XOR: the problem a linear model cannot solve, solved by a 2-2-1 network.

XOR's two classes sit on opposite corners of the unit square, so no straight line separates
them: a linear model (Rosenblatt's perceptron, logistic regression) gets at most 3 of the 4
points right. Logistic regression does worse still: by symmetry its best fit is the zero
weights, probability 0.5 everywhere (left panel).
A network with one hidden layer of two tanh units gets all 4: its hidden layer maps the
points to a space where one line does separate them (right panel).

Small networks have local minima: from some random initial weights L-BFGS stops at a
point that gets only 2 or 3 right. The script counts how many of 20 initialisations solve
XOR, and draws the one of ``random_state=1``.

Run ``python examples/plot_xor.py [--out-dir DIR]``; it writes ``plot_xor.png`` (by
default into ``examples/images/``).
"""

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from fastmlp import MLPClassifier

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([0, 1, 1, 0])
SEED = 1


def xor_network(random_state):
    """A 2-2-1 network: 2 inputs, 2 tanh hidden units, 1 logistic output."""
    return MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="lbfgs",
                         max_iter=500, random_state=random_state)


def _decision_regions(ax, model, title):
    grid = np.linspace(-0.5, 1.5, 301)
    gx, gy = np.meshgrid(grid, grid)
    points = np.c_[gx.ravel(), gy.ravel()]
    proba = model.predict_proba(points)[:, 1].reshape(gx.shape)
    ax.contourf(gx, gy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    if np.ptp(proba) > 1e-6:
        ax.contour(gx, gy, proba, levels=[0.5], colors="k", linewidths=1.5)
    else:
        ax.text(0.5, 0.5, f"p = {proba.mean():.2f} everywhere", ha="center", va="center",
                bbox={"facecolor": "white", "alpha": 0.8})
    correct = model.predict(X) == y
    for cls, marker in [(0, "o"), (1, "s")]:
        pts = X[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=140, edgecolor="k",
                   c="tab:blue" if cls == 0 else "tab:red", label=f"class {cls}", zorder=3)
    for (px, py), ok in zip(X, correct):
        if not ok:
            ax.scatter(px, py, marker="x", s=300, c="k", zorder=4)
    ax.set_title(f"{title}\n{correct.sum()}/4 correct")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    return int(correct.sum())


def main(out_dir=None):
    out_dir = Path(out_dir) if out_dir else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)

    linear = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        solved = [bool((xor_network(seed).fit(X, y).predict(X) == y).all())
                  for seed in range(20)]
        mlp = xor_network(SEED).fit(X, y)

    fig = Figure(figsize=(13, 4.6))
    ax_lin, ax_mlp, ax_hidden = fig.subplots(1, 3)
    linear_correct = _decision_regions(ax_lin, linear, "Logistic regression (linear)")
    mlp_correct = _decision_regions(ax_mlp, mlp, f"fastmlp 2-2-1 network\n(tanh, lbfgs, "
                                                 f"random_state={SEED})")
    ax_lin.legend(loc="upper center", ncols=2, fontsize="small", framealpha=0.9)

    # the hidden layer's view: tanh(X W1 + b1); the output unit is a line there
    hidden = np.tanh(X @ mlp.coefs_[0] + mlp.intercepts_[0])
    w, b = mlp.coefs_[1][:, 0], mlp.intercepts_[1][0]
    grid = np.linspace(-1.2, 1.2, 241)
    hx, hy = np.meshgrid(grid, grid)
    out = 1 / (1 + np.exp(-(w[0] * hx + w[1] * hy + b)))
    ax_hidden.contourf(hx, hy, out, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax_hidden.contour(hx, hy, out, levels=[0.5], colors="k", linewidths=1.5)
    for cls, marker in [(0, "o"), (1, "s")]:
        pts = hidden[y == cls]
        ax_hidden.scatter(pts[:, 0], pts[:, 1], marker=marker, s=140, edgecolor="k",
                          c="tab:blue" if cls == 0 else "tab:red", zorder=3)
    labels = {}  # inputs that land on the same hidden point share one label
    for h, x in zip(hidden, X):
        labels.setdefault(tuple(np.round(h, 1)), (h, []))[1].append(f"({x[0]:.0f},{x[1]:.0f})")
    for h, names in labels.values():
        ax_hidden.annotate(" ".join(names), h, textcoords="offset points", xytext=(0, 12),
                           ha="center", fontsize="small")
    ax_hidden.set_xlim(-1.2, 1.2)
    ax_hidden.set_ylim(-1.2, 1.2)
    ax_hidden.set_aspect("equal")
    ax_hidden.set_xlabel("hidden unit 1")
    ax_hidden.set_ylabel("hidden unit 2")
    ax_hidden.set_title("Hidden layer: XOR is now\nlinearly separable")
    fig.suptitle(f"XOR: {sum(solved)} of 20 random initialisations of the 2-2-1 network "
                 "solve it; the others stop in a local minimum")
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.12, top=0.78, wspace=0.3)
    path = out_dir / "plot_xor.png"
    fig.savefig(path, dpi=90)

    print(f"logistic regression: {linear_correct}/4 correct")
    print(f"2-2-1 network (random_state={SEED}): {mlp_correct}/4 correct, "
          f"{mlp.n_iter_} L-BFGS iterations, loss {mlp.loss_:.4f}")
    print(f"initialisations solving XOR: {sum(solved)}/20")
    print(f"wrote {path}")
    assert mlp_correct == 4, "the 2-2-1 network did not solve XOR"
    assert linear_correct < 4, "a linear model cannot solve XOR"
    return {"path": path, "mlp_correct": mlp_correct, "linear_correct": linear_correct,
            "solved": sum(solved)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.environ.get("FASTMLP_EXAMPLES_OUT"),
                        help="where to write the PNG (default: examples/images/, or "
                             "$FASTMLP_EXAMPLES_OUT)")
    main(parser.parse_args().out_dir)
