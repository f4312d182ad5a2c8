"""Threads and interrupts: the GIL is released in fit and predict, concurrent use gives the
serial results, results do not depend on thread limits, and Ctrl-C stops a fit within a
second. Runs on every kernel path (conftest); the subprocess tests pass the path on.
"""

import ast
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor, _core


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return func(*args, **kwargs)


def _data(n=3000, d=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    return X, y


def _same_model(a, b):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(x, y, strict=True)


# ------------------------------------------------------------------- GIL release
def _longest_main_thread_pause(work):
    """Run `work` in a thread; meanwhile count in this thread. Returns (duration of the
    native call, the longest gap between two ticks of this thread inside it)."""
    started = threading.Event()
    window = {}

    def worker():
        started.set()
        window["t0"] = time.perf_counter()
        work()
        window["t1"] = time.perf_counter()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    ticks = []
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    t0, t1 = window["t0"], window["t1"]
    inside = [t for t in ticks if t0 <= t <= t1]
    edges = [t0] + inside + [t1]
    return t1 - t0, max(b - a for a, b in zip(edges, edges[1:])), len(inside)


# warnings.catch_warnings is process-wide and not thread-safe: filter in pytest instead
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("what", ["predict", "fit_sgd", "fit_lbfgs"])
def test_gil_released_during_native_calls(what):
    """Test this thread keeps running while another is inside fit or predict: with the
    GIL held for the whole native call, it could not tick during it at all."""
    X, y = _data(20000, 100)
    est = _quiet(MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0).fit,
                 X[:500], y[:500])
    if what == "predict":
        # as many copies of X as make one native call last about 0.6 s on this path and build
        # (AVX-512 predicts 60000 rows in 0.13 s, a sanitizer build ~6x slower than that)
        start = time.perf_counter()
        est.predict_proba(X)
        copies = int(np.clip(np.ceil(0.6 / (time.perf_counter() - start)), 3, 16))
        Xbig = np.tile(X, (copies, 1))
        work = lambda: est.predict_proba(Xbig)  # noqa: E731
    elif what == "fit_sgd":
        work = MLPClassifier(hidden_layer_sizes=(256, 128), solver="sgd", batch_size=20000,
                             max_iter=2, random_state=0).fit
        work = (lambda fit: lambda: fit(X, y))(work)
    else:
        work = MLPClassifier(hidden_layer_sizes=(256, 128), solver="lbfgs", max_iter=2,
                             random_state=0).fit
        work = (lambda fit: lambda: fit(X, y))(work)
    duration, longest_pause, n_ticks = _longest_main_thread_pause(work)
    assert duration > 0.2, "the native call is too short to tell"
    assert n_ticks > 1000
    # each native call (one epoch of a full batch, or one forward of X's copies) takes a
    # good part of `duration`; holding the GIL would pause this thread for all of it
    assert longest_pause < duration / 4, (duration, longest_pause)


