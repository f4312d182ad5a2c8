"""Peak memory of one epoch of `fit` on case (a) (60000×784 float32, hidden (256, 128), batch 256),
relative to the bytes of X plus the model, for fastmlp and scikit-learn.

    python bench/bench_memory.py

Each library runs in a fresh subprocess: X is made in place as float32, the resident set size is
read (/proc/self/statm) just before fit, and the process's peak RSS (getrusage) after it. The
extra memory fit needed is peak − before; the ratio is (X + model + extra) / (X + model).
"""

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
lib = sys.argv[1]
if lib == "fastmlp":
    from fastmlp import MLPClassifier
else:
    from sklearn.neural_network import MLPClassifier
rng = np.random.default_rng(0)
X = rng.random((60000, 784), dtype=np.float32)
y = rng.integers(0, 10, 60000)
model = MLPClassifier((256, 128), batch_size=256, max_iter=1, random_state=0)
before = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
model.fit(X, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
params = sum(a.nbytes for a in model.coefs_ + model.intercepts_)
print(json.dumps(dict(x=X.nbytes, model=params, before=before, peak=peak,
                      peak_before=peak_before)))
"""


def measure(lib):
    out = subprocess.run([sys.executable, "-c", CHILD, lib], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    print("Peak memory of fit, case (a), one epoch")
    print("| library | X (MB) | model (MB) | extra during fit (MB) | (X + model + extra) / (X + model) |")
    print("|---|---|---|---|---|")
    for lib in ("fastmlp", "scikit-learn"):
        m = measure(lib)
        extra = max(0, m["peak"] - m["before"])
        base = m["x"] + m["model"]
        print(f"| {lib} | {m['x'] / 1e6:.1f} | {m['model'] / 1e6:.2f} | {extra / 1e6:.1f} "
              f"| {(base + extra) / base:.3f} |")


if __name__ == "__main__":
    main()
