"""Accuracy / R² of fastmlp against scikit-learn on scikit-learn's bundled datasets.

    python bench/parity_table.py [--seeds 3] [--max-iter 200]

Same split, same StandardScaler'd X, same hyperparameters and random_state for both; each cell is
the mean test score over the seeds, and the last columns give the largest gap between the two
libraries' float64 loss curves over the first five epochs (sgd/adam) or between their final
losses (lbfgs), relative.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

DATASETS = {
    "digits": (load_digits, True),
    "iris": (load_iris, True),
    "wine": (load_wine, True),
    "breast_cancer": (load_breast_cancer, True),
    "diabetes": (load_diabetes, False),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("| dataset | solver | scikit-learn | fastmlp | loss gap (rel) | fit time sk / fm |")
    print("|---|---|---|---|---|---|")
    for name, (load, is_classifier) in DATASETS.items():
        X, y = load(return_X_y=True)
        if not is_classifier:
            y = (y - y.mean()) / y.std()
        for solver in ("adam", "sgd", "lbfgs"):
            scores, gaps, times = {"sk": [], "fm": []}, [], {"sk": 0.0, "fm": 0.0}
            for seed in range(args.seeds):
                X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=seed)
                scaler = StandardScaler().fit(X_tr)
                X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
                params = dict(solver=solver, max_iter=args.max_iter, random_state=seed)
                pair = (SkClassifier, MLPClassifier) if is_classifier else (SkRegressor, MLPRegressor)
                models = {}
                for key, cls in zip(("sk", "fm"), pair):
                    start = time.perf_counter()
                    models[key] = cls(**params).fit(X_tr, y_tr)
                    times[key] += time.perf_counter() - start
                    scores[key].append(models[key].score(X_te, y_te))
                if solver == "lbfgs":
                    gaps.append(abs(models["sk"].loss_ - models["fm"].loss_) / models["sk"].loss_)
                else:
                    a = np.array(models["sk"].loss_curve_[:5])
                    b = np.array(models["fm"].loss_curve_[:5])
                    gaps.append(np.max(np.abs(a - b) / a))
            print(f"| {name} | {solver} | {np.mean(scores['sk']):.4f} | {np.mean(scores['fm']):.4f}"
                  f" | {max(gaps):.1e} | {times['sk'] / times['fm']:.1f}x |")


if __name__ == "__main__":
    main()