# ----------------------------------------------------------- concurrent predictions
@pytest.mark.parametrize("variant", ["dense64", "dense32", "sparse"])
def test_eight_threads_predicting_with_one_model(variant):
    X, y = _data(4000, 30)
    if variant == "dense32":
        X = X.astype(np.float32)
    elif variant == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) < 1.0, 0.0, X))
    est = _quiet(MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=3, random_state=0).fit,
                 X, y)
    chunks = [X[i * 500:(i + 1) * 500] for i in range(8)]
    serial = [(est.predict(c), est.predict_proba(c)) for c in chunks]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def run(i):
        barrier.wait()
        out = []
        for _ in range(20):
            out.append((est.predict(chunks[i]), est.predict_proba(chunks[i]),
                        est.predict(chunks[i][:1])))
        results[i] = out

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, out in enumerate(results):
        for labels, proba, one in out:
            assert_array_equal(labels, serial[i][0], strict=True)
            assert_array_equal(proba, serial[i][1], strict=True)
            assert_array_equal(one, serial[i][0][:1], strict=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_back_to_back_single_rows_on_two_threads_give_the_same_bits(dtype):
    """Test single rows predicted back to back, which share a net's columns with a warm team
    when its layers have 2^17 multiply-adds or more (600 → 256 → 10: 156K), give the bits of one
    thread, from every row, in a loop and after a pause; and that eight Python threads doing it
    at once (each with its own team) do too."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 600)).astype(dtype)
    y = rng.randint(0, 10, X.shape[0])
    est = _quiet(MLPClassifier(hidden_layer_sizes=(256,), max_iter=2, random_state=0).fit, X, y)
    rows = X[:40]
    est.set_params(n_jobs=1)
    serial = [est.predict_proba(rows[i:i + 1]) for i in range(len(rows))]
    est.set_params(n_jobs=2)
    for repeat in range(3):
        for i in range(len(rows)):
            assert_array_equal(est.predict_proba(rows[i:i + 1]), serial[i], strict=True)
        time.sleep(0.01)
    results = [None] * 8
    barrier = threading.Barrier(8)

    def run(t):
        barrier.wait()
        results[t] = [est.predict_proba(rows[i:i + 1]) for i in range(len(rows))]

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for out in results:
        for got, want in zip(out, serial):
            assert_array_equal(got, want, strict=True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solvers", [("sgd", "adam"), ("lbfgs", "adam"), ("lbfgs", "sgd")])
def test_two_models_fitted_at_once(solvers):
    """Test two fits running in two threads at the same time give the serial models."""
    Xc, yc = _data(3000, 30, seed=1)
    Xr = Xc.astype(np.float32)
    yr = np.sin(Xc[:, 0]) + Xc[:, 1]
    jobs = [
        (MLPClassifier, dict(hidden_layer_sizes=(64,), solver=solvers[0], max_iter=15,
                             random_state=0), Xc, yc),
        (MLPRegressor, dict(hidden_layer_sizes=(48, 16), solver=solvers[1], max_iter=15,
                            random_state=1), Xr, yr),
    ]
    serial = [_quiet(Est(**p).fit, X, y) for Est, p, X, y in jobs]
    concurrent = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        Est, p, X, y = jobs[i]
        est = Est(**p)
        barrier.wait()
        concurrent[i] = est.fit(X, y)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(serial, concurrent):
        _same_model(a, b)
        assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_


# ------------------------------------------------------------- thread limits
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_threadpoolctl_limits_give_the_same_bits(solver):
    """Test a fit under threadpoolctl's OpenMP limit of 1 (which the core sees) is the
    same bits as with every thread, and as n_jobs=1 and 2."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = _data(3000, 40)
    params = dict(hidden_layer_sizes=(64, 32), solver=solver, random_state=0,
                  max_iter=4 if solver != "lbfgs" else 10, batch_size=500)
    free = _quiet(MLPClassifier(**params).fit, X, y)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert _core.max_threads() == 1
        limited = _quiet(MLPClassifier(**params).fit, X, y)
        proba_limited = limited.predict_proba(X)
    assert _core.max_threads() >= 1
    _same_model(free, limited)
    assert_array_equal(free.predict_proba(X), proba_limited, strict=True)
    for n_jobs in (1, 2):
        _same_model(free, _quiet(MLPClassifier(n_jobs=n_jobs, **params).fit, X, y))
    # and repeated fits
    _same_model(free, _quiet(MLPClassifier(**params).fit, X, y))


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("weighted", [False, True])
def test_small_steps_shared_by_two_threads_give_the_same_bits(Est, weighted):
    """Test a model whose steps are small but above the size from which a step runs on the
    team on every path (20 → 200 → 1 in batches of 200: 2.5 million multiply-adds; 1M on AVX2,
    2M on AVX-512's wider tiles) trains to the same bits on 1 and 2 threads: the binary log-loss
    (the logistic map by row blocks) or squared error, the single-output products, the bias
    gradients written by the products, and the optimizer's chunks shared out."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((2000, 20)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(int) if Est is MLPClassifier else X[:, 0] - 2 * X[:, 1]
    weights = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    params = dict(hidden_layer_sizes=(200,), batch_size=200, max_iter=3, random_state=0)
    one, two = (_quiet(Est(n_jobs=n_jobs, **params).fit, X, y, sample_weight=weights)
                for n_jobs in (1, 2))
    _same_model(one, two)
    assert one.loss_curve_ == two.loss_curve_


# ------------------------------------------------------------------------ Ctrl-C
_INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys, time, warnings
    import numpy as np
    from fastmlp import MLPClassifier, _core
    import faulthandler, signal
    import fastmlp._multilayer_perceptron as mlp

    # if the parent's wait runs out it sends SIGUSR1: the traceback of every thread goes to stderr
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # SIGINT as a terminal's Ctrl-C finds a fresh Python (Python's handler, not blocked), whatever
    # a long test session handed down to this process
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _core.set_isa(sys.argv[1])
    solver, n_jobs = sys.argv[2], int(sys.argv[3])


    class ReportingTrainer:
        \"\"\"The core's trainer, saying "STEP k" on stdout after each of its calls (an epoch, or
        one L-BFGS objective evaluation), so the parent interrupts a fit that has trained.\"\"\"

        def __init__(self, trainer):
            self._trainer, self._steps = trainer, 0

        def _step(self, method, *args, **kwargs):
            out = getattr(self._trainer, method)(*args, **kwargs)
            self._steps += 1
            print("STEP", self._steps, flush=True)
            return out

        def train_epoch(self, *args, **kwargs):
            return self._step("train_epoch", *args, **kwargs)

        def loss_and_grad(self, *args, **kwargs):
            return self._step("loss_and_grad", *args, **kwargs)


    make_trainer = mlp.BaseMultilayerPerceptron._trainer
    mlp.BaseMultilayerPerceptron._trainer = lambda self, *a: ReportingTrainer(make_trainer(self, *a))

    rng = np.random.RandomState(0)
    X = rng.standard_normal((50_000, 50))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(100,), solver=solver, max_iter=100_000, tol=0.0,
                        max_fun=10**9, n_iter_no_change=10**9, random_state=0, n_jobs=n_jobs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    print("RETURNED", time.monotonic(), flush=True)
    print("WARNINGS", repr([str(w.message) for w in caught]), flush=True)
    print("N_ITER", clf.n_iter_, len(getattr(clf, "loss_curve_", None) or []), flush=True)
    print("FINITE", all(np.isfinite(w).all() for w in clf.coefs_ + clf.intercepts_), flush=True)
    print("TRAINED", clf.score(X[:5000], y[:5000]) > 0.9, flush=True)
    # the kept model trains on: one more partial_fit, or a warm-started fit
    if solver != "lbfgs":
        clf.partial_fit(X[:1000], y[:1000])
    print("CONTINUES", all(np.isfinite(w).all() for w in clf.coefs_), flush=True)
""")
# Steps (epochs, or L-BFGS objective evaluations) the child takes before it is interrupted:
# after 8 every solver scores above 0.9 on its problem (after 5 already: sgd 0.94, lbfgs 0.96,
# adam 0.99; an interrupted lbfgs keeps its last accepted iterate, which may be a step behind).
_STEPS_BEFORE_SIGINT = 8
# what earlier tests of a session leave in os.environ for later subprocesses: dask's
# LocalCluster sets its workers' thread and malloc settings in the parent process
_SESSION_LEFTOVERS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                      "MALLOC_TRIM_THRESHOLD_", "__DASK_PARENT_PID")


