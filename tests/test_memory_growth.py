"""Repeating fit / partial_fit / predict / predict_proba 1000 times does not grow the process.

Each estimator runs in a fresh interpreter (so nothing the rest of the suite did moves its
memory), warms up, then repeats the cycle 1000 times while its resident set size is read from
/proc/self/statm after gc.collect(). The cycle rotates through the solvers, float64 and
float32, dense and sparse (CSR, CSC) input, one and two threads and every ISA path, so each of
those is repeated hundreds of times; the module therefore runs once, not once per path (see
conftest.py).

The bound is meaningful: leaking one batch buffer per cycle (a batch of gathered inputs or of
hidden activations: BATCH_BUFFER_BYTES in float64, half that in float32) grows the process by
more than 23 MiB over the 1000 cycles, over eight times the bound.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

N_ROWS, N_FEATURES, HIDDEN, N_CLASSES = 256, 32, 32, 3
REPEATS = 1000
WARM_UP = 72  # one full rotation of the combinations in cycle() below
# one batch (N_ROWS // 2 rows) of gathered inputs or of hidden activations in float64: 32 KiB,
# so leaking one per call grows the process by 32 MiB over REPEATS cycles; even the
# classifier's predict_proba output (N_ROWS x N_CLASSES float64, 6 KiB) would add 6 MiB
BATCH_BUFFER_BYTES = (N_ROWS // 2) * min(N_FEATURES, HIDDEN) * 8
BOUND_BYTES = 2 * 2**20

_SCRIPT = textwrap.dedent("""
    import gc, json, os, sys, warnings
    import numpy as np
    import scipy.sparse as sp
    from fastmlp import MLPClassifier, MLPRegressor, _core

    kind, repeats, warm_up, n_rows, n_features, hidden, n_classes = sys.argv[1:8]
    repeats, warm_up = int(repeats), int(warm_up)
    n_rows, n_features, hidden, n_classes = map(int, (n_rows, n_features, hidden, n_classes))
    warnings.simplefilter("ignore")  # max_iter=1 warns about convergence on every fit
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        gc.collect()
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, n_features))
    X_sparse = np.where(rng.random(X.shape) < 0.2, X, 0.0)
    inputs = [X, X.astype(np.float32), sp.csr_matrix(X_sparse),
              sp.csc_matrix(X_sparse.astype(np.float32))]
    if kind == "classifier":
        y = rng.integers(0, n_classes, n_rows)
        Est = MLPClassifier
    else:
        y = rng.standard_normal(n_rows)
        Est = MLPRegressor
    isas = _core.available_isas()
    solvers = ("adam", "sgd", "lbfgs")

    def cycle(i):
        # periods 4 (input), 3 (solver), 12 x paths (ISA path), 72 (threads): every
        # combination comes round once in 72 cycles
        Xi = inputs[i % 4]
        solver = solvers[i % 3]
        _core.set_isa(isas[(i // 12) % len(isas)])
        n_jobs = 1 + (i // 36) % 2
        est = Est(hidden_layer_sizes=(hidden,), solver=solver, max_iter=1, batch_size=n_rows // 2,
                  random_state=i, n_jobs=n_jobs)
        est.fit(Xi, y)
        if solver != "lbfgs":
            if kind == "classifier":
                est.partial_fit(Xi, y, classes=np.arange(n_classes))
            else:
                est.partial_fit(Xi, y)
        pred = est.predict(Xi)
        assert pred.shape == (n_rows,)
        if kind == "classifier":
            proba = est.predict_proba(Xi)
            assert proba.shape == (n_rows, n_classes) and np.isfinite(proba).all()
        else:
            assert np.isfinite(pred).all()

    for i in range(warm_up):
        cycle(i)
    samples = [rss()]
    for i in range(warm_up, warm_up + repeats):
        cycle(i)
        if (i - warm_up + 1) % (repeats // 4) == 0:
            samples.append(rss())
    print(json.dumps(samples))
""")


def _child_env():
    env = dict(os.environ)
    # Under AddressSanitizer (.ci/sanitize) freed memory waits in a quarantine of up to 256 MB
    # before it is reused, which looks like growth; with no quarantine the allocator reuses
    # memory as malloc does, so a real leak still shows and nothing else does.
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    return env


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_repeated_fit_predict_does_not_grow_memory(kind):
    args = [kind, REPEATS, WARM_UP, N_ROWS, N_FEATURES, HIDDEN, N_CLASSES]
    result = subprocess.run([sys.executable, "-c", _SCRIPT, *map(str, args)],
                            capture_output=True, text=True, timeout=600, env=_child_env())
    assert result.returncode == 0, result.stderr
    samples = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(samples) == 5
    grown = samples[-1] - samples[0]
    # half the cycles are float32, whose batch buffers are half as big
    leak_of_one_buffer_per_cycle = REPEATS * BATCH_BUFFER_BYTES * 3 // 4
    assert leak_of_one_buffer_per_cycle >= 8 * BOUND_BYTES
    assert grown < BOUND_BYTES, (
        f"{REPEATS} fit/partial_fit/predict cycles grew the process by {grown / 2**20:.1f} MiB "
        f"(RSS after warm-up and each quarter: {[s // 2**10 for s in samples]} KiB)"
    )