def _fresh_environment():
    """The environment a user's new Python process would have: without the leftovers."""
    return {k: v for k, v in os.environ.items() if k not in _SESSION_LEFTOVERS}


# the core looks for signals between mini-batches (sgd, adam) and between the row blocks of an
# L-BFGS objective evaluation
@pytest.mark.parametrize(
    "solver, n_jobs", [("sgd", 2), ("adam", 1), ("adam", 2), ("lbfgs", 1), ("lbfgs", 2)]
)
def test_ctrl_c_returns_within_a_second(solver, n_jobs):
    """Test SIGINT during a long fit returns from fit within one second with scikit-learn's
    "Training interrupted by user." warning, keeping trained, finite weights (lbfgs too:
    its last accepted iterate), and no crash from the OpenMP threads at work."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPT_SCRIPT, _core.active_isa(), solver, str(n_jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_fresh_environment())
    try:
        step = 0
        while step < _STEPS_BEFORE_SIGINT:
            line = proc.stdout.readline().split()
            if not line or line[0] != "STEP":
                proc.kill()
                pytest.fail(f"the child stopped reporting steps ({line}):\n" + proc.communicate()[1])
            step = int(line[1])
        # into the next step: the signal arrives while the core computes
        time.sleep(0.1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # the child's threads' tracebacks, on its stderr
            time.sleep(2.0)
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"fit did not return within 60 s of SIGINT\nstdout:\n{out[-2000:]}\n"
                        f"stderr:\n{err[-8000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    fields = dict(line.split(" ", 1) for line in out.splitlines())
    returned = float(fields["RETURNED"])  # the same monotonic clock (CLOCK_MONOTONIC)
    assert returned - sent < 1.0, f"fit returned {returned - sent:.2f} s after SIGINT"
    assert ast.literal_eval(fields["WARNINGS"]).count("Training interrupted by user.") == 1
    n_iter, n_curve = map(int, fields["N_ITER"].split())
    assert n_iter >= 1
    if solver != "lbfgs":
        assert n_curve == n_iter
    assert fields["FINITE"] == "True"
    assert fields["TRAINED"] == "True"
    assert fields["CONTINUES"] == "True"


@pytest.mark.parametrize("user_env, expected", [({}, "20000"), ({"GOMP_SPINCOUNT": "777"}, "777")])
def test_openmp_spin_is_bounded_unless_the_user_chose(user_env, expected):
    """Test our OpenMP runtime starts with a 20000-pause spin (0.5 ms) before a waiting thread
    sleeps, a user's own GOMP_SPINCOUNT wins, and the process environment is left as it was.
    libgomp prints its settings when it starts (OMP_DISPLAY_ENV): ours starts first, when
    fastmlp loads its core, before scikit-learn loads its own copy."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(user_env, OMP_DISPLAY_ENV="verbose")
    script = "import os, fastmlp; print('AFTER', os.environ.get('GOMP_SPINCOUNT'))"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    spins = [line.split("=", 1)[1].strip().strip("'") for line in proc.stderr.splitlines()
             if line.strip().startswith("GOMP_SPINCOUNT")]
    assert spins and spins[0] == expected, proc.stderr
    assert f"AFTER {user_env.get('GOMP_SPINCOUNT')}" in proc.stdout
